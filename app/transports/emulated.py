"""In-process transport to an emulated card: ``transmit`` is ``card.process``.

No driver, no socket: the authenticator and the card run back to back in one
process, which is how protocol tests and the demo without a reader work. The card
is powered on when the transport opens (construction) and off when it closes.
"""

from __future__ import annotations

import threading

from app.errors import TransportError
from card_emulation.interface import ApduCard


class EmulatedTransport:
    """A :class:`~app.transports.base.Transport` whose other end is an :class:`ApduCard`.

    ``name`` defaults to the card's ``name`` attribute, else its class name; the
    description reads ``"Emulated card (<name>)"``.
    """

    def __init__(self, card: ApduCard, name: str | None = None) -> None:
        self.card = card
        self.name = name or str(getattr(card, "name", "") or type(card).__name__)
        self._lock = threading.Lock()
        self._open = True
        card.power_on()

    @property
    def description(self) -> str:
        return f"Emulated card ({self.name})"

    @property
    def atr(self) -> bytes:
        """The card's answer-to-reset."""
        return bytes(self.card.atr)

    def transmit(self, apdu: bytes) -> bytes:
        with self._lock:
            if not self._open:
                raise TransportError(f"{self.description}: the transport is closed")
            return bytes(self.card.process(bytes(apdu)))

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._open = False
                self.card.power_off()

    def __enter__(self) -> EmulatedTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
