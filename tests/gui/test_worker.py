"""The worker: taps run on its own thread, the UI thread stays free, every run ends with one result."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QObject, QThread, QTimer, Slot

from app.gui.main_window import MainWindow
from app.gui.worker import RunResult, RunStatus, TapProblem
from protocol.tap.events import Event
from tests.gui.conftest import tap_and_wait

pytestmark = pytest.mark.gui


class ThreadRecorder(QObject):
    """A receiver on the UI thread: records which thread delivered each event."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []
        self.threads: set[Any] = set()

    @Slot(object)
    def on_event(self, event: Event) -> None:
        self.events.append(event)
        self.threads.add(QThread.currentThread())


def test_events_cross_threads_and_the_ui_stays_responsive(qtbot: Any, window: MainWindow) -> None:
    tap_and_wait(qtbot, window)  # enrolment out of the way
    recorder = ThreadRecorder()
    window.worker.eventReady.connect(recorder.on_event)
    assert window.worker.thread() is not window.thread()
    window.pace_action.setChecked(True)  # ~0.35 s after each APDU: a slow tap
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    result = tap_and_wait(qtbot, window)
    timer.stop()
    window.pace_action.setChecked(False)
    assert result.status is RunStatus.VERDICT
    assert recorder.events and recorder.threads == {window.thread()}  # queued: delivered on the UI thread
    assert len(ticks) > 20  # the UI event loop kept running during the whole tap


def failing_tap(exc: Exception) -> Callable[..., RunResult]:
    def tap(*_args: Any, **_kwargs: Any) -> RunResult:
        raise exc

    return tap


@pytest.mark.parametrize(
    "exc, text",
    [
        (TapProblem("Choose a PC/SC reader first"), "Choose a PC/SC reader first"),
        (RuntimeError("boom"), "Unexpected error (RuntimeError): boom"),
    ],
)
def test_a_crashing_run_still_ends_cleanly(qtbot: Any, make_window: Callable[..., MainWindow], exc: Exception,
                                           text: str) -> None:  # fmt: skip
    window = make_window(tap=failing_tap(exc), prepare_on_start=False)
    result = tap_and_wait(qtbot, window)
    assert result == RunResult(RunStatus.ERROR, text)
    assert text in window.page.banner.detail.text() and window.page.tap_button.isEnabled()


def test_cancel_stops_a_running_tap(qtbot: Any, window: MainWindow) -> None:
    tap_and_wait(qtbot, window)
    window.pace_action.setChecked(True)
    started = threading.Event()
    window.worker.eventReady.connect(lambda _e: started.set())
    assert window.tap()
    qtbot.waitUntil(started.is_set, timeout=10_000)
    with qtbot.waitSignal(window.runFinished, timeout=10_000) as blocker:
        window.cancel_action.trigger()
    assert blocker.args[0].status is RunStatus.CANCELLED
    window.pace_action.setChecked(False)
