"""The worker: taps run on its own thread, the UI thread stays free, every run ends with one result."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QObject, QThread, QTimer, Slot

from app.gui.main_window import MainWindow
from app.gui.worker import RunResult, RunStatus, TapProblem
from app.gui.models.run import ItemKind
from protocol.tap.events import Event, Step
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


def test_a_tap_through_the_gui_is_in_the_services_audit_log(qtbot: Any, window: MainWindow, data_dir: Any) -> None:
    from app.flow.service import TapService
    from app.gui import worker

    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT  # enrols, then authenticates
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT
    with TapService(data_dir) as service:
        log = service.verifier.audit_log()
        device = service.device_id  # the phone's persisted device key, the one the GUI's taps used
    kinds = [record.kind.value for record in log]
    assert kinds.count("tap") == 2 and kinds.count("enrolment") == 1
    assert {record.device_id for record in log} == {device}
    assert all(record.user_id == "demo-mastercard-cvn16-cda" for record in log)
    assert (data_dir / "phones" / "demo-phone.json").is_file()
    assert not hasattr(worker, "demo_device_key")  # no key of its own: the engine's phone
    # the enrolment tap is folded into three rows; the run shown is the authentication
    assert window.run.first_index(ItemKind.STEP, Step.ENROL) == -1  # not on the second tap
    assert window.current_trace is not None and window.current_trace.challenge is not None


def test_the_first_tap_shows_the_enrolment_as_a_summary(qtbot: Any, window: MainWindow) -> None:
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT
    run = window.run
    assert run.first_index(ItemKind.STEP, Step.ENROL) == 0
    verdicts = [item for item in run.items if item.kind is ItemKind.VERDICT]
    assert len(verdicts) == 1  # only the authentication's verdict
    assert sum(1 for item in run.items if item.kind is ItemKind.STEP and item.step is Step.CHALLENGE) == 1


def test_enrol_this_card_follows_the_verdict_and_survives_a_failed_enrolment(
    qtbot: Any, make_window: Callable[..., MainWindow]
) -> None:
    enrolments: list[Any] = []

    def tap(_request: Any, **_kwargs: Any) -> RunResult:
        return RunResult(RunStatus.VERDICT, "Verdict: REJECT: card enrolled: not enrolled", None, can_enrol=True)

    def enrol(request: Any, **_kwargs: Any) -> RunResult:
        enrolments.append(request)
        if len(enrolments) == 1:
            return RunResult(RunStatus.FAILED, "The tap failed: the card left the field")
        return RunResult(RunStatus.VERDICT, "Card enrolled")

    window = make_window(tap=tap, enrol=enrol, prepare_on_start=False)
    assert not window.enrol_action.isEnabled()
    tap_and_wait(qtbot, window)
    assert window.enrol_action.isEnabled()
    for expected_enabled in (True, False):  # a failed enrolment tap may be retried; a verdict ends it
        with qtbot.waitSignal(window.runFinished, timeout=10_000):
            window.enrol_action.trigger()
        qtbot.waitUntil(lambda: not window.controller.busy)
        assert window.enrol_action.isEnabled() is expected_enabled
    assert len(enrolments) == 2 and enrolments[0] == window._last_request
