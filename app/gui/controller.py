"""Thread plumbing: the tap worker, the job runners and the reader watcher, each on a QThread.

The window talks to :class:`TapController` only. Requests go to the workers
through queued signals (so they run on the workers' threads); their signals come
back queued to the UI thread. ``cancel`` is a thread-safe flag.

A tap (or an enrolment) is handed to the worker once the UI thread has drawn
the window in its busy state — the next turn of the event loop, not the same
one: the worker's computing shares the interpreter with the UI thread, and the
window's one big repaint of a new run goes faster on its own.

Threads:

* ``tap-worker`` — :class:`~app.gui.worker.TapWorker` (taps, enrolment, card
  preparation) and an *exclusive* :class:`~app.gui.jobs.JobRunner` for jobs that
  use the verifier and the cards (OTP vs tap): they queue behind a tap and the
  window counts them as busy, so two never overlap;
* ``background`` — a :class:`~app.gui.jobs.JobRunner` for everything else
  (attack lab in its own isolated lab, calculator, files);
* ``pcsc-watcher`` — :class:`~app.gui.readers.ReaderWatcher`, started on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from app.gui.jobs import Job, JobDone, JobRunner
from app.gui.readers import ReaderWatcher
from app.gui.requests import TapRequest
from app.gui.worker import RunResult, RunStatus, TapWorker, enrol_card, run_tap


class TapController(QObject):
    """Owns the worker threads; forwards their signals; knows whether a tap is running."""

    _prepareRequested = Signal(str)
    _runRequested = Signal(object)
    _enrolRequested = Signal(object)
    _exclusiveRequested = Signal(object)
    _backgroundRequested = Signal(object)
    _watchStart = Signal()
    _watchStop = Signal()

    busyChanged = Signal(bool)

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        tap: Callable[..., RunResult] = run_tap,
        enrol: Callable[..., RunResult] = enrol_card,
        reader_monitor_factory: Any = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.worker = TapWorker(data_dir, tap=tap, enrol=enrol)
        self._thread = QThread()
        self._thread.setObjectName("tap-worker")
        self.worker.moveToThread(self._thread)
        self.exclusive = JobRunner()
        self.exclusive.moveToThread(self._thread)
        self.background = JobRunner()
        self._background_thread = QThread()
        self._background_thread.setObjectName("background")
        self.background.moveToThread(self._background_thread)
        self._prepareRequested.connect(self.worker.prepare)
        self._runRequested.connect(self.worker.run)
        self._enrolRequested.connect(self.worker.enrol)
        self._exclusiveRequested.connect(self.exclusive.run)
        self._backgroundRequested.connect(self.background.run)
        self.worker.finished.connect(self._on_finished)
        for runner in (self.exclusive, self.background):
            runner.progressed.connect(self._on_progress)
        self.exclusive.finished.connect(self._on_exclusive_finished)
        self.background.finished.connect(self._on_background_finished)
        self._thread.start()
        self._background_thread.start()
        self._busy = False
        self._exclusive_busy = False
        self._background_jobs = 0
        self._monitor_factory = reader_monitor_factory
        self._pending: tuple[Any, TapRequest] | None = None  # a tap not handed to the worker yet
        self._handover = QTimer(self)
        self._handover.setSingleShot(True)
        self._handover.setInterval(0)
        self._handover.timeout.connect(self._hand_over)
        self.readers: ReaderWatcher | None = None
        self._reader_thread: QThread | None = None

    @property
    def busy(self) -> bool:
        """A tap, an enrolment or an exclusive job is running."""
        return self._busy

    @property
    def data_dir(self) -> Path:
        return self.worker.data_dir

    def prepare(self, profile: str) -> None:
        """Personalise/cache the emulated card of ``profile`` on the worker thread."""
        self._prepareRequested.emit(profile)

    def tap(self, request: TapRequest) -> bool:
        """Start a tap; ``False`` when one is already running."""
        return self._start(self._runRequested, request)

    def enrol(self, request: TapRequest) -> bool:
        """Start an enrolment tap of the card ``request`` names; ``False`` when busy."""
        return self._start(self._enrolRequested, request)

    def _start(self, signal: Any, request: TapRequest) -> bool:
        if self._busy:
            return False
        self._set_busy(True)
        self._pending = (signal, request)
        self._handover.start()  # after this turn of the event loop: the busy window is drawn first
        return True

    def _hand_over(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            signal, request = pending
            signal.emit(request)

    def run_exclusive(self, job: Job) -> bool:
        """Run ``job`` on the tap worker's thread (never beside a tap); ``False`` when busy."""
        if self._busy:
            return False
        self._exclusive_busy = True
        self._set_busy(True)
        self._exclusiveRequested.emit(job)
        return True

    def run_background(self, job: Job) -> None:
        """Queue ``job`` on the background thread (jobs run one after another)."""
        self._background_jobs += 1
        self._backgroundRequested.emit(job)

    @property
    def background_busy(self) -> bool:
        return self._background_jobs > 0

    def cancel(self) -> None:
        if self._pending is not None:  # not handed to the worker yet: it ends here, as the worker would end it
            self._pending = None
            self._handover.stop()
            self.worker.finished.emit(RunResult(RunStatus.CANCELLED, "Cancelled before the tap started."))
            return
        self.worker.cancel()
        self.exclusive.cancelled.set()

    def cancel_background(self) -> None:
        self.background.cancelled.set()

    def _on_finished(self, _result: RunResult) -> None:
        self._set_busy(False)

    def _on_progress(self, job: Job, payload: object) -> None:
        job.on_progress(payload)

    def _on_exclusive_finished(self, job: Job, done: JobDone) -> None:
        self._exclusive_busy = False
        self._set_busy(False)
        job.on_done(done)

    def _on_background_finished(self, job: Job, done: JobDone) -> None:
        self._background_jobs = max(0, self._background_jobs - 1)
        job.on_done(done)

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
        """Cancel any tap or job, stop the watcher, and join every thread."""
        self._pending = None
        self._handover.stop()
        self.cancel()
        self.cancel_background()
        if self._reader_thread is not None:
            self._watchStop.emit()
            self._reader_thread.quit()
            self._reader_thread.wait(5000)
            self._reader_thread = None
        for thread in (self._thread, self._background_thread):
            thread.quit()
            thread.wait(15000)
