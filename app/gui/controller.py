"""Thread plumbing: the tap worker and the reader watcher, each on its own QThread.

The window talks to :class:`TapController` only. Requests go to the worker
through queued signals (so they run on the worker's thread); the worker's
signals come back queued to the UI thread. ``cancel`` is a thread-safe flag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal

from app.gui.readers import ReaderWatcher
from app.gui.requests import TapRequest
from app.gui.worker import RunResult, TapWorker, run_tap


class TapController(QObject):
    """Owns the worker threads; forwards their signals; knows whether a tap is running."""

    _prepareRequested = Signal(str)
    _runRequested = Signal(object)
    _watchStart = Signal()
    _watchStop = Signal()

    busyChanged = Signal(bool)

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        tap: Callable[..., RunResult] = run_tap,
        reader_monitor_factory: Any = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.worker = TapWorker(data_dir, tap=tap)
        self._thread = QThread()
        self._thread.setObjectName("tap-worker")
        self.worker.moveToThread(self._thread)
        self._prepareRequested.connect(self.worker.prepare)
        self._runRequested.connect(self.worker.run)
        self.worker.finished.connect(self._on_finished)
        self._thread.start()
        self._busy = False
        self._monitor_factory = reader_monitor_factory
        self.readers: ReaderWatcher | None = None
        self._reader_thread: QThread | None = None

    @property
    def busy(self) -> bool:
        return self._busy

    def prepare(self, profile: str) -> None:
        """Personalise/cache the emulated card of ``profile`` on the worker thread."""
        self._prepareRequested.emit(profile)

    def tap(self, request: TapRequest) -> bool:
        """Start a tap; ``False`` when one is already running."""
        if self._busy:
            return False
        self._set_busy(True)
        self._runRequested.emit(request)
        return True

    def cancel(self) -> None:
        self.worker.cancel()

    def _on_finished(self, _result: RunResult) -> None:
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    # ------------------------------------------------------------------ readers
    def watch_readers(self) -> ReaderWatcher:
        """Start the PC/SC reader watcher (once); returns it so the window can connect to it."""
        if self.readers is None:
            self.readers = ReaderWatcher(monitor_factory=self._monitor_factory)
            self._reader_thread = QThread()
            self._reader_thread.setObjectName("pcsc-watcher")
            self.readers.moveToThread(self._reader_thread)
            self._watchStart.connect(self.readers.start)
            self._watchStop.connect(self.readers.stop, Qt.ConnectionType.BlockingQueuedConnection)
            self._reader_thread.start()
        self._watchStart.emit()
        return self.readers

    def shutdown(self) -> None:
        """Cancel any tap, stop the watcher, and join both threads."""
        self.worker.cancel()
        if self._reader_thread is not None:
            self._watchStop.emit()
            self._reader_thread.quit()
            self._reader_thread.wait(5000)
            self._reader_thread = None
        self._thread.quit()
        self._thread.wait(10000)
