"""What choosing a card source sets in motion: preparing an emulated test card, watching PC/SC readers.

:class:`CardSetup` follows the Card panel of the window: choosing an emulated
profile has the worker personalise and cache its card image (first use only),
with the progress bar and the banner saying so; choosing PC/SC starts the
reader watcher (once) and connects its hot-plug signals to the panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from app.gui.requests import SourceKind
from app.gui.widgets.verdict_banner import BannerState

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


class CardSetup(QObject):
    """Prepares emulated cards and starts the reader watcher as the user picks a source."""

    def __init__(self, window: MainWindow, *, prepare: bool) -> None:
        super().__init__(window)
        self.window = window
        self.enabled = prepare
        self._preparing = 0
        self._requested = ""
        self._readers_connected = False
        worker = window.worker
        worker.preparing.connect(self._on_preparing)
        worker.prepared.connect(self._on_prepared)
        worker.prepareFailed.connect(self._on_failed)
        window.page.source.kindChanged.connect(self.kind_changed)
        window.page.source.profile.currentIndexChanged.connect(lambda _i: self.prepare())

    def prepare(self) -> None:
        """Have the worker personalise/cache the chosen test card (once per profile)."""
        source = self.window.page.source.source()
        if not self.enabled or source.kind is not SourceKind.EMULATED or not source.profile:
            return
        if source.profile != self._requested:
            self._requested = source.profile
            self.window.controller.prepare(source.profile)

    def kind_changed(self, kind: SourceKind) -> None:
        window = self.window
        if kind is SourceKind.PCSC and not self._readers_connected:
            watcher = window.controller.watch_readers()
            watcher.readersChanged.connect(window.page.source.set_readers)
            watcher.cardChanged.connect(window.page.source.set_card_present)
            watcher.status.connect(window.page.source.set_reader_status)
            self._readers_connected = True
        elif kind is SourceKind.EMULATED:
            self.prepare()

    def _on_preparing(self, text: str) -> None:
        window = self.window
        self._preparing += 1
        window.progress.show()
        window.statusBar().showMessage(text)
        if not window.controller.busy:
            window.page.banner.set_state(BannerState.PREPARING, "Personalising the emulated card once; later starts "
                                         "reuse it.")  # fmt: skip

    def _on_prepared(self, profile: str) -> None:
        window = self.window
        self._preparing = max(0, self._preparing - 1)
        if self._preparing == 0:
            window.progress.hide()
        window.statusBar().showMessage(f"Test card ready: {profile}", 5000)
        if not window.controller.busy and window.page.banner.state is BannerState.PREPARING:
            window.page.banner.set_state(BannerState.READY, "The emulated test card is ready. Press Tap (Ctrl+T).")

    def _on_failed(self, message: str) -> None:
        window = self.window
        self._preparing = max(0, self._preparing - 1)
        self._requested = ""
        window.progress.hide()
        if not window.controller.busy:
            window.page.banner.set_state(BannerState.ERROR, message)
        window.statusBar().showMessage(message)
