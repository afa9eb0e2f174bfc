"""Presentation mode: the run for an audience — large type, one step per screen, plain words.

Shown instead of the pages (View ▸ Presentation mode, F11 or Ctrl+P). Each
slide (:class:`~app.gui.models.slides.SlideDeck`) names the step, shows who acts
(Verifier · Phone · Card, the active one highlighted), a caption in plain words,
the protocol's own explanation, the card exchanges of the step and its checks;
the last slide is the verdict. Keys: Space or → next, ← back, Home/End, T tap,
Esc leaves. While a tap runs the newest step is shown until the presenter steps.

Only a visible view renders: while presentation mode is off, a changing run
just marks the view stale, and it renders once when shown again. Style sheets
are set only when they change (each one re-polishes its widget).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.gui.models.checks import MARKS
from app.gui.models.run import RunModel
from app.gui.models.slides import Slide, SlideDeck
from app.gui.theme import colours, primary_button_style
from app.gui.widgets.common import scaled
from protocol.tap.events import CheckStatus, Lane, MessageSent, Step

HINT = "Space / → next   ·   ← back   ·   T tap   ·   Esc leave presentation"


class PresentationView(QFrame):
    """The presentation page; emits :attr:`exitRequested` (Esc) and :attr:`tapRequested` (T or the button)."""

    exitRequested = Signal()
    tapRequested = Signal()

    def __init__(self, run: RunModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presentation")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.deck = SlideDeck(run, self)
        self.counter = QLabel()
        self.counter.setObjectName("slide-counter")
        scaled(self.counter, 1.4)
        self.context = QLabel()
        self.context.setObjectName("slide-context")
        self.context.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.context.setWordWrap(True)
        scaled(self.context, 1.4, bold=True)
        self.lanes = {lane: QLabel(lane.value) for lane in Lane}
        lanes = QHBoxLayout()
        lanes.setSpacing(24)
        for label in self.lanes.values():
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setMinimumHeight(48)
            scaled(label, 1.8, bold=True)
            lanes.addWidget(label, 1)
        self.flow = QLabel()
        self.flow.setObjectName("slide-flow")
        self.flow.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scaled(self.flow, 1.5)
        self.title = QLabel()
        self.title.setObjectName("slide-title")
        self.title.setWordWrap(True)
        scaled(self.title, 3.0, bold=True)
        self.caption = QLabel()
        self.caption.setObjectName("slide-caption")
        self.caption.setWordWrap(True)
        scaled(self.caption, 2.2)
        self.explanation = QLabel()
        self.explanation.setObjectName("slide-explanation")
        self.explanation.setWordWrap(True)
        scaled(self.explanation, 1.35)
        self.facts = QLabel()
        self.facts.setObjectName("slide-facts")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        scaled(self.facts, 1.6)
        self.back = QPushButton("◀ Back")
        self.next = QPushButton("Next ▶")
        self.tap = QPushButton("Tap card")
        self.tap.setObjectName("presentation-tap")
        self.leave = QPushButton("Leave (Esc)")
        for button in (self.back, self.next, self.tap, self.leave):
            button.setMinimumSize(150, 52)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            scaled(button, 1.5, bold=button is self.tap)
        self.back.clicked.connect(self.deck.back)
        self.next.clicked.connect(self.deck.next)
        self.tap.clicked.connect(self.tapRequested)
        self.leave.clicked.connect(self.exitRequested)
        self.hint = QLabel(HINT)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scaled(self.hint, 1.1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back)
        buttons.addWidget(self.tap)
        buttons.addWidget(self.next)
        buttons.addStretch(1)
        buttons.addWidget(self.leave)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 28, 48, 20)
        layout.setSpacing(14)
        top = QHBoxLayout()
        top.addWidget(self.counter)
        top.addWidget(self.context, 1)
        layout.addLayout(top)
        layout.addLayout(lanes)
        layout.addWidget(self.flow)
        layout.addWidget(self.title)
        layout.addWidget(self.caption)
        layout.addWidget(self.explanation)
        layout.addWidget(self.facts, 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        self._stale = True
        self.deck.changed.connect(self._deck_changed)
        self.render()

    # ------------------------------------------------------------------ keys
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        key = event.key()
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Down):
            self.deck.next()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_Up, Qt.Key.Key_Backspace):
            self.deck.back()
        elif key == Qt.Key.Key_Home:
            self.deck.go(0)
        elif key == Qt.Key.Key_End:
            self.deck.go(len(self.deck) - 1)
        elif key == Qt.Key.Key_Escape:
            self.exitRequested.emit()
        elif key == Qt.Key.Key_T and self.tap.isEnabled():
            self.tapRequested.emit()
        else:
            super().keyPressEvent(event)

    def set_context(self, text: str) -> None:
        """What is being authenticated (shown top right on every slide)."""
        self.context.setText(text)

    def set_busy(self, busy: bool) -> None:
        self.tap.setEnabled(not busy)
        self.tap.setText("Tapping…" if busy else "Tap card")

    # ------------------------------------------------------------------ rendering
    def _deck_changed(self) -> None:
        if self.isVisible():
            self.render()
        else:
            self._stale = True  # rendered when shown

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        if self._stale:
            self.render()
        super().showEvent(event)

    def render(self, *_args: object) -> None:
        self._stale = False
        slide = self.deck.current()
        total = len(self.deck)
        self.back.setEnabled(total > 0 and self.deck.position > 0)
        self.next.setEnabled(total > 0 and self.deck.position < total - 1)
        if slide is None:
            self.counter.setText("Presentation")
            self.title.setText("Ready to tap")
            self.caption.setText("The phone will read the card and the bank will decide — one step at a time.")
            self.explanation.setText("Press T (or Tap card) to start. The emulated card answers with a real card's "
                                     "timing.")  # fmt: skip
            self.facts.setText("")
            self.flow.setText("")
            _set_style(self.title, "")
            self._lanes(None)
            return
        self.counter.setText(f"Step {self.deck.position + 1} of {total}")
        self.title.setText(slide.title)
        _set_style(self.title, self._title_style(slide))
        self.caption.setText(slide.caption)
        self.explanation.setText(slide.explanation)
        self.facts.setText(self._facts(slide))
        self.flow.setText(self._flow(slide))
        self._lanes(slide)

    def _title_style(self, slide: Slide) -> str:
        """The verdict in its colour (the words say it too); other titles in the text colour."""
        c = colours(self)
        if slide.step is Step.VERDICT:
            colour = c.passed if "ACCEPT" in slide.title else c.failed if "REJECT" in slide.title else c.oda_bg
            return f"color: {colour.name()};"
        return f"color: {c.failed.name()};" if slide.title == "The tap failed" else ""

    def _facts(self, slide: Slide) -> str:
        c = colours(self)
        lines = [f"→ {html.escape(a.command_name)} &nbsp; ← {a.sw:04X} {html.escape(a.sw_meaning)}"
                 for a in slide.apdus[:6]]  # fmt: skip
        if len(slide.apdus) > 6:
            lines.append(f"… and {len(slide.apdus) - 6} more exchanges")
        for check in slide.checks[:12]:
            colour = {CheckStatus.PASSED: c.passed, CheckStatus.FAILED: c.failed}.get(check.status, c.neutral)
            lines.append(f"<span style='color:{colour.name()}'><b>{MARKS[check.status]}</b></span> "
                         f"{html.escape(check.check)}")  # fmt: skip
        return "<br>".join(lines)

    @staticmethod
    def _partner(slide: Slide) -> Lane | None:
        """Who the active lane talks to in this step: the card for APDUs, else a message's receiver."""
        if slide.apdus:
            return Lane.CARD
        return next((i.event.receiver for i in slide.items if isinstance(i.event, MessageSent)), None)

    def _flow(self, slide: Slide) -> str:
        apdus = slide.apdus
        if apdus:
            total = sum(a.elapsed_ns or 0 for a in apdus) / 1e6
            count = f"{len(apdus)} exchange{'s' if len(apdus) != 1 else ''}"
            return f"{slide.actor.value}  ⇄  Card   ·   {count}   ·   {total:.0f} ms with the card"
        message = next((i.event for i in slide.items if isinstance(i.event, MessageSent)), None)
        if message is not None:
            return f"{message.sender.value}  →  {message.receiver.value}   ·   {message.label}"
        return ""

    def _lanes(self, slide: Slide | None) -> None:
        c = colours(self)
        partner = self._partner(slide) if slide is not None else None
        for lane, label in self.lanes.items():
            active = slide is not None and slide.actor is lane
            background = (c.reject_bg if slide is not None and slide.failed else c.primary) if active else c.idle_bg
            if not active and lane is partner:
                background = c.selection
            foreground = "#ffffff" if active else self.palette().windowText().color().name()
            _set_style(label, f"QLabel {{ background: {background.name()}; color: {foreground};"
                              " border-radius: 8px; padding: 6px; }")  # fmt: skip

    def restyle(self) -> None:
        _set_style(self.tap, primary_button_style(self.tap))
        _set_style(self.hint, f"color: {colours(self).neutral.name()};")
        _set_style(self.explanation, f"color: {colours(self).neutral.name()};")
        self.render()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.PaletteChange:
            self.restyle()
        super().changeEvent(event)


def _set_style(widget: QWidget, sheet: str) -> None:
    """``setStyleSheet`` only when the sheet changes (setting one re-polishes the widget, even the same one)."""
    if widget.styleSheet() != sheet:
        widget.setStyleSheet(sheet)
