"""Data Object Lists: PDOL, CDOL1/2, DDOL, TDOL, UDOL (EMV 4.4 Book 3 §5.4).

A DOL is what a card asks for: a list of (tag, length) entries without values. The
terminal answers with the concatenated values, each fitted to the length the card
asked for, in the order of the list, with no tags or lengths:

* value longer than asked: numeric (``n``) data loses its *leftmost* bytes, any
  other format its *rightmost* bytes;
* value shorter than asked: ``n`` is padded with leading ``00``, ``cn`` with
  trailing ``FF``, every other format with trailing ``00``;
* a tag the terminal does not know, a constructed tag, or a value the terminal
  does not have: as many ``00`` bytes as asked.

The verifier rebuilds CDOL1 data from its own transaction with the same function
the phone uses, so both sides apply exactly these rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from protocol import tlv
from protocol.decoders.base import Format
from protocol.errors import MalformedDataError, UsageError

#: Largest length one DOL entry may ask for: DOL related data travels in a short
#: command APDU (at most 255 data bytes), so a bigger request is hostile input.
MAX_ENTRY_LENGTH = 255


class DolError(MalformedDataError):
    """A DOL, or data said to follow one, is malformed; ``offset`` says where."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason, offset, what="DOL")


@dataclass(frozen=True)
class DolEntry:
    """One DOL entry: the card asks for ``length`` bytes of data element ``tag``."""

    tag: int
    length: int

    def __post_init__(self) -> None:
        if self.tag <= 0:
            raise UsageError(f"DOL tag must be positive, got {self.tag}")
        if not 0 <= self.length <= MAX_ENTRY_LENGTH:
            raise UsageError(f"DOL length must be 0-{MAX_ENTRY_LENGTH}, got {self.length}")

    def encode(self) -> bytes:
        return tlv.tag_bytes(self.tag) + tlv.encode_length(self.length)


def parse_dol(data: bytes) -> tuple[DolEntry, ...]:
    """Parse a DOL into its entries; raises :class:`DolError` with the offset of the fault."""
    data = bytes(data)
    entries = []
    offset = 0
    while offset < len(data):
        start = offset
        try:
            tag, offset = tlv.read_tag(data, offset)
            length, offset = tlv.read_length(data, offset)
        except tlv.TlvError as exc:
            raise DolError(exc.reason, exc.offset) from None
        if tag == 0:
            raise DolError("00 is not a tag", start)
        if length > MAX_ENTRY_LENGTH:
            raise DolError(f"entry for {tlv.tag_hex(tag)} asks for {length} bytes, more than {MAX_ENTRY_LENGTH}", start)
        entries.append(DolEntry(tag, length))
    return tuple(entries)


def encode_dol(entries: Iterable[DolEntry]) -> bytes:
    """The DOL bytes of ``entries`` (inverse of :func:`parse_dol`)."""
    return b"".join(entry.encode() for entry in entries)


def data_length(entries: Iterable[DolEntry]) -> int:
    """Number of bytes of DOL related data that ``entries`` ask for."""
    return sum(entry.length for entry in entries)


def fit_value(value: bytes, length: int, fmt: Format | None) -> bytes:
    """Truncate or pad ``value`` to ``length`` bytes by the Book 3 §5.4 rules for ``fmt``."""
    value = bytes(value)
    if len(value) > length:
        return value[len(value) - length :] if fmt is Format.N else value[:length]
    missing = length - len(value)
    if fmt is Format.N:
        return b"\x00" * missing + value
    if fmt is Format.CN:
        return value + b"\xff" * missing
    return value + b"\x00" * missing


FormatSource = Mapping[int, Format] | Callable[[int], Format | None]


def build_dol_data(
    entries: Iterable[DolEntry],
    source: Mapping[int, bytes],
    formats: FormatSource | None = None,
) -> bytes:
    """Concatenate the values ``source`` holds for ``entries``, each fitted to its length.

    ``formats`` gives each tag's format, as a mapping or a function; by default the
    formats of :mod:`protocol.dictionary`. A tag present in ``source`` but of
    unknown format is treated as binary. Absent tags and constructed tags give zeros.
    """
    format_of = _format_lookup(formats)
    out = bytearray()
    for entry in entries:
        value = source.get(entry.tag)
        if value is None or tlv.is_constructed(entry.tag):
            out += b"\x00" * entry.length
        else:
            out += fit_value(value, entry.length, format_of(entry.tag))
    return bytes(out)


def split_dol_data(entries: Iterable[DolEntry], data: bytes) -> dict[int, bytes]:
    """Cut DOL related data back into values by tag (the card's side of §5.4).

    Raises :class:`DolError` unless ``data`` has exactly the length the entries ask
    for. When a tag appears twice in the DOL, the first value is kept.
    """
    entries = tuple(entries)
    data = bytes(data)
    expected = data_length(entries)
    if len(data) != expected:
        raise DolError(f"the DOL asks for {expected} bytes but {len(data)} were given", min(len(data), expected))
    values: dict[int, bytes] = {}
    offset = 0
    for entry in entries:
        values.setdefault(entry.tag, data[offset : offset + entry.length])
        offset += entry.length
    return values


def _format_lookup(formats: FormatSource | None) -> Callable[[int], Format | None]:
    if formats is None:
        from protocol import dictionary  # deferred: the dictionary describes DOLs with this module

        return dictionary.format_of
    if callable(formats):
        return formats
    return formats.get
