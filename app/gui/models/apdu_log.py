"""The APDU log: one row per command/response exchange of the run (a table model).

Columns: number, direction, command name, command bytes, response bytes (both
hex, card data masked), status word, its meaning, round-trip time. Rows are
appended as :class:`~app.gui.models.run.RunModel` files exchanges — one range
insert per batch of events; the log maps rows to timeline items so that
selecting a row selects the step in every view.
"""

from __future__ import annotations

import enum

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QFontDatabase, QStandardItem, QStandardItemModel

from app.gui.models.display import format_elapsed
from app.gui.models.run import ItemKind, RunModel, TimelineItem
from app.gui.theme import colours
from protocol.tap.events import ApduExchanged

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


_MONO_COLUMNS = (Column.COMMAND_BYTES, Column.RESPONSE_BYTES, Column.SW)
_STATUS_COLUMNS = (Column.SW, Column.MEANING)
_RIGHT_COLUMNS = (Column.NUMBER, Column.TIME)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class ApduLogModel(QStandardItemModel):
    """A read-only table of the exchanges filed in a :class:`RunModel`.

    The cells are made once, when their exchange is filed, and kept by Qt
    (``QStandardItemModel``): painting the log asks no Python code — which would
    wait for the interpreter lock while the worker computes a tap.
    """

    def __init__(self, run: RunModel, parent: QObject | None = None) -> None:
        super().__init__(0, len(Column), parent)
        self._run = run
        self._rows: list[TimelineItem] = []
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for column in Column:
            header = QStandardItem(HEADERS[column])
            if column in HEADER_TIPS:
                header.setToolTip(HEADER_TIPS[column])
            self.setHorizontalHeaderItem(column, header)
        self._append([item for item in run.items if item.kind is ItemKind.APDU])
        run.cleared.connect(self._reset)
        run.itemsAdded.connect(self._added)

    # ------------------------------------------------------------------ mapping
    def item_for_row(self, row: int) -> TimelineItem:
        return self._rows[row]

    def row_for_item(self, index: int) -> int:
        """The row of timeline item ``index``, -1 when it is not an exchange."""
        for row, item in enumerate(self._rows):
            if item.index == index:
                return row
        return -1

    def restyle(self) -> None:
        """Colour the status words for the current palette (after a theme change)."""
        palette = colours()
        for row, item in enumerate(self._rows):
            colour = palette.passed if _ok(item) else palette.failed
            for column in _STATUS_COLUMNS:
                cell = self.item(row, column)
                if cell is not None:
                    cell.setForeground(colour)

    # ------------------------------------------------------------------ filing
    def _reset(self) -> None:
        if self._rows:
            self._rows.clear()
            self.removeRows(0, self.rowCount())

    def _added(self, first: int, last: int) -> None:
        new = [item for item in (self._run.item(i) for i in range(first, last + 1)) if item.kind is ItemKind.APDU]
        if new:
            self._append(new)

    def _append(self, items: list[TimelineItem]) -> None:
        """New rows for ``items``: one ``rowsInserted`` for all of them, then their cells."""
        if not items:
            return
        row = len(self._rows)
        self._rows.extend(items)
        self.insertRows(row, len(items))
        palette = colours()
        for offset, item in enumerate(items):
            event = item.event
            assert isinstance(event, ApduExchanged)
            status = palette.passed if _ok(item) else palette.failed
            for column in Column:
                cell = QStandardItem(self._text(item, event, column))
                cell.setFlags(_FLAGS)
                cell.setToolTip(self._tooltip(item, event, column))
                if column in _MONO_COLUMNS:
                    cell.setFont(self._mono)
                if column in _STATUS_COLUMNS:
                    cell.setForeground(status)
                if column in _RIGHT_COLUMNS:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row + offset, column, cell)

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


def _ok(item: TimelineItem) -> bool:
    event = item.event
    assert isinstance(event, ApduExchanged)
    return len(event.response) >= 2 and _sw_ok(event.sw)


def _wrap(spaced: str, per_line: int = 16) -> str:
    parts = spaced.split()
    return "\n".join(" ".join(parts[i : i + per_line]) for i in range(0, len(parts), per_line)) or "(none)"
