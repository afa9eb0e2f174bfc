"""The UI thread stays free during a tap: events filed in batches, work only for what is shown.

Behaviour, not timing: a burst of events is one range of rows for every model and
one update of every view; the worker's events reach the UI thread queued, in
order, a slice per frame; the presentation slides are not rebuilt while hidden;
style sheets are set only when they change; the detail pane follows the live
run once per batch; a label changing its text does not repaint the whole page.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.gui.event_queue import MAX_BATCH, EventQueue
from app.gui.main_window import MainWindow
from app.gui.models import slides as slides_module
from app.gui.models.apdu_log import ApduLogModel
from app.gui.models.checks import ChecksModel
from app.gui.models.run import ItemKind, RunModel
from app.gui.widgets.common import QuietTabWidget
from app.gui.widgets.detail_pane import DetailPane
from app.gui.widgets.presentation import PresentationView
from app.gui.widgets.sequence_diagram import SequenceView
from app.gui.worker import RunResult, RunStatus
from protocol.tap.events import ApduExchanged, DataDecoded, Event, Step, StepStarted
from tests.gui.conftest import tap_and_wait
from tests.gui.support import tap_events

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def accepted(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    events, result = tap_events(tmp_path_factory.mktemp("data"))
    assert result.status is RunStatus.VERDICT, result.message
    return events


class Counter:
    """Counts a signal's emissions."""

    def __init__(self, signal: Any) -> None:
        self.calls: list[tuple[Any, ...]] = []
        signal.connect(lambda *args: self.calls.append(args))

    def __len__(self) -> int:
        return len(self.calls)


def test_a_burst_is_one_range_of_rows_for_every_model(qapp: Any, qtmodeltester: Any, accepted: list[Event]) -> None:
    one_by_one, batched = RunModel(), RunModel()
    log, checks = ApduLogModel(batched), ChecksModel(batched)
    qtmodeltester.check(log)
    qtmodeltester.check(checks)
    added, log_inserts = Counter(batched.itemsAdded), Counter(log.rowsInserted)
    check_inserts = Counter(checks.rowsInserted)
    resets = Counter(log.modelReset)
    for event in accepted:
        one_by_one.add(event)
    verdict_at = next(i for i, e in enumerate(accepted) if type(e).__name__ == "VerdictReached")
    batched.add_many(accepted[:verdict_at])  # the phone's part and the verifier's checks, before its verdict
    batched.add_many(accepted[verdict_at:])
    assert added.calls == [(0, added.calls[1][0] - 1), (added.calls[1][0], len(batched) - 1)]  # two batches: two ranges
    assert [i.event for i in batched.items] == [i.event for i in one_by_one.items]  # same rows, same order
    assert [i.decoded for i in batched.items] == [i.decoded for i in one_by_one.items]
    apdus = [e for e in accepted if isinstance(e, ApduExchanged)]
    assert log.rowCount() == len(apdus) > 5 and len(log_inserts) == 1 and not resets  # one insert for 9 exchanges
    assert len(check_inserts) <= 2  # the checks so far, then the verdict's main checks written over them
    assert checks.final and [checks.check(r) for r in range(checks.rowCount())] == list(one_by_one.verdict.checks)
    qtmodeltester.check(log)
    qtmodeltester.check(checks)


def test_the_diagram_lays_out_a_burst_once(qtbot: Any, accepted: list[Event]) -> None:
    run = RunModel()
    view = SequenceView(run)
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    relayouts = Counter(view.diagram.rowsChanged)
    run.add_many(accepted)
    assert len(relayouts) == 1
    assert view.diagram.minimumHeight() == view.diagram.content_height() > 24 * len(run)
    # the tooltip of the row under the mouse
    qtbot.wait(20)  # the view has followed the new rows to the bottom
    index = run.first_index(ItemKind.APDU)
    rect = view.diagram.row_rect(index)
    view.scroll.ensureVisible(rect.center().x(), rect.center().y())
    qtbot.mouseMove(view.diagram, rect.center())
    name = run.item(index).event.command_name  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: view.diagram.toolTip().startswith(name))


def test_the_worker_events_come_in_order_a_slice_per_frame(qtbot: Any) -> None:
    batches: list[list[int]] = []
    queue = EventQueue(lambda batch: batches.append(list(batch)))  # type: ignore[arg-type, misc]
    burst = list(range(3 * MAX_BATCH + 5))
    worker = threading.Thread(target=lambda: [queue.put(n) for n in burst])
    worker.start()
    worker.join()
    assert not batches  # nothing is handed on from the worker's thread
    qtbot.waitUntil(lambda: sum(map(len, batches)) == len(burst), timeout=2000)
    assert [n for batch in batches for n in batch] == burst  # in order, none lost
    assert len(batches) == math.ceil(len(burst) / MAX_BATCH) and max(map(len, batches)) == MAX_BATCH
    drained: list[int] = []
    queue.put(-1)
    queue.put(-2)
    queue.when_drained(lambda: drained.append(len(batches)))
    assert not drained
    queue.flush()  # what must come first (the run's end, a wait for a card): everything at once
    assert batches[-1] == [-1, -2] and drained == [len(batches)]
    queue.put(-3)
    queue.discard()
    qtbot.wait(50)
    assert batches[-1] == [-1, -2]


def replay(events: list[Event]) -> Callable[..., RunResult]:
    """A tap that emits a recorded run's events at once, as fast as the worker's thread can (no crypto)."""

    def tap(_request: Any, *, emit: Callable[[Event], None], **_kwargs: Any) -> RunResult:
        for event in events:
            emit(event)
        return RunResult(RunStatus.VERDICT, "Verdict: ACCEPT")

    return tap


def test_a_burst_from_the_worker_reaches_the_views_in_slices(qtbot: Any, make_window: Callable[..., MainWindow],
                                                             accepted: list[Event]) -> None:  # fmt: skip
    window = make_window(tap=replay(accepted), prepare_on_start=False)
    seen: list[Event] = []
    window.worker.eventReady.connect(seen.append)
    added = Counter(window.run.itemsAdded)
    log_inserts = Counter(window.page.log_model.rowsInserted)
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT
    reference = RunModel()
    reference.add_many(seen)
    assert seen == accepted and [i.event for i in window.run.items] == [i.event for i in reference.items]  # in order
    assert len(added) <= math.ceil(len(accepted) / MAX_BATCH) < len(window.run) / 4  # not one update per event
    assert len(log_inserts) <= len(added) and len(log_inserts) < window.run.apdu_count
    assert window.page.log_model.rowCount() == window.run.apdu_count
    assert window.run.current == window.run.first_index(ItemKind.VERDICT)  # the end, shown after the last slice
    assert window.page.banner.headline.text().endswith("ACCEPT")


def test_presentation_is_not_rebuilt_while_hidden(qtbot: Any, window: MainWindow,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    builds: list[int] = []
    real = slides_module.slides_of
    monkeypatch.setattr(slides_module, "slides_of", lambda run: builds.append(len(run)) or real(run))
    window.prefs.settings.setValue("view/presentation_full_screen", "false")
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT
    view = window.presentation.view
    assert not builds and view.deck.stale and not view.isVisible()  # a whole tap: no slide made, nothing drawn
    window.presentation.enter()
    assert builds == [len(window.run)]  # made once, when shown
    deck = view.deck
    assert deck.position == len(deck) - 1 and view.title.text().startswith("Verdict: ACCEPT")
    window.presentation.leave()


def test_slide_lanes_set_their_style_only_when_it_changes(qtbot: Any, accepted: list[Event]) -> None:
    run = RunModel()
    view = PresentationView(run)
    qtbot.addWidget(view)
    view.show()
    run.add_many(accepted)
    sets: list[str] = []
    def counting(real: Callable[[str], None]) -> Callable[[str], None]:
        return lambda sheet: (sets.append(sheet), real(sheet))[1]

    for label in view.lanes.values():
        label.setStyleSheet = counting(label.setStyleSheet)  # type: ignore[method-assign]
    view.render()
    view.render()
    assert not sets  # the same slide again: no style sheet set (each one re-polishes its label)
    view.deck.go(0)
    assert sets and len(sets) <= len(view.lanes)


def test_the_detail_pane_follows_the_live_run_once_per_batch(qtbot: Any, accepted: list[Event]) -> None:
    run = RunModel()
    pane = DetailPane(run)
    qtbot.addWidget(pane)
    shown: list[tuple[int, int | None]] = []
    real = pane.show_item

    def show_item(index: int, as_of: int | None = None) -> None:
        shown.append((index, as_of))
        real(index, as_of)

    pane.show_item = show_item  # type: ignore[method-assign]
    steps = [i for i, e in enumerate(accepted) if isinstance(e, StepStarted)]
    burst = accepted[: steps[3] + 3]  # four steps and what followed the last one
    run.add_many(burst)
    qtbot.waitUntil(lambda: bool(shown), timeout=2000)
    qtbot.wait(50)
    last_step = max(i.index for i in run.items if i.kind is ItemKind.STEP)
    assert shown == [(last_step, last_step)]  # once, the newest step, as it stood when it started
    assert pane.title.text() == f"Now: {run.item(last_step).step.title}"
    live = run.detail(last_step, as_of=last_step)
    assert live is not None and not live.crypto and not live.checks  # nothing of what came after it
    run.set_current(0)  # a selection wins over a pending live step
    run.add_many(accepted[len(burst) : steps[5]])
    qtbot.wait(50)
    assert shown[-1] == (0, None) and "Now:" not in pane.title.text()


def test_decoded_data_is_shown_as_of_its_step(qapp: Any) -> None:
    run = RunModel()
    from protocol.tap.events import DecodedNode, Lane

    node = DecodedNode("5F24", "Application Expiration Date", "320630", "2032-06-30")
    run.add_many([StepStarted(Step.READ_RECORDS, Lane.PHONE, "The phone reads the records")])
    run.add_many([DataDecoded(Step.READ_RECORDS, "SFI 1 record 1", (node,))])  # hangs on the step, after it
    detail_now, detail_then = run.detail(0), run.detail(0, as_of=0)
    assert detail_now is not None and detail_then is not None
    assert [d.label for d in detail_now.decoded] == ["SFI 1 record 1"] and detail_then.decoded == ()


def test_a_label_changing_does_not_repaint_the_whole_page(qtbot: Any) -> None:
    painted: list[str] = []

    class Paints(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
            if event.type() == QEvent.Type.Paint:
                painted.append(obj.objectName())
            return False

    tabs = QuietTabWidget()
    qtbot.addWidget(tabs)
    page = QWidget()
    layout = QVBoxLayout(page)
    label, other = QLabel("12 rows"), QLabel("something else on the page")
    label.setObjectName("changing")
    other.setObjectName("other")
    layout.addWidget(label)
    layout.addWidget(other)
    tabs.addTab(page, "page")
    tabs.resize(400, 200)
    tabs.show()
    qtbot.waitExposed(tabs)
    label.setText("12 rows.")  # the tab widget lays itself out once
    qtbot.wait(50)
    spy = Paints()
    other.installEventFilter(spy)
    label.installEventFilter(spy)
    painted.clear()
    label.setText("13 rows — a longer text")
    qtbot.waitUntil(lambda: "changing" in painted, timeout=2000)
    qtbot.wait(50)
    assert "other" not in painted  # QTabWidget would repaint every widget of the page
    tabs.setTabText(0, "a much longer tab title than before")  # the tab bar changes: laid out as ever
    qtbot.waitUntil(lambda: tabs.tabBar().width() >= tabs.tabBar().sizeHint().width(), timeout=2000)


def test_a_tap_cancelled_before_it_reaches_the_worker(qtbot: Any, make_window: Callable[..., MainWindow],
                                                      data_dir: Path) -> None:  # fmt: skip
    started: list[Any] = []

    def tap(request: Any, **_kwargs: Any) -> Any:
        started.append(request)
        raise AssertionError("the tap was cancelled before it started")

    window = make_window(tap=tap, prepare_on_start=False)
    with qtbot.waitSignal(window.runFinished, timeout=5000) as blocker:
        assert window.tap()
        window.cancel_action.trigger()  # before the next turn of the event loop
    assert blocker.args[0].status is RunStatus.CANCELLED and not started
    qtbot.waitUntil(lambda: not window.controller.busy)
    assert window.page.tap_button.isEnabled()


def test_a_point_outside_the_rows_has_no_tooltip(qtbot: Any, accepted: list[Event]) -> None:
    run = RunModel()
    view = SequenceView(run)
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    run.add_many(accepted[:4])
    below = QPoint(20, view.diagram.content_height() + 5)
    qtbot.mouseMove(view.diagram, QPoint(20, view.diagram.row_rect(0).center().y()))
    qtbot.waitUntil(lambda: bool(view.diagram.toolTip()))
    qtbot.mouseMove(view.diagram, below)
    qtbot.waitUntil(lambda: view.diagram.toolTip() == "")
