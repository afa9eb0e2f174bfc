"""The one transport contract: ``transmit(apdu: bytes) -> bytes``.

Emulated, PC/SC and NFC adapters implement :class:`Transport`; APDU mechanics
(GET RESPONSE for ``61xx``, re-send for ``6Cxx``, tracing) are wrappers around any
transport, written once in :mod:`app.transports.wrappers`. Errors below the APDU
level are :class:`app.errors.TransportError` subclasses; a status word is never an
error at this level (the session decides what it means).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Transport(Protocol):
    """Sends one command APDU and returns the response APDU (data + SW1 SW2)."""

    @property
    def description(self) -> str:
        """Human-readable name of what is on the other end (reader name, device path)."""
        ...

    def transmit(self, apdu: bytes) -> bytes:
        ...

    def close(self) -> None:
        """Release the reader/card. Safe to call more than once."""
        ...
