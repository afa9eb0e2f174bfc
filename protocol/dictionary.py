"""The EMV data dictionary, loaded from ``resources/emv/tags.toml``.

Facts per tag (name, source, format, length, templates, decoder) come from EMV 4.4
Book 3 Annex A, Book 1 Annex B, Book 4 Annex A and the Annex A of the contactless
Books A, B, C-2, C-3 and C-4. :func:`describe_value` turns a value into text for a
display: it masks PAN-bearing data unless asked not to (DESIGN.md §7), runs the
tag's decoder, and never raises — a value that does not decode is shown as hex
with the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from protocol import masking, tlv
from protocol.decoders import DECODERS, Context
from protocol.decoders.base import Format, cn_digits, bcd_digits, hex_upper, printable
from protocol.errors import MalformedDataError
from protocol.resources import load_toml

__all__ = ["Format", "Source", "TagInfo", "all_tags", "describe_value", "format_of", "lookup", "name"]


class Source(enum.Enum):
    """Who provides a data element's value."""

    CARD = "card"
    TERMINAL = "terminal"
    ISSUER = "issuer"


@dataclass(frozen=True)
class TagInfo:
    """Dictionary entry of one data element."""

    tag: int
    name: str
    source: Source
    format: Format
    min_length: int
    max_length: int
    templates: tuple[int, ...] = ()
    decoder: str | None = None
    spec: str = ""
    also: str = ""

    @property
    def tag_hex(self) -> str:
        return tlv.tag_hex(self.tag)

    @property
    def constructed(self) -> bool:
        return tlv.is_constructed(self.tag)

    @property
    def fixed_length(self) -> bool:
        return self.min_length == self.max_length

    @property
    def length_text(self) -> str:
        return str(self.min_length) if self.fixed_length else f"{self.min_length}-{self.max_length}"

    def length_ok(self, length: int) -> bool:
        return self.min_length <= length <= self.max_length


def _entry(key: str, raw: Mapping[str, Any]) -> TagInfo:
    length = raw["length"]
    low, high = (length, length) if isinstance(length, int) else (int(length[0]), int(length[1]))
    return TagInfo(
        tag=int(key, 16),
        name=str(raw["name"]),
        source=Source(raw["source"]),
        format=Format(raw["format"]),
        min_length=low,
        max_length=high,
        templates=tuple(int(t, 16) for t in raw.get("template", ())),
        decoder=raw.get("decoder"),
        spec=str(raw.get("spec", "")),
        also=str(raw.get("also", "")),
    )


@cache
def _tags() -> dict[int, TagInfo]:
    return {info.tag: info for info in (_entry(k, v) for k, v in load_toml("emv", "tags.toml").items())}


def all_tags() -> Mapping[int, TagInfo]:
    """Every dictionary entry by tag."""
    return dict(_tags())


def lookup(tag: int) -> TagInfo | None:
    """Dictionary entry of ``tag``, or ``None`` when the tag is not known."""
    return _tags().get(tag)


def name(tag: int) -> str:
    """Name of ``tag``; ``"Unknown tag 9FXX"`` when it is not in the dictionary."""
    info = lookup(tag)
    if info is not None:
        return info.name
    return f"Unknown tag {_safe_hex(tag)}"


def format_of(tag: int) -> Format | None:
    """Format of ``tag`` (``None`` when unknown), as used for DOL padding rules."""
    info = lookup(tag)
    return info.format if info is not None else None


def describe_value(
    tag: int,
    value: bytes,
    *,
    context: Context | None = None,
    reveal: bool = False,
) -> str:
    """Human-readable text of ``value`` as the data element ``tag``; never raises.

    ``context`` gives other data elements of the same exchange by tag (e.g. 5F2A
    for an amount's decimals). PAN-bearing and other sensitive values are masked
    unless ``reveal`` is true. A value that does not decode comes back as hex with
    the reason in brackets.
    """
    value = bytes(value)
    info = lookup(tag)
    if not value:
        text = "(empty)"
    elif not reveal and masking.is_sensitive(tag):
        text = masking.mask_value(tag, value)
    else:
        try:
            text = _decode(tag, info, value, context or {})
        except MalformedDataError as exc:
            return f"{_hex(value)} [{exc.reason}]"
    if info is not None and not info.length_ok(len(value)):
        text += f" [length {len(value)}, expected {info.length_text}]"
    return text or "(blank)"


def _decode(tag: int, info: TagInfo | None, value: bytes, context: Context) -> str:
    if _is_constructed(tag):
        children = tlv.decode(value)
        inner = ", ".join(f"{child.tag_hex} {name(child.tag)}" for child in children)
        return f"template with {len(children)} data object(s){': ' + inner if inner else ''}"
    if info is None:
        return _hex(value)
    if info.decoder in ("dol", "tag_list"):
        return _describe_dol(value) if info.decoder == "dol" else _describe_tag_list(value)
    if info.decoder is not None:
        return DECODERS[info.decoder](value, context)
    if info.format is Format.N:
        return bcd_digits(value)
    if info.format is Format.CN:
        return cn_digits(value)
    if info.format in (Format.A, Format.AN, Format.ANS):
        return printable(value)
    return _hex(value)


def _describe_dol(value: bytes) -> str:
    from protocol.dol import parse_dol  # deferred: protocol.dol imports this module

    entries = parse_dol(value)
    return "; ".join(f"{tlv.tag_hex(e.tag)} ({name(e.tag)}): {e.length}" for e in entries) or "empty DOL"


def _describe_tag_list(value: bytes) -> str:
    tags = []
    offset = 0
    while offset < len(value):
        tag, offset = tlv.read_tag(value, offset)
        tags.append(f"{_safe_hex(tag)} ({name(tag)})")
    return "; ".join(tags) or "empty tag list"


def _is_constructed(tag: int) -> bool:
    return tag > 0 and tlv.is_constructed(tag)


def _safe_hex(tag: int) -> str:
    return tlv.tag_hex(tag) if tag > 0 else f"{tag:02X}"


def _hex(value: bytes) -> str:
    return hex_upper(value) if value else "(empty)"
