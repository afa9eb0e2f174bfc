"""DESIGN.md §5 "The GUI observes and never computes": what the widgets and models may import.

Widgets and models render event dataclasses; they never import crypto
(``protocol.crypto``, ``cryptography``), drivers (``smartcard``, ``nfc``), the
transports, the emulated card or the verifier's storage. Checked twice: the
imports written in each module (AST), and what importing all of them actually
loads (a fresh interpreter). Only ``app.gui`` imports PySide6 (import-linter).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
OBSERVERS = ("app/gui/widgets", "app/gui/models")
FORBIDDEN = ("protocol.crypto", "cryptography", "smartcard", "nfc", "app.transports", "card_emulation", "app.flow",
             "app.gui.worker", "app.gui.card_sources", "sqlite3")  # fmt: skip


def _modules() -> list[Path]:
    files = [p for folder in OBSERVERS for p in sorted((ROOT / folder).glob("*.py"))]
    assert len(files) >= 10, files
    return files


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_observer_modules_import_no_crypto_nor_drivers(path: Path) -> None:
    bad = sorted(name for name in _imports(path) if _forbidden(name))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: widgets and models only render events"


def test_importing_every_widget_loads_no_crypto_nor_driver() -> None:
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import app.gui.widgets, app.gui.models\n"
        "for pkg in (app.gui.widgets, app.gui.models):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "PySide6.QtWidgets" in loaded
    bad = sorted(name for name in loaded if _forbidden(name))
    assert not bad, f"importing the widgets loads {bad}"
