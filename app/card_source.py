"""Where the card of a tap is: one plain value type for every front end.

:class:`CardSource` names an emulated card from a profile (with its faults and
optional realistic timing), a card in a PC/SC reader, or a card on an nfcpy
device. It is deliberately free of heavy imports (no card emulation, no drivers,
no crypto) so that the desktop app's widgets may hold it; opening the card it
names is :func:`app.flow.sources.open_transport`'s job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.errors import ConfigurationError

DEFAULT_PROFILE = "mastercard-cvn16-cda"
DEFAULT_NFC_DEVICE = "usb"
#: The personalisation seed of the shipped demo cards; equals
#: ``card_emulation.personalise.DEFAULT_SEED`` (kept here so widgets need not import the card).
DEFAULT_SEED = "trustone-demo"


class SourceKind(enum.Enum):
    """Where the card is: emulated in-process, in a PC/SC reader, or on an nfcpy device."""

    EMULATED = "emulated"
    PCSC = "pcsc"
    NFC = "nfc"

    @classmethod
    def parse(cls, text: object, default: SourceKind | None = None) -> SourceKind:
        """The kind named ``text``; ``default`` for anything else, or ConfigurationError without one."""
        for member in cls:
            if member.value == text:
                return member
        if default is not None:
            return default
        raise ConfigurationError(f"card source must be one of {', '.join(m.value for m in cls)}, got {text!r}")


@dataclass(frozen=True)
class CardSource:
    """The card to tap. Only the fields of ``kind`` matter.

    ``timing``: the emulated card answers with a real card's pacing (demos).
    """

    kind: SourceKind = SourceKind.EMULATED
    profile: str = DEFAULT_PROFILE
    seed: str = DEFAULT_SEED
    faults: str = ""
    timing: bool = False
    reader: str = ""
    device: str = DEFAULT_NFC_DEVICE

    def describe(self) -> str:
        if self.kind is SourceKind.PCSC:
            return f"PC/SC reader {self.reader}" if self.reader else "a PC/SC reader"
        if self.kind is SourceKind.NFC:
            return f"NFC device {self.device}"
        faults = f" with faults “{self.faults}”" if self.faults.strip() else ""
        return f"emulated card {self.profile}{faults}"
