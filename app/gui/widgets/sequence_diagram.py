"""The sequence diagram: lanes Verifier · Phone · Card, filled in as the run proceeds.

Every item of the :class:`~app.gui.models.run.RunModel` is one row: a band for
each step, an arrow for each message and each APDU (command name on the way to
the card, status word and time on the way back), a note for each cryptographic
operation, a ✓/✗ for each check, the verdict, the failure. Clicking a row (or
Back/Next) makes it the current item, which every other view follows.

Repaints are limited to what changed: the rows a batch adds, the old and the new
current row; the diagram paints opaquely, so the scroll area scrolls it by
moving pixels rather than repainting it.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QFrame, QScrollArea, QToolTip, QVBoxLayout, QWidget

from app.gui.models.display import format_elapsed
from app.gui.models.run import ItemKind, RunModel, TimelineItem
from app.gui.models.checks import MARKS, status_colour
from app.gui.theme import Colours, colours
from protocol.tap.events import (
    ApduExchanged,
    CheckCompleted,
    CryptoComputed,
    Lane,
    MessageSent,
    Outcome,
    SessionFailed,
    VerdictReached,
)

ROW_HEIGHT = {
    ItemKind.STEP: 30,
    ItemKind.APDU: 46,
    ItemKind.MESSAGE: 38,
    ItemKind.CRYPTO: 24,
    ItemKind.CHECK: 24,
    ItemKind.VERDICT: 46,
    ItemKind.FAILURE: 58,
}
LANE_FRACTIONS = {Lane.VERIFIER: 0.11, Lane.PHONE: 0.40, Lane.CARD: 0.88}
TOP_MARGIN = 6
EMPTY_TEXT = (
    "The protocol appears here, step by step, when you tap.\n\n"
    "1. The verifier issues a challenge bound to the transaction.\n"
    "2. The phone reads the card like a payment terminal.\n"
    "3. The card signs the transaction and the challenge (ARQC).\n"
    "4. The verifier checks everything itself and decides."
)


def lane_x(lane: Lane, width: int) -> float:
    return round(width * LANE_FRACTIONS[lane]) + 0.5


def _sw_ok(sw: int) -> bool:
    return sw == 0x9000 or (sw >> 8) in (0x61, 0x63)


def verdict_colour(outcome: Outcome, palette: Colours) -> QColor:
    return {Outcome.ACCEPT: palette.accept_bg, Outcome.REJECT: palette.reject_bg}.get(outcome, palette.oda_bg)


class _Fonts:
    """The diagram's fonts and their metrics, made once per widget font (not per row painted)."""

    def __init__(self, base: QFont) -> None:
        self.normal = QFont(base)
        self.bold = QFont(base)
        self.bold.setBold(True)
        self.small = QFont(base)
        self.small.setPointSizeF(self.small.pointSizeF() * 0.9)
        self.normal_metrics = QFontMetrics(self.normal)
        self.bold_metrics = QFontMetrics(self.bold)
        self.small_metrics = QFontMetrics(self.small)


class LaneHeader(QWidget):
    """The lane names, kept visible above the scrolling diagram."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(30)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = colours(self)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        for lane in Lane:
            x = lane_x(lane, self.width())
            w = metrics.horizontalAdvance(lane.value) + 24
            box = QRectF(x - w / 2, 3, w, 24)
            painter.setPen(QPen(palette.lane, 1))
            painter.setBrush(palette.band)
            painter.drawRoundedRect(box, 6, 6)
            painter.setPen(self.palette().windowText().color())
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, lane.value)


class SequenceDiagram(QWidget):
    """Paints the rows of a :class:`RunModel`; click a row to make it current."""

    rowsChanged = Signal()

    def __init__(self, run: RunModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run = run
        self._tops: list[int] = []
        self._step_numbers: dict[int, int] = {}
        self._highlighted = -1  # the row painted as current
        self._hovered = -1  # the row under the mouse (its tooltip is set)
        self._fonts: _Fonts | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAccessibleName("Sequence diagram of the tap")
        # paintEvent fills everything it is asked to paint; rows stay where they are when it grows taller
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        run.cleared.connect(self._relayout)
        run.itemsAdded.connect(self._added)
        run.itemChanged.connect(lambda index: self.update(self.row_rect(index)))
        run.currentChanged.connect(self._current_changed)
        self._relayout()

    # ------------------------------------------------------------------ geometry
    def _relayout(self) -> None:
        self._hovered = -1
        self.setToolTip("")
        self._tops.clear()
        self._step_numbers.clear()
        for item in self._run.items:
            self._place(item)
        self._resize()
        self.update()

    def _added(self, first: int, last: int) -> None:
        for index in range(first, last + 1):
            self._place(self._run.item(index))
        self._resize()
        if first == 0:
            self.update()  # the empty state's text goes
        else:
            top = self._tops[first]
            self.update(QRect(0, top, self.width(), self.content_height() - top))

    def _current_changed(self, index: int) -> None:
        for row in (self._highlighted, index):
            self.update(self.row_rect(row))
        self._highlighted = index

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        if event.size().width() != event.oldSize().width():
            self.update()  # the lanes are placed by the width: everything moves
        super().resizeEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange):
            self._fonts = None
            self.update()
        super().changeEvent(event)

    def _place(self, item: TimelineItem) -> None:
        top = self._tops[-1] + ROW_HEIGHT[self._run.item(len(self._tops) - 1).kind] if self._tops else TOP_MARGIN
        self._tops.append(top)
        if item.kind is ItemKind.STEP:
            self._step_numbers[item.index] = len(self._step_numbers) + 1

    def _resize(self) -> None:
        self.setMinimumHeight(self.content_height())
        self.rowsChanged.emit()

    def content_height(self) -> int:
        if not self._tops:
            return 200
        return self._tops[-1] + ROW_HEIGHT[self._run.item(len(self._tops) - 1).kind] + TOP_MARGIN

    def row_rect(self, index: int) -> QRect:
        """The rectangle of item ``index`` (empty when there is none)."""
        if not 0 <= index < len(self._tops):
            return QRect()
        return QRect(0, self._tops[index], self.width(), ROW_HEIGHT[self._run.item(index).kind])

    def row_at(self, y: float) -> int:
        for index, top in enumerate(self._tops):
            if top <= y < top + ROW_HEIGHT[self._run.item(index).kind]:
                return index
        return -1

    # ------------------------------------------------------------------ interaction
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        index = self.row_at(event.position().y())
        if index >= 0:
            self._run.set_current(index)
        self.setFocus()

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Right):
            self._run.step_forward()
        elif event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Left):
            self._run.step_back()
        elif event.key() == Qt.Key.Key_Home:
            self._run.set_current(0)
        elif event.key() == Qt.Key.Key_End:
            self._run.set_current(len(self._run) - 1)
        else:
            super().keyPressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        """The tooltip of the row under the mouse (set here, not in ``event()``: no Python for every event)."""
        index = self.row_at(event.position().y())
        if index != self._hovered:
            self._hovered = index
            self.setToolTip(_tooltip(self._run.item(index)) if index >= 0 else "")
            if index < 0:
                QToolTip.hideText()
        super().mouseMoveEvent(event)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = colours(self)
        painter.fillRect(self.rect(), self.palette().base())
        if not self._tops:
            self._paint_empty(painter, palette)
            return
        width = self.width()
        lifeline = QPen(palette.lane, 1, Qt.PenStyle.DashLine)
        painter.setPen(lifeline)
        bottom = max(self.height(), self.content_height())
        for lane in Lane:
            x = lane_x(lane, width)
            painter.drawLine(QPointF(x, 0), QPointF(x, bottom))
        clip = event.rect()
        for index, top in enumerate(self._tops):
            item = self._run.item(index)
            rect = QRect(0, top, width, ROW_HEIGHT[item.kind])
            if rect.intersects(clip):
                self._paint_row(painter, item, rect, palette, index == self._run.current)

    def _paint_empty(self, painter: QPainter, palette: Colours) -> None:
        """The empty state: what will appear here, as a left-aligned block in the middle."""
        painter.setPen(palette.neutral)
        area = self.rect().adjusted(24, 24, -24, -24)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        bounds = painter.fontMetrics().boundingRect(area, int(flags), EMPTY_TEXT)
        bounds.moveCenter(area.center())
        painter.drawText(bounds, int(flags), EMPTY_TEXT)

    def _font_set(self) -> _Fonts:
        if self._fonts is None:
            self._fonts = _Fonts(self.font())
        return self._fonts

    def _paint_row(self, p: QPainter, item: TimelineItem, rect: QRect, palette: Colours, selected: bool) -> None:
        text_colour = self.palette().text().color()
        fonts = self._font_set()
        if item.kind is ItemKind.STEP:
            p.fillRect(rect.adjusted(0, 2, 0, -2), palette.band)
        if selected:
            p.fillRect(rect, palette.selection)
            p.fillRect(QRect(rect.left(), rect.top(), 4, rect.height()), palette.accent)
        event = item.event
        width = rect.width()
        if item.kind is ItemKind.STEP:
            p.setFont(fonts.bold)
            p.setPen(palette.accent)
            number = self._step_numbers.get(item.index, 0)
            p.drawText(rect.adjusted(12, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, f"{number}. {item.step.title}")
            p.setFont(self.font())
        elif isinstance(event, ApduExchanged):
            phone, card = lane_x(Lane.PHONE, width), lane_x(Lane.CARD, width)
            answered = len(event.response) >= 2
            ok = answered and _sw_ok(event.sw)
            self._arrow(p, phone, card, rect.top() + 17, text_colour, event.command_name, above=True)
            sw = f"{event.sw:04X}" if answered else "no answer"
            back = f"{sw} · {format_elapsed(event.elapsed_ns)}"
            self._arrow(p, card, phone, rect.top() + 36, palette.passed if ok else palette.failed, back,
                        above=True, dashed=True, small=True)  # fmt: skip
        elif isinstance(event, MessageSent):
            a, b = lane_x(event.sender, width), lane_x(event.receiver, width)
            self._arrow(p, a, b, rect.top() + 26, palette.accent, event.label, above=True, spill=True)
        elif isinstance(event, CryptoComputed):
            self._note(p, item.actor, rect, "ƒ", palette.neutral, event.operation, palette, chip=True)
        elif isinstance(event, CheckCompleted):
            label = f"{event.check}: {event.status.value}"
            self._note(p, item.actor, rect, MARKS[event.status], status_colour(event.status), label, palette)
        elif isinstance(event, VerdictReached):
            self._verdict(p, event, rect, palette)
        elif isinstance(event, SessionFailed):
            p.setPen(palette.failed)
            p.setFont(fonts.bold)
            metrics = fonts.bold_metrics
            p.drawText(rect.adjusted(12, 4, -8, 0), Qt.AlignmentFlag.AlignTop, "✗ The tap failed here")
            p.setFont(self.font())
            body = fonts.normal_metrics.elidedText(event.reason, Qt.TextElideMode.ElideRight, 2 * (width - 40))
            p.drawText(rect.adjusted(12, 6 + metrics.height(), -8, -2), Qt.TextFlag.TextWordWrap, body)
            p.setFont(self.font())

    def _arrow(self, p: QPainter, x1: float, x2: float, y: float, colour: QColor, label: str, *,
               above: bool, dashed: bool = False, small: bool = False, spill: bool = False) -> None:  # fmt: skip
        """An arrow from ``x1`` to ``x2`` at ``y`` with ``label`` centred above it.

        With ``spill`` a label longer than the arrow may run on to the right edge.
        """
        pen = QPen(colour, 1.6, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        p.setPen(pen)
        p.drawLine(QPointF(x1, y), QPointF(x2, y))
        direction = 1 if x2 > x1 else -1
        head = QPainterPath(QPointF(x2, y))
        head.lineTo(x2 - 9 * direction, y - 4.5)
        head.lineTo(x2 - 9 * direction, y + 4.5)
        head.closeSubpath()
        p.fillPath(head, colour)
        fonts = self._font_set()
        font, metrics = (fonts.small, fonts.small_metrics) if small else (fonts.normal, fonts.normal_metrics)
        p.setFont(font)
        span = abs(x2 - x1) - 16
        left = min(x1, x2) + 8
        if spill and metrics.horizontalAdvance(label) > span:
            span = self.width() - left - 8
        text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(span))
        box = QRectF(left, y - metrics.height() - 2 if above else y + 2, span, metrics.height())
        p.setPen(self.palette().text().color() if not dashed else colour)
        p.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, text)
        p.setFont(self.font())

    def _note(self, p: QPainter, lane: Lane, rect: QRect, mark: str, mark_colour: QColor, label: str,
              palette: Colours, *, chip: bool = False) -> None:  # fmt: skip
        x = lane_x(lane, rect.width())
        fonts = self._font_set()
        metrics, bold = fonts.normal_metrics, fonts.bold
        available = rect.width() - x - 34
        text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(max(40, available)))
        box = QRectF(x - 11, rect.top() + 3, metrics.horizontalAdvance(text) + 34, rect.height() - 6)
        p.setPen(QPen(palette.lane if chip else mark_colour, 1))
        p.setBrush(palette.note_bg if chip else self.palette().base())
        p.drawRoundedRect(box, 5, 5)
        p.setFont(bold)
        p.setPen(mark_colour)
        p.drawText(QRectF(box.left(), box.top(), 22, box.height()), Qt.AlignmentFlag.AlignCenter, mark)
        p.setFont(self.font())
        p.setPen(self.palette().text().color() if chip else mark_colour)
        p.drawText(QRectF(box.left() + 22, box.top(), box.width() - 24, box.height()), Qt.AlignmentFlag.AlignVCenter, text)

    def _verdict(self, p: QPainter, verdict: VerdictReached, rect: QRect, palette: Colours) -> None:
        width = rect.width()
        verifier, phone = lane_x(Lane.VERIFIER, width), lane_x(Lane.PHONE, width)
        colour = verdict_colour(verdict.outcome, palette)
        self._arrow(p, verifier, phone, rect.top() + 34, colour, "verdict", above=True)
        fonts = self._font_set()
        p.setFont(fonts.bold)
        text = {Outcome.ACCEPT: "✓ ACCEPT", Outcome.REJECT: "✗ REJECT"}.get(verdict.outcome, "! ODA ONLY")
        w = fonts.bold_metrics.horizontalAdvance(text) + 16
        box = QRectF(max(2.0, verifier - w / 2), rect.top() + 3, w, 20)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawRoundedRect(box, 5, 5)
        p.setPen(palette.banner_fg)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        p.setFont(self.font())


def _tooltip(item: TimelineItem) -> str:
    event = item.event
    if isinstance(event, ApduExchanged):
        return f"{event.command_name}\n{event.sw:04X}: {event.sw_meaning}\n{format_elapsed(event.elapsed_ns)}"
    if isinstance(event, CheckCompleted):
        return f"{event.actor.value} check “{event.check}”: {event.status.value}\n{event.detail}"
    if isinstance(event, CryptoComputed):
        return f"{event.operation}\n{event.reference}"
    if isinstance(event, VerdictReached):
        return f"{event.outcome.value}" + ("\n" + "\n".join(event.reasons) if event.reasons else "")
    if isinstance(event, SessionFailed):
        return event.reason
    return item.title


class SequenceView(QWidget):
    """The diagram in a scroll area under a fixed lane header; follows the run as it grows."""

    def __init__(self, run: RunModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run = run
        self.header = LaneHeader()
        self.diagram = SequenceDiagram(run)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.diagram)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.scroll, 1)
        self.follow = True  # keep the newest row in view while the run grows
        self._to_bottom_pending = False
        run.itemsAdded.connect(self._on_added)
        run.currentChanged.connect(self._on_current)
        run.cleared.connect(self._on_cleared)

    def _on_cleared(self) -> None:
        self.follow = True
        self.scroll.verticalScrollBar().setValue(0)

    def _on_added(self, _first: int, _last: int) -> None:
        if self.follow and self._run.current < 0 and not self._to_bottom_pending:
            self._to_bottom_pending = True  # one deferred scroll for however many rows come before it
            QTimer.singleShot(0, self._to_bottom)

    def _to_bottom(self) -> None:
        self._to_bottom_pending = False
        # the layouts the batch asked for first (a taller banner makes the view shorter): then the end is the end
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        bar = self.scroll.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _on_current(self, index: int) -> None:
        rect = self.diagram.row_rect(index)
        if not rect.isNull():
            QTimer.singleShot(0, lambda: self.scroll.ensureVisible(rect.center().x(), rect.center().y(), 0,
                                                                   rect.height()))  # fmt: skip
