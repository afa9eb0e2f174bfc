"""Presentation mode's slides: the run, one protocol step at a time, with a caption for an audience.

:class:`SlideDeck` groups the :class:`~app.gui.models.run.RunModel` timeline by
step (a slide starts at each step heading; the verdict and a failure are slides
of their own) and follows the run's cursor, so the presentation, the diagram and
the log always show the same place. Captions are plain words for a product
audience; the step's own explanation (from the protocol events) follows them.

The deck is built lazily: a change of the run only marks it stale (and says
so with :attr:`SlideDeck.changed`); the slides are grouped again when someone
reads them — the presentation view when it is visible — so a tap with
presentation mode hidden costs nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from app.gui.models.run import ItemKind, RunModel, TimelineItem
from protocol.tap.events import ApduExchanged, CheckCompleted, CheckStatus, Lane, SessionFailed, Step, VerdictReached

CAPTIONS: dict[Step, str] = {
    Step.ENROL: "First time with this phone: the bank links this card to this phone, once.",
    Step.CHALLENGE: "The bank creates a one-time challenge tied to exactly this transaction.",
    Step.CONFIRM: "The phone shows the transaction. The user checks it and taps the card to approve.",
    Step.SELECT_PPSE: "The phone asks the card which payment applications it holds.",
    Step.SELECT_AID: "The phone opens the card's payment application.",
    Step.GET_PROCESSING_OPTIONS: "The phone hands the card the amount and the challenge number, and learns what "
                                 "the card can do.",
    Step.RELAY_RESISTANCE: "A timed exchange: a relay over the internet would make it measurably too slow.",
    Step.READ_RECORDS: "The phone reads the card's public data and its certificates.",
    Step.OFFLINE_DATA_AUTHENTICATION: "The phone checks the certificates: a real bank issued this card.",
    Step.INTERNAL_AUTHENTICATE: "The card signs a fresh number with a secret key: it is not a copy.",
    Step.GENERATE_AC: "The card seals the transaction with a key that never leaves the chip.",
    Step.ASSERTION: "The phone signs everything with its own key and sends it to the bank.",
    Step.VERIFICATION: "The bank checks every answer against its own copy of the transaction.",
    Step.VERDICT: "The bank's decision.",
}


@dataclass(frozen=True)
class Slide:
    """One step of the run: its first item (the cursor goes there) and everything that happened in it."""

    first: int
    step: Step
    actor: Lane
    title: str
    caption: str
    explanation: str
    items: tuple[TimelineItem, ...]

    @property
    def apdus(self) -> tuple[ApduExchanged, ...]:
        return tuple(i.event for i in self.items if isinstance(i.event, ApduExchanged))

    @property
    def checks(self) -> tuple[CheckCompleted, ...]:
        verdicts = [i.event for i in self.items if isinstance(i.event, VerdictReached)]
        if verdicts:
            return verdicts[0].checks
        return tuple(i.event for i in self.items if isinstance(i.event, CheckCompleted))

    @property
    def failed(self) -> bool:
        return any(c.status is CheckStatus.FAILED for c in self.checks) or any(
            i.kind is ItemKind.FAILURE for i in self.items)  # fmt: skip


def _slide(items: list[TimelineItem]) -> Slide:
    head = items[0]
    event = head.event
    if isinstance(event, VerdictReached):
        reasons = "; ".join(event.reasons)
        return Slide(head.index, Step.VERDICT, Lane.VERIFIER, f"Verdict: {event.outcome.value}",
                     CAPTIONS[Step.VERDICT], reasons or "Every check passed.", tuple(items))  # fmt: skip
    if isinstance(event, SessionFailed):
        return Slide(head.index, event.step, Lane.PHONE, "The tap failed", "The card stopped answering.",
                     event.reason, tuple(items))  # fmt: skip
    explanation = getattr(event, "explanation", "") or ""
    return Slide(head.index, head.step, head.actor, head.step.title, CAPTIONS.get(head.step, ""), explanation,
                 tuple(items))  # fmt: skip


def slides_of(run: RunModel) -> list[Slide]:
    """The run's items grouped into slides (see the module docstring)."""
    groups: list[list[TimelineItem]] = []
    for item in run.items:
        starts = item.kind in (ItemKind.STEP, ItemKind.VERDICT, ItemKind.FAILURE) or not groups
        if starts:
            groups.append([item])
        else:
            groups[-1].append(item)
    return [_slide(group) for group in groups]


class SlideDeck(QObject):
    """The slides of the run and which one is shown; follows and moves the run's cursor.

    :attr:`changed` says the deck (or its position) may have changed; reading
    :attr:`slides`, :attr:`position`, :meth:`current` or ``len()`` brings it up to date.
    """

    changed = Signal()

    def __init__(self, run: RunModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self._slides: list[Slide] = []
        self._position = -1
        self._stale = True
        self._cursor_at = -1  # a run cursor the deck has not caught up with yet (see _update)
        self.follow = True  # show the newest slide while a tap runs, until the user steps
        run.cleared.connect(self._cleared)
        run.itemsAdded.connect(self._invalidate)
        run.itemChanged.connect(self._invalidate)
        run.currentChanged.connect(self._cursor)

    @property
    def slides(self) -> list[Slide]:
        self._update()
        return self._slides

    @property
    def position(self) -> int:
        """Index of the slide shown, -1 when there is none."""
        self._update()
        return self._position

    @property
    def stale(self) -> bool:
        """The run changed since the slides were last grouped."""
        return self._stale

    def __len__(self) -> int:
        return len(self.slides)

    def current(self) -> Slide | None:
        slides, position = self.slides, self._position
        return slides[position] if 0 <= position < len(slides) else None

    def go(self, position: int) -> None:
        slides = self.slides
        if not slides:
            return
        self.follow = False
        self._position = max(0, min(position, len(slides) - 1))
        self.run.set_current(slides[self._position].first)
        self.changed.emit()

    def next(self) -> None:
        position = self.position
        self.go(position + 1 if position >= 0 else 0)

    def back(self) -> None:
        self.go(self.position - 1)

    def _cleared(self) -> None:
        self.follow = True
        self._cursor_at = -1
        self._invalidate()

    def _invalidate(self, *_args: object) -> None:
        if self.follow:
            self._cursor_at = -1  # new rows: a following deck goes to the newest slide, whatever the cursor said
        self._stale = True
        self.changed.emit()

    def _update(self) -> None:
        """Catch up with the run: group it into slides again if it changed, then follow its cursor.

        The same as doing both at every change (slides only grow between clears, and
        the slide that holds a row stays the same as rows are added after it).
        """
        if self._stale:
            self._stale = False
            self._slides = slides_of(self.run)
            if not self._slides:
                self._position, self.follow = -1, True
            elif self.follow:
                self._position = len(self._slides) - 1
            else:
                self._position = min(self._position, len(self._slides) - 1)
        if self._cursor_at >= 0:
            index, self._cursor_at = self._cursor_at, -1
            slides = self._slides
            for position, slide in enumerate(slides):
                if slide.first <= index and (position + 1 == len(slides) or slides[position + 1].first > index):
                    self._position = position
                    break

    def _cursor(self, index: int) -> None:
        """The run's cursor moved: the deck shows the slide holding it (worked out when the deck is next read)."""
        if index < 0:
            return
        self._cursor_at = index
        self.changed.emit()
