"""The new pages together: shortcuts, remembered choices, both palettes, and jobs that never block the UI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction

from app.gui.jobs import Job, JobDone
from app.gui.main_window import MainWindow
from app.gui.theme import Theme, colours

pytestmark = pytest.mark.gui


def test_menus_and_shortcuts_of_the_new_features(qtbot: Any, window: MainWindow) -> None:
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in window.findChildren(QAction)}
    assert shortcuts["Open trace…"] == "Ctrl+O"
    assert shortcuts["Export JSON trace…"] == "Ctrl+S"
    assert shortcuts["Export pcapng (Wireshark)…"] == "Ctrl+Shift+S"
    assert shortcuts["Export HTML report…"] == "Ctrl+E"
    assert shortcuts["Presentation mode"] == "F11"
    assert [s.toString() for s in window.presentation.action.shortcuts()] == ["F11", "Ctrl+P"]
    assert shortcuts["Enrol this card"] == "" and not window.enrol_action.isEnabled()
    assert shortcuts["2 OTP vs tap"] == "Ctrl+2" and shortcuts["4 Crypto calculator"] == "Ctrl+4"
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Card tap", "OTP vs tap", "Attack lab", "Crypto calculator"]  # fmt: skip
    for i in range(window.tabs.count()):
        assert window.tabs.tabToolTip(i)


def test_new_choices_are_remembered(qtbot: Any, make_window: Callable[..., MainWindow], tmp_path: Path) -> None:
    first = make_window(prepare_on_start=False)
    first.pages.otp.set_cap_mode("respond")
    first.pages.calculator.set_operation("hotp")
    first.timing_action.setChecked(True)
    first.files._remember(tmp_path / "x.json")
    first.close()
    second = make_window(prepare_on_start=False)
    assert second.pages.otp.cap_mode() == "respond"
    assert second.pages.calculator.op.id == "hotp"
    assert second.timing_action.isChecked()
    assert second.files.last_dir() == str(tmp_path)


def test_new_pages_restyle_for_the_dark_palette(qtbot: Any, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=30_000)
    page = window.pages.calculator
    page.set_operation("hotp")
    page.editors["secret"].setText("zz")  # type: ignore[union-attr]
    window.set_theme(Theme.DARK)
    dark = colours()
    qtbot.waitUntil(lambda: dark.failed.name() in page.errors["secret"].styleSheet())
    assert dark.primary.name() in window.pages.otp.compare.styleSheet()
    assert dark.primary.name() in window.pages.attacks.run_all.styleSheet()
    window.presentation.enter()
    assert dark.idle_bg.name() in window.presentation.view.lanes[next(iter(window.presentation.view.lanes))].styleSheet()
    window.presentation.leave()
    window.set_theme(Theme.LIGHT)
    qtbot.waitUntil(lambda: colours().failed.name() in page.errors["secret"].styleSheet())


def test_background_jobs_keep_the_ui_responsive_and_survive_errors(qtbot: Any, window: MainWindow) -> None:
    import time

    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    results: list[JobDone] = []

    def slow(_context: Any) -> str:
        time.sleep(0.6)
        return "done"

    def broken(_context: Any) -> None:
        raise RuntimeError("boom")

    window.controller.run_background(Job("slow", slow, results.append))
    window.controller.run_background(Job("broken", broken, results.append))
    qtbot.waitUntil(lambda: len(results) == 2, timeout=10_000)
    timer.stop()
    assert results[0].ok and results[0].result == "done" and results[0].elapsed_s >= 0.5
    assert not results[1].ok and results[1].error == "Unexpected error (RuntimeError): boom"
    assert len(ticks) > 10  # the UI thread kept running while the job slept
    assert not window.controller.background_busy
