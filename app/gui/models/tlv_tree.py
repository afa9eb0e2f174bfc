"""A tree model over decoded card data (:class:`~protocol.tap.events.DecodedNode`).

Columns: tag, name, value (hex, already masked by the protocol layer), meaning.
With several :class:`~protocol.tap.events.DataDecoded`, each becomes a top-level
group row named by its label ("SFI 1 record 1", "SFI 2 record 1"); its nodes and
their children hang below it. With one, its nodes are the top level (the view
shows the label as a heading) so no width is spent on an extra indentation.

The cells are made when the data is set and kept by Qt (``QStandardItemModel``):
painting the tree and its header asks no Python code.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontDatabase, QStandardItem, QStandardItemModel

from protocol.tap.events import DataDecoded, DecodedNode

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Tag", "Name", "Value", "Meaning")
TAG, NAME, VALUE, MEANING = range(4)
_GROUP = Qt.ItemDataRole.UserRole + 1  # on the first cell of a group row (a DataDecoded label)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class TlvTreeModel(QStandardItemModel):
    """Read-only tree of one or more decoded answers."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(list(HEADERS))
        self.labels: tuple[str, ...] = ()
        self._nodes = 0
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._bold = QFont()
        self._bold.setBold(True)

    def set_data(self, decoded: tuple[DataDecoded, ...]) -> bool:
        """Show ``decoded`` (replacing what was shown); ``False`` when nothing changed (empty before and after)."""
        self.labels = tuple(data.label for data in decoded)
        if len(decoded) == 1:
            rows = [self._node_row(node) for node in decoded[0].nodes]
        else:
            rows = [self._group_row(data) for data in decoded]
        self._nodes = sum(_count(node) for data in decoded for node in data.nodes)
        if not rows and not self.rowCount():
            return False
        self.beginResetModel()
        blocked = self.blockSignals(True)  # one reset for the views, not a signal per row
        try:
            self.removeRows(0, self.rowCount())
            for row in rows:
                self.appendRow(row)
        finally:
            self.blockSignals(blocked)
        self.endResetModel()
        return True

    def node_count(self) -> int:
        """Number of decoded data objects shown (group rows excluded)."""
        return self._nodes

    def span_row(self, index: Index) -> bool:
        """Whether ``index`` is a group row (drawn across all columns by the view)."""
        return index.isValid() and index.siblingAtColumn(TAG).data(_GROUP) is True

    def _node_row(self, node: DecodedNode) -> list[QStandardItem]:
        cells = []
        for column, text in enumerate((node.tag, node.name, node.value_hex, node.meaning)):
            cell = QStandardItem(text)
            cell.setFlags(_FLAGS)
            if text:
                cell.setToolTip(_wrap(text))
            if column in (TAG, VALUE):
                cell.setFont(self._mono)
            cells.append(cell)
        for child in node.children:
            cells[TAG].appendRow(self._node_row(child))
        return cells

    def _group_row(self, data: DataDecoded) -> list[QStandardItem]:
        cells = [QStandardItem(data.label)] + [QStandardItem() for _ in HEADERS[1:]]
        cells[TAG].setToolTip(data.label)
        cells[TAG].setData(True, _GROUP)
        for cell in cells:
            cell.setFlags(_FLAGS)
            cell.setFont(self._bold)
        for node in data.nodes:
            cells[TAG].appendRow(self._node_row(node))
        return cells


def _count(node: DecodedNode) -> int:
    return 1 + sum(_count(child) for child in node.children)


def _wrap(text: str, width: int = 64) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))
