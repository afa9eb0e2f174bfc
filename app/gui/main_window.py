"""The main window: the pages (tabs), presentation mode, and the wiring to the worker.

The window is the composition root of the GUI. It builds the run model, the
"Card tap" page and the :class:`~app.gui.controller.TapController`, connects the
worker's signals to the models (queued: they arrive on the UI thread; the
protocol events are queued on the worker's thread and filed in batches, at most
one per frame, by :class:`~app.gui.event_queue.EventQueue`) and keeps
the user's choices in :class:`~app.gui.settings.Preferences`. The other pages
(:class:`~app.gui.pages.Pages`: OTP vs tap, Attack lab, Crypto calculator) slot
in with :meth:`MainWindow.add_page`; the menus are :mod:`app.gui.menus`, File ▸
Open/Export is :class:`~app.gui.file_actions.FileActions`, and presentation mode
is :class:`~app.gui.presentation_mode.PresentationMode`.

The run on screen — a tap, an opened trace, or a run opened from another page —
is :attr:`MainWindow.current_trace`, which File ▸ Export writes.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.gui import catalog
from app.gui.card_setup import CardSetup
from app.gui.controller import TapController
from app.gui.event_queue import FLUSH_MS, EventQueue
from app.gui.file_actions import FileActions
from app.gui.menus import build_menus
from app.gui.models.run import ItemKind, RunModel
from app.gui.pages import Pages
from app.gui.presentation_mode import PresentationMode
from app.gui.requests import TapRequest
from app.gui.settings import Preferences
from app.gui.theme import Theme, apply_theme, colours
from app.gui.widgets.common import QuietTabWidget
from app.gui.widgets.tap_page import TapPage
from app.gui.widgets.verdict_banner import BannerState
from app.gui.worker import RunResult, RunStatus, enrol_card, run_tap, tool_version
from protocol.resources import resource_path
from protocol.tap.events import Event, SessionFailed, VerdictReached
from protocol.tap.trace import Trace

APP_TITLE = "TrustOne Tap Simulator"
DISCLAIMER = "An EMV-based model of TrustOne; no public APDU-level specification exists."
ABOUT_TEXT = (
    f"<h3>{APP_TITLE}</h3>"
    "<p>A desktop simulator of card-tap authentication: a phone-side authenticator runs an EMV "
    "contactless challenge-response with a card (emulated, or real through a PC/SC or NFC reader), "
    "and a verifier checks the cryptogram against its own copy of the transaction.</p>"
    f"<p><b>{DISCLAIMER}</b> Everything shown is built from public EMV mechanisms.</p>"
    "<p>Emulated cards and keys are TEST material only. Card numbers are masked (first 6 / last 4) "
    "everywhere in the app.</p>"
)
PACE_S = 0.35


def app_icon() -> QIcon:
    """The window and task-bar icon (``resources/icons/trustone.svg``)."""
    return QIcon(str(resource_path("icons", "trustone.svg")))


class MainWindow(QMainWindow):
    """The application window. ``settings`` and ``data_dir`` are injectable for tests.

    :attr:`runFinished` is emitted on the UI thread once a run's end is shown.
    """

    runFinished = Signal(object)  # RunResult
    # set by app.gui.menus.build_menus
    tap_action: QAction
    rerun_action: QAction
    cancel_action: QAction
    enrol_action: QAction
    pace_action: QAction
    timing_action: QAction
    export_actions: dict[str, QAction]
    theme_actions: dict[Theme, QAction]

    def __init__(
        self,
        settings: QSettings | None = None,
        *,
        data_dir: Path | str | None = None,
        tap: Callable[..., RunResult] = run_tap,
        enrol: Callable[..., RunResult] = enrol_card,
        reader_monitor_factory: Any = None,
        prepare_on_start: bool = True,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.prefs = Preferences(settings if settings is not None else QSettings())
        self.run = RunModel(self)
        self.events = EventQueue(self._file_events, parent=self)  # the worker's events, one batch per frame
        self._ended: RunResult | None = None  # a run whose end is shown at the next frame (see _on_finished)
        self._end_timer = QTimer(self)
        self._end_timer.setSingleShot(True)
        self._end_timer.setInterval(FLUSH_MS)
        self._end_timer.timeout.connect(self._show_end)
        self.controller = TapController(data_dir, tap=tap, enrol=enrol, reader_monitor_factory=reader_monitor_factory,
                                        parent=self)  # fmt: skip
        self.worker = self.controller.worker
        self._last_request: TapRequest | None = None
        self._enrol_request: TapRequest | None = None
        self._enrolling = False
        self.current_trace: Trace | None = None
        self.last_message: QMessageBox | None = None
        self.theme = self.prefs.load_theme()

        self.page = TapPage(self.run, catalog.describe_faults, catalog.FAULT_SYNTAX_HELP)
        self.page.source.set_profiles(catalog.profile_choices())
        self.tabs = QuietTabWidget()
        self.tabs.setObjectName("pages")
        self.tabs.setDocumentMode(True)
        self.add_page(self.page, "Card tap", "The authentication, step by step")
        self.disclaimer = QLabel(f"ℹ  {DISCLAIMER}")
        self.disclaimer.setObjectName("disclaimer")
        self.disclaimer.setToolTip("TrustOne's APDU-level protocol is not public: this app models it with public EMV mechanisms")
        self.pages = Pages(self)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.disclaimer)
        layout.addWidget(self.tabs, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(central)
        self.setCentralWidget(self.stack)
        self.files = FileActions(self)
        self.presentation = PresentationMode(self)

        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setMaximumHeight(14)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)

        build_menus(self)
        self.card_setup = CardSetup(self, prepare=prepare_on_start)
        self._connect_worker()
        self._restore()
        self._style_disclaimer()
        self.page.tap_button.setFocus()
        self.card_setup.prepare()

    # ------------------------------------------------------------------ structure
    def add_page(self, widget: QWidget, title: str, tooltip: str = "") -> int:
        """Add a page (tab) to the window; returns its index."""
        index = self.tabs.addTab(widget, title)
        if tooltip:
            self.tabs.setTabToolTip(index, tooltip)
        return index

    def _connect_worker(self) -> None:
        worker = self.worker
        worker.waiting.connect(self._on_waiting)
        # on the worker's thread: the event is queued there, the UI thread wakes once per batch (_file_events)
        worker.eventReady.connect(self.events.put, Qt.ConnectionType.DirectConnection)
        worker.finished.connect(self._on_finished)
        self.controller.busyChanged.connect(self._on_busy)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)
        self.tabs.currentChanged.connect(lambda _i: self.statusBar().clearMessage())  # a message belongs to its page
        self.page.tapRequested.connect(self.tap)
        self.page.banner.cancelRequested.connect(self.controller.cancel)
        self.page.source.changed.connect(self._inputs_changed)
        self.page.transaction.changed.connect(self._inputs_changed)

    # ------------------------------------------------------------------ actions
    def current_request(self) -> TapRequest:
        return TapRequest(self.page.source.source(), self.page.transaction.transaction())

    def tap(self) -> bool:
        """Start a tap with the current inputs; ``False`` when it cannot start."""
        if self.controller.busy:
            return False
        problem = self.page.problem()
        if problem:
            self.page.banner.set_state(BannerState.ERROR, problem)
            self.statusBar().showMessage(problem, 8000)
            return False
        return self._start(self.current_request())

    def rerun(self) -> bool:
        """Repeat the last tap (same card source and transaction); a plain tap if there was none."""
        if self._last_request is None or self.controller.busy:
            return self.tap()
        return self._start(self._last_request)

    def _start(self, request: TapRequest) -> bool:
        self._show_end()  # the previous run's end first, if it is still due
        self._save_inputs()
        self._last_request = request
        self._enrolling = False
        if self.timing_action.isChecked() or self.presentation.active:
            request = dataclasses.replace(request, source=dataclasses.replace(request.source, timing=True))
        self.events.discard()
        self.run.clear()
        self.current_trace = None
        self.enrol_action.setEnabled(False)
        self.presentation.view.set_context(request.transaction.describe())
        self.page.banner.set_state(BannerState.RUNNING, f"{request.transaction.describe()} — {request.source.describe()}")
        self.statusBar().showMessage("Tapping…")
        return self.controller.tap(request)

    def enrol(self) -> bool:
        """Run ▸ Enrol this card: bind the real card the verifier rejected as not enrolled to this phone."""
        request = self._enrol_request
        if request is None or self.controller.busy:
            return False
        self._show_end()
        self._enrolling = True
        self.events.discard()
        self.run.clear()
        self.current_trace = None
        self.enrol_action.setEnabled(False)
        self.page.banner.set_state(BannerState.RUNNING, f"Enrolling the card on {request.source.describe()}…")
        self.statusBar().showMessage("Enrolling the card…")
        self.tabs.setCurrentWidget(self.page)
        return self.controller.enrol(request)

    # ------------------------------------------------------------------ runs from elsewhere
    def show_events(self, events: Iterable[Event], title: str, trace: Trace | None = None) -> None:
        """Show a run made elsewhere (an opened trace, the attack lab, OTP vs tap) in the step-by-step views."""
        if self.controller.busy:
            self.statusBar().showMessage("A tap is running: open this run when it has finished.", 8000)
            return
        shown = tuple(events)
        self._show_end()
        self.events.discard()
        self.run.clear()
        self.run.add_many(shown)
        self.presentation.view.set_context(title)
        self.current_trace = trace or Trace(datetime.datetime.now(datetime.UTC), tool_version(), title,
                                            "TEST card (simulated)", shown)  # fmt: skip
        self.enrol_action.setEnabled(False)
        self.tabs.setCurrentWidget(self.page)
        banner = self.page.banner
        if self.run.verdict is not None:
            banner.show_verdict(self.run.verdict, title)
            self.run.set_current(self.run.first_index(ItemKind.VERDICT))
        elif self.run.failure is not None:
            banner.set_state(BannerState.FAILED, f"{title} — {self.run.failure.reason}")
            self.run.set_current(self.run.first_index(ItemKind.FAILURE))
        else:
            banner.set_state(BannerState.NO_VERDICT, f"{title} — no verdict in this run")
        self.statusBar().showMessage(f"{title}: {len(self.run)} rows, {self.run.apdu_count} APDUs", 10000)

    def show_trace(self, trace: Trace, title: str = "Opened trace") -> None:
        """Step through an opened trace in the same views."""
        masked = "card numbers masked" if trace.masked else "UNMASKED card numbers"
        self.show_events(trace.events, f"{title}: {trace.card} via {trace.transport} ({masked})", trace)

    def show_message(self, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> QMessageBox:
        """A message box that does not block the event loop (window-modal, closed by the user)."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self.last_message = box
        return box

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.theme_actions[theme].setChecked(True)
        self.prefs.save_theme(theme)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)

    def toggle_dark(self) -> None:
        from app.gui.theme import is_dark

        self.set_theme(Theme.LIGHT if is_dark() else Theme.DARK)

    def select_verdict(self) -> None:
        index = self.run.first_index(ItemKind.VERDICT)
        self.run.set_current(index if index >= 0 else self.run.first_index(ItemKind.FAILURE))

    def set_pace(self, on: bool) -> None:
        self.worker.pace_s = PACE_S if on else 0.0
        self.prefs.save_demo_pace(on)

    def fault_help(self) -> None:
        QMessageBox.information(self, "Fault syntax", catalog.FAULT_SYNTAX_HELP)

    def about(self) -> None:
        QMessageBox.about(self, f"About {APP_TITLE}", ABOUT_TEXT)

    # ------------------------------------------------------------------ worker signals
    def _on_waiting(self, text: str) -> None:
        if text:
            self.events.flush()  # the events before the wait are shown first
            self.page.banner.set_waiting(text)
            self.statusBar().showMessage(text)
        elif self.controller.busy and self.page.banner.state is BannerState.WAITING:
            self.page.banner.set_state(BannerState.RUNNING, "The card is there: tapping…")

    def _file_events(self, batch: list[Event]) -> None:
        """A batch of the worker's events (in order): filed in the run, the verdict or failure on the banner."""
        self.run.add_many(batch)
        for event in batch:
            if isinstance(event, VerdictReached):
                self.page.banner.show_verdict(event, self._context())
            elif isinstance(event, SessionFailed) and self.presentation.active:
                self.page.banner.set_state(BannerState.FAILED, event.reason)

    def _on_finished(self, result: RunResult) -> None:
        """The run ended: its end is shown (:meth:`_show_end`) a frame after its last events are filed.

        Separate frames rather than one long one: the last burst of rows is drawn
        first, then the verdict selected, the detail pane filled and
        :attr:`runFinished` emitted.
        """
        self._show_end()
        self.current_trace = result.trace
        if not (self._enrolling and result.status is not RunStatus.VERDICT):  # a failed enrolment may be retried
            self._enrol_request = self._last_request if result.can_enrol else None
        self.enrol_action.setEnabled(self._enrol_request is not None)
        self._ended = result
        self.events.hurry()  # nothing more is coming: the rest of the run without waiting a frame per slice
        self.events.when_drained(self._end_timer.start)

    def _show_end(self) -> None:
        """Show how the run that ended came out (nothing when no end is due); emits :attr:`runFinished`.

        Every event of the run is filed first.
        """
        if self._ended is None:
            return
        self.events.flush()
        self._end_timer.stop()
        result, self._ended = self._ended, None
        banner = self.page.banner
        if result.status is RunStatus.VERDICT and self.run.verdict is not None:
            banner.show_verdict(self.run.verdict, self._context())
            self.run.set_current(self.run.first_index(ItemKind.VERDICT))
        elif result.status is RunStatus.FAILED:
            banner.set_state(BannerState.FAILED, result.message)
            self.run.set_current(self.run.first_index(ItemKind.FAILURE))
        elif result.status is RunStatus.NO_VERDICT:
            banner.set_state(BannerState.NO_VERDICT, result.message)
        elif result.status is RunStatus.CANCELLED:
            banner.set_state(BannerState.CANCELLED, result.message)
        else:
            banner.set_state(BannerState.ERROR, result.message)
        self.statusBar().showMessage(result.message, 15000)
        self.runFinished.emit(result)

    def _context(self) -> str:
        if self._enrolling:
            return "Enrolment of the card with this phone"
        request = self._last_request
        return request.transaction.describe() if request is not None else ""

    def _on_busy(self, busy: bool) -> None:
        for widget in (self.page.tap_button, self.page.source, self.page.transaction):
            widget.setEnabled(not busy)
        self.tap_action.setEnabled(not busy)
        self.rerun_action.setEnabled(not busy)
        self.cancel_action.setEnabled(busy)
        for item in self.export_actions.values():
            item.setEnabled(not busy)
        if not busy:
            self.page.tap_button.setFocus()

    # ------------------------------------------------------------------ inputs
    def _inputs_changed(self) -> None:
        problem = self.page.problem()
        self.page.input_problem.setVisible(bool(problem))
        self.page.input_problem.setText(f"✗ {problem}" if problem else "")
        self.page.input_problem.setStyleSheet(f"color: {colours(self).failed.name()};")
        self.page.tap_button.setToolTip(problem or "Run the authentication (Ctrl+T or Space; F5 re-runs the last tap)")

    def _save_inputs(self) -> None:
        self.prefs.save_source(self.page.source.source())
        self.prefs.save_transaction(self.page.transaction.transaction())

    # ------------------------------------------------------------------ persistence
    def _restore(self) -> None:
        self.page.source.set_source(self.prefs.load_source())
        self.page.transaction.set_transaction(self.prefs.load_transaction())
        self.pace_action.setChecked(self.prefs.load_demo_pace())
        self.timing_action.setChecked(self.prefs.load_timing())
        self.pages.restore()
        geometry = self.prefs.load_bytes("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        state = self.prefs.load_bytes("state")
        if state is not None:
            self.restoreState(state)
        for name, splitter in (("middle", self.page.middle), ("vertical", self.page.vertical)):
            saved = self.prefs.load_bytes(f"splitter-{name}")
            if saved is not None:
                splitter.restoreState(saved)
        self.card_setup.kind_changed(self.page.source.kind())
        self._inputs_changed()

    def save_state(self) -> None:
        """Remember inputs, geometry and splitters now."""
        self._show_end()
        self._save_inputs()
        self.pages.save()
        if self.presentation.active:
            self.presentation.leave()
        self.prefs.save_bytes("geometry", self.saveGeometry())
        self.prefs.save_bytes("state", self.saveState())
        self.prefs.save_bytes("splitter-middle", self.page.middle.saveState())
        self.prefs.save_bytes("splitter-vertical", self.page.vertical.saveState())
        self.prefs.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.save_state()
        self.controller.shutdown()
        super().closeEvent(event)

    # ------------------------------------------------------------------ palette
    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.PaletteChange:
            self._style_disclaimer()
            self.page.restyle()
            self._inputs_changed()
            self.presentation.view.restyle()
        super().changeEvent(event)

    def _style_disclaimer(self) -> None:
        palette = colours(self)
        self.disclaimer.setStyleSheet(
            f"#disclaimer {{ background: {palette.info_bg.name()}; color: {palette.info_fg.name()}; padding: 5px 10px; }}"
        )

    def _system_scheme_changed(self, *_args: object) -> None:
        if self.theme is Theme.SYSTEM:
            self.set_theme(Theme.SYSTEM)
