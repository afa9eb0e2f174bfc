"""The checks of the run as a table: mark, check, by whom, detail.

Rows follow :class:`~app.gui.models.run.RunModel`: while the tap runs, every
check reported so far (the phone's, then the verifier's sub-checks); once the
verdict arrives, exactly the verifier's main checks it carries, in order — the
list that decides, at a glance. The mark column shows
✓ passed, ✗ failed, ? not checkable, – skipped, coloured *and* written, so the
result never depends on colour alone.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from app.gui.models.run import RunModel
from app.gui.theme import colours
from protocol.tap.events import CheckCompleted, CheckStatus, VerdictReached

Index = QModelIndex | QPersistentModelIndex
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


class ChecksModel(QAbstractTableModel):
    """Read-only list of the checks: as they come, then the verdict's main checks."""

    def __init__(self, run: RunModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CheckCompleted] = list(run.checks)
        self._final = False
        if run.verdict is not None and run.verdict.checks:
            self._rows, self._final = list(run.verdict.checks), True
        run.cleared.connect(lambda: self._reset(()))
        run.checkAdded.connect(self._added)
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

    def _reset(self, rows: tuple[CheckCompleted, ...], final: bool = False) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._final = final
        self.endResetModel()

    def _verdict(self, verdict: VerdictReached | None) -> None:
        if verdict is not None and verdict.checks:
            self._reset(verdict.checks, final=True)

    def _added(self, check: CheckCompleted) -> None:
        if self._final:
            return
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(check)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 4:
            return HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        check, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (MARKS[check.status], check.check, check.actor.value, check.detail)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{check.actor.value}: {check.check} — {check.status.value}\n{check.detail}"
        if role == Qt.ItemDataRole.ForegroundRole and (column == MARK or check.status is CheckStatus.FAILED):
            return status_colour(check.status)
        if role == Qt.ItemDataRole.FontRole and column == MARK:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column == MARK:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.AccessibleTextRole and column == MARK:
            return check.status.value
        return None
