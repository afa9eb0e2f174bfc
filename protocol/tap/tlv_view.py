"""Card answers as trees of named, explained, masked nodes for the displays.

Each node carries the tag, its name from the EMV dictionary (:mod:`protocol.dictionary`),
the value and its meaning (:func:`protocol.dictionary.describe_value`). PAN-bearing
data is masked (DESIGN.md §7): a sensitive primitive value is shown masked, and a
template that contains one shows no raw hex of its own (its children show the
masked values).

Format 1 answers (tag ``80``, EMV 4.4 Book 3 §6.5.5.4, §6.5.8.4, §6.5.9.4) are a
concatenation of values without tags; :data:`FORMAT1_LAYOUTS` splits them into
the data elements they stand for, shown as children of the ``80`` node.

A card gives the same answers on every tap (its PPSE, FCI, GPO answer and records),
so :func:`decoded_nodes` keeps the trees of the last :data:`TREE_CACHE_SIZE` answers
it built (least recently used first out; not those its callers know to be new on
every tap). A tree is a pure function of the bytes and
the layout, and its nodes are frozen, so a hit returns the very same value a fresh
build would. The cache is keyed by a keyed BLAKE2b digest of the answer, never by
the answer itself: it holds no raw card data (no PAN), only the masked trees.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence

from protocol import dictionary, masking, tlv
from protocol.errors import MalformedDataError
from protocol.crypto.primitives import RsaPublicKey
from protocol.tap.events import DecodedNode

#: (tag, length) parts of a format 1 answer; ``None`` = the rest.
Layout = Sequence[tuple[int, int | None]]

GPO_FORMAT1: Layout = ((0x82, 2), (0x94, None))  # Book 3 §6.5.8.4: AIP ‖ AFL
GENERATE_AC_FORMAT1: Layout = ((0x9F27, 1), (0x9F36, 2), (0x9F26, 8), (0x9F10, None))  # §6.5.5.4
INTERNAL_AUTHENTICATE_FORMAT1: Layout = ((0x9F4B, None),)  # §6.5.9.4
RELAY_RESISTANCE_FORMAT1: Layout = (  # Book C-2 §5.3 (EXCHANGE RELAY RESISTANCE DATA)
    (0xDF8302, 4), (0xDF8303, 2), (0xDF8304, 2), (0xDF8305, 2),
)  # fmt: skip


def short_hex(data: bytes, keep: int = 8) -> str:
    """``"6A02…BC (144 bytes)"``: a display string for long values (never key material)."""
    text = bytes(data).hex().upper()
    if len(data) <= keep:
        return text or "(empty)"
    return f"{text[: 2 * keep]}…{text[-4:]} ({len(data)} bytes)"


def key_text(key: RsaPublicKey) -> str:
    """A public key for display: size, exponent and the ends of the modulus."""
    return f"{key.modulus.bit_length()} bits, e={key.exponent}, modulus {short_hex(key.modulus_bytes)}"


def split_format1(value: bytes, layout: Layout) -> list[tuple[int, bytes]]:
    """Cut a format 1 value into ``(tag, value)`` parts; parts beyond the data are left out."""
    parts: list[tuple[int, bytes]] = []
    offset = 0
    for tag, length in layout:
        if offset >= len(value):
            break
        end = len(value) if length is None else offset + length
        parts.append((tag, value[offset:end]))
        offset = end
    return parts


def _contains_sensitive(node: tlv.Tlv) -> bool:
    return any(masking.is_sensitive(n.tag) for _depth, n in node.walk())


def _node(obj: tlv.Tlv, context: Mapping[int, bytes], layout: Layout | None) -> DecodedNode:
    if obj.children or obj.constructed:
        children = tuple(_node(child, context, None) for child in obj.children)
        value_hex = "" if _contains_sensitive(obj) else obj.value.hex().upper()
        meaning = f"{len(children)} data object(s)"
        return DecodedNode(obj.tag_hex, dictionary.name(obj.tag), value_hex, meaning, children)
    if layout is not None:
        parts = tuple(
            _primitive(tag, value, context) for tag, value in split_format1(obj.value, layout)
        )
        return DecodedNode(obj.tag_hex, dictionary.name(obj.tag), obj.value.hex().upper(),
                           "format 1: values without tags, in the order EMV fixes", parts)
    return _primitive(obj.tag, obj.value, context)


def _primitive(tag: int, value: bytes, context: Mapping[int, bytes]) -> DecodedNode:
    shown = masking.mask_value(tag, value) if masking.is_sensitive(tag) else value.hex().upper()
    meaning = dictionary.describe_value(tag, value, context=context)
    return DecodedNode(tlv.tag_hex(tag), dictionary.name(tag), shown, meaning)


#: How many decoded answers :func:`decoded_nodes` remembers (a card's constant
#: answers are about ten; every shipped profile's fit several times over).
TREE_CACHE_SIZE = 256

_tree_cache: OrderedDict[tuple[bytes, Hashable], tuple[DecodedNode, ...]] = OrderedDict()
_digest_key = os.urandom(32)  # per process: the cache key reveals nothing about the answer


def decoded_nodes(data: bytes, layout: Layout | None = None, *, remember: bool = True) -> tuple[DecodedNode, ...]:
    """The decoded tree of ``data`` (BER-TLV); never raises.

    ``layout`` splits a top-level ``80`` (format 1) answer. Bytes that do not
    decode give a single node explaining why. Trees of recent answers are
    remembered (see the module docstring); ``remember=False`` for an answer that
    is new on every tap (a cryptogram, signed dynamic data), which would only
    push the card's constant answers out.
    """
    data = bytes(data)
    if not remember:
        return _decoded_nodes(data, layout)
    try:
        key = (hashlib.blake2b(data, key=_digest_key).digest(), layout)
        hash(key)
    except TypeError:  # a layout given as a list: not cacheable, build it
        return _decoded_nodes(data, layout)
    # No lock (protocol is sans-I/O, no threads): each OrderedDict call is atomic
    # under the GIL for these keys (bytes and tuples of ints hash and compare in C);
    # a tap on another thread can only evict an entry between two calls.
    nodes = _tree_cache.get(key)
    if nodes is not None:
        with contextlib.suppress(KeyError):
            _tree_cache.move_to_end(key)
        return nodes
    nodes = _decoded_nodes(data, layout)
    _tree_cache[key] = nodes
    while len(_tree_cache) > TREE_CACHE_SIZE:
        try:
            _tree_cache.popitem(last=False)
        except KeyError:
            break
    return nodes


def clear_tree_cache() -> None:
    """Forget every remembered tree."""
    _tree_cache.clear()


def tree_cache_size() -> int:
    """How many trees are remembered now (at most :data:`TREE_CACHE_SIZE`)."""
    return len(_tree_cache)


def _decoded_nodes(data: bytes, layout: Layout | None) -> tuple[DecodedNode, ...]:
    try:
        objects = tlv.decode(data)
    except MalformedDataError as exc:
        return (DecodedNode("", "Undecodable data", "", f"{len(data)} bytes that are not BER-TLV: {exc.reason}"),)
    context = tlv.flatten(objects)
    return tuple(_node(obj, context, layout if obj.tag == 0x80 else None) for obj in objects)
