"""Error hierarchy of the protocol core.

One root, :class:`ProtocolError`, split by *who is at fault*:

* :class:`UsageError` — our own code called a function wrongly (wrong key length,
  unknown CVN, impossible argument). A bug or a bad command-line argument.
* :class:`MalformedDataError` — bytes from outside (a card, a reader, a peer, a
  file) do not parse. Carries the offset and the reason.
* :class:`CardError` — the card answered, but not as EMV says it should
  (error status word, missing mandatory data object, inconsistent state).
* :class:`VerificationError` — a cryptographic or policy check failed. Carries the
  name of the check, so that a person can read *which* check failed and why.
* :class:`PeerError` — something a peer (phone or verifier) sent is unacceptable.

Every verification in this package *raises*; none returns a bool that a caller
could forget to check.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Root of every error raised by :mod:`protocol`."""


class UsageError(ProtocolError, ValueError):
    """The caller passed arguments that cannot be right (our misuse, not the card's)."""


class MalformedDataError(ProtocolError, ValueError):
    """Untrusted bytes do not parse.

    ``offset`` is the byte offset in the input where the problem was found
    (``None`` when not meaningful); ``reason`` says what is wrong in plain words.
    """

    def __init__(self, reason: str, offset: int | None = None, *, what: str = "data") -> None:
        self.reason = reason
        self.offset = offset
        self.what = what
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"malformed {what}{where}: {reason}")


class CardError(ProtocolError):
    """The card misbehaved: an unexpected status word or missing/inconsistent data."""


class StatusWordError(CardError):
    """The card answered a command with a status word other than the expected one.

    ``sw`` is the two-byte status word as an int (e.g. ``0x6985``), ``command`` the
    name of the command, ``retries_left`` the PIN tries left when the card said so
    (SW ``63Cx``), else ``None``.
    """

    def __init__(self, sw: int, command: str = "", meaning: str = "") -> None:
        self.sw = sw
        self.command = command
        self.meaning = meaning
        self.retries_left: int | None = (sw & 0x0F) if (sw & 0xFFF0) == 0x63C0 else None
        text = f"{command + ': ' if command else ''}card answered {sw:04X}"
        if meaning:
            text += f" ({meaning})"
        super().__init__(text)


class VerificationError(ProtocolError):
    """A named check failed.

    ``check`` names the check ("issuer certificate hash", "ARQC", "ATC increasing",
    ...); ``detail`` says why it failed in words a security engineer can act on.
    """

    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.detail = detail
        super().__init__(f"{check}: {detail}")


class PeerError(ProtocolError):
    """A peer (phone, verifier, relying party) sent something unacceptable."""
