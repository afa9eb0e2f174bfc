"""The "OTP vs tap" page: one transaction, authenticated with TOTP, with EMV CAP and with a tap, side by side.

Left: the transaction, the CAP reader's mode (Identify / Respond / Sign) and the
Compare button. Right: one column per method — what the user does, what they
type, what is bound to the transaction, the verifier's checks and verdict, and
the time it took. The page renders a :class:`~app.gui.page_data.Comparison`;
everything in it (the authenticator's code included) is computed by the worker.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.gui.page_data import Comparison, MethodResult
from app.gui.theme import colours, primary_button_style
from app.gui.widgets.common import CheckList, VerdictBadge, mono_font, scaled, section, wrapping
from app.gui.widgets.transaction_panel import TransactionPanel

CAP_MODES = (
    ("identify", "Identify", "The reader makes a code from the card alone: no challenge, no amount"),
    ("respond", "Respond", "The user keys in the challenge the bank shows; the code answers it"),
    ("sign", "Sign", "The user keys in the challenge and the amount; the code covers both"),
)
_PLACEHOLDER = {
    "totp": ("TOTP (authenticator app)", "A 6-digit code from an app on the phone, typed into the bank's page."),
    "cap": ("EMV CAP (PINsentry-style reader)", "The card in a pocket reader, a PIN, and an 8-digit code typed in."),
    "tap": ("Card tap (TrustOne model)", "The phone shows the transaction; the user taps the card. Nothing typed."),
}


class MethodColumn(QFrame):
    """One method: verdict, the user's steps, what is typed and bound, the checks, the time."""

    showSteps = Signal(str)  # the method's key

    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.result: MethodResult | None = None
        self.setObjectName(f"method-{key}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(_PLACEHOLDER[key][0])
        self.title.setObjectName("method-title")
        self.title.setWordWrap(True)
        scaled(self.title, 1.25, bold=True)
        self.badge = VerdictBadge()
        self.badge.setObjectName("method-verdict")
        self.binding = QLabel()
        self.binding.setObjectName("method-binding")
        self.binding.setWordWrap(True)
        self.steps = wrapping(_PLACEHOLDER[key][1])
        self.steps.setObjectName("method-steps")
        self.typed = wrapping()
        self.typed.setFont(mono_font())
        self.bound = wrapping()
        for label in (self.typed, self.bound):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.checks = CheckList()
        self.checks.setObjectName("method-checks")
        self.checks.setMinimumHeight(120)
        self.time = QLabel()
        self.time.setObjectName("method-time")
        self.time.setWordWrap(True)
        self.note = wrapping()
        self.note.setObjectName("method-note")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.show_steps = QPushButton("Show the steps")
        self.show_steps.setToolTip("Open this run in the step-by-step views of the Card tap page")
        self.show_steps.setEnabled(False)
        self.show_steps.clicked.connect(lambda: self.showSteps.emit(self.key))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        for widget in (self.title, self.badge, self.binding, section("What the user does"), self.steps,
                       section("What the user types"), self.typed, section("Bound to the transaction"), self.bound,
                       section("The verifier's checks")):  # fmt: skip
            layout.addWidget(widget)
        layout.addWidget(self.checks, 1)
        layout.addWidget(self.time)
        layout.addWidget(self.note)
        layout.addWidget(self.show_steps)

    def set_result(self, result: MethodResult | None) -> None:
        self.result = result
        if result is None:
            self.title.setText(_PLACEHOLDER[self.key][0])
            self.badge.set_verdict(None, "—")
            self.steps.setText(_PLACEHOLDER[self.key][1])
            for label in (self.typed, self.bound, self.time, self.note, self.binding):
                label.setText("")
            self.checks.set_checks(())
            self.show_steps.setEnabled(False)
            return
        self.title.setText(result.method)
        self.badge.set_verdict(result.outcome)
        self.badge.setToolTip("; ".join(result.reasons) or "The verifier accepted")
        items = "".join(f"<li>{html.escape(step)}</li>" for step in result.user_steps)
        self.steps.setText(f"<ol style='margin-left:-20px'>{items}</ol>")
        self.typed.setText(result.typed)
        self.bound.setText(result.bound)
        self.checks.set_checks(result.checks)
        self.time.setText(f"Time: {result.elapsed_s * 1000:.0f} ms measured · {result.digits_typed} digits typed")
        self.note.setText(result.note)
        self.note.setVisible(bool(result.note))
        self.show_steps.setEnabled(bool(result.events))
        self.restyle()

    def binding_status(self) -> str:
        """``passed``, ``not checkable`` … of the verifier's ``transaction binding`` check ('' if none)."""
        if self.result is None:
            return ""
        found = [c for c in self.result.checks if c.check == "transaction binding"]
        return found[0].status.value if found else ""

    def restyle(self) -> None:
        palette = colours(self)
        self.badge.restyle()
        self.checks.restyle()
        status = self.binding_status()
        if status == "passed":
            text, colour = "✓ bound to this transaction", palette.passed
        elif status:
            text, colour = "? not bound to any transaction", palette.failed
        else:
            text, colour = "", palette.neutral
        self.binding.setText(text)
        self.binding.setStyleSheet(f"color: {colour.name()}; font-weight: bold;")
        self.note.setStyleSheet(f"color: {palette.neutral.name()};")


class OtpPage(QWidget):
    """Emits :attr:`compareRequested` (CAP mode) when Compare is pressed; renders :meth:`show_comparison`."""

    compareRequested = Signal(str)
    showSteps = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.transaction = TransactionPanel()
        self.transaction.setObjectName("otp-transaction")
        mode_box = QGroupBox("EMV CAP reader mode")
        self._modes = QButtonGroup(self)
        mode_layout = QVBoxLayout(mode_box)
        for i, (value, label, tip) in enumerate(CAP_MODES):
            button = QRadioButton(label)
            button.setObjectName(f"cap-{value}")
            button.setToolTip(tip)
            self._modes.addButton(button, i)
            mode_layout.addWidget(button)
        self._modes.button(2).setChecked(True)
        self.compare = QPushButton("Compare")
        self.compare.setObjectName("compare")
        self.compare.setMinimumHeight(44)
        scaled(self.compare, 1.2, bold=True)
        self.compare.setToolTip("Authenticate this transaction with TOTP, with EMV CAP and with a tap (Ctrl+Return)")
        self.compare.clicked.connect(self._request)
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(lambda: self.compare.isEnabled() and self._request())
        self.status = wrapping()
        self.status.setObjectName("otp-status")
        intro = wrapping("The same transaction, authenticated three ways by the same verifier. The codes are "
                         "the ones the user would see; the cards answer with a real card's timing.")  # fmt: skip
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (intro, self.transaction, mode_box, self.compare, self.status):
            left_layout.addWidget(widget)
        left_layout.addStretch(1)
        left.setFixedWidth(290)
        self.columns = {key: MethodColumn(key) for key in ("totp", "cap", "tap")}
        right = QHBoxLayout()
        for column in self.columns.values():
            column.showSteps.connect(self.showSteps)
            right.addWidget(column, 1)
        self.summary = wrapping()
        self.summary.setObjectName("otp-summary")
        right_box = QVBoxLayout()
        right_box.addLayout(right, 1)
        right_box.addWidget(self.summary)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(left)
        layout.addLayout(right_box, 1)
        self.comparison: Comparison | None = None
        self.restyle()

    def cap_mode(self) -> str:
        return CAP_MODES[max(0, self._modes.checkedId())][0]

    def set_cap_mode(self, mode: str) -> None:
        index = next((i for i, (value, _, _) in enumerate(CAP_MODES) if value == mode), 2)
        self._modes.button(index).setChecked(True)

    def _request(self) -> None:
        problem = self.transaction.problem()
        if problem:
            self.set_status(f"✗ {problem}", error=True)
            return
        self.compareRequested.emit(self.cap_mode())

    def set_running(self, running: bool, text: str = "") -> None:
        self.compare.setEnabled(not running)
        self.transaction.setEnabled(not running)
        if text:
            self.set_status(text)

    def set_status(self, text: str, error: bool = False) -> None:
        palette = colours(self)
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {(palette.failed if error else palette.neutral).name()};")

    def show_comparison(self, comparison: Comparison) -> None:
        self.comparison = comparison
        for method in comparison.methods:
            self.columns[method.key].set_result(method)
        verdicts = ", ".join(f"{m.method.split(' (')[0]}: {m.outcome}" for m in comparison.methods)
        bound = [m.method.split(" (")[0] for m in comparison.methods if self.columns[m.key].binding_status() == "passed"]
        self.summary.setText(
            f"<b>{html.escape(comparison.transaction)}</b> — {html.escape(verdicts)}. All three are accepted for the "
            f"honest user; what differs is what a code proves. Bound to this transaction: "
            f"<b>{html.escape(', '.join(bound) or 'none')}</b>. A code that is not bound is accepted for whatever "
            "transaction it is typed for (see the Attack lab: real-time phishing, malware changing the amount)."
        )  # fmt: skip

    def restyle(self) -> None:
        self.compare.setStyleSheet(primary_button_style(self.compare))
        for column in self.columns.values():
            column.restyle()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.PaletteChange:
            self.restyle()
        super().changeEvent(event)
