"""The transaction panel: type, amount and currency, payee — the T the tap authenticates."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from app.gui.requests import (
    COMMON_CURRENCIES,
    DEFAULT_CURRENCY,
    TRANSACTION_KINDS,
    InputError,
    TransactionInput,
)
from app.gui.theme import colours


class TransactionPanel(QGroupBox):
    """Edits a :class:`~app.gui.requests.TransactionInput`; shows what is wrong with it."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Transaction", parent)
        self.kind = QComboBox()
        self.kind.setObjectName("kind")
        for value, label in TRANSACTION_KINDS:
            self.kind.addItem(label, value)
        self.kind.setToolTip("What the user authorises: its EMV transaction type (9C) is bound to the cryptogram")

        self.amount = QLineEdit("50000")
        self.amount.setObjectName("amount")
        self.amount.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.amount.setToolTip("Amount in the currency's major unit (KRW has no decimals): sent to the card as 9F02")
        self.currency = QComboBox()
        self.currency.setObjectName("currency")
        for alpha, numeric, _ in COMMON_CURRENCIES:
            self.currency.addItem(alpha, alpha)
            self.currency.setItemData(self.currency.count() - 1, f"ISO 4217 {alpha} ({numeric})",
                                      Qt.ItemDataRole.ToolTipRole)  # fmt: skip
        self.currency.setCurrentIndex(self.currency.findData(DEFAULT_CURRENCY))
        self.currency.setToolTip("ISO 4217 currency: sent to the card as 5F2A")
        amount_row = QHBoxLayout()
        amount_row.setContentsMargins(0, 0, 0, 0)
        amount_row.addWidget(self.amount, 1)
        amount_row.addWidget(self.currency)

        self.payee = QLineEdit("Coffee Shop Seoul")
        self.payee.setObjectName("payee")
        self.payee.setMaxLength(128)
        self.payee.setToolTip("Who is paid (or which service you log in to); part of H(T), bound to the challenge")

        self.problem_label = QLabel()
        self.problem_label.setObjectName("transaction-problem")
        self.problem_label.setWordWrap(True)
        self.problem_label.hide()

        form = QFormLayout(self)
        form.addRow("Type", self.kind)
        form.addRow("Amount", amount_row)
        form.addRow("Payee", self.payee)
        form.addRow("", self.problem_label)
        for signal in (self.kind.currentIndexChanged, self.currency.currentIndexChanged):
            signal.connect(self._edited)
        for signal in (self.amount.textChanged, self.payee.textChanged):
            signal.connect(self._edited)

    def transaction(self) -> TransactionInput:
        return TransactionInput(
            kind=str(self.kind.currentData()),
            amount=self.amount.text().strip(),
            currency=str(self.currency.currentData()),
            payee=self.payee.text(),
        )

    def set_transaction(self, entry: TransactionInput) -> None:
        index = self.kind.findData(entry.kind)
        self.kind.setCurrentIndex(max(index, 0))
        index = self.currency.findData(entry.currency)
        self.currency.setCurrentIndex(index if index >= 0 else self.currency.findData(DEFAULT_CURRENCY))
        self.amount.setText(entry.amount)
        self.payee.setText(entry.payee)

    def problem(self) -> str | None:
        """What is wrong with the fields, or ``None``."""
        try:
            self.transaction().validate()
        except InputError as exc:
            return str(exc)
        return None

    def _edited(self) -> None:
        problem = self.problem()
        self.problem_label.setVisible(problem is not None)
        if problem is not None:
            self.problem_label.setText(f"✗ {problem}")
            self.problem_label.setStyleSheet(f"color: {colours(self).failed.name()};")
        self.changed.emit()
