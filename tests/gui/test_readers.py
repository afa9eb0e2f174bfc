"""The PC/SC reader list: hot-plug through PcscMonitor, polled off the UI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from app.errors import DriverMissingError
from app.gui.main_window import MainWindow
from app.gui.readers import ReaderWatcher
from app.gui.requests import CardSource, SourceKind
from app.transports.pcsc import PcscEvent, PcscEventKind

pytestmark = pytest.mark.gui

READER = "ACS ACR122U PICC Interface 00 00"


class ScriptedMonitor:
    """Stands in for PcscMonitor: hands out events pushed by the test, records the polling thread."""

    def __init__(self) -> None:
        self.events: list[PcscEvent] = []
        self.lock = threading.Lock()
        self.error: Exception | None = None
        self.threads: set[str] = set()
        self.stopped = False

    def push(self, *events: PcscEvent) -> None:
        with self.lock:
            self.events.extend(events)

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped = True

    def poll(self, timeout: float | None = 0.0) -> list[PcscEvent]:
        self.threads.add(threading.current_thread().name)
        with self.lock:
            events, self.events = self.events, []
        return events


def pcsc_window(make_window: Callable[..., MainWindow], monitor: Any) -> MainWindow:
    window = make_window(reader_monitor_factory=lambda: monitor, prepare_on_start=False)
    window.page.source.set_source(CardSource(kind=SourceKind.PCSC))
    return window


def test_readers_appear_and_disappear_with_hot_plug(qtbot: Any, make_window: Callable[..., MainWindow]) -> None:
    monitor = ScriptedMonitor()
    window = pcsc_window(make_window, monitor)
    panel = window.page.source
    qtbot.waitUntil(lambda: "No PC/SC reader" in panel.reader_status.text(), timeout=5000)
    assert window.page.problem() and "reader" in window.page.problem().lower()
    monitor.push(PcscEvent(PcscEventKind.READER_ADDED, READER))
    qtbot.waitUntil(lambda: panel.reader.count() == 1, timeout=5000)
    assert panel.reader.currentText() == READER and window.page.problem() is None
    assert "no card yet" in panel.reader_status.text()
    monitor.push(PcscEvent(PcscEventKind.CARD_INSERTED, READER, b"\x3b\x8f"))
    qtbot.waitUntil(lambda: "a card is present" in panel.reader_status.text(), timeout=5000)
    monitor.push(PcscEvent(PcscEventKind.CARD_REMOVED, READER), PcscEvent(PcscEventKind.READER_REMOVED, READER))
    qtbot.waitUntil(lambda: panel.reader.count() == 0, timeout=5000)
    assert "MainThread" not in monitor.threads  # polled on the watcher's thread, never the UI's
    window.close()
    assert monitor.stopped


def test_pcscd_gone_is_said_and_the_app_stays_usable(qtbot: Any, make_window: Callable[..., MainWindow]) -> None:
    monitor = ScriptedMonitor()
    monitor.error = DriverMissingError("Lost the connection to the PC/SC service (pcscd)", "start pcscd")
    window = pcsc_window(make_window, monitor)
    qtbot.waitUntil(lambda: "pcscd" in window.page.source.reader_status.text(), timeout=5000)
    assert not window.tap()  # no reader: explained, nothing started
    window.page.source.set_source(CardSource())
    assert window.page.problem() is None


def test_missing_driver_is_reported(qtbot: Any) -> None:
    def broken() -> Any:
        raise DriverMissingError("pyscard, the Python PC/SC binding, is not importable", "pip install pyscard")

    watcher = ReaderWatcher(monitor_factory=broken)
    seen: list[str] = []
    watcher.status.connect(seen.append)
    watcher.start()
    assert seen and "pyscard" in seen[-1]
    watcher.stop()
