"""The installed Qt binding keeps Python's reference counts intact.

PySide6 6.12.0 on CPython 3.11 dropped a reference to ``None`` on every void
method call and to ``True`` on every ``Signal.emit``; a running app makes that
many calls within minutes and the interpreter aborts ("Fatal Python error:
none_dealloc"). pyproject.toml excludes that release; this test catches any
binding with the defect. It runs in a subprocess because the defect kills the
process that has it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.gui

PROBE = textwrap.dedent(
    """
    import os, sys
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication, QLabel
    app = QApplication([])
    class Probe(QObject):
        ping = Signal(object)
    probe, label = Probe(), QLabel()
    probe.ping.connect(lambda _value: None)
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(20000):
        label.setText("x")      # a void method
        probe.ping.emit(1)      # returns True
    print(sys.getrefcount(None) - none0, sys.getrefcount(True) - true0)
    """
)


def test_void_calls_and_emits_do_not_leak_or_drop_references() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"the Qt binding corrupts reference counts:\n{done.stderr[-800:]}"
    none_delta, true_delta = (int(v) for v in done.stdout.split())
    # A healthy binding may hold a handful of references; a broken one loses 20000.
    assert abs(none_delta) < 100 and abs(true_delta) < 100, (none_delta, true_delta)
