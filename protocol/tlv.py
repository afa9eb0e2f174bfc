"""BER-TLV as used by EMV (EMV 4.4 Book 3, Annex B; ISO/IEC 8825-1 subset).

Written here rather than taken from a library because the EMV rules differ from
generic ASN.1 BER in ways that matter for a hostile-input parser: definite lengths
only (no indefinite form), at most four length bytes, tags of up to four bytes,
``00`` padding bytes allowed between data objects (Book 3 Annex B), and every error
must say *where* the input went wrong. Generic ASN.1 libraries either accept more
than EMV allows or fail without an offset.

Tags are plain ``int`` values of their encoded bytes (``0x9F02``), which reads like
the EMV books. Values are ``bytes``. Constructed data objects keep their raw value
and also their parsed children.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from protocol.errors import MalformedDataError

#: Deepest nesting of constructed data objects accepted before the input is
#: rejected as hostile. Real EMV responses nest at most 3-4 levels (77 > 70 > ...).
MAX_DEPTH = 16
#: Longest tag accepted, in bytes. EMV tags are 1-3 bytes; ISO allows more.
MAX_TAG_BYTES = 4
#: Largest number of length bytes after 0x8n accepted (EMV: up to 3, ISO: 4).
MAX_LENGTH_BYTES = 4


class TlvError(MalformedDataError):
    """A BER-TLV encoding is malformed; ``offset`` says where."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason, offset, what="BER-TLV")


def tag_bytes(tag: int) -> bytes:
    """Encoded bytes of ``tag`` (``0x9F02`` -> ``b'\\x9f\\x02'``)."""
    if tag <= 0:
        raise ValueError(f"tag must be positive, got {tag}")
    return tag.to_bytes((tag.bit_length() + 7) // 8, "big")


def tag_hex(tag: int) -> str:
    """Tag as upper-case hex as the EMV books write it (``'9F02'``)."""
    return tag_bytes(tag).hex().upper()


def is_constructed(tag: int) -> bool:
    """Bit 6 of the first tag byte says whether the data object is constructed."""
    return bool(tag_bytes(tag)[0] & 0x20)


def read_tag(data: bytes, offset: int, end: int | None = None) -> tuple[int, int]:
    """Read one tag at ``offset``; return ``(tag, offset after the tag)``.

    Book 3 Annex B1: if the low five bits of the first byte are all set, further
    tag bytes follow while their bit 8 is set. ``end`` bounds the read (default:
    the end of ``data``).
    """
    limit = len(data) if end is None else end
    if offset >= limit:
        raise TlvError("expected a tag, found end of data", offset)
    first = data[offset]
    after = offset + 1
    if first & 0x1F == 0x1F:
        while True:
            if after >= limit:
                raise TlvError("tag continues past end of data", offset)
            byte = data[after]
            after += 1
            if after - offset > MAX_TAG_BYTES:
                raise TlvError(f"tag longer than {MAX_TAG_BYTES} bytes", offset)
            if not byte & 0x80:
                break
    return int.from_bytes(data[offset:after], "big"), after


def read_length(data: bytes, offset: int, end: int | None = None) -> tuple[int, int]:
    """Read one definite length at ``offset``; return ``(length, offset after it)``.

    Short form ``00``-``7F``; long form ``81``-``84`` followed by that many bytes.
    ``80`` (indefinite form) is not allowed in EMV.
    """
    limit = len(data) if end is None else end
    if offset >= limit:
        raise TlvError("expected a length, found end of data", offset)
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0:
        raise TlvError("indefinite length (0x80) is not allowed in EMV", offset)
    if count > MAX_LENGTH_BYTES:
        raise TlvError(f"length uses {count} bytes, at most {MAX_LENGTH_BYTES} allowed", offset)
    if offset + 1 + count > limit:
        raise TlvError("length bytes run past end of data", offset)
    return int.from_bytes(data[offset + 1 : offset + 1 + count], "big"), offset + 1 + count


def encode_length(length: int) -> bytes:
    """Minimal definite-length encoding of ``length``."""
    if length < 0:
        raise ValueError("length must not be negative")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_BYTES:
        raise ValueError(f"length {length} needs more than {MAX_LENGTH_BYTES} length bytes")
    return bytes([0x80 | len(body)]) + body


@dataclass(frozen=True)
class Tlv:
    """One decoded data object.

    ``offset`` is where its tag starts in the outermost input, ``header_length``
    the number of tag and length bytes, so ``offset + header_length`` is where the
    value starts. ``children`` holds the parsed content of a constructed object
    and is empty for a primitive one.
    """

    tag: int
    value: bytes
    children: tuple[Tlv, ...] = field(default=())
    offset: int = 0
    header_length: int = 0

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    @property
    def tag_hex(self) -> str:
        return tag_hex(self.tag)

    def encode(self) -> bytes:
        """Re-encode with minimal lengths (children re-encoded when constructed)."""
        if self.children:
            return encode(self.tag, b"".join(child.encode() for child in self.children))
        return encode(self.tag, self.value)

    def find(self, tag: int) -> Tlv | None:
        """First data object with ``tag`` in this object's subtree (not itself)."""
        return find(self.children, tag)

    def walk(self) -> Iterator[tuple[int, Tlv]]:
        """Depth-first ``(depth, object)`` pairs over this object and its subtree."""
        yield 0, self
        for child in self.children:
            for depth, node in child.walk():
                yield depth + 1, node


def decode(
    data: bytes,
    *,
    max_depth: int = MAX_DEPTH,
    skip_padding: bool = True,
) -> tuple[Tlv, ...]:
    """Decode a sequence of BER-TLV data objects, recursing into constructed ones.

    ``00`` bytes before, between or after data objects are skipped when
    ``skip_padding`` is set (Book 3 Annex B). Raises :class:`TlvError` with the
    offset of the fault for truncated, over-long or too deeply nested input; never
    silently truncates.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    return _decode(bytes(data), 0, len(data), max_depth, skip_padding)


def _decode(data: bytes, start: int, end: int, depth_left: int, skip_padding: bool) -> tuple[Tlv, ...]:
    # The hot path of every card answer: one- and two-byte tags and short-form lengths are
    # read inline, exactly as read_tag/read_length would; anything else goes
    # through them (and their errors).
    objects: list[Tlv] = []
    offset = start
    while offset < end:
        first = data[offset]
        if skip_padding and first == 0x00:
            offset += 1
            continue
        if first & 0x1F != 0x1F:
            tag, after_tag = first, offset + 1
        elif offset + 1 < end and not data[offset + 1] & 0x80:  # a two-byte tag (9F02, 5F2A …)
            tag, after_tag = (first << 8) | data[offset + 1], offset + 2
        else:
            tag, after_tag = read_tag(data, offset, end)
        if tag == 0:
            raise TlvError("00 is padding, not a tag", offset)
        if after_tag < end and data[after_tag] < 0x80:
            length, value_start = data[after_tag], after_tag + 1
        else:
            length, value_start = read_length(data, after_tag, end)
        value_end = value_start + length
        if value_end > end:
            raise TlvError(
                f"tag {tag_hex(tag)} declares {length} value bytes but only {end - value_start} remain",
                offset,
            )
        value = data[value_start:value_end]
        children: tuple[Tlv, ...] = ()
        if first & 0x20:  # is_constructed(tag): bit 6 of the tag's first byte, which is ``first``
            if depth_left <= 0:
                raise TlvError("constructed data objects nested too deeply", offset)
            children = _decode(data, value_start, value_end, depth_left - 1, skip_padding)
        objects.append(Tlv(tag, value, children, offset, value_start - offset))
        offset = value_end
    return tuple(objects)


def decode_one(data: bytes, *, max_depth: int = MAX_DEPTH) -> Tlv:
    """Decode exactly one data object; anything but padding after it is an error."""
    objects = decode(data, max_depth=max_depth)
    if len(objects) != 1:
        raise TlvError(f"expected exactly one data object, found {len(objects)}", 0)
    return objects[0]


def check_tag(tag: int) -> None:
    """Raise ``ValueError`` unless ``tag`` is one well-formed BER tag (Book 3 Annex B1).

    ``0x9F`` alone, ``0x9F81`` (continuation bit set on the last byte) or
    ``0x0102`` (a one-byte tag followed by junk) would otherwise be encoded
    silently into bytes that no decoder reads back as the same tag.
    """
    raw = tag_bytes(tag)
    try:
        _tag, after = read_tag(raw, 0)
    except TlvError as exc:
        raise ValueError(f"{raw.hex().upper()} is not a valid BER-TLV tag: {exc.reason}") from None
    if after != len(raw):
        raise ValueError(f"{raw.hex().upper()} is not a valid BER-TLV tag: extra bytes after the tag")


def encode(tag: int, value: bytes) -> bytes:
    """Encode one data object from its tag and raw value (``ValueError`` for a malformed tag)."""
    check_tag(tag)
    return tag_bytes(tag) + encode_length(len(value)) + bytes(value)


def constructed(tag: int, *children: bytes) -> bytes:
    """Encode a constructed data object around already-encoded children."""
    if not is_constructed(tag):
        raise ValueError(f"tag {tag_hex(tag)} is primitive, not constructed")
    return encode(tag, b"".join(children))


def iter_all(objects: Iterable[Tlv]) -> Iterator[Tlv]:
    """Every data object in ``objects`` and their subtrees, depth first."""
    for obj in objects:
        for _depth, node in obj.walk():
            yield node


def find(objects: Iterable[Tlv], tag: int) -> Tlv | None:
    """First data object with ``tag`` anywhere in ``objects`` (depth first)."""
    for node in iter_all(objects):
        if node.tag == tag:
            return node
    return None


def find_all(objects: Iterable[Tlv], tag: int) -> list[Tlv]:
    """All data objects with ``tag`` anywhere in ``objects`` (depth first)."""
    return [node for node in iter_all(objects) if node.tag == tag]


def flatten(objects: Iterable[Tlv]) -> dict[int, bytes]:
    """Primitive data objects by tag (first occurrence wins), for DOL data sources."""
    result: dict[int, bytes] = {}
    for node in iter_all(objects):
        if not node.children and not node.constructed and node.tag not in result:
            result[node.tag] = node.value
    return result
