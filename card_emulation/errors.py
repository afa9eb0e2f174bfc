"""Errors of the emulated card package.

One root, :class:`CardEmulationError`, split by what went wrong. The card itself
never raises to a reader (it answers a status word, see
:meth:`card_emulation.applet.card.EmvCard.process`); these errors are for the
code that *builds* cards: bad profile files, unreadable card images, bad fault
specifications and failed personalisation.
"""

from __future__ import annotations


class CardEmulationError(Exception):
    """Root of the errors raised by :mod:`card_emulation`."""


class ProfileError(CardEmulationError, ValueError):
    """A card profile (``resources/cards/*.toml``) is missing, malformed or inconsistent."""


class ImageError(CardEmulationError, ValueError):
    """A card image (JSON) cannot be read, parsed or written."""


class FaultSpecError(CardEmulationError, ValueError):
    """A fault specification (text such as ``genac:corrupt-ac``) does not parse."""


class PersonalisationError(CardEmulationError):
    """Personalisation could not produce a consistent card (e.g. a record too long)."""


class KeyStoreFileError(CardEmulationError):
    """The key store file cannot be read or written."""
