"""Masking of card data for every display, log and export (DESIGN.md §7).

The PAN is shown as its first 6 and last 4 digits (the PCI DSS display rule), track
data keeps the masked PAN, expiry date and service code and hides the discretionary
data, cardholder names keep the first letter of each part, and PIN data is never
shown. :func:`mask_value` applies the right rule to a data element by tag and never
raises, whatever the bytes; :func:`redact_pan` scrubs a known PAN out of free text
(APDU hex dumps carry the PAN's BCD digits literally).
"""

from __future__ import annotations

import re

from protocol.decoders.base import DecodeError
from protocol.decoders.track import Track2, parse_track1, parse_track2

MASK = "*"

#: Data elements that carry the PAN or other cardholder secrets (EMV 4.4 Book 3 Annex A;
#: Book C-2 for 56, 9F6B, DF812A, DF812B).
PAN_TAGS = frozenset({0x5A})
TRACK2_TAGS = frozenset({0x57, 0x9F6B})
TRACK1_TAGS = frozenset({0x56})
NAME_TAGS = frozenset({0x5F20, 0x9F0B})
DISCRETIONARY_TAGS = frozenset({0x9F1F, 0x9F20, 0xDF812A, 0xDF812B})
SECRET_TAGS = frozenset({0x99})  # Transaction PIN Data
SENSITIVE_TAGS = PAN_TAGS | TRACK2_TAGS | TRACK1_TAGS | NAME_TAGS | DISCRETIONARY_TAGS | SECRET_TAGS


def is_sensitive(tag: int) -> bool:
    """True for tags whose value must be masked before display."""
    return tag in SENSITIVE_TAGS


def mask_pan(pan: str) -> str:
    """Mask a PAN to first 6 / last 4 (``4761739001010010`` -> ``476173******0010``).

    Whitespace is removed and trailing ``F`` padding (cn format) dropped. PANs of 13
    digits or more keep 6 + 4 digits; shorter inputs, which are not real PANs, keep
    only the last quarter (at most 4), so that at least two thirds stay hidden.
    """
    digits = "".join(pan.split()).rstrip("Ff")
    n = len(digits)
    if n >= 13:
        first, last = 6, 4
    else:
        first, last = 0, min(4, n // 3)
    return digits[:first] + MASK * (n - first - last) + digits[n - last :]


def mask_track2(track2: bytes | str | Track2) -> str:
    """Masked track 2 equivalent data: ``PAN(masked) D YYMM service code ****``.

    Accepts the raw value of tag 57/9F6B, its hex text, or a parsed :class:`Track2`.
    Unparseable input is masked whole (only its length is shown).
    """
    if isinstance(track2, Track2):
        track = track2
    else:
        try:
            raw = bytes.fromhex("".join(track2.split())) if isinstance(track2, str) else bytes(track2)
            track = parse_track2(raw)
        except DecodeError as exc:
            return f"{_length(track2)} bytes, masked ({exc.reason})"
        except ValueError:
            return "masked (not hex)"
    return f"{mask_pan(track.pan)}D{track.expiry}{track.service_code}{MASK * len(track.discretionary)}"


def mask_track1(value: bytes) -> str:
    """Masked track 1 data: format code, masked PAN, masked name, expiry, service code."""
    try:
        track = parse_track1(value)
    except DecodeError as exc:
        return f"{len(value)} bytes, masked ({exc.reason})"
    return (
        f"{track.format_code}{mask_pan(track.pan)}^{mask_name(track.name)}^"
        f"{track.expiry}{track.service_code}{MASK * len(track.discretionary)}"
    )


def mask_name(name: str) -> str:
    """Keep the first letter of each part of a name: ``SMITH/JOHN`` -> ``S****/J***``."""
    return re.sub(r"[^\s/.\-]+", lambda m: m.group(0)[0] + MASK * (len(m.group(0)) - 1), name)


def mask_value(tag: int, value: bytes) -> str:
    """Display text of a sensitive data element, masked; never raises.

    For a tag that is not sensitive the value is returned as upper-case hex.
    """
    value = bytes(value)
    if tag in PAN_TAGS:
        digits = value.hex().upper().rstrip("F")
        if digits.isdigit() or not digits:
            return mask_pan(digits)
        return f"{len(value)} bytes, masked (not a valid PAN)"
    if tag in TRACK2_TAGS:
        return mask_track2(value)
    if tag in TRACK1_TAGS:
        return mask_track1(value)
    if tag in NAME_TAGS:
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "?" for b in value)
        return mask_name(text.strip())
    if tag in DISCRETIONARY_TAGS:
        return f"{len(value)} bytes of discretionary data, masked"
    if tag in SECRET_TAGS:
        return f"{len(value)} bytes of PIN data, never shown"
    return value.hex().upper()


def redact_pan(text: str, pan: str) -> str:
    """Replace every occurrence of ``pan`` in ``text`` by its masked form.

    Matches the digits as they are and as a spaced hex dump (``47 61 73 ...``), case
    insensitively, so APDU traces can be scrubbed once the PAN is known.
    """
    return PanRedactor(pan)(text)


class PanRedactor:
    """:func:`redact_pan` for one PAN, its patterns prepared once: ``PanRedactor(pan)(text)``.

    For a caller that scrubs many texts with the same PAN (the verifier's recorder).
    The result is exactly :func:`redact_pan`'s. ``repr`` never shows the PAN.
    """

    __slots__ = ("pan", "_digits", "_head", "_literal", "_spaced_re", "_digits_re", "_masked", "_masked_spaced")

    def __init__(self, pan: str) -> None:
        self.pan = pan
        digits = "".join(pan.split()).rstrip("Ff")
        self._digits = digits if len(digits) >= 6 else ""
        if not self._digits:
            return
        padded = digits + "F" if len(digits) % 2 else digits
        spaced = " ".join(padded[i : i + 2] for i in range(0, len(padded), 2))
        self._spaced_re = re.compile(re.escape(spaced), re.IGNORECASE)
        self._digits_re = re.compile(re.escape(digits), re.IGNORECASE)
        self._head = spaced.rstrip("F")
        # ASCII digits and spaces have no other case: for such a PAN neither pattern
        # can match unless the digits, or the spaced dump up to its padding F, occur
        # literally — a substring test rules most texts out before any regex runs.
        self._literal = digits.isascii() and digits.isdigit()
        self._masked = mask_pan(digits)
        masked_padded = self._masked + "F" if len(digits) % 2 else self._masked
        self._masked_spaced = " ".join(masked_padded[i : i + 2] for i in range(0, len(masked_padded), 2))

    def __call__(self, text: str) -> str:
        digits = self._digits
        if not digits:
            return text
        if self._literal and digits not in text and self._head not in text:
            return text
        text = self._spaced_re.sub(self._masked_spaced, text)
        return self._digits_re.sub(self._masked, text)

    def __repr__(self) -> str:
        return "PanRedactor(<PAN hidden>)"


def _length(value: bytes | str) -> int:
    return len("".join(value.split())) // 2 if isinstance(value, str) else len(value)
