"""The verdict banner: the outcome of the run at a glance, in colour *and* words.

States: ready, preparing the test card, waiting for a card (with Cancel), tapping,
ACCEPT, REJECT, OFFLINE DATA AUTHENTICATION ONLY, tap failed, no verdict,
cancelled, could not start. The headline always names the state in words and
with a symbol, so it never depends on colour alone.
"""

from __future__ import annotations

import enum

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.gui.theme import colours
from protocol.tap.events import Outcome, VerdictReached


class BannerState(enum.Enum):
    READY = "ready"
    PREPARING = "preparing"
    WAITING = "waiting"
    RUNNING = "running"
    ACCEPT = "accept"
    REJECT = "reject"
    ODA_ONLY = "oda-only"
    FAILED = "failed"
    NO_VERDICT = "no-verdict"
    CANCELLED = "cancelled"
    ERROR = "error"


HEADLINES = {
    BannerState.READY: "Ready to tap",
    BannerState.PREPARING: "Preparing the test card…",
    BannerState.WAITING: "Waiting for a card…",
    BannerState.RUNNING: "Tapping…",
    BannerState.ACCEPT: "✓ ACCEPT",
    BannerState.REJECT: "✗ REJECT",
    BannerState.ODA_ONLY: "! OFFLINE DATA AUTHENTICATION ONLY",
    BannerState.FAILED: "✗ TAP FAILED",
    BannerState.NO_VERDICT: "… NO VERDICT",
    BannerState.CANCELLED: "Cancelled",
    BannerState.ERROR: "✗ Could not start the tap",
}

_OUTCOME_STATES = {Outcome.ACCEPT: BannerState.ACCEPT, Outcome.REJECT: BannerState.REJECT}


class VerdictBanner(QFrame):
    """A coloured strip with a headline, one line of detail and, while waiting, a Cancel button."""

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("verdict-banner")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAutoFillBackground(True)
        self.setMinimumHeight(62)
        self.headline = QLabel()
        self.headline.setObjectName("verdict-headline")
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.headline.setFont(font)
        self.detail = QLabel()
        self.detail.setObjectName("verdict-detail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancel")
        self.cancel.setToolTip("Stop waiting for a card / stop the tap (Esc)")
        self.cancel.clicked.connect(self.cancelRequested)
        text = QVBoxLayout()
        text.setSpacing(1)
        text.addWidget(self.headline)
        text.addWidget(self.detail)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 6, 14, 6)
        layout.addLayout(text, 1)
        layout.addWidget(self.cancel, 0, Qt.AlignmentFlag.AlignVCenter)
        self.state = BannerState.READY
        self.set_state(BannerState.READY, "Press Tap (Ctrl+T) to authenticate the transaction with the card.")

    def set_state(self, state: BannerState, detail: str = "") -> None:
        self.state = state
        self.headline.setText(HEADLINES[state])
        self.detail.setText(detail)
        self.detail.setToolTip(detail)
        self.cancel.setVisible(state in (BannerState.WAITING, BannerState.RUNNING))
        self._paint(state)

    def set_waiting(self, text: str) -> None:
        """A real reader: say what we wait for ("Waiting for a card on ACS ACR122U…")."""
        self.set_state(BannerState.WAITING, "Present the card to the reader, or press Cancel.")
        self.headline.setText(text)

    def show_verdict(self, verdict: VerdictReached, context: str = "") -> None:
        """The verifier's outcome; ``context`` (the transaction, say) leads the detail line."""
        state = _OUTCOME_STATES.get(verdict.outcome, BannerState.ODA_ONLY)
        if verdict.reasons:
            detail = "; ".join(verdict.reasons)
        elif verdict.checks:
            detail = f"All {len(verdict.checks)} verifier checks passed."
        else:
            detail = "The verifier accepted the assertion."
        if state is BannerState.ODA_ONLY and not verdict.reasons:
            detail = "The card is genuine (offline data authentication passed); its ARQC could not be checked."
        self.set_state(state, f"{context} — {detail}" if context else detail)

    def _paint(self, state: BannerState) -> None:
        palette = colours(self)
        strong = {
            BannerState.ACCEPT: palette.accept_bg,
            BannerState.REJECT: palette.reject_bg,
            BannerState.FAILED: palette.reject_bg,
            BannerState.ERROR: palette.reject_bg,
            BannerState.ODA_ONLY: palette.oda_bg,
        }.get(state)
        if strong is not None:
            background, foreground = strong, palette.banner_fg
        elif state in (BannerState.WAITING, BannerState.RUNNING, BannerState.PREPARING):
            background, foreground = palette.info_bg, palette.info_fg
        else:
            background, foreground = palette.idle_bg, self.palette().windowText().color()
        self._colours(background, foreground)

    def _colours(self, background: QColor, foreground: QColor) -> None:
        sheet = (
            f"#verdict-banner {{ background: {background.name()}; border-radius: 6px; }}"
            f"#verdict-banner QLabel {{ color: {foreground.name()}; background: transparent; }}"
        )
        if sheet != self.styleSheet():  # setting one re-polishes the banner and its children, even the same one
            self.setStyleSheet(sheet)
