"""The main window: menus, shortcuts, the pages (tabs), and the wiring to the worker.

The window is the composition root of the GUI. It builds the run model, the
"Card tap" page and the :class:`~app.gui.controller.TapController`, connects the
worker's signals to the models (queued: they arrive on the UI thread) and keeps
the user's choices in :class:`~app.gui.settings.Preferences`.

Further pages (OTP vs tap, attack lab, calculator, …) slot in with
:meth:`MainWindow.add_page`; dialogs hang off the menus.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox, QProgressBar, QTabWidget, QVBoxLayout, QWidget

from app.gui import catalog
from app.gui.controller import TapController
from app.gui.models.run import ItemKind, RunModel
from app.gui.requests import SourceKind, TapRequest
from app.gui.settings import Preferences
from app.gui.theme import Theme, apply_theme, colours
from app.gui.widgets.tap_page import TapPage
from app.gui.widgets.verdict_banner import BannerState
from app.gui.worker import RunResult, RunStatus, run_tap
from protocol.resources import resource_path
from protocol.tap.events import VerdictReached

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

    def __init__(
        self,
        settings: QSettings | None = None,
        *,
        data_dir: Path | str | None = None,
        tap: Callable[..., RunResult] = run_tap,
        reader_monitor_factory: Any = None,
        prepare_on_start: bool = True,
    ) -> None:
        super().__init__()
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.prefs = Preferences(settings if settings is not None else QSettings())
        self.run = RunModel(self)
        self.controller = TapController(data_dir, tap=tap, reader_monitor_factory=reader_monitor_factory, parent=self)
        self.worker = self.controller.worker
        self._last_request: TapRequest | None = None
        self._preparing = 0
        self._readers_connected = False
        self._prepare_enabled = prepare_on_start
        self._requested_profile = ""
        self.theme = self.prefs.load_theme()

        self.page = TapPage(self.run, catalog.describe_faults, catalog.FAULT_SYNTAX_HELP)
        self.page.source.set_profiles(catalog.profile_choices())
        self.tabs = QTabWidget()
        self.tabs.setObjectName("pages")
        self.tabs.setDocumentMode(True)
        self.add_page(self.page, "Card tap", "The authentication, step by step")
        self.disclaimer = QLabel(f"ℹ  {DISCLAIMER}")
        self.disclaimer.setObjectName("disclaimer")
        self.disclaimer.setToolTip("TrustOne's APDU-level protocol is not public: this app models it with public EMV mechanisms")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.disclaimer)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setMaximumHeight(14)
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)

        self._build_menus()
        self._connect_worker()
        self._restore()
        self._style_disclaimer()
        self.page.tap_button.setFocus()
        self._prepare()

    # ------------------------------------------------------------------ structure
    def add_page(self, widget: QWidget, title: str, tooltip: str = "") -> int:
        """Add a page (tab) to the window; returns its index."""
        index = self.tabs.addTab(widget, title)
        if tooltip:
            self.tabs.setTabToolTip(index, tooltip)
        return index

    def _action(self, menu: Any, text: str, slot: Callable[[], object], shortcut: Any = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit the simulator")
        if QKeySequence(QKeySequence.StandardKey.Quit).isEmpty():  # no platform default: Ctrl+Q
            file_menu.actions()[-1].setShortcut(QKeySequence("Ctrl+Q"))

        run_menu = bar.addMenu("&Run")
        self.tap_action = self._action(run_menu, "&Tap card", self.tap, "Ctrl+T", "Run the authentication")
        self.rerun_action = self._action(run_menu, "&Re-run last tap", self.rerun, "F5", "Repeat the last tap")
        self.cancel_action = self._action(run_menu, "&Cancel", self.controller.cancel, "Esc", "Stop the tap")
        self.cancel_action.setEnabled(False)
        run_menu.addSeparator()
        self._action(run_menu, "&Back", self.run.step_back, "Left", "Previous step or APDU")
        self._action(run_menu, "&Next", self.run.step_forward, "Right", "Next step or APDU")
        run_menu.addSeparator()
        self._action(run_menu, "Show &verdict", self._select_verdict, "Ctrl+R", "Select the verdict")
        for target in (self.page.sequence, self.page.log):
            shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), target)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.tap)

        view_menu = bar.addMenu("&View")
        theme_menu = view_menu.addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions: dict[Theme, QAction] = {}
        for theme, label in ((Theme.SYSTEM, "Follow the &system"), (Theme.LIGHT, "&Light"), (Theme.DARK, "&Dark")):
            action = QAction(label, self, checkable=True)
            action.setChecked(theme is self.theme)
            action.triggered.connect(lambda _c=False, t=theme: self.set_theme(t))
            group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[theme] = action
        self._action(view_menu, "Toggle &dark mode", self.toggle_dark, "Ctrl+Shift+D", "Switch light/dark")
        self.pace_action = QAction("&Demo pace (slow down each APDU)", self, checkable=True)
        self.pace_action.setToolTip("Pause after each APDU so an audience can follow the diagram")
        self.pace_action.toggled.connect(self._set_pace)
        view_menu.addAction(self.pace_action)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Fault syntax", self._fault_help, None, "How to write a fault plan")
        self._action(help_menu, "&About", self._about, None, "About this simulator")
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)

    def _connect_worker(self) -> None:
        worker = self.worker
        worker.preparing.connect(self._on_preparing)
        worker.prepared.connect(self._on_prepared)
        worker.prepareFailed.connect(self._on_prepare_failed)
        worker.waiting.connect(self._on_waiting)
        worker.eventReady.connect(self._on_event)
        worker.finished.connect(self._on_finished)
        self.controller.busyChanged.connect(self._on_busy)
        self.page.tapRequested.connect(self.tap)
        self.page.banner.cancelRequested.connect(self.controller.cancel)
        self.page.source.kindChanged.connect(self._source_kind_changed)
        self.page.source.profile.currentIndexChanged.connect(lambda _i: self._prepare())
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
        self._save_inputs()
        self._last_request = request
        self.run.clear()
        self.page.banner.set_state(BannerState.RUNNING, f"{request.transaction.describe()} — {request.source.describe()}")
        self.statusBar().showMessage("Tapping…")
        return self.controller.tap(request)

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

    def _select_verdict(self) -> None:
        index = self.run.first_index(ItemKind.VERDICT)
        self.run.set_current(index if index >= 0 else self.run.first_index(ItemKind.FAILURE))

    def _set_pace(self, on: bool) -> None:
        self.worker.pace_s = PACE_S if on else 0.0
        self.prefs.save_demo_pace(on)

    def _fault_help(self) -> None:
        QMessageBox.information(self, "Fault syntax", catalog.FAULT_SYNTAX_HELP)

    def _about(self) -> None:
        QMessageBox.about(self, f"About {APP_TITLE}", ABOUT_TEXT)

    # ------------------------------------------------------------------ worker signals
    def _prepare(self) -> None:
        """Have the worker personalise/cache the chosen test card (once per profile)."""
        source = self.page.source.source()
        if not self._prepare_enabled or source.kind is not SourceKind.EMULATED or not source.profile:
            return
        if source.profile != self._requested_profile:
            self._requested_profile = source.profile
            self.controller.prepare(source.profile)

    def _on_preparing(self, text: str) -> None:
        self._preparing += 1
        self.progress.show()
        self.statusBar().showMessage(text)
        if not self.controller.busy:
            self.page.banner.set_state(BannerState.PREPARING, "Personalising the emulated card once; later starts reuse it.")

    def _on_prepared(self, profile: str) -> None:
        self._preparing = max(0, self._preparing - 1)
        if self._preparing == 0:
            self.progress.hide()
        self.statusBar().showMessage(f"Test card ready: {profile}", 5000)
        if not self.controller.busy and self.page.banner.state is BannerState.PREPARING:
            self.page.banner.set_state(BannerState.READY, "The emulated test card is ready. Press Tap (Ctrl+T).")

    def _on_prepare_failed(self, message: str) -> None:
        self._preparing = max(0, self._preparing - 1)
        self._requested_profile = ""
        self.progress.hide()
        if not self.controller.busy:
            self.page.banner.set_state(BannerState.ERROR, message)
        self.statusBar().showMessage(message)

    def _on_waiting(self, text: str) -> None:
        if text:
            self.page.banner.set_waiting(text)
            self.statusBar().showMessage(text)
        elif self.controller.busy and self.page.banner.state is BannerState.WAITING:
            self.page.banner.set_state(BannerState.RUNNING, "The card is there: tapping…")

    def _on_event(self, event: object) -> None:
        self.run.add(event)  # type: ignore[arg-type]
        if isinstance(event, VerdictReached):
            self.page.banner.show_verdict(event, self._context())

    def _on_finished(self, result: RunResult) -> None:
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
        request = self._last_request
        return request.transaction.describe() if request is not None else ""

    def _on_busy(self, busy: bool) -> None:
        for widget in (self.page.tap_button, self.page.source, self.page.transaction):
            widget.setEnabled(not busy)
        self.tap_action.setEnabled(not busy)
        self.rerun_action.setEnabled(not busy)
        self.cancel_action.setEnabled(busy)
        if not busy:
            self.page.tap_button.setFocus()

    # ------------------------------------------------------------------ inputs
    def _source_kind_changed(self, kind: SourceKind) -> None:
        if kind is SourceKind.PCSC and not self._readers_connected:
            watcher = self.controller.watch_readers()
            watcher.readersChanged.connect(self.page.source.set_readers)
            watcher.cardChanged.connect(self.page.source.set_card_present)
            watcher.status.connect(self.page.source.set_reader_status)
            self._readers_connected = True
        elif kind is SourceKind.EMULATED:
            self._prepare()

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
        self._source_kind_changed(self.page.source.kind())
        self._inputs_changed()

    def save_state(self) -> None:
        """Remember inputs, geometry and splitters now."""
        self._save_inputs()
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
        super().changeEvent(event)

    def _style_disclaimer(self) -> None:
        palette = colours(self)
        self.disclaimer.setStyleSheet(
            f"#disclaimer {{ background: {palette.info_bg.name()}; color: {palette.info_fg.name()}; padding: 5px 10px; }}"
        )

    def _system_scheme_changed(self, *_args: object) -> None:
        if self.theme is Theme.SYSTEM:
            self.set_theme(Theme.SYSTEM)
