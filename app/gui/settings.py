"""The user's last choices, remembered with ``QSettings``.

The application's organisation and name (set in :mod:`app.gui.main`) choose
where ``QSettings()`` keeps them; tests pass their own ``QSettings`` on a
temporary INI file. Values are read defensively: a missing or odd value falls
back to the default, never to an exception. A value is written only when it
changed: every write schedules a rewrite of the settings file, and the inputs
are saved at every tap.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from app.gui.requests import CardSource, SourceKind, TransactionInput
from app.gui.theme import Theme

_SOURCE = "source"
_TRANSACTION = "transaction"


def _text(settings: QSettings, key: str, default: str) -> str:
    value = settings.value(key, default)
    return value if isinstance(value, str) else default


def _put(settings: QSettings, key: str, value: str) -> None:
    """``setValue`` unless the stored value is already ``value`` (a write makes QSettings rewrite its file)."""
    if settings.value(key) != value:
        settings.setValue(key, value)


class Preferences:
    """Typed access to the remembered choices."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def load_source(self) -> CardSource:
        s, d = self.settings, CardSource()
        return CardSource(
            kind=SourceKind.parse(_text(s, f"{_SOURCE}/kind", d.kind.value), default=d.kind),
            profile=_text(s, f"{_SOURCE}/profile", d.profile),
            faults=_text(s, f"{_SOURCE}/faults", d.faults),
            reader=_text(s, f"{_SOURCE}/reader", d.reader),
            device=_text(s, f"{_SOURCE}/nfc_path", d.device),
        )

    def save_source(self, source: CardSource) -> None:
        s = self.settings
        _put(s, f"{_SOURCE}/kind", source.kind.value)
        _put(s, f"{_SOURCE}/profile", source.profile)
        _put(s, f"{_SOURCE}/faults", source.faults)
        if source.reader:  # keep the last reader even while it is unplugged
            _put(s, f"{_SOURCE}/reader", source.reader)
        _put(s, f"{_SOURCE}/nfc_path", source.device)

    def load_transaction(self) -> TransactionInput:
        s, d = self.settings, TransactionInput()
        return TransactionInput(
            kind=_text(s, f"{_TRANSACTION}/kind", d.kind),
            amount=_text(s, f"{_TRANSACTION}/amount", d.amount),
            currency=_text(s, f"{_TRANSACTION}/currency", d.currency),
            payee=_text(s, f"{_TRANSACTION}/payee", d.payee),
        )

    def save_transaction(self, entry: TransactionInput) -> None:
        s = self.settings
        _put(s, f"{_TRANSACTION}/kind", entry.kind)
        _put(s, f"{_TRANSACTION}/amount", entry.amount)
        _put(s, f"{_TRANSACTION}/currency", entry.currency)
        _put(s, f"{_TRANSACTION}/payee", entry.payee)

    def load_theme(self) -> Theme:
        return Theme.parse(_text(self.settings, "view/theme", Theme.SYSTEM.value))

    def save_theme(self, theme: Theme) -> None:
        _put(self.settings, "view/theme", theme.value)

    def load_demo_pace(self) -> bool:
        return _text(self.settings, "view/demo_pace", "false") == "true"

    def save_demo_pace(self, on: bool) -> None:
        _put(self.settings, "view/demo_pace", "true" if on else "false")

    def load_timing(self) -> bool:
        """View ▸ Realistic card timing."""
        return _text(self.settings, "view/realistic_timing", "false") == "true"

    def save_timing(self, on: bool) -> None:
        _put(self.settings, "view/realistic_timing", "true" if on else "false")

    def load_bytes(self, key: str) -> QByteArray | None:
        value = self.settings.value(f"window/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_bytes(self, key: str, value: QByteArray) -> None:
        self.settings.setValue(f"window/{key}", value)

    def sync(self) -> None:
        self.settings.sync()
