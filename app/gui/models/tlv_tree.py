"""A tree model over decoded card data (:class:`~protocol.tap.events.DecodedNode`).

Columns: tag, name, value (hex, already masked by the protocol layer), meaning.
With several :class:`~protocol.tap.events.DataDecoded`, each becomes a top-level
group row named by its label ("SFI 1 record 1", "SFI 2 record 1"); its nodes and
their children hang below it. With one, its nodes are the top level (the view
shows the label as a heading) so no width is spent on an extra indentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontDatabase

from protocol.tap.events import DataDecoded, DecodedNode

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Tag", "Name", "Value", "Meaning")
TAG, NAME, VALUE, MEANING = range(4)


@dataclass(eq=False)
class _Row:
    """One row of the tree; ``node`` is None for a group row (a DataDecoded label)."""

    label: str
    node: DecodedNode | None
    parent: _Row | None
    row: int
    children: list[_Row] = field(default_factory=list)


def _build(node: DecodedNode, parent: _Row, row: int) -> _Row:
    item = _Row(node.name, node, parent, row)
    item.children = [_build(child, item, i) for i, child in enumerate(node.children)]
    return item


def _build_top(node: DecodedNode, row: int) -> _Row:
    item = _Row(node.name, node, None, row)
    item.children = [_build(child, item, i) for i, child in enumerate(node.children)]
    return item


class TlvTreeModel(QAbstractItemModel):
    """Read-only tree of one or more decoded answers."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._groups: list[_Row] = []
        self.labels: tuple[str, ...] = ()
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    def set_data(self, decoded: tuple[DataDecoded, ...]) -> None:
        """Show ``decoded`` (replacing what was shown)."""
        self.beginResetModel()
        self._groups = []
        self.labels = tuple(data.label for data in decoded)
        if len(decoded) == 1:
            self._groups = [_build_top(node, i) for i, node in enumerate(decoded[0].nodes)]
        else:
            for row, data in enumerate(decoded):
                group = _Row(data.label, None, None, row)
                group.children = [_build(node, group, i) for i, node in enumerate(data.nodes)]
                self._groups.append(group)
        self.endResetModel()

    def node_count(self) -> int:
        """Number of decoded data objects shown (group rows excluded)."""

        def count(rows: list[_Row]) -> int:
            return sum((0 if r.node is None else 1) + count(r.children) for r in rows)

        return count(self._groups)

    # ------------------------------------------------------------------ Qt model API
    def _row(self, index: Index) -> _Row | None:
        return index.internalPointer() if index.isValid() else None  # type: ignore[no-any-return]

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        owner = self._row(parent)
        rows = owner.children if owner is not None else self._groups
        return self.createIndex(row, column, rows[row])

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        item = self._row(index)
        if item is None or item.parent is None:
            return QModelIndex()
        return self.createIndex(item.parent.row, 0, item.parent)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        owner = self._row(parent)
        return len(owner.children) if owner is not None else len(self._groups)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 4:
            return HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self._row(index)
        if item is None:
            return None
        node, column = item.node, index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if node is None:
                return item.label if column == TAG else None
            text = (node.tag, node.name, node.value_hex, node.meaning)[column]
            if role == Qt.ItemDataRole.ToolTipRole:
                return _wrap(text) if text else None
            return text
        if role == Qt.ItemDataRole.FontRole:
            if node is None:
                font = QFont()
                font.setBold(True)
                return font
            if column in (TAG, VALUE):
                return QFont(self._mono)
        return None

    def span_row(self, index: Index) -> bool:
        """Whether ``index`` is a group row (drawn across all columns by the view)."""
        item = self._row(index)
        return item is not None and item.node is None


def _wrap(text: str, width: int = 64) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))
