"""Presentation mode on and off: the large one-step-at-a-time view, full screen, real-card timing.

View ▸ Presentation mode (F11 or Ctrl+P) swaps the window's pages for the
:class:`~app.gui.widgets.presentation.PresentationView` on the same run (its
cursor is shared with the diagram and the log), goes full screen, and makes
taps use the emulated card's realistic timing (``CardSource.timing``) so a tap
lasts as long as a real one. Esc, F11 or Ctrl+P leave it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence

from app.gui.widgets.presentation import PresentationView

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class PresentationMode(QObject):
    """Owns the presentation view and the View ▸ Presentation mode action."""

    toggled = Signal(bool)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.view = PresentationView(window.run)
        window.stack.addWidget(self.view)
        self.action = QAction("&Presentation mode", window, checkable=True)
        self.action.setShortcuts([QKeySequence(Qt.Key.Key_F11), QKeySequence("Ctrl+P")])
        self.action.setToolTip("Large type, one step at a time, real-card timing (F11 or Ctrl+P; Esc leaves)")
        self.action.setStatusTip(self.action.toolTip())
        self.action.toggled.connect(self._set)
        window.addAction(self.action)  # its keys work while the menu bar is hidden
        self.view.exitRequested.connect(lambda: self.action.setChecked(False))
        self.view.tapRequested.connect(window.tap)
        window.controller.busyChanged.connect(self.view.set_busy)
        self._was_full_screen = False

    @property
    def active(self) -> bool:
        return self.action.isChecked()

    def enter(self) -> None:
        self.action.setChecked(True)

    def leave(self) -> None:
        self.action.setChecked(False)

    def _set(self, on: bool) -> None:
        window = self.window
        if on:
            self._was_full_screen = window.isFullScreen()
            window.stack.setCurrentWidget(self.view)
            window.menuBar().setVisible(False)
            window.statusBar().setVisible(False)
            if window.prefs.settings.value("view/presentation_full_screen", "true") == "true":
                window.showFullScreen()
            self.view.restyle()
            self.view.setFocus()
        else:
            window.stack.setCurrentIndex(0)
            window.menuBar().setVisible(True)
            window.statusBar().setVisible(True)
            if not self._was_full_screen and window.isFullScreen():
                window.showNormal()
            window.page.tap_button.setFocus()
        self.toggled.emit(on)
