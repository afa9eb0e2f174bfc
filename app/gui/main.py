"""Entry point of the desktop app: ``trustone-app`` or ``python -m app.gui``.

Sets the application's identity (so ``QSettings`` has a home), its icon and
theme, and opens the main window on the emulated test card with no
configuration: the default profile is personalised into the data directory on
first use, on the worker thread, while the window says "Preparing the test card…".

The interpreter's thread switch interval is lowered to 1 ms: the UI thread runs
Python (every slot, every paint of the diagram) while the worker thread computes
a tap in Python, and each time it needs the interpreter lock it would otherwise
wait up to the default 5 ms for the worker to let go of it.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.gui.main_window import APP_TITLE, MainWindow, app_icon
from app.gui.theme import apply_theme

#: The UI thread waits at most this long (s) for the interpreter lock while the worker computes.
SWITCH_INTERVAL_S = 0.001
ORGANISATION = "TrustOne Tap Simulator"
ORGANISATION_DOMAIN = "trustone-simulator.invalid"
APPLICATION = "trustone-app"


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The ``QApplication`` with name, organisation, icon and the Fusion style (reused if one exists)."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv or sys.argv))
    app.setOrganizationName(ORGANISATION)
    app.setOrganizationDomain(ORGANISATION_DOMAIN)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_TITLE)
    app.setDesktopFileName(APPLICATION)
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app until its window closes; returns the exit status."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and sys.platform.startswith("linux"):
        if not os.environ.get("QT_QPA_PLATFORM"):
            print("trustone-app: no display (DISPLAY/WAYLAND_DISPLAY unset); set QT_QPA_PLATFORM=offscreen "
                  "or start an X server such as Xvfb.", file=sys.stderr)  # fmt: skip
            return 2
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
    app = create_application(argv)
    window = MainWindow()
    apply_theme(app, window.theme)
    window.show()
    # Ctrl+C in the terminal closes the window properly (settings saved, threads joined).
    signal.signal(signal.SIGINT, lambda *_args: window.close())
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)  # lets Python run its signal handlers while Qt waits
    heartbeat.start(250)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
