"""Fixtures for the desktop app's tests (pytest-qt).

Every test gets its own data directory (cards, key store, verifier database) and
its own settings file, so nothing touches the user's files and tests do not see
each other's state. Windows are closed at teardown, which joins the worker
threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from app.gui.main_window import MainWindow
from app.gui.worker import RunResult

#: Generous bound for a real emulated tap (RSA on phone and verifier, SQLite with fsync).
TAP_TIMEOUT_MS = 30_000


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


@pytest.fixture
def settings(settings_path: Path) -> QSettings:
    return QSettings(str(settings_path), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot: Any, data_dir: Path, settings_path: Path) -> Iterator[Callable[..., MainWindow]]:
    """Build main windows on the test's data dir and settings file; all are closed at teardown."""
    windows: list[MainWindow] = []

    def make(**kwargs: Any) -> MainWindow:
        kwargs.setdefault("data_dir", data_dir)
        settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
        window = MainWindow(settings, **kwargs)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()  # saves settings, cancels and joins the worker threads


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    return make_window()


def tap_and_wait(qtbot: Any, window: MainWindow, timeout: int = TAP_TIMEOUT_MS) -> RunResult:
    """Press the Tap button and wait for the run to end; returns how it ended."""
    with qtbot.waitSignal(window.runFinished, timeout=timeout) as blocker:
        assert window.tap(), window.page.problem()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=timeout)
    result = blocker.args[0]
    assert isinstance(result, RunResult)
    return result
