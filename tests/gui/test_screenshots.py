"""``python -m app.gui.screenshots`` renders every main view of the real window under Xvfb.

The PNGs go to ``docs/screenshots/`` (or ``$TRUSTONE_SCREENSHOT_DIR``). Xvfb is
started here; under ``CI=true`` a missing Xvfb fails the test instead of skipping.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from app.gui.screenshots import NAMES, SIZE
from tests.support.require import require_executable

pytestmark = [pytest.mark.gui, pytest.mark.xvfb, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def xvfb_display() -> Iterator[str]:
    """A private Xvfb at 1280x800x24 on a display number it chooses itself."""
    xvfb = require_executable("Xvfb", "sudo apt install xvfb libxcb-icccm4 libxcb-keysyms1")
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 20)
        number = os.read(read_end, 16).decode().strip() if ready else ""
        if not number.isdigit():
            pytest.fail(f"Xvfb did not start (exit code {process.poll()})")
        yield f":{number}"
    finally:
        os.close(read_end)
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_screenshots_of_every_view(qapp: Any, xvfb_display: str) -> None:
    outdir = Path(os.environ.get("TRUSTONE_SCREENSHOT_DIR") or ROOT / "docs" / "screenshots")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=xvfb_display, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "app.gui.screenshots", str(outdir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert "platform=xcb" in done.stdout  # a real X window, not the offscreen platform
    for name in NAMES:
        image = QImage(str(outdir / f"{name}.png"))
        assert not image.isNull(), name
        assert (image.width(), image.height()) == SIZE, name
