"""Small pieces the new pages share: a verdict badge, a list of checks, section titles, fonts.

Everything is coloured from :func:`app.gui.theme.colours` (so light and dark
palettes stay readable) and always says its meaning in words and symbols too,
never by colour alone. Call :meth:`VerdictBadge.restyle` / :meth:`CheckList.restyle`
after a theme change (the pages do it on ``PaletteChange``).

:class:`QuietTabWidget` is the tab widget of the window's pages and of the detail
pane: a ``QTabWidget`` that does not repaint all of itself when a page's contents
change size.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from app.gui.models.checks import MARKS, status_colour
from app.gui.theme import colours
from protocol.tap.events import CheckCompleted

#: Verdict words -> (symbol, colour role of :class:`~app.gui.theme.Colours`).
_VERDICTS = {
    "ACCEPT": ("✓", "accept_bg"),
    "REJECT": ("✗", "reject_bg"),
    "FAILED": ("✗", "reject_bg"),
    "ODA ONLY": ("!", "oda_bg"),
    "OFFLINE DATA AUTHENTICATION ONLY": ("!", "oda_bg"),
}


class QuietTabWidget(QTabWidget):
    """A ``QTabWidget`` that lays itself out again only when its tab bar changes.

    ``QTabWidget`` answers every ``LayoutRequest`` — which any label of a page
    sends up when its text changes — by placing its tab bar and pages again and
    repainting *all* of itself, every widget of the page included. Here, while the
    tab bar's size hint is the same, nothing of the tab widget moves: the request
    is only passed on to the parent's layout (the page has already laid itself out)
    and only what changed is repainted. Resizes, style changes and new tabs are
    handled by ``QTabWidget`` as ever.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bar_hint: QSize | None = None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            hint = self.tabBar().sizeHint()
            if hint == self._bar_hint:
                self.updateGeometry()  # our size hints follow the pages': the parent's layout may care
                return True
            self._bar_hint = hint
        return super().event(event)


def mono_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def scaled(widget: QWidget, factor: float, bold: bool = False) -> None:
    """Scale ``widget``'s font by ``factor`` (and make it bold)."""
    font = widget.font()
    font.setPointSizeF(max(6.0, font.pointSizeF() * factor))
    font.setBold(bold)
    widget.setFont(font)


def section(text: str) -> QLabel:
    label = QLabel(text)
    scaled(label, 1.0, bold=True)
    return label


def wrapping(text: str = "", selectable: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class VerdictBadge(QLabel):
    """A verdict in colour *and* words: ``✓ ACCEPT``, ``✗ REJECT``, ``! ODA ONLY``, or a neutral text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.verdict: str | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(30)
        scaled(self, 1.2, bold=True)
        self.set_verdict(None, "—")

    def set_verdict(self, verdict: str | None, text: str | None = None) -> None:
        """``verdict`` in words (``None``: not run); ``text`` replaces the default wording."""
        self.verdict = verdict
        symbol, _ = _VERDICTS.get(verdict or "", ("", ""))
        self.setText(text if text is not None else f"{symbol} {verdict}".strip())
        self.restyle()

    def restyle(self) -> None:
        palette = colours(self)
        _, role = _VERDICTS.get(self.verdict or "", ("", ""))
        if role:
            background, foreground = getattr(palette, role), palette.banner_fg
        else:
            background, foreground = palette.idle_bg, self.palette().windowText().color()
        self.setStyleSheet(f"QLabel {{ background: {background.name()}; color: {foreground.name()};"
                           " border-radius: 5px; padding: 3px 10px; }")  # fmt: skip


class CheckList(QTreeWidget):
    """Checks with ✓ ✗ ? – marks (coloured and written), the name, and the verifier's reason."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["", "Check", "Why"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(False)
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(0, 24)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self._checks: tuple[CheckCompleted, ...] = ()

    def set_checks(self, checks: Iterable[CheckCompleted]) -> None:
        self._checks = tuple(checks)
        self.clear()
        for check in self._checks:
            item = QTreeWidgetItem(["", check.check, check.detail])
            item.setToolTip(1, f"{check.check}: {check.status.value}")
            item.setToolTip(2, check.detail)
            self.addTopLevelItem(item)
        self.restyle()

    @property
    def checks(self) -> tuple[CheckCompleted, ...]:
        return self._checks

    def restyle(self) -> None:
        for row, check in enumerate(self._checks):
            item = self.topLevelItem(row)
            if item is None:
                continue
            item.setText(0, MARKS[check.status])
            item.setForeground(0, status_colour(check.status))
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
