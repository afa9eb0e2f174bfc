"""Background jobs: any work of the new pages (OTP vs tap, attack lab, calculator, files) off the UI thread.

A :class:`Job` is a function to run on a worker thread plus two callbacks that
run back on the UI thread: ``on_progress`` (as the function reports progress)
and ``on_done`` (exactly once, with a :class:`JobDone`). :class:`JobRunner` is
the ``QObject`` that lives on a worker thread and runs them; the
:class:`~app.gui.controller.TapController` owns two: one on the tap worker's
thread (jobs that use the verifier and the cards, so they never overlap a tap)
and one on a background thread of its own (pure computation and files).

A job's exception never escapes: it becomes :attr:`JobDone.error`, a sentence
for a message box, and the runner is ready for the next job.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.errors import AppError
from protocol.errors import ProtocolError

_ids = itertools.count(1)


@dataclass
class JobContext:
    """What a running job may use: the cancel flag and a progress callback (any thread)."""

    cancelled: threading.Event
    progress: Callable[[object], None]


@dataclass(frozen=True)
class JobDone:
    """How a job ended: its result, or the error message; and how long it took."""

    name: str
    result: Any = None
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _ignore(_value: object) -> None:
    return None


@dataclass(frozen=True)
class Job:
    """Work for a :class:`JobRunner`: ``fn(context)`` on the worker thread, callbacks on the UI thread."""

    name: str
    fn: Callable[[JobContext], object]
    on_done: Callable[[JobDone], None] = _ignore
    on_progress: Callable[[object], None] = _ignore
    id: int = field(default_factory=lambda: next(_ids))


def describe_error(exc: BaseException) -> str:
    """A sentence for people: typed errors say what went wrong; anything else names its type."""
    if isinstance(exc, AppError | ProtocolError | OSError | ValueError | KeyError):
        text = str(exc).strip("'\"") or type(exc).__name__
        return text[:1].upper() + text[1:]
    return f"Unexpected error ({type(exc).__name__}): {exc}"


class JobRunner(QObject):
    """Runs :class:`Job` s one after another on the thread it lives on."""

    progressed = Signal(object, object)  # Job, payload
    finished = Signal(object, object)  # Job, JobDone

    def __init__(self) -> None:
        super().__init__()
        self.cancelled = threading.Event()

    @Slot(object)
    def run(self, job: Job) -> None:
        self.cancelled.clear()
        context = JobContext(self.cancelled, lambda payload: self.progressed.emit(job, payload))
        start = time.perf_counter()
        try:
            done = JobDone(job.name, job.fn(context), None, time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - a failing job must leave the app usable
            done = JobDone(job.name, None, describe_error(exc), time.perf_counter() - start)
        self.finished.emit(job, done)
