"""Track 2 Equivalent Data (57, 9F6B) and Track 1 Data (56).

Track 2 Equivalent Data, EMV 4.4 Book 3 Annex A: the magnetic stripe track 2 image
in BCD (format b, up to 19 bytes) — PAN (up to 19 digits), field separator ``D``,
expiration date ``YYMM``, service code (3 digits), discretionary data, and an ``F``
nibble to pad to whole bytes. Track 1 Data (Book C-2 Annex A): ASCII, format code
``B``, PAN, ``^``, name, ``^``, ``YYMM``, service code, discretionary data (ISO/IEC 7813).

These values carry the PAN: display them only through :mod:`protocol.masking`.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.decoders.base import DecodeError

MAX_PAN_DIGITS = 19


@dataclass(frozen=True)
class Track2:
    """Decoded track 2 equivalent data; every field is a string of digits."""

    pan: str
    expiry: str
    service_code: str
    discretionary: str

    @property
    def expiry_year_month(self) -> tuple[int, int]:
        year = int(self.expiry[:2])
        return (2000 if year < 50 else 1900) + year, int(self.expiry[2:])


def parse_track2(value: bytes) -> Track2:
    """Decode track 2 equivalent data; raises :class:`DecodeError` when malformed."""
    text = value.hex().upper()
    if text.endswith("F"):
        text = text[:-1]
    what = "track 2 equivalent data"
    if "D" not in text:
        raise DecodeError("no field separator D", what=what)
    pan, rest = text.split("D", 1)
    if not pan or len(pan) > MAX_PAN_DIGITS or not pan.isdigit():
        raise DecodeError(f"PAN must be 1-{MAX_PAN_DIGITS} digits, got {len(pan)} characters", 0, what=what)
    if len(rest) < 7:
        raise DecodeError("expiry date and service code missing after the separator", len(pan) // 2, what=what)
    if not rest.isdigit():
        raise DecodeError("non-digit nibble after the separator", len(pan) // 2, what=what)
    if not 1 <= int(rest[2:4]) <= 12:
        raise DecodeError(f"expiry month {rest[2:4]} is not 01-12", len(pan) // 2, what=what)
    return Track2(pan, rest[:4], rest[4:7], rest[7:])


@dataclass(frozen=True)
class Track1:
    """Decoded track 1 data (ISO/IEC 7813 format B)."""

    format_code: str
    pan: str
    name: str
    expiry: str
    service_code: str
    discretionary: str


def parse_track1(value: bytes) -> Track1:
    """Decode ASCII track 1 data; raises :class:`DecodeError` when malformed."""
    what = "track 1 data"
    if any(not 0x20 <= byte < 0x7F for byte in value):
        raise DecodeError("track 1 data must be printable ASCII", what=what)
    text = value.decode("ascii")
    if not text.startswith("B"):
        raise DecodeError("format code must be B", 0, what=what)
    fields = text[1:].split("^", 2)
    if len(fields) != 3:
        raise DecodeError("expected two ^ field separators", what=what)
    pan, name, rest = fields
    if not pan.isdigit() or not 1 <= len(pan) <= MAX_PAN_DIGITS:
        raise DecodeError(f"PAN must be 1-{MAX_PAN_DIGITS} digits", 1, what=what)
    if len(rest) < 7 or not rest[:7].isdigit():
        raise DecodeError("expiry date and service code must be 7 digits", what=what)
    return Track1("B", pan, name, rest[:4], rest[4:7], rest[7:])
