"""Field parsers of the card profile format (``docs/card-profiles.md``).

Each takes a raw TOML/JSON value and the dotted name of the field (for the error
message) and returns a checked Python value or raises
:class:`~card_emulation.errors.ProfileError`.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from card_emulation.errors import ProfileError
from protocol.crypto.cvn import TERMINAL_DATA_TAGS
from protocol.dol import DolError, parse_dol


def hex_field(value: Any, what: str, *, allow_empty: bool = True) -> bytes:
    if not isinstance(value, str):
        raise ProfileError(f"{what} must be a hex string, got {type(value).__name__}")
    text = re.sub(r"[\s:]", "", value)
    try:
        out = bytes.fromhex(text)
    except ValueError:
        raise ProfileError(f"{what} is not hex: {value!r}") from None
    if not out and not allow_empty:
        raise ProfileError(f"{what} must not be empty")
    return out


def tag_field(value: Any, what: str) -> int:
    raw = hex_field(value, what, allow_empty=False)
    if len(raw) > 3:
        raise ProfileError(f"{what}: {value!r} is not an EMV tag")
    return int.from_bytes(raw, "big")


def luhn_valid(pan: str) -> bool:
    """ISO/IEC 7812-1 Annex B check digit (the "Luhn formula")."""
    total = 0
    for i, ch in enumerate(reversed(pan)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def month_field(value: Any, what: str, *, last_day: bool) -> datetime.date:
    text = str(value)
    m = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text)
    if not m:
        raise ProfileError(f"{what} must be YYYY-MM or YYYY-MM-DD, got {text!r}")
    year, month = int(m.group(1)), int(m.group(2))
    try:
        if m.group(3):
            return datetime.date(year, month, int(m.group(3)))
        if last_day:
            nxt = datetime.date(year + month // 12, month % 12 + 1, 1)
            return nxt - datetime.timedelta(days=1)
        return datetime.date(year, month, 1)
    except ValueError as exc:
        raise ProfileError(f"{what}: {exc}") from None


def text_field(value: Any, what: str, *, max_len: int | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise ProfileError(f"{what} must be a non-empty string")
    if not value.isascii() or not value.isprintable():
        raise ProfileError(f"{what} must be printable ASCII")
    if max_len is not None and len(value) > max_len:
        raise ProfileError(f"{what} is longer than {max_len} characters")
    return value


def int_field(value: Any, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ProfileError(f"{what} must be an integer {low}..{high}, got {value!r}")
    return value


def dol_field(value: Any, what: str, *, allow_empty: bool = True) -> bytes:
    raw = hex_field(value, what, allow_empty=allow_empty)
    try:
        parse_dol(raw)
    except DolError as exc:
        raise ProfileError(f"{what}: {exc}") from None
    return raw


def check_cdol1(cdol1: bytes, what: str) -> None:
    """The cryptogram covers 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 (Book 2 Annex A1.2): CDOL1
    must ask for each of them at its full length, so a verifier can rebuild them."""
    asked = {e.tag: e.length for e in parse_dol(cdol1)}
    for tag, length in TERMINAL_DATA_TAGS:
        if asked.get(tag) != length:
            raise ProfileError(f"{what}.cdol1 must ask for tag {tag:X} with length {length}")
