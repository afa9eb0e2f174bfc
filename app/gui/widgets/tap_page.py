"""The "Card tap" page: inputs on the left, the run on the right.

Left: card source, transaction, the big Tap button, and the checks list.
Right: the verdict banner; the sequence diagram beside the detail pane; the
Back/Next navigator; the APDU log. Selection is one cursor (the run model's
current item): the diagram, the log and the checks list all follow it and set it.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.gui.models.apdu_log import ApduLogModel, Column
from app.gui.models.checks import ChecksModel
from app.gui.models.run import ItemKind, RunModel
from app.gui.theme import primary_button_style
from app.gui.widgets.detail_pane import DetailPane
from app.gui.widgets.sequence_diagram import SequenceView
from app.gui.widgets.source_panel import FaultValidator, SourcePanel
from app.gui.widgets.transaction_panel import TransactionPanel
from app.gui.widgets.verdict_banner import VerdictBanner


def _table(name: str) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    return view


class Navigator(QWidget):
    """Back / position / Next under the diagram."""

    def __init__(self, run: RunModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run = run
        self.back = QPushButton("◀ Back")
        self.back.setObjectName("back")
        self.back.setToolTip("Previous step or APDU (←)")
        self.next = QPushButton("Next ▶")
        self.next.setObjectName("next")
        self.next.setToolTip("Next step or APDU (→)")
        self.position = QLabel()
        self.position.setObjectName("position")
        self.position.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.back)
        layout.addWidget(self.position, 1)
        layout.addWidget(self.next)
        self.back.clicked.connect(run.step_back)
        self.next.clicked.connect(run.step_forward)
        for signal in (run.currentChanged, run.itemsAdded, run.cleared):
            signal.connect(self._update)
        self._update()

    def _update(self, *_args: object) -> None:
        count, current = len(self._run), self._run.current
        if current >= 0:
            self.position.setText(f"{current + 1} of {count}: {self._run.item(current).title}")
        else:
            self.position.setText(f"{count} rows — click one, or press → to step through" if count else "")
        self.back.setEnabled(count > 0 and current > 0)
        self.next.setEnabled(count > 0 and current < count - 1)


class TapPage(QWidget):
    """The main page of the window; emits :attr:`tapRequested` when the Tap button is pressed."""

    tapRequested = Signal()

    def __init__(self, run: RunModel, validate_faults: FaultValidator, fault_help: str = "",
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.setAutoFillBackground(True)  # opaque: its repaints stop here, not at the window's tab widget
        self.run = run
        self.source = SourcePanel(validate_faults, fault_help)
        self.transaction = TransactionPanel()
        self.tap_button = QPushButton("Tap card")
        self.tap_button.setObjectName("tap")
        self.tap_button.setMinimumHeight(52)
        self.tap_button.setToolTip("Run the authentication: challenge, tap, verification (Ctrl+T or Space; F5 re-runs)")
        font = self.tap_button.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.tap_button.setFont(font)
        self.tap_button.setStyleSheet(primary_button_style(self.tap_button))
        self.tap_button.clicked.connect(self.tapRequested)
        self.input_problem = QLabel()
        self.input_problem.setObjectName("input-problem")
        self.input_problem.setWordWrap(True)

        self.checks_model = ChecksModel(run, self)
        self.checks = _table("checks")
        self.checks.setModel(self.checks_model)
        header = self.checks.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        self.checks.setColumnWidth(0, 26)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        self.checks.setColumnWidth(2, 62)
        self.checks.setColumnHidden(3, True)
        self.checks_model.changed.connect(self._checks_changed)
        self.checks_box = checks_box = QGroupBox("Checks")
        self.checks_empty = QLabel("The verifier's checks appear here after a tap: each one passed ✓ or failed ✗, "
                                   "with the reason.")  # fmt: skip
        self.checks_empty.setObjectName("checks-empty")
        self.checks_empty.setWordWrap(True)
        self.checks_empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.checks_empty.setEnabled(False)
        self.checks_stack = QStackedWidget()
        self.checks_stack.addWidget(self.checks_empty)
        self.checks_stack.addWidget(self.checks)
        checks_layout = QVBoxLayout(checks_box)
        checks_layout.addWidget(self.checks_stack)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.source)
        left_layout.addWidget(self.transaction)
        left_layout.addWidget(self.tap_button)
        left_layout.addWidget(self.input_problem)
        left_layout.addWidget(checks_box, 1)
        left.setMinimumWidth(280)
        left.setMaximumWidth(300)

        self.banner = VerdictBanner()
        self.sequence = SequenceView(run)
        self.detail = DetailPane(run)
        self.navigator = Navigator(run)
        self.log_model = ApduLogModel(run, self)
        self.log = _table("apdu-log")
        self.log.setModel(self.log_model)
        self._size_log_columns()

        diagram_box = QWidget()
        diagram_layout = QVBoxLayout(diagram_box)
        diagram_layout.setContentsMargins(0, 0, 0, 0)
        diagram_layout.setSpacing(2)
        diagram_layout.addWidget(self.sequence, 1)
        diagram_layout.addWidget(self.navigator)
        self.middle = QSplitter(Qt.Orientation.Horizontal)
        self.middle.addWidget(diagram_box)
        self.middle.addWidget(self.detail)
        self.middle.setStretchFactor(0, 1)
        self.middle.setStretchFactor(1, 1)
        self.middle.setChildrenCollapsible(False)
        self.vertical = QSplitter(Qt.Orientation.Vertical)
        self.vertical.addWidget(self.middle)
        self.vertical.addWidget(self.log)
        self.vertical.setStretchFactor(0, 3)
        self.vertical.setStretchFactor(1, 1)
        self.vertical.setChildrenCollapsible(False)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.vertical, 1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(left)
        layout.addWidget(right, 1)

        self.log.selectionModel().currentRowChanged.connect(self._log_row)
        self.checks.selectionModel().currentRowChanged.connect(self._check_row)
        self.checks.clicked.connect(lambda index: self._check_row(index, QModelIndex()))
        run.currentChanged.connect(self._follow_current)
        self.log_model.rowsInserted.connect(self._log_grew)
        self.vertical.setSizes([520, 170])
        self.middle.setSizes([420, 540])

    def _checks_changed(self, *_args: object) -> None:
        self.checks_box.setTitle(self.checks_model.title())
        self.checks_stack.setCurrentIndex(1 if self.checks_model.rowCount() else 0)

    def _size_log_columns(self) -> None:
        header = self.log.horizontalHeader()
        widths = {Column.NUMBER: 34, Column.DIRECTION: 92, Column.COMMAND: 180, Column.SW: 48, Column.MEANING: 170,
                  Column.TIME: 70}  # fmt: skip
        for column, width in widths.items():
            self.log.setColumnWidth(column, width)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column in (Column.COMMAND_BYTES, Column.RESPONSE_BYTES):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)

    # ------------------------------------------------------------------ one cursor
    def _log_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.run.set_current(self.log_model.item_for_row(current.row()).index)

    def _check_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        check = self.checks_model.check(current.row())
        for item in self.run.items:
            if item.event == check:
                self.run.set_current(item.index)
                return
        verdict = self.run.first_index(ItemKind.VERDICT)
        if verdict >= 0:
            self.run.set_current(verdict)

    def _log_grew(self, *_args: object) -> None:
        if self.run.current < 0:  # nothing selected: the log follows the running tap
            self.log.scrollToBottom()

    def _follow_current(self, index: int) -> None:
        row = self.log_model.row_for_item(index)
        selection = self.log.selectionModel()
        if row >= 0:
            if selection.currentIndex().row() != row:
                target = self.log_model.index(row, 0)
                selection.setCurrentIndex(target, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                          | QItemSelectionModel.SelectionFlag.Rows)  # fmt: skip
                self.log.scrollTo(target)
        elif selection.hasSelection() or selection.currentIndex().isValid():
            selection.clear()

    def restyle(self) -> None:
        """Re-apply the palette-dependent styles (after a theme change)."""
        self.tap_button.setStyleSheet(primary_button_style(self.tap_button))
        self.log_model.restyle()
        self.checks_model.restyle()
        banner = self.banner
        headline = banner.headline.text()
        banner.set_state(banner.state, banner.detail.text())
        banner.headline.setText(headline)
        self.source.restyle()

    # ------------------------------------------------------------------ input state
    def problem(self) -> str | None:
        """Why a tap cannot start now (bad faults, no reader, bad amount), or ``None``."""
        return self.source.problem() or self.transaction.problem()
