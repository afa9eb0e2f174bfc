"""Screenshots of every main view: ``python -m app.gui.screenshots OUTDIR``.

Renders the real window at 1280×800 — on the X server named by ``DISPLAY``
(Xvfb in CI), else on Qt's ``offscreen`` platform — with real emulated taps, and
saves one PNG per view:

=====================  ===========================================================
``main-idle.png``      the window as it opens: emulated card ready, nothing run yet
``mid-run.png``        a tap paused half-way (after READ RECORD), diagram growing
``accept-generate-ac`` a finished ACCEPT, detail pane on the GENERATE AC exchange
``reject.png``         the card's cryptogram corrupted: REJECT, the ARQC check
``tap-failed.png``     the card leaves the field mid-tap: the failure, app usable
``dark.png``           the ACCEPT run in the dark palette
``otp-vs-tap.png``     one transaction with TOTP, EMV CAP Sign and a tap, side by side
``attack-lab.png``     the attack lab after Run all, the NFC relay selected
``attack-lab-dark``    the same in the dark palette
``calculator.png``     the crypto calculator: ARQC by CVN with its intermediate values
``presentation.png``   presentation mode on the GENERATE AC step of a realistic-timing tap
``opened-trace.png``   a JSON trace exported, then opened again in the step-by-step views
=====================  ===========================================================

Everything happens in a temporary data directory and settings file, so the
user's cards, verifier database and preferences are untouched.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402 - the platform must be chosen first
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.gui.main import create_application  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.models.run import ItemKind  # noqa: E402
from app.gui.requests import CardSource, TransactionInput  # noqa: E402
from app.gui.theme import Theme, apply_theme  # noqa: E402
from app.gui.worker import RunResult, run_tap  # noqa: E402
from protocol.tap.events import ApduExchanged, CheckCompleted, Event, Step  # noqa: E402

SIZE = (1280, 800)
NAMES = ("main-idle", "mid-run", "accept-generate-ac", "reject", "tap-failed", "dark", "otp-vs-tap", "attack-lab",
         "attack-lab-dark", "calculator", "presentation", "opened-trace")


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Process Qt events until ``predicate()`` holds; ``TimeoutError`` after ``timeout`` s."""
    app = QApplication.instance()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents()  # type: ignore[union-attr]
        time.sleep(0.01)


def settle(seconds: float = 0.3) -> None:
    """Let layouts, deferred scrolls and repaints happen."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


class PausingTap:
    """A real tap that pauses after the ``pause_after``-th APDU until :meth:`resume` (for "mid-run")."""

    def __init__(self, pause_after: int) -> None:
        self.pause_after = pause_after
        self.paused = threading.Event()
        self._go = threading.Event()
        self.armed = False

    def resume(self) -> None:
        self._go.set()

    def __call__(self, request: object, *, emit: Callable[[Event], None], **kwargs: object) -> RunResult:
        seen = 0

        def relay(event: Event) -> None:
            nonlocal seen
            emit(event)
            if self.armed and isinstance(event, ApduExchanged):
                seen += 1
                if seen == self.pause_after:
                    self.paused.set()
                    self._go.wait(60)

        return run_tap(request, emit=relay, **kwargs)  # type: ignore[arg-type]


def _tap(window: MainWindow, source: CardSource) -> None:
    window.page.source.set_source(source)
    window.page.transaction.set_transaction(TransactionInput("payment", "50000", "KRW", "Coffee Shop Seoul"))
    done = {"finished": False}

    def finished(_result: object) -> None:
        done["finished"] = True

    window.runFinished.connect(finished)
    if not window.tap():
        raise RuntimeError(f"the tap did not start: {window.page.problem()}")
    wait_until(lambda: done["finished"])
    window.runFinished.disconnect(finished)
    settle()


def _save(window: MainWindow, outdir: Path, name: str) -> Path:
    settle(0.4)
    path = outdir / f"{name}.png"
    if not window.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    return path


def take(outdir: Path) -> list[Path]:
    """Render every view into ``outdir``; returns the files written."""
    outdir.mkdir(parents=True, exist_ok=True)
    app = create_application([sys.argv[0]])
    apply_theme(app, Theme.LIGHT)
    work = Path(tempfile.mkdtemp(prefix="trustone-shots-"))
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    pausing = PausingTap(pause_after=6)
    window = MainWindow(settings, data_dir=work / "data", tap=pausing)
    prepared = threading.Event()
    window.worker.prepared.connect(lambda _profile: prepared.set())
    window.resize(*SIZE)
    window.show()
    window.resize(*SIZE)
    saved: list[Path] = []
    emulated = CardSource(profile="mastercard-cvn16-cda")

    wait_until(prepared.is_set, 60)
    wait_until(lambda: window.page.banner.state.value == "ready" and not window.progress.isVisible(), 10)
    saved.append(_save(window, outdir, "main-idle"))

    _tap(window, emulated)  # the first tap enrols the card: the later ones are ordinary taps

    pausing.armed = True
    window.page.source.set_source(emulated)
    window.tap()
    wait_until(pausing.paused.is_set)
    settle(0.5)
    saved.append(_save(window, outdir, "mid-run"))
    pausing.armed = False
    pausing.resume()
    wait_until(lambda: not window.controller.busy)

    _tap(window, emulated)
    window.run.set_current(window.run.first_index(ItemKind.APDU, Step.GENERATE_AC))
    saved.append(_save(window, outdir, "accept-generate-ac"))

    apply_theme(app, Theme.DARK)
    settle()
    saved.append(_save(window, outdir, "dark"))
    apply_theme(app, Theme.LIGHT)
    settle()

    _tap(window, CardSource(profile="mastercard-cvn16-cda", faults="genac:corrupt-ac"))
    arqc = next((i.index for i in window.run.items
                 if isinstance(i.event, CheckCompleted) and i.event.check == "ARQC"), -1)  # fmt: skip
    window.run.set_current(arqc)
    saved.append(_save(window, outdir, "reject"))

    _tap(window, CardSource(profile="mastercard-cvn16-cda", faults="tear-after=6"))
    saved.append(_save(window, outdir, "tap-failed"))

    saved += _new_views(app, window, work, outdir)
    window.close()
    return sorted(saved)


def _new_views(app: QApplication, window: MainWindow, work: Path, outdir: Path) -> list[Path]:
    """OTP vs tap, attack lab (light and dark), calculator, presentation mode, an opened trace."""
    saved = []
    pages = window.pages
    window.tabs.setCurrentWidget(pages.otp)
    pages.otp.transaction.set_transaction(TransactionInput("payment", "50000", "KRW", "Coffee Shop Seoul"))
    pages.otp.set_cap_mode("sign")
    pages.compare("sign")
    wait_until(lambda: not window.controller.busy and pages.otp.comparison is not None, 60)
    saved.append(_save(window, outdir, "otp-vs-tap"))

    window.tabs.setCurrentWidget(pages.attacks)
    pages.run_attacks(())
    wait_until(lambda: not pages.lab_running, 120)
    pages.attacks.select("nfc-relay")
    saved.append(_save(window, outdir, "attack-lab"))
    apply_theme(app, Theme.DARK)
    settle()
    saved.append(_save(window, outdir, "attack-lab-dark"))
    apply_theme(app, Theme.LIGHT)
    settle()

    window.tabs.setCurrentWidget(pages.calculator)
    pages.calculator.set_operation("arqc")
    pages.calculator.fill_example()
    pages.calculator.request()
    wait_until(lambda: pages.calculator.result is not None, 30)
    saved.append(_save(window, outdir, "calculator"))

    window.tabs.setCurrentWidget(window.page)
    window.prefs.settings.setValue("view/presentation_full_screen", "false")  # the shot stays 1280x800
    window.presentation.enter()
    _tap(window, CardSource(profile="mastercard-cvn16-cda"))
    deck = window.presentation.view.deck
    deck.go(next((i for i, slide in enumerate(deck.slides) if slide.step is Step.GENERATE_AC), 0))
    saved.append(_save(window, outdir, "presentation"))
    window.presentation.leave()

    _tap(window, CardSource(profile="visa-cvn18-dda"))
    trace_path = work / "visa-dda.trace.json"
    window.files.export_to("json", trace_path)
    wait_until(lambda: window.files.last is not None and window.files.last.name == "export-json", 30)
    window.run.clear()
    window.files.open_path(trace_path)
    wait_until(lambda: window.files.last is not None and window.files.last.name == "open" and len(window.run) > 0, 30)
    window.run.set_current(window.run.first_index(ItemKind.APDU, Step.INTERNAL_AUTHENTICATE))
    saved.append(_save(window, outdir, "opened-trace"))
    return saved


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m app.gui.screenshots OUTDIR", file=sys.stderr)
        return 2
    paths = take(Path(args[0]))
    print(f"platform={QGuiApplication.platformName()}")
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
