"""APDU exchanges as pcapng files that Wireshark and tshark decode as ISO 7816 (docs/traces.md).

File layout (pcapng, draft-ietf-opsawg-pcapng; section numbers of that draft):

* one Section Header Block (§4.1) with ``shb_userappl`` naming this program and a
  comment saying whether the card data is masked;
* one Interface Description Block (§4.2): link type
  ``LINKTYPE_WIRESHARK_UPPER_PDU`` (252), ``if_tsresol`` = 9 (nanoseconds),
  ``if_description`` = the transport;
* two Enhanced Packet Blocks (§4.3) per exchange: the command, flagged outbound
  (``epb_flags`` direction 2, reader to card), and the response, flagged inbound
  (direction 1), each with a comment naming the command (``opt_comment``).

Why link type 252: each packet starts with Wireshark's "exported PDU" tags naming
the dissector (``iso7816``), then carries the APDU exactly as it crossed the
reader interface; Wireshark maps the packet direction to the point-to-point
direction its ISO 7816 dissector needs to tell a command from a response (ISO/IEC
7816-4 §5.1). No "Decode As" set-up, contact and contactless readers alike; the
alternatives considered (ISO 14443, USB CCID) and what Wireshark 4.0 decodes of
EMV's proprietary-class commands are in docs/traces.md.

Timestamps: every exchange has a monotonic start (``time.perf_counter_ns``) and a
duration; a :class:`ClockOrigin` (a wall-clock and a monotonic reading taken
together) turns them into Unix times. Card data is masked by default
(:func:`protocol.trace_masking.mask_exchanges`).

:func:`read_pcapng` reads such files back (and any pcapng of ISO 7816 exported
PDUs), treating them as hostile: bounded sizes and counts, every length checked,
and :class:`PcapngFormatError` saying what is wrong and at which byte offset.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.transports.wrappers import Exchange
from protocol import status_words
from protocol.errors import MalformedDataError
from protocol.tap.events import ApduExchanged, Event
from protocol.trace_masking import mask_exchanges

LINKTYPE_WIRESHARK_UPPER_PDU = 252
DISSECTOR = "iso7816"
APPLICATION = "TrustOne Tap Simulator"
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PACKETS = 200_000

_SHB, _IDB, _EPB = 0x0A0D0D0A, 0x00000001, 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_END, _OPT_COMMENT = 0, 1
_SHB_USERAPPL = 4
_IF_NAME, _IF_DESCRIPTION, _IF_TSRESOL, _IF_TSOFFSET = 2, 3, 9, 14
_EPB_FLAGS = 2
_INBOUND, _OUTBOUND = 1, 2  # epb_flags bits 0-1 (§4.3.1)
_EXP_PDU_END, _EXP_PDU_DISSECTOR_NAME = 0, 12

_INSTRUCTIONS = {
    0xA4: "SELECT", 0xB2: "READ RECORD", 0xA8: "GET PROCESSING OPTIONS", 0xAE: "GENERATE AC",
    0x88: "INTERNAL AUTHENTICATE", 0xC0: "GET RESPONSE", 0xCA: "GET DATA", 0x20: "VERIFY",
    0xEA: "EXCHANGE RELAY RESISTANCE DATA", 0x2A: "COMPUTE CRYPTOGRAPHIC CHECKSUM", 0x84: "GET CHALLENGE",
}  # fmt: skip


class PcapngFormatError(MalformedDataError):
    """A pcapng file cannot be read as APDU exchanges; ``offset`` is the byte where it went wrong."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason, offset, what="pcapng file")


@dataclass(frozen=True)
class ClockOrigin:
    """A wall-clock time and a monotonic clock reading taken at the same moment (ns)."""

    wall_ns: int
    perf_ns: int

    @classmethod
    def now(cls) -> ClockOrigin:
        return cls(time.time_ns(), time.perf_counter_ns())

    def wall(self, perf_ns: int) -> int:
        """Unix time (ns) of a ``time.perf_counter_ns`` reading."""
        return self.wall_ns + (perf_ns - self.perf_ns)


@dataclass(frozen=True)
class ApduRecord:
    """One exchange to write: ``started_ns`` on the monotonic clock, ``elapsed_ns`` its duration."""

    command: bytes
    response: bytes
    started_ns: int
    elapsed_ns: int
    name: str = ""


@dataclass(frozen=True)
class CapturedExchange:
    """One exchange read from a file; times are Unix times in nanoseconds."""

    name: str
    command: bytes
    response: bytes
    command_time_ns: int
    response_time_ns: int

    @property
    def elapsed_ns(self) -> int:
        return self.response_time_ns - self.command_time_ns


@dataclass(frozen=True)
class Capture:
    """What :func:`read_pcapng` found: who wrote it, the interface, the exchanges in order."""

    application: str
    interface: str
    comment: str
    exchanges: tuple[CapturedExchange, ...]


def describe_command(apdu: bytes) -> str:
    """A name for a command APDU from its instruction byte (ISO 7816-4 §5.1; EMV Book 3 §6.5)."""
    if len(apdu) < 4:
        return "malformed command"
    return _INSTRUCTIONS.get(apdu[1], f"INS {apdu[1]:02X}")


# --------------------------------------------------------------------------- building records


def records_from_exchanges(exchanges: Sequence[Exchange], events: Iterable[Event] = ()) -> list[ApduRecord]:
    """Records from a :class:`~app.transports.wrappers.TracingTransport` log.

    Names come from the session's :class:`ApduExchanged` events, matched in order
    by command bytes; exchanges the session never saw (GET RESPONSE issued by a
    wrapper) are named from their instruction byte.
    """
    named = [(e.command, e.command_name) for e in events if isinstance(e, ApduExchanged)]
    records, k = [], 0
    for exchange in exchanges:
        name = describe_command(exchange.command)
        for j in range(k, len(named)):
            if named[j][0] == exchange.command:
                name, k = named[j][1], j + 1
                break
        records.append(ApduRecord(exchange.command, exchange.response, exchange.started_ns, exchange.elapsed_ns, name))
    return records


def records_from_events(events: Iterable[Event], *, start_ns: int = 0) -> list[ApduRecord]:
    """Records from :class:`ApduExchanged` events alone (a trace file has no start times).

    Each command is placed where the previous response ended, from ``start_ns``
    on; an exchange without a measured duration counts as 0 ns.
    """
    records, now = [], start_ns
    for event in events:
        if isinstance(event, ApduExchanged):
            elapsed = event.elapsed_ns or 0
            records.append(ApduRecord(event.command, event.response, now, elapsed, event.command_name))
            now += elapsed
    return records


# --------------------------------------------------------------------------- writing


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _options(*options: bytes) -> bytes:
    return b"".join(options) + _option(_OPT_END, b"")


def _block(block_type: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _exported_pdu(apdu: bytes) -> bytes:
    name = _pad(DISSECTOR.encode("ascii") + b"\x00")
    return struct.pack(">HH", _EXP_PDU_DISSECTOR_NAME, len(name)) + name + struct.pack(">HH", _EXP_PDU_END, 0) + apdu


def _packet(time_ns: int, apdu: bytes, direction: int, comment: str) -> bytes:
    data = _exported_pdu(apdu)
    stamp = max(0, time_ns)
    header = struct.pack("<IIIII", 0, stamp >> 32, stamp & 0xFFFFFFFF, len(data), len(data))
    options = _options(_option(_OPT_COMMENT, comment.encode("utf-8")), _option(_EPB_FLAGS, struct.pack("<I", direction)))
    return _block(_EPB, header + _pad(data) + options)


def to_pcapng(
    records: Sequence[ApduRecord],
    *,
    origin: ClockOrigin,
    interface: str = "card reader",
    application: str = APPLICATION,
    reveal: bool = False,
) -> bytes:
    """The pcapng bytes of ``records``; card data masked unless ``reveal``."""
    pairs = [(r.command, r.response) for r in records]
    shown = pairs if reveal else mask_exchanges(pairs)
    note = (
        "UNMASKED: this capture contains the card's PAN and track data; share it with care"
        if reveal
        else "Card data masked: PAN first 6 / last 4, track discretionary data, names, PIN data and the ICC "
        "public key certificate (see docs/traces.md)"
    )
    shb = struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1) + _options(
        _option(_OPT_COMMENT, note.encode("utf-8")), _option(_SHB_USERAPPL, application.encode("utf-8"))
    )
    idb = struct.pack("<HHI", LINKTYPE_WIRESHARK_UPPER_PDU, 0, 0) + _options(
        _option(_IF_NAME, b"trustone"),
        _option(_IF_DESCRIPTION, interface.encode("utf-8")),
        _option(_IF_TSRESOL, bytes([9])),
    )
    out = [_block(_SHB, shb), _block(_IDB, idb)]
    for record, (command, response) in zip(records, shown, strict=True):
        sent = origin.wall(record.started_ns)
        name = record.name or describe_command(command)
        sw = f"{response[-2]:02X}{response[-1]:02X}" if len(response) >= 2 else "none"
        meaning = status_words.describe(int(sw, 16)) if len(response) >= 2 else "no status word"
        out.append(_packet(sent, command, _OUTBOUND, name))
        out.append(_packet(sent + max(0, record.elapsed_ns), response, _INBOUND, f"{name}: SW {sw} ({meaning})"))
    return b"".join(out)


def write_pcapng(
    path: str | Path,
    records: Sequence[ApduRecord],
    *,
    origin: ClockOrigin,
    interface: str = "card reader",
    application: str = APPLICATION,
    reveal: bool = False,
) -> Path:
    """Write :func:`to_pcapng` of ``records`` to ``path`` (masked unless ``reveal``); return the path."""
    target = Path(path)
    target.write_bytes(to_pcapng(records, origin=origin, interface=interface, application=application, reveal=reveal))
    return target


# --------------------------------------------------------------------------- reading


def read_pcapng(path: str | Path) -> Capture:
    """Read the APDU exchanges of a pcapng file (see :func:`parse_pcapng`)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise PcapngFormatError(f"the file is larger than {MAX_FILE_BYTES} bytes")
    return parse_pcapng(data)


@dataclass
class _Interface:
    link_type: int
    description: str
    ns_per_tick_num: int = 1  # ns = ticks * num // den + offset
    ns_per_tick_den: int = 1
    offset_ns: int = 0


def parse_pcapng(data: bytes) -> Capture:
    """Parse pcapng bytes of ISO 7816 APDUs: commands outbound, responses inbound, in pairs.

    Accepts either byte order and several sections; skips block types it does
    not use (§3.1). Raises :class:`PcapngFormatError` for anything else.
    """
    if len(data) < 12 or struct.unpack_from("<I", data, 0)[0] != _SHB:
        raise PcapngFormatError("not a pcapng file (no Section Header Block at the start)", 0)
    order, application, interface, comment = "<", "", "", ""
    interfaces: list[_Interface] = []
    packets: list[tuple[int, int, bytes, str, int]] = []  # (direction, time, apdu, comment, offset)
    offset = 0
    while offset < len(data):
        if len(data) - offset < 12:
            raise PcapngFormatError("truncated block header", offset)
        block_type = struct.unpack_from(order + "I", data, offset)[0]
        if block_type == _SHB:  # the same bytes in either order; starts a section with its own
            order = _byte_order(data, offset)
            interfaces = []
        length = struct.unpack_from(order + "I", data, offset + 4)[0]
        if length < 12 or length % 4 or offset + length > len(data):
            raise PcapngFormatError(f"block length {length} is invalid or runs past the end", offset)
        if struct.unpack_from(order + "I", data, offset + length - 4)[0] != length:
            raise PcapngFormatError("block trailer does not repeat the block length", offset)
        body = data[offset + 8 : offset + length - 4]
        if block_type == _SHB:
            options = _parse_options(body, 16, order, offset + 8)
            application = options.get(_SHB_USERAPPL, [b""])[0].decode("utf-8", "replace")
            comment = options.get(_OPT_COMMENT, [b""])[0].decode("utf-8", "replace")
        elif block_type == _IDB:
            interfaces.append(_interface(body, order, offset))
            interface = interfaces[-1].description
        elif block_type == _EPB:
            packets.append(_enhanced_packet(body, order, offset, interfaces))
            if len(packets) > MAX_PACKETS:
                raise PcapngFormatError(f"more than {MAX_PACKETS} packets", offset)
        offset += length
    return Capture(application, interface, comment, _pair(packets))


def _byte_order(data: bytes, offset: int) -> str:
    if len(data) - offset < 28:
        raise PcapngFormatError("truncated Section Header Block", offset)
    magic = data[offset + 8 : offset + 12]
    if magic == struct.pack("<I", _BYTE_ORDER_MAGIC):
        order = "<"
    elif magic == struct.pack(">I", _BYTE_ORDER_MAGIC):
        order = ">"
    else:
        raise PcapngFormatError("bad byte-order magic in the Section Header Block", offset + 8)
    major = struct.unpack_from(order + "H", data, offset + 12)[0]
    if major != 1:
        raise PcapngFormatError(f"pcapng major version {major}; this reader reads version 1", offset + 12)
    return order


def _parse_options(body: bytes, start: int, order: str, base: int) -> dict[int, list[bytes]]:
    options: dict[int, list[bytes]] = {}
    offset = start
    while offset + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, offset)
        if code == _OPT_END:
            break
        if offset + 4 + length > len(body):
            raise PcapngFormatError(f"option {code} runs past the end of its block", base + offset)
        options.setdefault(code, []).append(body[offset + 4 : offset + 4 + length])
        offset += 4 + length + (-length % 4)
    return options


def _interface(body: bytes, order: str, offset: int) -> _Interface:
    if len(body) < 8:
        raise PcapngFormatError("truncated Interface Description Block", offset)
    link_type = struct.unpack_from(order + "H", body, 0)[0]
    options = _parse_options(body, 8, order, offset + 8)
    found = _Interface(link_type, options.get(_IF_DESCRIPTION, [b""])[0].decode("utf-8", "replace"))
    resolution = options.get(_IF_TSRESOL, [bytes([6])])[0][:1] or bytes([6])
    exponent = resolution[0] & 0x7F
    if resolution[0] & 0x80:  # a power of two
        if exponent > 63:
            raise PcapngFormatError(f"time stamp resolution 2^-{exponent} is not supported", offset)
        found.ns_per_tick_num, found.ns_per_tick_den = 10**9, 2**exponent
    else:
        if exponent > 18:
            raise PcapngFormatError(f"time stamp resolution 10^-{exponent} is not supported", offset)
        found.ns_per_tick_num, found.ns_per_tick_den = 10 ** max(0, 9 - exponent), 10 ** max(0, exponent - 9)
    tsoffset = options.get(_IF_TSOFFSET)
    if tsoffset and len(tsoffset[0]) == 8:
        found.offset_ns = struct.unpack(order + "q", tsoffset[0])[0] * 10**9
    return found


def _enhanced_packet(
    body: bytes, order: str, offset: int, interfaces: list[_Interface]
) -> tuple[int, int, bytes, str, int]:
    if len(body) < 20:
        raise PcapngFormatError("truncated Enhanced Packet Block", offset)
    interface_id, high, low, captured, _original = struct.unpack_from(order + "IIIII", body, 0)
    if interface_id >= len(interfaces):
        raise PcapngFormatError(f"packet refers to interface {interface_id}, which is not described", offset)
    interface = interfaces[interface_id]
    if interface.link_type != LINKTYPE_WIRESHARK_UPPER_PDU:
        raise PcapngFormatError(
            f"interface {interface_id} has link type {interface.link_type}; APDU captures use "
            f"{LINKTYPE_WIRESHARK_UPPER_PDU} (exported PDU, {DISSECTOR})", offset
        )  # fmt: skip
    if 20 + captured > len(body):
        raise PcapngFormatError(f"packet data of {captured} bytes runs past the end of its block", offset)
    packet = body[20 : 20 + captured]
    options = _parse_options(body, 20 + captured + (-captured % 4), order, offset + 8)
    flags = options.get(_EPB_FLAGS, [b"\x00\x00\x00\x00"])[0]
    direction = struct.unpack(order + "I", flags)[0] & 3 if len(flags) == 4 else 0
    ticks = (high << 32) | low
    time_ns = ticks * interface.ns_per_tick_num // interface.ns_per_tick_den + interface.offset_ns
    comment = options.get(_OPT_COMMENT, [b""])[0].decode("utf-8", "replace")
    return direction, time_ns, _apdu_of(packet, offset), comment, offset


def _apdu_of(packet: bytes, offset: int) -> bytes:
    """The APDU after the exported-PDU tags; the dissector named must be ISO 7816."""
    position, dissector = 0, ""
    while True:
        if position + 4 > len(packet):
            raise PcapngFormatError("exported-PDU tags run past the end of the packet", offset)
        tag, length = struct.unpack_from(">HH", packet, position)
        position += 4
        if tag == _EXP_PDU_END:
            break
        if position + length > len(packet):
            raise PcapngFormatError(f"exported-PDU tag {tag} runs past the end of the packet", offset)
        if tag == _EXP_PDU_DISSECTOR_NAME:
            dissector = packet[position : position + length].rstrip(b"\x00").decode("ascii", "replace")
        position += length
    if dissector != DISSECTOR:
        raise PcapngFormatError(f"packet is for dissector {dissector!r}, not {DISSECTOR!r}", offset)
    return packet[position:]


def _pair(packets: list[tuple[int, int, bytes, str, int]]) -> tuple[CapturedExchange, ...]:
    exchanges: list[CapturedExchange] = []
    pending: tuple[int, int, bytes, str, int] | None = None
    for packet in packets:
        direction, _time, _apdu, _comment, offset = packet
        if direction == _OUTBOUND:
            if pending is not None:
                raise PcapngFormatError("a command follows a command that got no response", offset)
            pending = packet
        elif direction == _INBOUND:
            if pending is None:
                raise PcapngFormatError("a response without a command before it", offset)
            exchanges.append(CapturedExchange(pending[3], pending[2], packet[2], pending[1], packet[1]))
            pending = None
        else:
            raise PcapngFormatError("packet has no direction (epb_flags): command or response?", offset)
    if pending is not None:
        raise PcapngFormatError("the last command got no response", pending[4])
    return tuple(exchanges)
