"""A probe around the desktop app for benchmark 5 (``python -m benchmarks.app_probe``).

The documented hook (nothing in ``app/gui`` changes): the probe creates the
``QApplication`` itself — :func:`app.gui.main.create_application` reuses an existing
one — installs an application-wide event filter, then calls the app's real entry
point :func:`app.gui.main.main`. It prints one ``PROBE {json}`` line per fact on
stdout, with ``time.time()`` stamps the parent compares with its own clock:

* ``first_expose`` — the first ``QEvent.Expose`` of a top-level window that is
  exposed: the first frame of the main window can be drawn (the event filter is
  removed right after, so it costs nothing later);
* with ``--taps N``: the UI-thread probe. A 1 ms ``Qt.PreciseTimer`` on the UI
  thread records the gap between its consecutive callbacks — first for
  ``--idle-ms`` with nothing running (the probe's own noise), then while the app
  runs N taps, one after the other, each started like the Tap button does
  (``MainWindow.tap()``) and followed until ``MainWindow.runFinished`` plus
  ``--settle-ms`` (the verdict is drawn). A first, unmeasured tap prepares and
  enrols the card. ``stall`` reports the gaps; a stall is a gap minus the 1 ms
  interval;
* ``--bare``: the same start-up measurement for an empty ``QMainWindow`` (the
  baseline: what any PySide6 window costs on this machine).

The probe closes the app's windows itself (as a user would); ``--timeout-s`` bounds
the whole run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

INTERVAL_MS = 1


def emit(event: str, **fields: Any) -> None:
    print("PROBE " + json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


def main(argv: list[str] | None = None) -> int:
    emit("probe_start")
    parser = argparse.ArgumentParser(prog="python -m benchmarks.app_probe")
    parser.add_argument("--taps", type=int, default=0)
    parser.add_argument("--idle-ms", type=int, default=1000)
    parser.add_argument("--settle-ms", type=int, default=150)
    parser.add_argument("--timeout-s", type=float, default=120.0)
    parser.add_argument("--bare", action="store_true")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtGui import QWindow
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(sys.argv[:1])
    emit("qapplication")

    class FirstExpose(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.seen = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
            if not self.seen and event.type() == QEvent.Type.Expose and isinstance(obj, QWindow) and obj.isExposed():
                self.seen = True
                emit("first_expose", window=obj.title())
                QTimer.singleShot(0, after_expose)
            return False

    keep: list[StallProbe] = []
    watcher = FirstExpose()
    app.installEventFilter(watcher)
    QTimer.singleShot(int(args.timeout_s * 1000), lambda: (emit("timeout"), app.exit(3)))

    def after_expose() -> None:
        app.removeEventFilter(watcher)
        if args.taps <= 0:
            QTimer.singleShot(0, lambda: close_all(app))
        else:
            keep.append(StallProbe(app, args.taps, args.idle_ms, args.settle_ms))  # alive as long as the app
            keep[-1].start()

    if args.bare:
        window = QMainWindow()
        window.setWindowTitle("bare")
        window.resize(1100, 700)
        window.show()
        rc = app.exec()
    else:
        from app.gui.main import main as app_main

        emit("app_imported")
        rc = app_main([sys.argv[0]])
    emit("exit", rc=rc)
    return 0 if rc in (0, None) else rc


class StallProbe:
    """Measures UI-thread gaps: idle, then while taps run in the app's worker."""

    def __init__(self, app: Any, taps: int, idle_ms: int, settle_ms: int) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.app, self.taps, self.idle_ms, self.settle_ms = app, taps, idle_ms, settle_ms
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.bucket: list[float] | None = None
        self.idle: list[float] = []
        self.running: list[float] = []
        self.per_tap_max: list[float] = []
        self.statuses: list[str] = []
        self.durations: list[float] = []
        self.done_taps = -1  # the first tap is a warm-up (prepare + enrol)
        self.tap_started = 0.0
        self.window: Any = None

    def start(self) -> None:
        from PySide6.QtCore import QTimer

        candidates = [w for w in self.app.topLevelWidgets() if hasattr(w, "tap") and hasattr(w, "runFinished")]
        if not candidates:
            emit("stall_unavailable", reason="no top-level window with tap() and runFinished (app/gui changed?)")
            QTimer.singleShot(0, lambda: close_all(self.app))
            return
        self.window = candidates[0]
        self.window.runFinished.connect(self._finished)
        self.last = time.perf_counter()
        self.timer.start()
        self.bucket = self.idle
        QTimer.singleShot(self.idle_ms, self._next_tap)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.bucket is not None:
            self.bucket.append(now - self.last)
        self.last = now

    def _next_tap(self) -> None:
        from PySide6.QtCore import QTimer

        if self.done_taps >= self.taps:
            self._report()
            return
        self.bucket = None if self.done_taps < 0 else []
        self.tap_started = time.perf_counter()
        started = self.window.tap()
        emit("tap_requested", started=bool(started), tap=self.done_taps)
        if not started:  # busy preparing the card: try again shortly
            QTimer.singleShot(50, self._next_tap)

    def _finished(self, result: Any) -> None:
        from PySide6.QtCore import QTimer

        status = getattr(getattr(result, "status", None), "value", str(getattr(result, "status", "?")))
        emit("run_finished", status=str(status), message=str(getattr(result, "message", ""))[:200])
        QTimer.singleShot(self.settle_ms, lambda: self._settled(str(status)))

    def _settled(self, status: str) -> None:
        if self.done_taps >= 0 and self.bucket is not None:
            self.running += self.bucket
            self.per_tap_max.append(max(self.bucket, default=0.0))
            self.statuses.append(status)
            self.durations.append(time.perf_counter() - self.tap_started - self.settle_ms / 1000)
        else:
            self.statuses_warmup = status
        self.done_taps += 1
        self.bucket = None
        self._next_tap()

    def _report(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer.stop()
        emit("stall", interval_ms=INTERVAL_MS, idle_gaps_ms=[g * 1e3 for g in self.idle],
             tap_gaps_ms=[g * 1e3 for g in self.running], per_tap_max_ms=[g * 1e3 for g in self.per_tap_max],
             statuses=self.statuses, warmup_status=getattr(self, "statuses_warmup", ""),
             tap_durations_ms=[d * 1e3 for d in self.durations])  # fmt: skip
        QTimer.singleShot(0, lambda: close_all(self.app))


def close_all(app: Any) -> None:
    """Close the windows as a user would (the app saves its settings and joins its threads), then quit."""
    from PySide6.QtCore import QTimer

    for widget in app.topLevelWidgets():
        if widget.isVisible():
            widget.close()
    QTimer.singleShot(5000, app.quit)  # if a window refused to close


if __name__ == "__main__":
    sys.exit(main())
