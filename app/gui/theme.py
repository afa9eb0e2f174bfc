"""Light and dark palettes, and the few semantic colours the views share.

The app uses the Fusion style everywhere so that both palettes look the same on
every platform. ``Theme.SYSTEM`` follows the desktop's colour scheme (Qt 6.5+
``QStyleHints.colorScheme``) and keeps following it when it changes; ``LIGHT``
and ``DARK`` force one (View ▸ Theme). Semantic colours — passed, failed,
neutral, verdict backgrounds — come from :func:`colours`, chosen by how light the
current window palette is, so every widget stays readable in both.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget


class Theme(enum.Enum):
    """The choices of View ▸ Theme."""

    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"

    @classmethod
    def parse(cls, text: object) -> Theme:
        for member in cls:
            if member.value == text:
                return member
        return cls.SYSTEM


@dataclass(frozen=True)
class Colours:
    """Semantic colours for one palette (foregrounds readable on ``base``)."""

    passed: QColor
    failed: QColor
    neutral: QColor
    accent: QColor
    accept_bg: QColor
    reject_bg: QColor
    oda_bg: QColor
    idle_bg: QColor
    banner_fg: QColor
    band: QColor
    selection: QColor
    lane: QColor
    note_bg: QColor
    info_bg: QColor
    info_fg: QColor
    primary: QColor  # the background of the main action (white text on it)


_LIGHT = Colours(
    passed=QColor("#1b7f3b"),
    failed=QColor("#c62828"),
    neutral=QColor("#6b7280"),
    accent=QColor("#1f5f99"),
    accept_bg=QColor("#1b7f3b"),
    reject_bg=QColor("#c62828"),
    oda_bg=QColor("#b26a00"),
    idle_bg=QColor("#e5e9ef"),
    banner_fg=QColor("#ffffff"),
    band=QColor("#eef2f7"),
    selection=QColor("#cfe3fa"),
    lane=QColor("#9aa7b5"),
    note_bg=QColor("#fbf7e9"),
    info_bg=QColor("#eaf2fb"),
    info_fg=QColor("#1d3d5c"),
    primary=QColor("#1f5f99"),
)

_DARK = Colours(
    passed=QColor("#5cd08a"),
    failed=QColor("#ff7b72"),
    neutral=QColor("#9aa4b2"),
    accent=QColor("#79b8ff"),
    accept_bg=QColor("#1f7a3f"),
    reject_bg=QColor("#b3261e"),
    oda_bg=QColor("#9a5b00"),
    idle_bg=QColor("#2b3138"),
    banner_fg=QColor("#ffffff"),
    band=QColor("#262c33"),
    selection=QColor("#1f3f63"),
    lane=QColor("#5c6773"),
    note_bg=QColor("#2e2a1f"),
    info_bg=QColor("#1d2a38"),
    info_fg=QColor("#cfe0f3"),
    primary=QColor("#2f6fa8"),
)


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether ``palette`` (default: the application's) has a dark window colour."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def colours(widget: QWidget | None = None) -> Colours:
    """The semantic colours of the current theme.

    Decided by the application palette, never by ``widget``'s own: a widget whose
    style sheet paints its background (the verdict banner in green, say) must not
    flip the theme. ``widget`` is accepted for call-site readability only.
    """
    del widget
    return _DARK if is_dark(QGuiApplication.palette()) else _LIGHT


def dark_palette() -> QPalette:
    """A readable dark palette for the Fusion style."""
    p = QPalette()
    window, base, text = QColor("#1e2227"), QColor("#16191d"), QColor("#e6e9ed")
    disabled = QColor("#7d8590")
    role = QPalette.ColorRole
    for r, c in (
        (role.Window, window), (role.WindowText, text), (role.Base, base),
        (role.AlternateBase, QColor("#1d2127")), (role.ToolTipBase, QColor("#2b3138")),
        (role.ToolTipText, text), (role.PlaceholderText, disabled), (role.Text, text),
        (role.Button, QColor("#2a2f36")), (role.ButtonText, text), (role.BrightText, QColor("#ff7b72")),
        (role.Link, QColor("#79b8ff")), (role.Highlight, QColor("#2f6fa8")),
        (role.HighlightedText, QColor("#ffffff")), (role.Light, QColor("#3a414a")),
        (role.Midlight, QColor("#30363e")), (role.Mid, QColor("#262b31")), (role.Dark, QColor("#101215")),
        (role.Shadow, QColor("#000000")),
    ):  # fmt: skip
        p.setColor(r, c)
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, r, disabled)
    return p


def light_palette() -> QPalette:
    """Fusion's own light palette, with a slightly stronger highlight."""
    app = QApplication.instance()
    style = app.style() if isinstance(app, QApplication) else None
    p = style.standardPalette() if style is not None else QPalette()
    p.setColor(QPalette.ColorRole.Highlight, QColor("#2f6fa8"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    return p


def system_prefers_dark() -> bool:
    """The desktop's colour scheme, when the platform tells it (else light)."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


#: Fusion draws radio-button outlines darker than the window: invisible on a dark one.
DARK_EXTRAS = (
    "QRadioButton::indicator { width: 12px; height: 12px; border-radius: 7px; border: 1px solid #8b949e;"
    " background: #16191d; }"
    "QRadioButton::indicator:checked { border: 1px solid #79b8ff; background: qradialgradient(cx:0.5, cy:0.5,"
    " radius:0.5, fx:0.5, fy:0.5, stop:0 #79b8ff, stop:0.45 #79b8ff, stop:0.55 #16191d, stop:1 #16191d); }"
    "QRadioButton::indicator:disabled { border: 1px solid #4a525c; }"
)


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Set the Fusion style and the palette for ``theme`` on the whole application."""
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    dark = theme is Theme.DARK or (theme is Theme.SYSTEM and system_prefers_dark())
    app.setPalette(dark_palette() if dark else light_palette())
    app.setStyleSheet(DARK_EXTRAS if dark else "")


def primary_button_style(widget: QWidget) -> str:
    """A style sheet for the one main action of a page (``#tap``): filled, readable in both palettes."""
    c = colours(widget)
    name = widget.objectName()
    return (
        f"QPushButton#{name} {{ background: {c.primary.name()}; color: #ffffff; border: none; border-radius: 6px; }}"
        f"QPushButton#{name}:hover {{ background: {c.primary.lighter(115).name()}; }}"
        f"QPushButton#{name}:pressed {{ background: {c.primary.darker(120).name()}; }}"
        f"QPushButton#{name}:focus {{ border: 2px solid {c.accent.name()}; }}"
        f"QPushButton#{name}:disabled {{ background: {c.idle_bg.name()}; color: {c.neutral.name()}; }}"
    )
