"""The card source panel: emulated card (profile + faults), PC/SC reader, or NFC device.

The panel only edits a :class:`~app.gui.requests.CardSource`. What it offers
(profile titles, the live reader list, whether a reader holds a card) and how a
fault plan is validated are given to it by the window, so it imports neither
``card_emulation`` nor a driver.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui.requests import DEFAULT_NFC_PATH, CardSource, SourceKind
from app.gui.theme import colours

FaultValidator = Callable[[str], str]

_LABELS = {SourceKind.EMULATED: "Emulated", SourceKind.PCSC: "PC/SC", SourceKind.NFC: "NFC"}
_TIPS = {
    SourceKind.EMULATED: "A test card emulated inside the app: no hardware needed",
    SourceKind.PCSC: "A real card in a PC/SC reader (pcscd), e.g. ACS ACR122U or a contact reader",
    SourceKind.NFC: "A real card on a USB NFC reader driven by nfcpy (PN533, RC-S380, …)",
}


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class SourcePanel(QGroupBox):
    """Choose where the card comes from; emits :attr:`changed` on every edit."""

    changed = Signal()
    kindChanged = Signal(object)  # SourceKind

    def __init__(self, validate_faults: FaultValidator, fault_help: str = "", parent: QWidget | None = None) -> None:
        super().__init__("Card", parent)
        self._validate = validate_faults
        self._fault_error: str | None = None
        self._cards: set[str] = set()
        self._reader_note = ""
        self._preferred_reader = ""

        self._buttons = QButtonGroup(self)
        row = QHBoxLayout()
        for i, kind in enumerate(SourceKind):
            button = QRadioButton(_LABELS[kind])
            button.setToolTip(_TIPS[kind])
            button.setObjectName(f"source-{kind.value}")
            self._buttons.addButton(button, i)
            row.addWidget(button)
        row.addStretch(1)
        self._buttons.button(0).setChecked(True)

        self.stack = QStackedWidget()
        self.stack.addWidget(self._emulated_page(fault_help))
        self.stack.addWidget(self._pcsc_page())
        self.stack.addWidget(self._nfc_page())

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.stack)
        self._buttons.idToggled.connect(self._kind_toggled)
        self._check_faults()

    # ------------------------------------------------------------------ pages
    def _emulated_page(self, fault_help: str) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.profile = QComboBox()
        self.profile.setObjectName("profile")
        self.profile.setToolTip("Which test card to emulate (resources/cards/*.toml)")
        self.profile.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.profile.setMinimumContentsLength(18)
        self.profile.view().setMinimumWidth(460)  # the list shows whole titles
        self.faults = QLineEdit()
        self.faults.setObjectName("faults")
        self.faults.setPlaceholderText("none — e.g. genac:corrupt-ac")
        self.faults.setClearButtonEnabled(True)
        self.faults.setToolTip(fault_help or "A fault plan (docs/faults.md)")
        self.fault_status = _hint()
        self.fault_status.setObjectName("fault-status")
        form.addRow("Profile", self.profile)
        form.addRow("Faults", self.faults)
        form.addRow("", self.fault_status)
        self.profile.currentIndexChanged.connect(self.changed)
        self.faults.textChanged.connect(self._check_faults)
        return page

    def _pcsc_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.reader = QComboBox()
        self.reader.setObjectName("reader")
        self.reader.setToolTip("PC/SC readers present now; the list follows readers plugged in or out")
        self.reader.setPlaceholderText("no reader connected")
        self.reader.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.reader.setMinimumContentsLength(18)
        self.reader_status = _hint("Looking for readers…")
        self.reader_status.setObjectName("reader-status")
        form.addRow("Reader", self.reader)
        form.addRow("", self.reader_status)
        self.reader.currentIndexChanged.connect(self._reader_selected)
        return page

    def _nfc_page(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.nfc_path = QLineEdit(DEFAULT_NFC_PATH)
        self.nfc_path.setObjectName("nfc-path")
        self.nfc_path.setToolTip("nfcpy device path: usb, usb:VID:PID, tty:PORT:DRIVER or udp:HOST:PORT")
        self.nfc_path.setPlaceholderText("usb, usb:054c:06c1, tty:USB0:pn532")
        form.addRow("Device", self.nfc_path)
        form.addRow("", _hint("The reader is opened when you tap."))
        self.nfc_path.textChanged.connect(self.changed)
        return page

    # ------------------------------------------------------------------ offers
    def set_profiles(self, choices: list[tuple[str, str]]) -> None:
        """``(name, title)`` pairs; the title is shown, the name is kept."""
        current = self.profile.currentData()
        self.profile.blockSignals(True)
        self.profile.clear()
        for name, title in choices:
            self.profile.addItem(title, name)
            self.profile.setItemData(self.profile.count() - 1, f"{title}\n({name})", Qt.ItemDataRole.ToolTipRole)
        self.profile.blockSignals(False)
        self._select_data(self.profile, current)

    def set_readers(self, readers: list[str]) -> None:
        """The readers present now (hot-plug): keeps the selection when it is still there."""
        current = self.reader.currentText() or self._preferred_reader
        self.reader.blockSignals(True)
        self.reader.clear()
        self.reader.addItems(readers)
        if current in readers:
            self.reader.setCurrentText(current)
        elif readers:
            self.reader.setCurrentIndex(0)
        self.reader.blockSignals(False)
        self._reader_selected()

    def set_reader_status(self, text: str) -> None:
        self._reader_note = text
        self._reader_selected()

    def set_card_present(self, reader: str, present: bool) -> None:
        if present:
            self._cards.add(reader)
        else:
            self._cards.discard(reader)
        self._reader_selected()

    def _reader_selected(self) -> None:
        note = self._reader_note
        reader = self.reader.currentText()
        if reader:
            card = "a card is present" if reader in self._cards else "no card yet: you will be asked to tap one"
            self.reader_status.setText(f"● {card}" + (f"\n{note}" if note else ""))
        else:
            self.reader_status.setText(note or "Looking for readers…")
        self.changed.emit()

    # ------------------------------------------------------------------ value
    def kind(self) -> SourceKind:
        return list(SourceKind)[max(0, self._buttons.checkedId())]

    def source(self) -> CardSource:
        return CardSource(
            kind=self.kind(),
            profile=str(self.profile.currentData() or ""),
            faults=self.faults.text().strip(),
            reader=self.reader.currentText(),
            device=self.nfc_path.text().strip() or DEFAULT_NFC_PATH,
        )

    def set_source(self, source: CardSource) -> None:
        self._buttons.button(list(SourceKind).index(source.kind)).setChecked(True)
        self._select_data(self.profile, source.profile)
        self.faults.setText(source.faults)
        if source.reader:
            self._preferred_reader = source.reader
            index = self.reader.findText(source.reader)
            if index >= 0:
                self.reader.setCurrentIndex(index)
        self.nfc_path.setText(source.device)

    def problem(self) -> str | None:
        """Why a tap cannot start with this source, or ``None``."""
        kind = self.kind()
        if kind is SourceKind.EMULATED:
            if not self.profile.currentData():
                return "Choose a test card profile."
            return f"Faults: {self._fault_error}" if self._fault_error else None
        if kind is SourceKind.PCSC and not self.reader.currentText():
            return "No PC/SC reader is selected (connect one, it appears in the list)."
        if kind is SourceKind.NFC and not self.nfc_path.text().strip():
            return "Enter the NFC reader's device path (e.g. usb)."
        return None

    # ------------------------------------------------------------------ internals
    def _kind_toggled(self, button_id: int, checked: bool) -> None:
        if checked:
            self.stack.setCurrentIndex(button_id)
            self.kindChanged.emit(self.kind())
            self.changed.emit()

    def restyle(self) -> None:
        """Re-colour the validation feedback (after a theme change)."""
        self._check_faults()

    def _check_faults(self) -> None:
        palette = colours(self)
        try:
            text = self._validate(self.faults.text())
        except ValueError as exc:
            self._fault_error = str(exc)
            self.fault_status.setText(f"✗ {exc}")
            self.fault_status.setStyleSheet(f"color: {palette.failed.name()};")
            self.faults.setStyleSheet(f"QLineEdit {{ border: 1px solid {palette.failed.name()}; }}")
        else:
            self._fault_error = None
            self.fault_status.setText(text)
            self.fault_status.setStyleSheet(f"color: {palette.neutral.name()};")
            self.faults.setStyleSheet("")
        self.changed.emit()

    @staticmethod
    def _select_data(combo: QComboBox, data: object) -> None:
        index = combo.findData(data)
        if index >= 0:
            combo.setCurrentIndex(index)
        elif combo.count() and combo.currentIndex() < 0:
            combo.setCurrentIndex(0)
