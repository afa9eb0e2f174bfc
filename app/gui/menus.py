"""The window's menus and keyboard shortcuts (File, Run, View, Help).

Built once by :func:`build_menus` from the window's own actions and helpers
(:class:`~app.gui.file_actions.FileActions`,
:class:`~app.gui.presentation_mode.PresentationMode`); each action has a tool tip
and, where it makes sense, a shortcut:

====================  =============================================
Ctrl+O                open a trace
Ctrl+S / Ctrl+Shift+S export the run as JSON trace / pcapng
Ctrl+E                export the run as an HTML report
Ctrl+T, F5, Esc       tap, re-run, cancel
← / →, Ctrl+R         step back / forward, select the verdict
F11 or Ctrl+P         presentation mode
Ctrl+Shift+D          dark mode
Ctrl+1 … Ctrl+4       the pages
====================  =============================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QShortcut

from app.gui.theme import Theme

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow


def action(window: MainWindow, menu: Any, text: str, slot: Callable[[], object], shortcut: Any = None,
           tip: str = "") -> QAction:  # fmt: skip
    """A menu entry calling ``slot`` (its ``checked`` argument dropped)."""
    item = QAction(text, window)
    if shortcut is not None:
        item.setShortcut(QKeySequence(shortcut))
    if tip:
        item.setToolTip(tip)
        item.setStatusTip(tip)
    item.triggered.connect(lambda _checked=False: slot())
    menu.addAction(item)
    return item


def build_menus(window: MainWindow) -> None:
    """Create every menu of ``window`` and keep the actions tests and the window need as attributes."""
    bar = window.menuBar()
    files = window.files
    file_menu = bar.addMenu("&File")
    action(window, file_menu, "&Open trace…", files.open_dialog, "Ctrl+O", "Open a saved JSON trace and step through it")
    file_menu.addSeparator()
    window.export_actions = {
        "json": action(window, file_menu, "Export JSON &trace…", lambda: files.export_dialog("json"), "Ctrl+S",
                       "Save the run on screen as a JSON trace (card numbers masked unless you choose otherwise)"),
        "pcapng": action(window, file_menu, "Export &pcapng (Wireshark)…", lambda: files.export_dialog("pcapng"),
                         "Ctrl+Shift+S", "Save the APDU exchanges as a pcapng capture for Wireshark"),
        "html": action(window, file_menu, "Export &HTML report…", lambda: files.export_dialog("html"), "Ctrl+E",
                       "Save a one-page report: steps, checks, verdict, timings (card numbers masked)"),
    }  # fmt: skip
    file_menu.addSeparator()
    quit_action = action(window, file_menu, "&Quit", window.close, QKeySequence.StandardKey.Quit, "Quit the simulator")
    if quit_action.shortcut().isEmpty():  # no platform default: Ctrl+Q
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))

    run_menu = bar.addMenu("&Run")
    window.tap_action = action(window, run_menu, "&Tap card", window.tap, "Ctrl+T", "Run the authentication")
    window.addAction(window.tap_action)  # works in presentation mode too (menu bar hidden)
    window.rerun_action = action(window, run_menu, "&Re-run last tap", window.rerun, "F5", "Repeat the last tap")
    window.cancel_action = action(window, run_menu, "&Cancel", window.controller.cancel, "Esc", "Stop the tap")
    window.cancel_action.setEnabled(False)
    window.enrol_action = action(window, run_menu, "&Enrol this card", window.enrol,
                                 tip="Bind the real card the verifier rejected as not enrolled to this phone")  # fmt: skip
    window.enrol_action.setEnabled(False)
    run_menu.addSeparator()
    action(window, run_menu, "&Back", window.run.step_back, "Left", "Previous step or APDU")
    action(window, run_menu, "&Next", window.run.step_forward, "Right", "Next step or APDU")
    run_menu.addSeparator()
    action(window, run_menu, "Show &verdict", window.select_verdict, "Ctrl+R", "Select the verdict")
    for target in (window.page.sequence, window.page.log):
        shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), target)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(window.tap)

    view_menu = bar.addMenu("&View")
    view_menu.addAction(window.presentation.action)
    window.timing_action = QAction("&Realistic card timing", window, checkable=True)
    window.timing_action.setToolTip("The emulated card answers as slowly as a real one (always on in presentation)")
    window.timing_action.toggled.connect(window.prefs.save_timing)
    view_menu.addAction(window.timing_action)
    window.pace_action = QAction("&Demo pace (slow down each APDU)", window, checkable=True)
    window.pace_action.setToolTip("Pause after each APDU so an audience can follow the diagram")
    window.pace_action.toggled.connect(window.set_pace)
    view_menu.addAction(window.pace_action)
    view_menu.addSeparator()
    theme_menu = view_menu.addMenu("&Theme")
    group = QActionGroup(window)
    window.theme_actions = {}
    for theme, label in ((Theme.SYSTEM, "Follow the &system"), (Theme.LIGHT, "&Light"), (Theme.DARK, "&Dark")):
        item = QAction(label, window, checkable=True)
        item.setChecked(theme is window.theme)
        item.triggered.connect(lambda _c=False, t=theme: window.set_theme(t))
        group.addAction(item)
        theme_menu.addAction(item)
        window.theme_actions[theme] = item
    action(window, view_menu, "Toggle &dark mode", window.toggle_dark, "Ctrl+Shift+D", "Switch light/dark")
    view_menu.addSeparator()
    for index in range(window.tabs.count()):
        action(window, view_menu, f"&{index + 1} {window.tabs.tabText(index)}",
               lambda i=index: window.tabs.setCurrentIndex(i), f"Ctrl+{index + 1}", window.tabs.tabToolTip(index))  # fmt: skip

    help_menu = bar.addMenu("&Help")
    action(window, help_menu, "&Fault syntax", window.fault_help, None, "How to write a fault plan")
    action(window, help_menu, "&About", window.about, None, "About this simulator")
