"""File ▸ Open trace and File ▸ Export (JSON trace, pcapng, HTML report), off the UI thread.

The dialogs run on the UI thread; reading, masking, encoding and writing run on
the background thread (:mod:`app.gui.files`). What is exported is the run on
screen (:attr:`MainWindow.current_trace`: the last tap, an opened trace, or a run
opened from the OTP vs tap page or the attack lab). A file that is not a trace
(random bytes, other JSON, a newer version, a PNG renamed ``.json``) ends in a
message box saying why; the app stays as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.gui import files
from app.gui.jobs import Job, JobDone
from app.gui.widgets.export_dialog import ExportDialog

if TYPE_CHECKING:
    from app.gui.main_window import MainWindow

_LAST_DIR = "files/last_dir"


class FileActions(QObject):
    """The File menu's work; :attr:`finished` carries each job's :class:`~app.gui.jobs.JobDone`."""

    finished = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.last: JobDone | None = None

    # ------------------------------------------------------------------ directories
    def last_dir(self) -> str:
        value = self.window.prefs.settings.value(_LAST_DIR, "")
        if isinstance(value, str) and value and Path(value).is_dir():
            return value
        return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())

    def _remember(self, path: Path) -> None:
        self.window.prefs.settings.setValue(_LAST_DIR, str(path.parent))

    # ------------------------------------------------------------------ open
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a trace", self.last_dir(),
                                              "TrustOne trace (*.json);;All files (*)")  # fmt: skip
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Read ``path`` on the background thread, then show it in the step-by-step views (or say why not)."""
        target = Path(path)
        self._remember(target)
        self.window.statusBar().showMessage(f"Opening {target.name}…")
        self.window.controller.run_background(Job("open", lambda _c: files.open_trace(target), self._opened))

    def _opened(self, done: JobDone) -> None:
        self.last = done
        if done.ok:
            self.window.show_trace(done.result, "Opened trace")
        else:
            self.window.statusBar().showMessage("The file was not opened.", 8000)
            self.window.show_message("Cannot open this file", done.error or "", QMessageBox.Icon.Warning)
        self.finished.emit(done)

    # ------------------------------------------------------------------ export
    def export_dialog(self, kind: str) -> None:
        trace = self.window.current_trace
        if trace is None:
            self.window.show_message("Nothing to export", "Tap a card (or open a trace) first: the run on screen "
                                     "is what gets exported.", QMessageBox.Icon.Information)  # fmt: skip
            return
        _, label, name_filter, suffix = next(f for f in files.FORMATS if f[0] == kind)
        stamp = trace.created.strftime("%Y%m%d-%H%M%S")
        dialog = ExportDialog(self.window, f"Export {label}", name_filter, self.last_dir(), f"tap-{stamp}{suffix}",
                              allow_reveal=kind != "html" and not trace.masked)  # fmt: skip
        chosen = dialog.chosen()
        dialog.deleteLater()
        if chosen is not None:
            self.export_to(kind, chosen[0], reveal=chosen[1])

    def export_to(self, kind: str, path: str | Path, *, reveal: bool = False) -> bool:
        """Export the run on screen as ``kind`` to ``path`` on the background thread; ``False`` if nothing to export."""
        trace = self.window.current_trace
        if trace is None:
            return False
        target = files.with_suffix(path, kind)
        self._remember(target)
        self.window.statusBar().showMessage(f"Writing {target.name}…")
        self.window.controller.run_background(
            Job(f"export-{kind}", lambda _c: files.export(trace, target, kind, reveal=reveal), self._exported)
        )
        return True

    def _exported(self, done: JobDone) -> None:
        self.last = done
        if done.ok:
            written: files.Exported = done.result
            masking = "card numbers masked" if written.masked else "UNMASKED card numbers"
            self.window.statusBar().showMessage(f"Saved {written.path} ({written.size:,} bytes, {masking}).", 15000)
        else:
            self.window.show_message("Export failed", done.error or "", QMessageBox.Icon.Warning)
        self.finished.emit(done)
