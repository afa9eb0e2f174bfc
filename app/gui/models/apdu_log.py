"""The APDU log: one row per command/response exchange of the run (a table model).

Columns: number, direction, command name, command bytes, response bytes (both
hex, card data masked), status word, its meaning, round-trip time. Rows are
appended as :class:`~app.gui.models.run.RunModel` files exchanges; the log maps
rows to timeline items so that selecting a row selects the step in every view.
"""

from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QObject, Qt
from PySide6.QtGui import QFont, QFontDatabase

from app.gui.models.display import format_elapsed
from app.gui.models.run import ItemKind, RunModel, TimelineItem
from app.gui.theme import colours
from protocol.tap.events import ApduExchanged

Index = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    NUMBER = 0
    DIRECTION = 1
    COMMAND = 2
    COMMAND_BYTES = 3
    RESPONSE_BYTES = 4
    SW = 5
    MEANING = 6
    TIME = 7


HEADERS = {
    Column.NUMBER: "#",
    Column.DIRECTION: "Direction",
    Column.COMMAND: "Command",
    Column.COMMAND_BYTES: "Command bytes (C-APDU)",
    Column.RESPONSE_BYTES: "Response data (R-APDU)",
    Column.SW: "SW",
    Column.MEANING: "Status meaning",
    Column.TIME: "Time",
}

HEADER_TIPS = {
    Column.DIRECTION: "Who sent the command and who answered",
    Column.COMMAND_BYTES: "The command APDU as sent, in hex (card data masked)",
    Column.RESPONSE_BYTES: "The card's answer without its status word, in hex (card data masked)",
    Column.SW: "Status word SW1 SW2 (ISO/IEC 7816-4, EMV)",
    Column.TIME: "Round trip measured by the phone",
}


def _sw_ok(sw: int) -> bool:
    return sw == 0x9000 or (sw >> 8) in (0x61, 0x63)


class ApduLogModel(QAbstractTableModel):
    """A read-only table of the exchanges filed in a :class:`RunModel`."""

    def __init__(self, run: RunModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run = run
        self._rows: list[TimelineItem] = [item for item in run.items if item.kind is ItemKind.APDU]
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        run.cleared.connect(self._reset)
        run.itemAdded.connect(self._added)

    # ------------------------------------------------------------------ mapping
    def item_for_row(self, row: int) -> TimelineItem:
        return self._rows[row]

    def row_for_item(self, index: int) -> int:
        """The row of timeline item ``index``, -1 when it is not an exchange."""
        for row, item in enumerate(self._rows):
            if item.index == index:
                return row
        return -1

    def _reset(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self.endResetModel()

    def _added(self, index: int) -> None:
        item = self._run.item(index)
        if item.kind is not ItemKind.APDU:
            return
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(item)
        self.endInsertRows()

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(Column(section))
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        event = item.event
        assert isinstance(event, ApduExchanged)
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(item, event, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item, event, column)
        if role == Qt.ItemDataRole.FontRole and column in (Column.COMMAND_BYTES, Column.RESPONSE_BYTES, Column.SW):
            return QFont(self._mono)
        if role == Qt.ItemDataRole.ForegroundRole and column in (Column.SW, Column.MEANING):
            palette = colours()
            return palette.passed if len(event.response) >= 2 and _sw_ok(event.sw) else palette.failed
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.NUMBER, Column.TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(item: TimelineItem, event: ApduExchanged, column: Column) -> str:
        match column:
            case Column.NUMBER:
                return str(item.apdu_number)
            case Column.DIRECTION:
                return "Phone → Card"
            case Column.COMMAND:
                return event.command_name
            case Column.COMMAND_BYTES:
                return item.command_hex
            case Column.RESPONSE_BYTES:
                return item.response_hex or "(no data)"
            case Column.SW:
                return f"{event.sw:04X}" if len(event.response) >= 2 else "—"
            case Column.MEANING:
                return event.sw_meaning
            case Column.TIME:
                return format_elapsed(event.elapsed_ns)
        return ""

    @staticmethod
    def _tooltip(item: TimelineItem, event: ApduExchanged, column: Column) -> str:
        if column is Column.COMMAND_BYTES:
            return f"C-APDU ({len(event.command)} bytes):\n{_wrap(item.command_hex)}"
        if column is Column.RESPONSE_BYTES:
            return f"Response data ({max(0, len(event.response) - 2)} bytes):\n{_wrap(item.response_hex)}"
        if column in (Column.SW, Column.MEANING):
            return f"{event.sw:04X}: {event.sw_meaning}"
        return f"{event.command_name} — {item.step.title}"


def _wrap(spaced: str, per_line: int = 16) -> str:
    parts = spaced.split()
    return "\n".join(" ".join(parts[i : i + per_line]) for i in range(0, len(parts), per_line)) or "(none)"
