"""The checks of the run as a table: mark, check, by whom, detail.

Rows follow :class:`~app.gui.models.run.RunModel`: while the tap runs, every
check reported so far (the phone's, then the verifier's sub-checks); once the
verdict arrives, exactly the verifier's main checks it carries, in order — the
list that decides, at a glance. New checks come in one range insert per batch
of events; the verdict's checks are written over the rows shown. The mark column shows
✓ passed, ✗ failed, ? not checkable, – skipped, coloured *and* written, so the
result never depends on colour alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel

from app.gui.models.run import RunModel
from app.gui.theme import colours
from protocol.tap.events import CheckCompleted, CheckStatus, VerdictReached

HEADERS = ("", "Check", "By", "Detail")
MARK, CHECK, ACTOR, DETAIL = range(4)
MARKS = {
    CheckStatus.PASSED: "✓",
    CheckStatus.FAILED: "✗",
    CheckStatus.NOT_CHECKABLE: "?",
    CheckStatus.SKIPPED: "–",
}


def status_colour(status: CheckStatus) -> Any:
    palette = colours()
    if status is CheckStatus.PASSED:
        return palette.passed
    if status is CheckStatus.FAILED:
        return palette.failed
    return palette.neutral


_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class ChecksModel(QStandardItemModel):
    """Read-only list of the checks: as they come, then the verdict's main checks.

    The cells are kept by Qt (``QStandardItemModel``): painting the list asks no
    Python code. :attr:`changed` says the rows (and so :meth:`title`) changed —
    once per batch of events.
    """

    changed = Signal()

    def __init__(self, run: RunModel, parent: QObject | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(list(HEADERS))
        self._run = run
        self._rows: list[CheckCompleted] = []
        self._final = False
        self._bold = QFont()
        self._bold.setBold(True)
        if run.verdict is not None and run.verdict.checks:
            self._set_rows(run.verdict.checks, final=True)
        else:
            self._set_rows(run.checks)
        run.cleared.connect(lambda: self._set_rows(()))
        run.checksAdded.connect(self._added)
        run.verdictChanged.connect(self._verdict)

    def check(self, row: int) -> CheckCompleted:
        return self._rows[row]

    @property
    def final(self) -> bool:
        """True once the rows are the verdict's checks."""
        return self._final

    def title(self) -> str:
        """A heading for the list ("Verifier checks: 10 passed, 1 failed")."""
        if not self._rows:
            return "Checks"
        failed = sum(c.status is CheckStatus.FAILED for c in self._rows)
        passed = sum(c.status is CheckStatus.PASSED for c in self._rows)
        other = len(self._rows) - failed - passed
        counts = f"{passed} passed" + (f", {failed} failed" if failed else "") + (f", {other} other" if other else "")
        return f"Verifier checks: {counts}" if self._final else f"Checks so far: {counts}"

    def restyle(self) -> None:
        """Colour the marks (and failed checks) for the current palette (after a theme change)."""
        for row, check in enumerate(self._rows):
            self._fill(row, check)

    def _verdict(self, verdict: VerdictReached | None) -> None:
        if verdict is not None and verdict.checks:
            self._set_rows(verdict.checks, final=True)

    def _added(self, checks: tuple[CheckCompleted, ...]) -> None:
        verdict = self._run.verdict
        if self._final or not checks or (verdict is not None and verdict.checks):
            return  # the verdict's checks replace the rows (its signal follows in the same batch)
        self._set_rows((*self._rows, *checks))

    def _set_rows(self, rows: Iterable[CheckCompleted], final: bool = False) -> None:
        """Show ``rows``: the rows kept are rewritten in place, then one insert or one removal for the rest."""
        rows = list(rows)
        shown = self._rows
        old = len(shown)
        self._rows, self._final = rows, final
        if len(rows) > old:
            self.insertRows(old, len(rows) - old)
        elif len(rows) < old:
            self.removeRows(len(rows), old - len(rows))
        for row, check in enumerate(rows):
            if row < old and shown[row] is check:
                continue  # the same check in the same row: nothing to redo
            self._fill(row, check)
        self.changed.emit()

    def _fill(self, row: int, check: CheckCompleted) -> None:
        colour = status_colour(check.status)
        failed = check.status is CheckStatus.FAILED
        tip = f"{check.actor.value}: {check.check} — {check.status.value}\n{check.detail}"
        for column, text in enumerate((MARKS[check.status], check.check, check.actor.value, check.detail)):
            cell = QStandardItem(text)
            cell.setFlags(_FLAGS)
            cell.setToolTip(tip)
            if column == MARK:
                cell.setFont(self._bold)
                cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                cell.setData(check.status.value, Qt.ItemDataRole.AccessibleTextRole)
            if column == MARK or failed:
                cell.setForeground(colour)
            self.setItem(row, column, cell)
