"""The detail pane: everything about the selected step or APDU.

Top: the title, who acts, the plain-words explanation and its EMV reference.
Below, three tabs (their titles say how much each holds, and the most relevant
one opens by itself): the card data decoded at that point as a TLV tree (tag,
name, value, meaning); the cryptography done at that step — each operation with
its inputs and outputs — and the checks with passed/failed and why; and, for an
APDU, the command and response bytes (card data masked).

While nothing is selected the pane follows the running tap, explaining each
step as it starts — at most once per batch of events, half a frame after it:
the newest step of a burst is shown (as it stood when it started), the ones
before it are skipped.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QTreeView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.models.checks import MARKS, status_colour
from app.gui.models.run import ItemDetail, ItemKind, RunModel
from app.gui.models.tlv_tree import TlvTreeModel
from app.gui.theme import colours
from app.gui.widgets.common import QuietTabWidget
from protocol.tap.events import ApduExchanged, CheckCompleted, CryptoComputed

#: While following the live run, the newest step is drawn this long after the batch that started it:
#: half a frame, between two batches (they come once per frame while the worker computes); when
#: batches come faster (the rest of a run that has ended), once they pause.
LIVE_DELAY_MS = 8


def _section(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class DetailPane(QWidget):
    """Shows :meth:`RunModel.detail` of the current item; follows the run's cursor."""

    def __init__(self, run: RunModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run = run
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.title = QLabel()
        self.title.setObjectName("detail-title")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.actor = QLabel()
        self.actor.setObjectName("detail-actor")
        self.explanation = QLabel()
        self.explanation.setObjectName("detail-explanation")
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.reference = QLabel()
        self.reference.setObjectName("detail-reference")
        self.reference.setWordWrap(True)
        self.reference.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bytes = QPlainTextEdit()
        self.bytes.setObjectName("detail-bytes")
        self.bytes.setReadOnly(True)
        self.bytes.setFont(QFont(self._mono))
        self.bytes.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        intro = QWidget()
        intro_layout = QVBoxLayout(intro)
        intro_layout.setContentsMargins(10, 8, 10, 8)
        for widget in (self.title, self.actor, self.explanation, self.reference):
            intro_layout.addWidget(widget)
        intro_layout.addStretch(1)
        intro_scroll = QScrollArea()
        intro_scroll.setWidget(intro)
        intro_scroll.setWidgetResizable(True)
        intro_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.tlv_model = TlvTreeModel(self)
        self._tlv_laid_out_empty = False  # the tree's columns are sized for no data (see show_item)
        self.tlv = QTreeView()
        self.tlv.setObjectName("tlv-tree")
        self.tlv.setModel(self.tlv_model)
        self.tlv.setAlternatingRowColors(True)
        self.tlv.setUniformRowHeights(True)
        self.tlv.setIndentation(14)
        self.tlv.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.tlv.header().setStretchLastSection(True)
        self.tlv_label = _section("Card data")

        self.crypto = QTreeWidget()
        self.crypto.setObjectName("crypto-tree")
        self.crypto.setHeaderLabels(["Crypto and checks", "Value"])
        self.crypto.setAlternatingRowColors(True)
        self.crypto.header().setStretchLastSection(True)
        self.crypto_label = _section("Cryptography and checks at this step")

        self.tabs = QuietTabWidget()
        self.tabs.setObjectName("detail-tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._boxed(self.tlv_label, self.tlv), "Card data")
        self.tabs.addTab(self._boxed(self.crypto_label, self.crypto), "Crypto && checks")
        self.tabs.addTab(self.bytes, "APDU bytes")
        self.tabs.setTabToolTip(0, "The card's answer decoded as BER-TLV: tag, name, value, meaning")
        self.tabs.setTabToolTip(1, "The cryptography done at this step (inputs, outputs) and the checks with their result")
        self.tabs.setTabToolTip(2, "The command and response APDU in hex (card data masked)")

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(intro_scroll)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([190, 300])
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self._live = -1  # the newest step to explain while following the live run
        self._batch_since = False  # a batch was filed since that step (see _show_live)
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_DELAY_MS)
        self._live_timer.timeout.connect(self._show_live)
        run.currentChanged.connect(self._current_changed)
        run.itemChanged.connect(self._maybe_refresh)
        run.itemsAdded.connect(self._follow_live)
        run.cleared.connect(self._cleared)
        self.show_item(-1)

    @staticmethod
    def _boxed(label: QLabel, view: QWidget) -> QWidget:
        box = QWidget()
        box.setAutoFillBackground(True)  # opaque: its repaints stop here, not at the tab widget
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 4, 6, 0)
        layout.setSpacing(3)
        layout.addWidget(label)
        layout.addWidget(view, 1)
        return box

    def _maybe_refresh(self, index: int) -> None:
        if index == self._run.current:
            self.show_item(index)

    def _current_changed(self, index: int) -> None:
        self._live = -1  # a selection (or none, after a clear) replaces any pending live step
        self._live_timer.stop()
        self.show_item(index)

    def _cleared(self) -> None:
        self._live = -1
        self._live_timer.stop()
        self.show_item(-1)

    def _follow_live(self, first: int, last: int) -> None:
        """While nothing is selected, the newest step of the running tap is explained (see :data:`LIVE_DELAY_MS`)."""
        if self._run.current >= 0:
            return
        step = next((i for i in range(last, first - 1, -1) if self._run.item(i).kind is ItemKind.STEP), -1)
        if step < 0:
            self._batch_since = True  # a batch since the step: the step waits for the batches to pause
            return
        self._live, self._batch_since = step, False
        self._live_timer.start()

    def _show_live(self) -> None:
        if self._batch_since:  # batches are coming faster than the delay (the rest of an ended run): after them
            self._batch_since = False
            self._live_timer.start()
            return
        index, self._live = self._live, -1
        if index < 0 or self._run.current >= 0 or index >= len(self._run):
            return
        self.show_item(index, as_of=index)
        self.title.setText(f"Now: {self.title.text()}")

    def show_item(self, index: int, as_of: int | None = None) -> None:
        """Render item ``index`` of the run (-1: the placeholder); ``as_of``: see :meth:`RunModel.detail`."""
        detail = self._run.detail(index, as_of)
        if detail is None:
            self._placeholder()
            return
        self.title.setText(detail.title)
        self.actor.setText(f"Actor: {detail.actor.value} · Step: {detail.item.step.title}")
        _set_style(self.actor, f"color: {colours(self).neutral.name()};")
        self.explanation.setText(detail.explanation or "—")
        self.reference.setText(f"Reference: {detail.reference}" if detail.reference else "")
        self.reference.setVisible(bool(detail.reference))
        _set_style(self.reference, f"color: {colours(self).neutral.name()}; font-style: italic;")
        has_bytes = self._show_bytes(detail)
        if self.tlv_model.set_data(detail.decoded) or not self._tlv_laid_out_empty:
            self._layout_tlv()  # (else nothing decoded, before nor now: the tree and its columns are as they were)
        self._tlv_laid_out_empty = not detail.decoded
        objects = self.tlv_model.node_count()
        what = self.tlv_model.labels[0] if len(self.tlv_model.labels) == 1 else "Card data decoded at this point"
        self.tlv_label.setText(
            f"{what}: {_count(objects, 'data object')}" if detail.decoded else "No card data was decoded at this point."
        )
        self._show_crypto(detail.crypto, detail.checks)
        self.tabs.setTabText(0, f"Card data ({objects})" if objects else "Card data")
        found = len(detail.crypto) + len(detail.checks)
        self.tabs.setTabText(1, f"Crypto && checks ({found})" if found else "Crypto && checks")
        self.tabs.setTabEnabled(2, has_bytes)
        self.tabs.setCurrentIndex(self._best_tab(detail, objects, found))

    def _layout_tlv(self) -> None:
        """Expand everything; group rows span the columns; size the columns to the data."""
        self.tlv.expandAll()
        model = self.tlv_model
        for row in range(model.rowCount()):
            self.tlv.setFirstColumnSpanned(row, QModelIndex(), model.span_row(model.index(row, 0)))
        for column, (least, most) in enumerate(((56, 110), (90, 170), (60, 120))):
            self.tlv.resizeColumnToContents(column)
            self.tlv.setColumnWidth(column, max(least, min(self.tlv.columnWidth(column), most)))

    @staticmethod
    def _best_tab(detail: ItemDetail, objects: int, found: int) -> int:
        """Card data for an exchange that decoded some; else crypto/checks when there are any."""
        kind = detail.item.kind
        if kind is ItemKind.APDU:
            return 0 if objects else 2
        if kind in (ItemKind.CRYPTO, ItemKind.CHECK, ItemKind.VERDICT) or (found and not objects):
            return 1
        return 0

    def _placeholder(self) -> None:
        self.title.setText("Nothing selected")
        self.actor.setText("")
        self.explanation.setText(
            "Tap, then click any row of the diagram or the APDU log — or use Back/Next (← →) — "
            "to see what happened at that step: the plain-words explanation with its EMV reference, "
            "the card data decoded, and the cryptography and checks."
        )
        self.reference.hide()
        self.bytes.clear()
        self.tlv_model.set_data(())
        self.tlv_label.setText("Card data")
        self.crypto.clear()
        self.crypto_label.setText("Cryptography and checks at this step")
        self.tabs.setTabText(0, "Card data")
        self.tabs.setTabText(1, "Crypto && checks")
        self.tabs.setTabEnabled(2, False)
        self.tabs.setCurrentIndex(0)

    def _show_bytes(self, detail: ItemDetail) -> bool:
        item = detail.item
        if item.kind is not ItemKind.APDU or not isinstance(item.event, ApduExchanged):
            self.bytes.clear()
            return False
        event = item.event
        sw = f"{event.sw:04X}" if len(event.response) >= 2 else "none (the card did not answer)"
        self.bytes.setPlainText(
            f"{event.command_name}\n\n"
            f"C-APDU ({len(event.command)} bytes)\n{_rows(item.command_hex)}\n\n"
            f"R-APDU data ({max(0, len(event.response) - 2)} bytes)\n{_rows(item.response_hex) or '(none)'}\n\n"
            f"SW  {sw}  {event.sw_meaning}"
        )
        return True

    def _show_crypto(self, crypto: tuple[CryptoComputed, ...], checks: tuple[CheckCompleted, ...]) -> None:
        self.crypto.clear()
        bold = QFont(self.crypto.font())
        bold.setBold(True)
        mono = QFont(self._mono)
        for op in crypto:
            top = QTreeWidgetItem([f"ƒ {op.operation}", f"{op.actor.value}"])
            top.setFont(0, bold)
            top.setToolTip(0, f"{op.operation}\n{op.reference}")
            for direction, pairs in (("in", op.inputs), ("out", op.outputs)):
                for label, value in pairs:
                    child = QTreeWidgetItem([f"{direction}: {label}", value])
                    child.setFont(1, mono)
                    child.setToolTip(1, value)
                    top.addChild(child)
            if op.reference:
                ref = QTreeWidgetItem(["reference", op.reference])
                ref.setToolTip(1, op.reference)
                top.addChild(ref)
            self.crypto.addTopLevelItem(top)
        for check in checks:
            item = QTreeWidgetItem([f"{MARKS[check.status]} {check.check}", f"{check.status.value}: {check.detail}"])
            item.setFont(0, bold)
            colour = status_colour(check.status)
            item.setForeground(0, colour)
            item.setToolTip(1, check.detail)
            self.crypto.addTopLevelItem(item)
        self.crypto.expandAll()
        self.crypto.resizeColumnToContents(0)
        self.crypto.setColumnWidth(0, max(140, min(self.crypto.columnWidth(0), 230)))
        if crypto or checks:
            self.crypto_label.setText(f"At this step: {_count(len(crypto), 'cryptographic operation')}, "
                                      f"{_count(len(checks), 'check')}")  # fmt: skip
        else:
            self.crypto_label.setText("No cryptography and no check at this step.")


def _rows(spaced: str, per_row: int = 16) -> str:
    """Spaced hex as lines of ``per_row`` bytes."""
    parts = spaced.split()
    return "\n".join(" ".join(parts[i : i + per_row]) for i in range(0, len(parts), per_row))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _set_style(widget: QWidget, sheet: str) -> None:
    """``setStyleSheet`` only when the sheet changes (setting one re-polishes the widget)."""
    if widget.styleSheet() != sheet:
        widget.setStyleSheet(sheet)
