"""Transports for tests that model the link, around a real transport (never instead of the card)."""

from __future__ import annotations

from app.errors import CardRemovedError
from app.transports.base import Transport


class RemovedAfter:
    """A transport whose card leaves the field after ``n`` commands (raises CardRemovedError)."""

    def __init__(self, inner: Transport, n: int) -> None:
        self.inner, self.left = inner, n

    @property
    def description(self) -> str:
        return self.inner.description

    def transmit(self, apdu: bytes) -> bytes:
        if self.left == 0:
            raise CardRemovedError("the card left the NFC field")
        self.left -= 1
        return self.inner.transmit(apdu)

    def close(self) -> None:
        self.inner.close()
