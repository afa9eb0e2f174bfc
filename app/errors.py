"""Error hierarchy of the application layer.

One root, :class:`AppError`, split by who is at fault. Each carries a message a
person can act on (what is missing, how to install it, what to try next).
"""

from __future__ import annotations


class AppError(Exception):
    """Root of every error raised by :mod:`app`."""


class ConfigurationError(AppError):
    """The user asked for something that cannot work (bad option, unknown profile)."""


class TransportError(AppError):
    """Talking to the card failed below the APDU level (reader, driver, link)."""


class DriverMissingError(TransportError):
    """A driver or system component is absent; ``install_hint`` says how to get it."""

    def __init__(self, message: str, install_hint: str = "") -> None:
        self.install_hint = install_hint
        super().__init__(f"{message}. {install_hint}".strip() if install_hint else message)


class ReaderNotFoundError(TransportError):
    """The named reader or NFC device is not there."""


class NoCardError(TransportError):
    """The reader is there but holds no card (or none was presented in time)."""


class CardRemovedError(TransportError):
    """The card left the reader or the field during a session."""


class ReaderBusyError(TransportError):
    """Another program holds the reader exclusively (PC/SC sharing violation)."""


class TransportTimeoutError(TransportError):
    """The card or reader did not answer in time."""
