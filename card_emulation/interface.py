"""What a bridge (vpcd, NFC) needs from an emulated card.

The emulated card mirrors the reader side's transport contract: where a transport
has ``transmit(apdu) -> response``, the card has ``process(apdu) -> response``.
Bridges and the in-process transport depend on this protocol only, so any object
with these members (the EMV applet, a test card) can sit behind them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class ApduCard(Protocol):
    """An ISO 7816-4 card as seen from the reader."""

    @property
    def atr(self) -> bytes:
        """Answer-to-reset sent by the contact (vpcd) bridge; it decides T=0/T=1."""
        ...

    @property
    def historical_bytes(self) -> bytes:
        """Historical bytes, carried in the ATS by the contactless (ISO-DEP) bridge."""
        ...

    def power_on(self) -> None:
        """Cold or warm reset: volatile state (selected application, ...) is cleared."""
        ...

    def power_off(self) -> None:
        """Field off / card removed."""
        ...

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with response data and status word.

        Must never raise for any input bytes: malformed commands get an error
        status word (e.g. ``6700``), exactly as a real card would answer.
        """
        ...
