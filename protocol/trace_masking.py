"""Byte-level masking of APDUs for every export (traces, pcapng): DESIGN.md §7.

:mod:`protocol.masking` masks data elements for *display* (text). An export keeps
the bytes, so that Wireshark, a TLV viewer or this program can still decode the
structure; what it must not keep is the card's secrets. This module rewrites
command and response APDUs **in place**: every masked value keeps its length, so
every tag, length and template around it stays valid BER-TLV (EMV 4.4 Book 3
Annex B) and a masked trace parses exactly like the original.

What is masked, and how (the representation)
============================================

=========================  ===================================================
data element               masked bytes
=========================  ===================================================
5A PAN (cn, BCD)           digits 7 .. n-4 become the nibble ``F``
                           (``47 61 73 90 01 01 00 10`` ->
                           ``47 61 73 FF FF FF 00 10``), as
                           :func:`protocol.masking.mask_pan` shows them
57 / 9F6B track 2          the PAN as above; after the separator ``D`` the
equivalent data            expiry date and service code (7 nibbles) stay,
                           the discretionary data (PVV, CVV, ...) becomes ``F``
56 track 1 data (ans)      format code, the PAN's first 6 / last 4, the
                           first letter of each name part, expiry and service
                           code stay; every other character becomes ``*``
5F20 / 9F0B name (ans)     first letter of each part stays, the rest ``*``
9F1F, DF812A (ans)         every character ``*``
9F20, DF812B (cn)          every byte ``FF``
99 PIN data                every byte ``00``
9F46, 9F2D certificates    every byte ``00`` (see below)
VERIFY / PIN commands      the command data field: every byte ``00``
=========================  ===================================================

Why ``F`` for masked digits: ``F`` is never a decimal digit, so no tool can take
a masked PAN for a real one, and it is already the padding nibble of the cn
format, so the value is still a well-formed cn / track 2 byte string of the
original length (a masked PAN no longer passes :func:`protocol.masking.mask_value`'s
"valid PAN" test and is shown as "masked", never as digits).

Why the certificates: the ICC Public Key Certificate (9F46) and the ICC PIN
Encipherment Public Key Certificate (9F2D) carry the full Application PAN inside
their RSA-recovered data (EMV 4.4 Book 2 §6.4, Table 14; §7.1). Anyone can
recover it with the issuer public key, itself recoverable from the Issuer Public
Key Certificate (90) with the scheme's *public* CA key. A masked export therefore
replaces their whole value by zero bytes of the same length: offline data
authentication cannot be re-checked from a masked trace.

Robustness
==========

Every function here accepts any bytes, never raises, never changes a length and
is idempotent (masking a masked APDU changes nothing). Response data that is not
BER-TLV is walked as far as it parses: data objects before the first fault are
masked; a PAN-bearing data object truncated by the end of the data is masked
whole; whatever follows a fault is left as it is. Masking errs on the side of
hiding. :func:`mask_exchanges` adds a second line of defence for whole sessions:
every PAN seen anywhere in the session is also scrubbed wherever its BCD or ASCII
digits appear byte-aligned in any other command or response.

For JSON traces (:mod:`protocol.tap.trace`) the same rules apply to decoded TLV
trees (:func:`mask_decoded_node`) and to the assertion's card answers
(:func:`mask_assertion`); :func:`scrub_texts` removes known PANs from every text
of an event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from protocol.masking import (
    DISCRETIONARY_TAGS,
    NAME_TAGS,
    PAN_TAGS,
    SECRET_TAGS,
    TRACK1_TAGS,
    TRACK2_TAGS,
    mask_name,
    mask_pan,
)
from protocol.tap.assertion import Assertion, RecordRead
from protocol.tap.events import DecodedNode
from protocol.tlv import MAX_DEPTH, TlvError, is_constructed, read_length, read_tag

#: Certificates whose recovered data contains the PAN (EMV 4.4 Book 2 §6.4, §7.1).
PAN_CERTIFICATE_TAGS = frozenset({0x9F46, 0x9F2D})
#: Discretionary data in ``ans`` format (characters); the others are ``cn``/``n`` (BCD).
_ANS_DISCRETIONARY = frozenset({0x9F1F, 0xDF812A})
#: Every tag whose value :func:`mask_response` rewrites.
MASKED_TAGS = PAN_TAGS | TRACK2_TAGS | TRACK1_TAGS | NAME_TAGS | DISCRETIONARY_TAGS | SECRET_TAGS | PAN_CERTIFICATE_TAGS
#: Instructions whose command data is (or encrypts) a PIN: VERIFY (ISO 7816-4 §11.5.6, EMV
#: Book 3 §6.5.12), its odd-INS form, CHANGE REFERENCE DATA / EMV PIN CHANGE/UNBLOCK
#: (Book 3 §6.5.10) and RESET RETRY COUNTER.
PIN_INSTRUCTIONS = frozenset({0x20, 0x21, 0x24, 0x2C})

MASK_CHAR = ord("*")
MASK_NIBBLE = "F"
#: Shortest digit string treated as a PAN when scrubbing a whole session.
MIN_SCRUB_DIGITS = 12

_D = TypeVar("_D")


# --------------------------------------------------------------------------- commands


def mask_command(apdu: bytes) -> bytes:
    """A command APDU with any PIN data replaced by zero bytes; others unchanged.

    For VERIFY and the other PIN commands (:data:`PIN_INSTRUCTIONS`) the data field
    located by the Lc byte (short or extended, ISO 7816-4 §5.1) becomes zeros; when
    the body does not follow any APDU case, every byte after P3 is zeroed.
    """
    raw = bytes(apdu)
    if len(raw) < 6 or raw[1] not in PIN_INSTRUCTIONS:
        return raw
    start, end = _data_field(raw)
    return raw[:start] + bytes(end - start) + raw[end:]


def _data_field(raw: bytes) -> tuple[int, int]:
    """``(start, end)`` of the data field of a command APDU with a body of 2+ bytes."""
    body = len(raw) - 4
    if raw[4] != 0:  # short Lc
        lc = raw[4]
        if body in (1 + lc, 2 + lc):
            return 5, 5 + lc
    elif body >= 3:  # extended: 00 Lc1 Lc2
        lc = int.from_bytes(raw[5:7], "big")
        if lc and body in (3 + lc, 5 + lc):
            return 7, 7 + lc
    return 5, len(raw)


# --------------------------------------------------------------------------- responses


def mask_response(data: bytes) -> bytes:
    """Response data (BER-TLV, any templates) with PAN-bearing values masked in place.

    See the module docstring for the representation. Never raises; the result has
    the same length as ``data``; ``mask_response(mask_response(d)) == mask_response(d)``.
    """
    original = bytes(data)
    out = bytearray(original)  # masking rewrites values only, never a tag or a length
    for tag, start, end, truncated in _sensitive_objects(original, 0, len(original), MAX_DEPTH):
        out[start:end] = _mask_value(tag, original[start:end], whole=truncated)
    return bytes(out)


def mask_response_apdu(response: bytes) -> bytes:
    """A whole response APDU (data + SW1 SW2): the data masked, the status word kept."""
    raw = bytes(response)
    if len(raw) < 2:
        return raw
    return mask_response(raw[:-2]) + raw[-2:]


def _sensitive_objects(data: bytes, start: int, end: int, depth_left: int) -> Iterator[tuple[int, int, int, bool]]:
    """``(tag, value start, value end, truncated)`` of every data object of :data:`MASKED_TAGS`.

    Walks ``data[start:end]`` as BER-TLV, recursing into templates, and stops quietly
    at the first fault (what follows is not TLV). A value cut short by ``end`` is
    reported up to ``end`` with ``truncated`` set.
    """
    offset = start
    while offset < end:
        if data[offset] == 0x00:  # padding between data objects (Book 3 Annex B)
            offset += 1
            continue
        try:
            tag, after_tag = read_tag(data, offset, end)
            length, value_start = read_length(data, after_tag, end)
        except TlvError:
            return
        value_end = min(value_start + length, end)
        if tag in MASKED_TAGS:
            yield tag, value_start, value_end, value_start + length > end
        elif is_constructed(tag) and depth_left > 0:
            yield from _sensitive_objects(data, value_start, value_end, depth_left - 1)
        offset = value_end


def mask_value_bytes(tag: int, value: bytes) -> bytes:
    """The masked bytes of one data element's value (same length); other tags unchanged."""
    value = bytes(value)
    return _mask_value(tag, value) if tag in MASKED_TAGS else value


def _mask_value(tag: int, value: bytes, *, whole: bool = False) -> bytes:
    """The masked bytes of one data element (same length)."""
    ascii_fill = bytes([MASK_CHAR]) * len(value)
    if tag in SECRET_TAGS or tag in PAN_CERTIFICATE_TAGS:
        return bytes(len(value))
    if tag in TRACK1_TAGS or tag in NAME_TAGS or tag in _ANS_DISCRETIONARY:
        if whole or tag in _ANS_DISCRETIONARY:
            return ascii_fill
        return _mask_track1(value) if tag in TRACK1_TAGS else _mask_text_name(value)
    if whole or tag in DISCRETIONARY_TAGS:
        return b"\xff" * len(value)
    nibbles = value.hex().upper()
    if tag in TRACK2_TAGS:
        return bytes.fromhex(_mask_track2_nibbles(nibbles))
    return bytes.fromhex(_mask_pan_nibbles(nibbles))  # PAN_TAGS


def _hidden_positions(count: int) -> list[int]:
    """Indexes of a ``count``-digit PAN that :func:`protocol.masking.mask_pan` hides."""
    return [i for i, ch in enumerate(mask_pan("0" * count)) if ch != "0"]


def _mask_digits(chars: list[str], start: int, count: int, fill: str) -> None:
    for i in _hidden_positions(count):
        chars[start + i] = fill


def _mask_pan_nibbles(nibbles: str) -> str:
    """5A: the digits before the trailing ``F`` padding are the PAN."""
    count = len(nibbles.rstrip(MASK_NIBBLE))
    chars = list(nibbles)
    _mask_digits(chars, 0, count, MASK_NIBBLE)
    return "".join(chars)


def _mask_track2_nibbles(nibbles: str) -> str:
    """57 / 9F6B: ``PAN D YYMM SSS discretionary [F]`` (EMV 4.4 Book 3 Annex A)."""
    separator = nibbles.find("D")
    if separator < 0:
        return MASK_NIBBLE * len(nibbles)
    chars = list(nibbles)
    _mask_digits(chars, 0, separator, MASK_NIBBLE)
    for i in range(separator + 1 + 7, len(chars)):
        chars[i] = MASK_NIBBLE
    return "".join(chars)


def _mask_track1(value: bytes) -> bytes:
    """56: ``B PAN ^ NAME ^ YYMM SSS discretionary`` (ISO/IEC 7813 format B)."""
    out = bytearray(value)
    first = value.find(b"^")
    if len(value) < 2 or first < 1:
        return bytes([MASK_CHAR]) * len(value)
    pan_chars = list(value[1:first].decode("latin-1"))
    _mask_digits(pan_chars, 0, len(pan_chars), "*")
    out[1:first] = "".join(pan_chars).encode("latin-1")
    second = value.find(b"^", first + 1)
    if second < 0:
        out[first + 1 :] = bytes([MASK_CHAR]) * (len(value) - first - 1)
        return bytes(out)
    out[first + 1 : second] = _mask_text_name(value[first + 1 : second])
    keep_until = min(second + 1 + 7, len(value))
    out[keep_until:] = bytes([MASK_CHAR]) * (len(value) - keep_until)
    return bytes(out)


def _mask_text_name(value: bytes) -> bytes:
    """A name with only the first letter of each part (same length, one byte per character)."""
    masked = mask_name(value.decode("latin-1")).encode("latin-1")
    return masked if len(masked) == len(value) else bytes([MASK_CHAR]) * len(value)


# --------------------------------------------------------------------------- whole sessions


def pans_in(data: bytes) -> frozenset[str]:
    """The PANs (digit strings) found in 5A, 57/9F6B and 56 data objects of ``data``."""
    data = bytes(data)
    found: set[str] = set()
    for tag, start, end, _truncated in _sensitive_objects(data, 0, len(data), MAX_DEPTH):
        value = data[start:end]
        if tag in PAN_TAGS:
            found.add(value.hex().upper().rstrip("F"))
        elif tag in TRACK2_TAGS:
            found.add(value.hex().upper().split("D", 1)[0])
        elif tag in TRACK1_TAGS and b"^" in value:
            found.add(value[1 : value.find(b"^")].decode("latin-1"))
    return frozenset(p for p in found if p.isdigit() and len(p) >= MIN_SCRUB_DIGITS)


def redact_pans(data: bytes, pans: Iterable[str]) -> bytes:
    """``data`` with each PAN's byte-aligned BCD and ASCII forms masked (same length)."""
    out = bytes(data)
    for pan in pans:
        if not pan.isdigit() or len(pan) < MIN_SCRUB_DIGITS:
            continue
        padded = pan + "F" if len(pan) % 2 else pan
        masked = _mask_pan_nibbles(padded)
        out = out.replace(bytes.fromhex(padded), bytes.fromhex(masked))
        ascii_masked = mask_pan(pan).encode("ascii")
        out = out.replace(pan.encode("ascii"), ascii_masked)
    return out


def mask_exchanges(exchanges: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Mask a session's ``(command, response APDU)`` pairs, in order; same lengths, never raises.

    * A response split by ``61xx`` over GET RESPONSE commands (ISO 7816-4 §5.1.3)
      is masked as the one data field it is, then split back, so a PAN cut in two
      by the card is still recognised.
    * Then every PAN seen anywhere in the session is scrubbed wherever it appears
      (:func:`redact_pans`): a card repeating it in a proprietary template, or a
      command echoing it, does not leak it.

    Idempotent: masking a masked session changes nothing.
    """
    pairs = [(bytes(c), bytes(r)) for c, r in exchanges]
    commands = [mask_command(c) for c, _ in pairs]
    responses = [r for _, r in pairs]
    for first, last in _response_chains(pairs):
        parts = [r[:-2] if len(r) >= 2 else b"" for r in responses[first : last + 1]]
        masked = mask_response(b"".join(parts))
        offset = 0
        for k, part in zip(range(first, last + 1), parts, strict=True):
            if len(responses[k]) >= 2:
                responses[k] = masked[offset : offset + len(part)] + responses[k][-2:]
            offset += len(part)
    pans = session_pans(pairs)
    if pans:
        commands = [redact_pans(c, pans) for c in commands]
        responses = [redact_pans(r[:-2], pans) + r[-2:] if len(r) >= 2 else r for r in responses]
    return list(zip(commands, responses, strict=True))


def session_pans(exchanges: Sequence[tuple[bytes, bytes]]) -> frozenset[str]:
    """Every PAN (digits) in a session's responses (chains joined) and command data."""
    pairs = [(bytes(c), bytes(r)) for c, r in exchanges]
    pans: set[str] = set()
    for first, last in _response_chains(pairs):
        pans |= pans_in(b"".join(r[:-2] for _, r in pairs[first : last + 1] if len(r) >= 2))
    for command, _ in pairs:
        pans |= pans_in(command[5:])
    return frozenset(pans)


def _response_chains(pairs: Sequence[tuple[bytes, bytes]]) -> list[tuple[int, int]]:
    """Index ranges ``(first, last)`` of exchanges whose responses form one data field."""
    chains: list[tuple[int, int]] = []
    i = 0
    while i < len(pairs):
        j = i
        while (
            j + 1 < len(pairs)
            and len(pairs[j][1]) >= 2
            and pairs[j][1][-2] == 0x61
            and len(pairs[j + 1][0]) >= 2
            and pairs[j + 1][0][1] == 0xC0  # GET RESPONSE
        ):
            j += 1
        chains.append((i, j))
        i = j + 1
    return chains


# --------------------------------------------------------------------------- decoded data and assertions


def scrub_texts(item: _D, scrub: Callable[[str], str]) -> _D:
    """A copy of a frozen dataclass (an event) with ``scrub`` applied to every string inside it."""
    changes = {f.name: _map_text(getattr(item, f.name), scrub) for f in fields(item)}  # type: ignore[arg-type]
    return dataclasses.replace(item, **changes)  # type: ignore[type-var]


def _map_text(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, tuple):
        return tuple(_map_text(v, scrub) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return scrub_texts(value, scrub)
    return value


def mask_decoded_node(node: DecodedNode, scrub: Callable[[str], str]) -> DecodedNode:
    """A decoded TLV tree with values masked by the rules above (renderers show masked
    text already; a raw hex value, a template's hex and the certificates are masked
    here), and ``scrub`` applied to every text."""
    raw = _hex_or_none(node.value_hex)
    tag = int(node.tag, 16) if _hex_or_none(node.tag) else 0
    value_hex, meaning = node.value_hex, node.meaning
    if tag in PAN_CERTIFICATE_TAGS:
        value_hex = "00" * len(raw) if raw is not None else ""
        meaning = "masked: this certificate reveals the PAN to anyone with the scheme's public CA key"
    elif raw is not None and tag in MASKED_TAGS:
        value_hex = mask_value_bytes(tag, raw).hex().upper()
    elif raw is not None and tag > 0 and is_constructed(tag):  # tag 0 would be padding, not a tag
        value_hex = mask_response(raw).hex().upper()
    return DecodedNode(
        scrub(node.tag), scrub(node.name), scrub(value_hex), scrub(meaning),
        tuple(mask_decoded_node(child, scrub) for child in node.children),
    )  # fmt: skip


def _hex_or_none(value: str) -> bytes | None:
    try:
        return bytes.fromhex(value) if value else None
    except ValueError:
        return None


def mask_assertion(assertion: Assertion, pans: Iterable[str] = ()) -> Assertion:
    """The assertion with the card's answers masked (its signature no longer verifies)."""
    known = tuple(pans)

    def scrub(data: bytes) -> bytes:
        return redact_pans(mask_response(data), known)

    evidence = assertion.evidence
    masked = dataclasses.replace(
        evidence,
        gpo_response=scrub(evidence.gpo_response),
        records=tuple(RecordRead(r.sfi, r.record, scrub(r.data), r.for_oda) for r in evidence.records),
        internal_authenticate_response=scrub(evidence.internal_authenticate_response),
        generate_ac_response=scrub(evidence.generate_ac_response),
    )
    return dataclasses.replace(assertion, evidence=masked)
