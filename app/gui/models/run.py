"""The run being shown: the events of one tap as an ordered timeline, and a cursor.

:class:`RunModel` is the single observable state every view of a run reads: the
sequence diagram draws its items, the APDU log lists its exchanges, the detail
pane shows :meth:`RunModel.detail` of the current item, the verdict banner and
the checks list follow its verdict and checks. It only *files* events as they
arrive (from the worker's signals); it computes nothing about the protocol.

A timeline item is one row of the diagram: a step heading, a message between
lanes, an APDU exchange, a cryptographic operation, a check, the verdict, or the
failure that ended the run. Decoded data (:class:`DataDecoded`) is attached to
the exchange it came from rather than being a row of its own.

Events are filed in batches (:meth:`RunModel.add_many`; the window queues the
worker's events and files them once per frame): a batch is announced with one
``itemsAdded(first, last)`` range, so the views lay out, insert rows and repaint
once per batch rather than once per event.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.gui.models.display import HexMasker
from protocol.tap.events import (
    ApduExchanged,
    CheckCompleted,
    CryptoComputed,
    DataDecoded,
    Event,
    Lane,
    MessageSent,
    SessionFailed,
    Step,
    StepStarted,
    VerdictReached,
)


class ItemKind(enum.Enum):
    STEP = "step"
    MESSAGE = "message"
    APDU = "apdu"
    CRYPTO = "crypto"
    CHECK = "check"
    VERDICT = "verdict"
    FAILURE = "failure"


@dataclass
class TimelineItem:
    """One row of the run: its event, its step, and the data decoded from it."""

    index: int
    kind: ItemKind
    step: Step
    event: Event
    decoded: list[DataDecoded] = field(default_factory=list)
    decoded_at: list[int] = field(default_factory=list)  # per decoded: the number of rows filed when it came
    apdu_number: int = 0  # 1-based number of an APDU exchange, 0 otherwise
    command_hex: str = ""  # masked, APDU items only
    response_hex: str = ""  # masked response data without SW1 SW2, APDU items only

    @property
    def actor(self) -> Lane:
        event = self.event
        if isinstance(event, StepStarted | CryptoComputed | CheckCompleted):
            return event.actor
        if isinstance(event, MessageSent):
            return event.sender
        if isinstance(event, VerdictReached):
            return Lane.VERIFIER
        return Lane.PHONE

    @property
    def title(self) -> str:
        """A short line naming the row, for the navigator and tooltips."""
        event = self.event
        if isinstance(event, StepStarted):
            return event.step.title
        if isinstance(event, ApduExchanged):
            return f"APDU {self.apdu_number}: {event.command_name}"
        if isinstance(event, MessageSent):
            return event.label
        if isinstance(event, CryptoComputed):
            return event.operation
        if isinstance(event, CheckCompleted):
            return f"Check: {event.check} ({event.status.value})"
        if isinstance(event, VerdictReached):
            return f"Verdict: {event.outcome.value}"
        assert isinstance(event, SessionFailed)
        return "The tap failed"


@dataclass(frozen=True)
class ItemDetail:
    """What the detail pane shows for one item (everything already display-safe)."""

    title: str
    actor: Lane
    explanation: str
    reference: str
    item: TimelineItem
    decoded: tuple[DataDecoded, ...]
    crypto: tuple[CryptoComputed, ...]
    checks: tuple[CheckCompleted, ...]


_KINDS: dict[type, ItemKind] = {
    StepStarted: ItemKind.STEP,
    MessageSent: ItemKind.MESSAGE,
    ApduExchanged: ItemKind.APDU,
    CryptoComputed: ItemKind.CRYPTO,
    CheckCompleted: ItemKind.CHECK,
    VerdictReached: ItemKind.VERDICT,
    SessionFailed: ItemKind.FAILURE,
}


class RunModel(QObject):
    """The timeline of the current run and the item the user is looking at."""

    cleared = Signal()
    itemsAdded = Signal(int, int)  # first, last index of the rows a batch added (inclusive)
    itemChanged = Signal(int)  # an earlier row got decoded data
    currentChanged = Signal(int)
    checksAdded = Signal(tuple)  # tuple[CheckCompleted, ...], new checks of a batch in order
    verdictChanged = Signal(object)  # VerdictReached | None
    failed = Signal(object)  # SessionFailed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[TimelineItem] = []
        self._steps: dict[Step, StepStarted] = {}
        self._checks: list[CheckCompleted] = []
        self._verdict: VerdictReached | None = None
        self._failure: SessionFailed | None = None
        self._current = -1
        self._apdus = 0
        self._masker = HexMasker()

    # ------------------------------------------------------------------ state
    @property
    def items(self) -> tuple[TimelineItem, ...]:
        return tuple(self._items)

    def item(self, index: int) -> TimelineItem:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    @property
    def apdu_count(self) -> int:
        return self._apdus

    @property
    def checks(self) -> tuple[CheckCompleted, ...]:
        """Every check reported so far (phone and verifier), without duplicates."""
        return tuple(self._checks)

    @property
    def verdict(self) -> VerdictReached | None:
        return self._verdict

    @property
    def failure(self) -> SessionFailed | None:
        return self._failure

    @property
    def current(self) -> int:
        """Index of the selected item, -1 when none."""
        return self._current

    # ------------------------------------------------------------------ filing events
    def clear(self) -> None:
        """Forget the previous run."""
        self._items.clear()
        self._steps.clear()
        self._checks.clear()
        self._verdict = self._failure = None
        self._current = -1
        self._apdus = 0
        self._masker.reset()
        self.cleared.emit()
        self.verdictChanged.emit(None)
        self.currentChanged.emit(-1)

    def add(self, event: Event) -> None:
        """File one event of the run (a batch of one: see :meth:`add_many`)."""
        self.add_many((event,))

    def add_many(self, events: Iterable[Event]) -> None:
        """File events of the run, in the order the worker emitted them; one signal of each kind per batch.

        Listeners see the batch whole: ``itemsAdded(first, last)`` once for the new
        rows (complete with their decoded data), ``itemChanged`` once per earlier row
        that got decoded data, ``checksAdded`` once with the new checks, then
        ``verdictChanged`` / ``failed`` when the batch holds the verdict / failure.
        """
        first = len(self._items)
        changed: dict[int, None] = {}
        checks: list[CheckCompleted] = []
        verdict: VerdictReached | None = None
        failure: SessionFailed | None = None
        for event in events:
            if isinstance(event, DataDecoded):
                index = self._attach(event)
                if index < first:
                    changed[index] = None
                continue
            kind = _KINDS.get(type(event))
            if kind is None:
                continue
            step = Step.VERDICT if isinstance(event, VerdictReached) else event.step
            item = TimelineItem(len(self._items), kind, step, event)
            if isinstance(event, StepStarted):
                self._steps[event.step] = event
            elif isinstance(event, ApduExchanged):
                self._apdus += 1
                item.apdu_number = self._apdus
                data = event.response[:-2] if len(event.response) >= 2 else event.response
                self._masker.learn(data)
                item.command_hex = self._masker.masked(event.command)
                item.response_hex = self._masker.masked(data)
            self._items.append(item)
            if isinstance(event, CheckCompleted):
                self._add_check(event, checks)
            elif isinstance(event, VerdictReached):
                self._verdict = verdict = event
                for check in event.checks:
                    self._add_check(check, checks)
            elif isinstance(event, SessionFailed):
                self._failure = failure = event
        if len(self._items) > first:
            self.itemsAdded.emit(first, len(self._items) - 1)
        for index in changed:
            self.itemChanged.emit(index)
        if checks:
            self.checksAdded.emit(tuple(checks))
        if verdict is not None:
            self.verdictChanged.emit(verdict)
        if failure is not None:
            self.failed.emit(failure)

    def _add_check(self, check: CheckCompleted, added: list[CheckCompleted]) -> None:
        if check not in self._checks:
            self._checks.append(check)
            added.append(check)

    def _attach(self, event: DataDecoded) -> int:
        """Hang decoded data on its exchange (or step); returns the row it went to."""
        for item in reversed(self._items):
            if item.kind in (ItemKind.APDU, ItemKind.STEP) and item.step is event.step:
                item.decoded.append(event)
                item.decoded_at.append(len(self._items))
                return item.index
        # Decoded data with no exchange or step to hang on: show it as its step's own row.
        item = TimelineItem(len(self._items), ItemKind.STEP, event.step, StepStarted(event.step, Lane.PHONE, ""))
        item.decoded.append(event)
        item.decoded_at.append(item.index)
        self._items.append(item)
        return item.index

    # ------------------------------------------------------------------ cursor
    def set_current(self, index: int) -> None:
        index = max(-1, min(index, len(self._items) - 1))
        if index != self._current:
            self._current = index
            self.currentChanged.emit(index)

    def step_forward(self) -> None:
        """Next item (the first one when nothing is selected)."""
        if self._items:
            self.set_current(min(self._current + 1, len(self._items) - 1))

    def step_back(self) -> None:
        """Previous item (stays on the first)."""
        if self._items:
            self.set_current(max(self._current - 1, 0))

    def first_index(self, kind: ItemKind, step: Step | None = None) -> int:
        """Index of the first item of ``kind`` (in ``step``), -1 when there is none."""
        for item in self._items:
            if item.kind is kind and (step is None or item.step is step):
                return item.index
        return -1

    # ------------------------------------------------------------------ detail
    def detail(self, index: int, as_of: int | None = None) -> ItemDetail | None:
        """What to show about item ``index``: its step's explanation, data, crypto and checks.

        ``as_of``: as the run stood when row ``as_of`` was filed (rows and decoded
        data that came after it left out) — what a live view showed at that moment.
        """
        if not 0 <= index < len(self._items):
            return None
        item = self._items[index]
        event = item.event
        started = self._steps.get(item.step)
        explanation = started.explanation if started else ""
        reference = started.reference if started else ""
        if not explanation and item.step is Step.VERDICT and self._verdict is not None:
            explanation = _verdict_text(self._verdict)
        rows = self._items if as_of is None else self._items[: as_of + 1]
        in_step = [i for i in rows if i.step is item.step]
        crypto = tuple(i.event for i in in_step if isinstance(i.event, CryptoComputed))
        checks = tuple(i.event for i in in_step if isinstance(i.event, CheckCompleted))
        decoded = tuple(d for i in in_step for d in _decoded(i, as_of))
        if item.kind is ItemKind.APDU:
            decoded = tuple(_decoded(item, as_of))
        elif isinstance(event, CryptoComputed):
            crypto, checks, decoded = (event,), (), ()
            reference = event.reference or reference
        elif isinstance(event, CheckCompleted):
            crypto, checks, decoded = (), (event,), ()
        elif isinstance(event, VerdictReached):
            checks = event.checks or tuple(self._checks)
            crypto, decoded = (), ()
            explanation = explanation or _verdict_text(event)
        elif isinstance(event, SessionFailed):
            explanation = (f"{event.reason}\n\nWhat to do: keep the card on the reader (or the phone) until the "
                           f"verdict and tap again (F5).\n\n({event.error_type} during “{event.step.title}”.)")  # fmt: skip
            reference, crypto, checks, decoded = "", (), (), ()
        title = item.step.title if item.kind is ItemKind.STEP else item.title
        return ItemDetail(title, item.actor, explanation, reference, item, decoded, crypto, checks)


def _decoded(item: TimelineItem, as_of: int | None) -> list[DataDecoded]:
    """The data decoded at ``item`` (only what had come when row ``as_of`` was filed)."""
    if as_of is None:
        return item.decoded
    return [d for d, at in zip(item.decoded, item.decoded_at, strict=True) if at <= as_of]


def _verdict_text(verdict: VerdictReached) -> str:
    if verdict.reasons:
        return f"The verifier's verdict is {verdict.outcome.value}: " + "; ".join(verdict.reasons)
    return f"The verifier's verdict is {verdict.outcome.value}."
