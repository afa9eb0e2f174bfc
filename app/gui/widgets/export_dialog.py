"""The save dialog of File ▸ Export, with the explicit "reveal card numbers" choice and its warning.

Card data is masked in every export (DESIGN.md §7). A JSON trace or a pcapng can
be written unmasked only when the user ticks *Reveal card numbers* in this
dialog — the warning under it says what that means — and confirms once more.
The HTML report is always masked (no tick box). The dialog is Qt's own file
dialog (not the platform's) so that the tick box sits inside it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QFileDialog, QGridLayout, QLabel, QMessageBox, QWidget

from app.gui.theme import colours

REVEAL_TEXT = "Reveal card numbers (full PAN and track data)"
REVEAL_WARNING = (
    "⚠ The file will contain the card's full number and track data. Anyone who gets the file can read them. "
    "Leave this unticked to share traces safely: numbers are masked (first 6 / last 4)."
)


class ExportDialog(QFileDialog):
    """A save dialog for one export format; :attr:`reveal` is the tick box (absent for HTML)."""

    def __init__(self, parent: QWidget | None, title: str, name_filter: str, directory: str, suggested: str,
                 allow_reveal: bool) -> None:  # fmt: skip
        super().__init__(parent, title, str(Path(directory) / suggested), name_filter)
        self.setObjectName("export-dialog")
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        self.setFileMode(QFileDialog.FileMode.AnyFile)
        self.reveal = QCheckBox(REVEAL_TEXT)
        self.reveal.setObjectName("reveal-card-numbers")
        self.warning = QLabel(REVEAL_WARNING)
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(f"color: {colours(self).failed.name()};")
        self.warning.setVisible(False)
        self.reveal.toggled.connect(self.warning.setVisible)
        layout = self.layout()
        if allow_reveal and isinstance(layout, QGridLayout):
            row = layout.rowCount()
            layout.addWidget(self.reveal, row, 0, 1, -1)
            layout.addWidget(self.warning, row + 1, 0, 1, -1)
        else:
            self.reveal.hide()

    def chosen(self) -> tuple[Path, bool] | None:
        """Run the dialog; the path and the reveal choice (confirmed), or ``None`` when cancelled."""
        if not self.exec():
            return None
        files = self.selectedFiles()
        if not files:
            return None
        reveal = self.reveal.isChecked() and not self.reveal.isHidden()
        if reveal:
            answer = QMessageBox.warning(
                self.parentWidget(), "Reveal card numbers?",
                "The exported file will contain full card numbers and track data.\n\nWrite it unmasked?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
            )  # fmt: skip
            if answer != QMessageBox.StandardButton.Yes:
                return None
        return Path(files[0]), reveal
