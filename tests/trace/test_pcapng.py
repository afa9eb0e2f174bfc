"""pcapng export (app.flow.pcapng): Wireshark's own decoder reads it; our reader is hostile-safe."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.flow.pcapng import (
    LINKTYPE_WIRESHARK_UPPER_PDU,
    ApduRecord,
    Capture,
    ClockOrigin,
    PcapngFormatError,
    describe_command,
    parse_pcapng,
    read_pcapng,
    records_from_events,
    records_from_exchanges,
    to_pcapng,
    write_pcapng,
)
from app.transports.wrappers import Exchange
from protocol.tap.events import ApduExchanged
from protocol.trace_masking import mask_exchanges
from tests.support.require import require_executable
from tests.trace.support import Tap, pan_of, tap

ORIGIN = ClockOrigin(wall_ns=1_767_225_600_123_456_789, perf_ns=5_000_000_000)


@pytest.fixture(scope="module")
def session() -> Tap:
    return tap("visa-cvn18-dda")


@pytest.fixture(scope="module")
def records(session: Tap) -> list[ApduRecord]:
    return records_from_exchanges(session.exchanges, session.outcome.events)


@pytest.fixture(scope="module")
def capture_file(tmp_path_factory: pytest.TempPathFactory, session: Tap, records: list[ApduRecord]) -> Path:
    path = tmp_path_factory.mktemp("pcapng") / "tap.pcapng"
    return write_pcapng(path, records, origin=session.origin, interface=session.transport)


# --------------------------------------------------------------------------- our reader


def test_round_trip_names_times_and_masking(session: Tap, records: list[ApduRecord], capture_file: Path) -> None:
    capture = read_pcapng(capture_file)
    assert capture.application == "TrustOne Tap Simulator" and capture.interface == session.transport
    assert "masked" in capture.comment
    masked = mask_exchanges([(r.command, r.response) for r in records])
    assert [(e.command, e.response) for e in capture.exchanges] == masked
    assert [e.name for e in capture.exchanges] == [r.name for r in records]
    assert capture.exchanges[0].name == "SELECT PPSE" and capture.exchanges[2].name == "GET PROCESSING OPTIONS"
    for exchange, record in zip(capture.exchanges, records, strict=True):
        assert exchange.command_time_ns == session.origin.wall(record.started_ns)
        assert exchange.elapsed_ns == record.elapsed_ns
    pan = pan_of(session.profile)
    raw = capture_file.read_bytes()
    assert bytes.fromhex(pan) not in raw and pan.encode() not in raw


def test_reveal_writes_the_bytes_as_they_were(records: list[ApduRecord]) -> None:
    capture = parse_pcapng(to_pcapng(records, origin=ORIGIN, reveal=True))
    assert [(e.command, e.response) for e in capture.exchanges] == [(r.command, r.response) for r in records]
    assert capture.comment.startswith("UNMASKED")


def test_records_from_a_trace_and_from_a_wrapper_log(session: Tap) -> None:
    from_events = records_from_events(session.outcome.events, start_ns=1000)
    apdus = [e for e in session.outcome.events if isinstance(e, ApduExchanged)]
    assert [r.name for r in from_events] == [e.command_name for e in apdus]
    assert from_events[0].started_ns == 1000
    assert from_events[1].started_ns == 1000 + (apdus[0].elapsed_ns or 0)
    log = [Exchange(bytes.fromhex("00B2010C00"), b"\x61\x10", 10, 5), Exchange(bytes.fromhex("00C0000010"), b"\x90\x00", 20, 5)]
    named = records_from_exchanges(log, [ApduExchanged(apdus[0].step, "READ RECORD SFI 1 #1", log[0].command, b"", 0, "")])
    assert [r.name for r in named] == ["READ RECORD SFI 1 #1", "GET RESPONSE"]
    assert describe_command(b"\x80\xae\x80\x00") == "GENERATE AC" and describe_command(b"\x00") == "malformed command"


def test_a_big_endian_file_reads_the_same() -> None:
    def block(kind: int, body: bytes) -> bytes:
        return struct.pack(">II", kind, 12 + len(body)) + body + struct.pack(">I", 12 + len(body))

    shb = block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1) + struct.pack(">HH", 0, 0))
    idb = block(1, struct.pack(">HHI", LINKTYPE_WIRESHARK_UPPER_PDU, 0, 0) + struct.pack(">HH4s", 9, 1, b"\x09") + b"\0" * 4)
    tags = struct.pack(">HH8sHH", 12, 8, b"iso7816\0", 0, 0)

    def epb(ns: int, apdu: bytes, direction: int) -> bytes:
        data = tags + apdu
        data += b"\0" * (-len(data) % 4)
        head = struct.pack(">IIIII", 0, ns >> 32, ns & 0xFFFFFFFF, len(tags) + len(apdu), len(tags) + len(apdu))
        return block(6, head + data + struct.pack(">HHI", 2, 4, direction) + b"\0" * 4)

    data = shb + idb + epb(10**18, b"\x00\xa4\x04\x00\x00", 2) + epb(10**18 + 7, b"\x90\x00", 1)
    capture = parse_pcapng(data)
    assert [(e.command, e.response, e.command_time_ns, e.elapsed_ns) for e in capture.exchanges] == [
        (b"\x00\xa4\x04\x00\x00", b"\x90\x00", 10**18, 7)
    ]


def test_typed_errors_for_bad_files(records: list[ApduRecord], tmp_path: Path) -> None:
    good = to_pcapng(records[:2], origin=ORIGIN)
    cases = {
        b"": "not a pcapng file",
        b"\x0a\x0d\x0d\x0a" + b"\x00" * 24: "bad byte-order magic",
        b"\x0a\x0d\x0d\x0a\x0d\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00" + b"\x00" * 14: "block length 13",
        good[:-3]: "runs past the end",
        good + b"\x06\x00": "truncated block header",
        good[:-4] + b"\x01\x00\x00\x00": "trailer does not repeat",
        good.replace(struct.pack("<H", LINKTYPE_WIRESHARK_UPPER_PDU), struct.pack("<H", 1), 1): "link type 1",
        good.replace(b"iso7816", b"ethertp", 1): "not 'iso7816'",
    }
    for data, expected in cases.items():
        with pytest.raises(PcapngFormatError) as caught:
            parse_pcapng(data)
        assert expected in str(caught.value)
    lonely = to_pcapng(records[:1], origin=ORIGIN)
    cut = lonely.rfind(struct.pack("<I", 6))  # drop the response's block
    with pytest.raises(PcapngFormatError, match="got no response"):
        parse_pcapng(lonely[:cut])
    too_big = tmp_path / "big.pcapng"
    with open(too_big, "wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)
    with pytest.raises(PcapngFormatError, match="larger than"):
        read_pcapng(too_big)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_files_parse_or_fail_cleanly(records: list[ApduRecord], data: st.DataObject) -> None:
    good = bytearray(to_pcapng(records[:3], origin=ORIGIN))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(good) - 1))
        good[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(good)))
    for candidate in (bytes(good), bytes(good[:cut])):
        try:
            result = parse_pcapng(candidate)
        except PcapngFormatError:
            continue
        assert isinstance(result, Capture)


# --------------------------------------------------------------------------- Wireshark's view


def tshark(*args: str) -> str:
    executable = require_executable("tshark", "sudo apt install tshark")
    done = subprocess.run([executable, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


FIELDS = ("frame.number", "frame.time_epoch", "frame.comment", "iso7816.apdu.cla", "iso7816.apdu.ins",
          "iso7816.apdu.p1", "iso7816.apdu.p2", "iso7816.apdu.lc", "iso7816.apdu.body", "iso7816.apdu.sw1",
          "iso7816.apdu.sw2", "exported_pdu.exported_pdu", "_ws.malformed", "_ws.expert.severity")  # fmt: skip


def test_tshark_decodes_the_apdus(capture_file: Path, records: list[ApduRecord], session: Tap) -> None:
    out = tshark("-r", str(capture_file), "-T", "fields", "-E", "separator=|", "-E", "occurrence=f",
                 *(x for f in FIELDS for x in ("-e", f)))  # fmt: skip
    rows = [dict(zip(FIELDS, line.split("|"), strict=True)) for line in out.splitlines()]
    masked = mask_exchanges([(r.command, r.response) for r in records])
    assert len(rows) == 2 * len(records)
    # Packet comments are expert items of severity "comment" (0x00100000); nothing may be worse.
    assert not any(row["_ws.malformed"] for row in rows)
    assert tshark("-r", str(capture_file), "-Y", "_ws.malformed or _ws.expert.severity >= 0x00200000") == ""
    assert tshark("-r", str(capture_file), "-Y", "_ws.expert.severity == 0x00100000").count("\n") == len(rows)
    by_name = {r.name: i for i, r in enumerate(records)}

    def command(name: str) -> dict[str, str]:
        return rows[2 * by_name[name]]

    def response(name: str) -> dict[str, str]:
        return rows[2 * by_name[name] + 1]

    select = command("SELECT PPSE")
    assert (select["iso7816.apdu.cla"], select["iso7816.apdu.ins"], select["iso7816.apdu.p1"],
            select["iso7816.apdu.p2"]) == ("0x00", "0xa4", "0x04", "0x00")  # fmt: skip
    assert bytes.fromhex(select["iso7816.apdu.body"]) == b"2PAY.SYS.DDF01"
    answer = response("SELECT PPSE")
    assert (answer["iso7816.apdu.sw1"], answer["iso7816.apdu.sw2"]) == ("0x90", "0x00")
    assert bytes.fromhex(answer["iso7816.apdu.body"]) == masked[by_name["SELECT PPSE"]][1][:-2]
    read = command("READ RECORD SFI 1 #1")
    assert (read["iso7816.apdu.ins"], read["iso7816.apdu.p1"], read["iso7816.apdu.p2"]) == ("0xb2", "0x01", "0x0c")
    # EMV's proprietary class (CLA 80): Wireshark 4.0 decodes the class byte and leaves the rest to
    # the packet comment; the APDU is carried intact.
    for name, ins in (("GET PROCESSING OPTIONS", 0xA8), ("GENERATE AC (ARQC)", 0xAE)):
        row = command(name)
        assert row["iso7816.apdu.cla"] == "0x80" and row["frame.comment"] == name
        apdu = bytes.fromhex(row["exported_pdu.exported_pdu"])
        assert apdu == masked[by_name[name]][0] and apdu[1] == ins
        assert response(name)["iso7816.apdu.sw1"] == "0x90"
        assert bytes.fromhex(response(name)["iso7816.apdu.body"]) == masked[by_name[name]][1][:-2]
    first = float(rows[0]["frame.time_epoch"])
    assert abs(first - session.origin.wall(records[0].started_ns) / 1e9) < 1e-6


def test_tshark_verbose_view(capture_file: Path) -> None:
    verbose = tshark("-r", str(capture_file), "-V", "-c", "2")
    for text in ("Encapsulation type: Wireshark Upper PDU export", "Protocol Name: iso7816",
                 "ISO 7816", "Instruction: Select file (0xa4)", "Direction: Outbound", "SELECT PPSE",
                 "Status Word SW1: Normal processing (0x90)", "Response to frame 1"):  # fmt: skip
        assert text in verbose, text
    assert "Malformed" not in verbose
