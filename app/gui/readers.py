"""Live list of PC/SC readers, with hot-plug, watched off the UI thread.

:class:`ReaderWatcher` lives on its own ``QThread``. It owns an
:class:`app.transports.pcsc.PcscMonitor` (whose own thread talks to pcscd) and
drains it with :meth:`~app.transports.pcsc.PcscMonitor.poll` from a timer on the
watcher's thread; the UI only receives signals. No pyscard call ever happens on
the UI thread. Without pyscard or pcscd the watcher says why in :attr:`status`
and keeps retrying, so plugging a reader in (or starting pcscd) later just works.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.errors import AppError

POLL_MS = 250


class ReaderWatcher(QObject):
    """Reports the PC/SC readers present and which hold a card."""

    readersChanged = Signal(list)  # list[str]
    cardChanged = Signal(str, bool)  # reader, card present
    status = Signal(str)  # "" when all is well, else why no reader can be listed

    def __init__(self, *, monitor_factory: Any = None) -> None:
        super().__init__()
        self._factory = monitor_factory
        self._monitor: Any = None
        self._timer: QTimer | None = None
        self._readers: list[str] = []
        self._cards: set[str] = set()
        self._last_status: str | None = None

    @Slot()
    def start(self) -> None:
        """Begin watching (runs on the watcher's thread)."""
        if self._timer is None:
            self._timer = QTimer(self)
            self._timer.setInterval(POLL_MS)
            self._timer.timeout.connect(self._poll)
        self._timer.start()
        self._poll()

    @Slot()
    def stop(self) -> None:
        """Stop watching and release pcscd (runs on the watcher's thread)."""
        if self._timer is not None:
            self._timer.stop()
        if self._monitor is not None:
            try:
                self._monitor.stop(timeout=2.0)
            except AppError:
                pass
            self._monitor = None

    def _ensure_monitor(self) -> bool:
        if self._monitor is not None:
            return True
        try:
            if self._factory is not None:
                self._monitor = self._factory()
            else:
                from app.transports.pcsc import PcscMonitor  # pyscard is loaded on this thread only

                self._monitor = PcscMonitor()
            self._monitor.start()
        except AppError as exc:
            self._say(f"PC/SC is not available: {exc}")
            return False
        return True

    def _poll(self) -> None:
        if not self._ensure_monitor():
            return
        changed = False
        for event in self._monitor.poll(0):
            kind = getattr(event.kind, "name", str(event.kind))
            if kind == "READER_ADDED" and event.reader not in self._readers:
                self._readers.append(event.reader)
                changed = True
            elif kind == "READER_REMOVED" and event.reader in self._readers:
                self._readers.remove(event.reader)
                self._cards.discard(event.reader)
                changed = True
            elif kind == "CARD_INSERTED":
                self._cards.add(event.reader)
                self.cardChanged.emit(event.reader, True)
            elif kind == "CARD_REMOVED":
                self._cards.discard(event.reader)
                self.cardChanged.emit(event.reader, False)
        if changed:
            self.readersChanged.emit(list(self._readers))
        error = getattr(self._monitor, "error", None)
        if error is not None:
            self._say(f"PC/SC is not available: {error}")
        elif not self._readers:
            self._say("No PC/SC reader is connected: plug one in, it appears here.")
        else:
            self._say("")

    def _say(self, text: str) -> None:
        if text != self._last_status:
            self._last_status = text
            self.status.emit(text)
