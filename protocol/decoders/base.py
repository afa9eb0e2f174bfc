"""Shared pieces of the value decoders: the typed error, bitmaps, BCD digits.

EMV 4.4 Book 3 §4.3 defines the data formats used here: ``n`` (BCD, right
justified, padded with leading zeros), ``cn`` (BCD, left justified, padded with
trailing ``F``) and ``b`` (binary, often a bitmap of flags).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from protocol.errors import MalformedDataError


class DecodeError(MalformedDataError):
    """A data element's value does not match its EMV definition."""

    def __init__(self, reason: str, offset: int | None = None, *, what: str = "value") -> None:
        super().__init__(reason, offset, what=what)


@dataclass(frozen=True)
class Flag:
    """One bit (or bit group, when ``mask`` has several bits) of a bitmap.

    ``byte`` is 1-based as in the EMV tables ("byte 1, bit 8" is ``Flag(1, 0x80, ...)``).
    The flag is set when all bits of ``mask`` are set in that byte.
    """

    byte: int
    mask: int
    text: str

    def is_set(self, value: bytes) -> bool:
        return len(value) >= self.byte and value[self.byte - 1] & self.mask == self.mask


def set_flags(value: bytes, flags: Iterable[Flag]) -> tuple[str, ...]:
    """Texts of the ``flags`` that are set in ``value``, in table order."""
    return tuple(flag.text for flag in flags if flag.is_set(value))


def unknown_bits(value: bytes, flags: Iterable[Flag]) -> tuple[str, ...]:
    """Set bits that no flag describes (shown as "byte 2 bit 5 (RFU)")."""
    known = [0] * len(value)
    for flag in flags:
        if flag.byte <= len(value):
            known[flag.byte - 1] |= flag.mask
    found = []
    for index, byte in enumerate(value):
        extra = byte & ~known[index]
        found.extend(f"byte {index + 1} bit {bit + 1} set (RFU)" for bit in range(7, -1, -1) if extra >> bit & 1)
    return tuple(found)


def require_length(value: bytes, expected: int | tuple[int, int], what: str) -> None:
    """Raise :class:`DecodeError` unless ``len(value)`` is ``expected`` (or within the range)."""
    low, high = (expected, expected) if isinstance(expected, int) else expected
    if not low <= len(value) <= high:
        want = str(low) if low == high else f"{low}-{high}"
        raise DecodeError(f"expected {want} bytes, got {len(value)}", what=what)


def bcd_digits(value: bytes, what: str = "numeric value") -> str:
    """Digits of an ``n`` (BCD) value; any nibble above 9 is an error."""
    text = value.hex().upper()
    for index, char in enumerate(text):
        if not char.isdigit():
            raise DecodeError(f"nibble {char} is not a BCD digit", index // 2, what=what)
    return text


def cn_digits(value: bytes, what: str = "compressed numeric value") -> str:
    """Digits of a ``cn`` value: BCD digits, then only ``F`` padding nibbles."""
    text = value.hex().upper()
    digits = text.rstrip("F")
    for index, char in enumerate(digits):
        if not char.isdigit():
            raise DecodeError(f"nibble {char} is not a BCD digit", index // 2, what=what)
    return digits


def printable(value: bytes) -> str:
    """Text of an ``a``/``an``/``ans`` value; bytes outside printable ASCII as ``\\xNN``."""
    return "".join(chr(byte) if 0x20 <= byte < 0x7F else f"\\x{byte:02X}" for byte in value)


def hex_upper(value: bytes) -> str:
    return value.hex().upper()


class Format(enum.Enum):
    """Data element formats of EMV 4.4 Book 3 §4.3."""

    A = "a"
    AN = "an"
    ANS = "ans"
    B = "b"
    CN = "cn"
    N = "n"
    VAR = "var"
