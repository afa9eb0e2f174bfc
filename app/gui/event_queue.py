"""The worker's events, filed in batches: at most one flush per frame however fast they come.

The tap worker emits one signal per protocol event, and they come in bursts
(the verifier's thirty-odd checks and crypto operations at once). Handled one
by one, each event costs every view a layout pass, a row insert and a repaint,
and a burst adds up to a long stall of the UI thread. :class:`EventQueue`
collects them instead and hands them on as one list — in the order they came —
from a single-shot timer on the UI thread, so a burst costs one update of every
view. A long burst goes out in slices of at most ``max_batch`` events, a frame
apart (the views repaint, input is handled and the worker computes between two
slices), so that no single update of the views grows with the burst; once the
run has ended (:meth:`EventQueue.hurry`) the rest goes out a turn of the event
loop apart.

:meth:`EventQueue.put` may be called on any thread: connected to the worker's
``eventReady`` with a direct connection, it runs on the worker's thread and only
appends to the queue, waking the UI thread once per batch rather than once per
event (each wake-up is a Python call on the UI thread, which waits for the
interpreter lock while the worker computes). Signals that must see every event
before them call :meth:`EventQueue.flush` first (a wait for a card), or wait for
the queue to be drained (:meth:`EventQueue.when_drained`: the run's end), so the
order of the events and the other signals is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from protocol.tap.events import Event

#: How long the first event of a batch may wait for the ones after it (one 60 Hz frame).
FLUSH_MS = 16
#: The most events handed on in one go by the timer (a longer burst goes on at the next frame).
MAX_BATCH = 12
#: The pause between two slices once no more events are coming (the slice just handed on is painted first).
HURRY_MS = 1


class EventQueue(QObject):
    """Collects events with :meth:`put`; ``deliver(batch)`` gets them on the UI thread, in order, once per interval."""

    _arm = Signal()  # from put(), on whichever thread: starts the timer on ours

    def __init__(self, deliver: Callable[[list[Event]], None], interval_ms: int = FLUSH_MS,
                 parent: QObject | None = None, *, max_batch: int = MAX_BATCH) -> None:  # fmt: skip
        super().__init__(parent)
        self._deliver = deliver
        self._interval = interval_ms
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._drained: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._next_slice)
        # QTimer.start itself, queued to our thread: waking the UI thread runs no Python
        self._arm.connect(self._timer.start, Qt.ConnectionType.QueuedConnection)

    def __len__(self) -> int:
        """Events waiting for the next flush."""
        with self._lock:
            return len(self._pending)

    def put(self, event: object) -> None:
        """Queue one event (any thread); the first of a batch starts the timer of the flush on the UI thread.

        (If the UI thread flushes before that start arrives, the timer fires on an
        empty queue: nothing happens.)
        """
        with self._lock:
            self._pending.append(event)  # type: ignore[arg-type]
            first = len(self._pending) == 1
        if first:
            self._arm.emit()

    def flush(self) -> None:
        """Deliver everything queued now, in one batch (UI thread; nothing when the queue is empty)."""
        self._timer.stop()
        self._timer.setInterval(self._interval)
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self._deliver(batch)
        self._notify_drained()

    def when_drained(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once everything queued now has been delivered (at once if nothing is queued)."""
        self._drained = callback
        if not len(self):
            self._notify_drained()

    def discard(self) -> None:
        """Forget what is queued (the run it belongs to is being replaced)."""
        self._timer.stop()
        with self._lock:
            self._pending = []
        self._drained = None
        self._timer.setInterval(self._interval)

    def hurry(self) -> None:
        """No more events are coming (the run ended): what is left goes out a turn of the event loop apart."""
        self._timer.setInterval(HURRY_MS)
        if len(self) and not self._timer.isActive():
            self._timer.start()

    def _next_slice(self) -> None:
        """The timer: the next ``max_batch`` events; the rest at the next frame (or sooner: :meth:`hurry`)."""
        with self._lock:
            batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
            more = bool(self._pending)
        if more:
            self._timer.start()
        else:
            self._timer.setInterval(self._interval)
        if batch:
            self._deliver(batch)
        if not more:
            self._notify_drained()

    def _notify_drained(self) -> None:
        callback, self._drained = self._drained, None
        if callback is not None:
            callback()
