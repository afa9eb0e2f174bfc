"""End to end through the real stack: pyscard → private pcscd → vpcd → bridge → card.

Slot 0 holds a T=1 test card and slot 1 a T=0 one for the whole module (inserting
a card costs a pcscd poll, ~0.4 s), so these tests must not remove them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest

from app.errors import ReaderBusyError, ReaderNotFoundError, TransportError, TransportTimeoutError
from app.transports import pcsc
from app.transports.base import Transport
from app.transports.pcsc import PcscTransport
from app.transports.wrappers import Exchange, wrap
from card_emulation.vpcd import VpcdBridge
from protocol.apdu import CommandApdu
from tests.pcsc.helpers import CARD_TIMEOUT
from tests.support.pcscd import PrivatePcscd
from tests.support.simple_card import ATR_T0, ATR_T1, TEST_AID, SimpleCard

pytestmark = pytest.mark.pcsc

SELECT = bytes([0x00, 0xA4, 0x04, 0x00, len(TEST_AID)]) + TEST_AID + b"\x00"


@pytest.fixture(scope="module")
def slots(pcsc_stack: PrivatePcscd) -> Iterator[tuple[SimpleCard, SimpleCard]]:
    """A T=1 card in slot 0 and a T=0 card in slot 1, for the whole module."""
    t1, t0 = SimpleCard(), SimpleCard(atr=ATR_T0, name="T=0 card")
    bridges = [VpcdBridge(t1, port=pcsc_stack.port), VpcdBridge(t0, port=pcsc_stack.port + 1)]
    for bridge in bridges:
        bridge.start()
    try:
        for reader in pcsc_stack.reader_names:
            pcsc.wait_for_card(reader, CARD_TIMEOUT)
        yield t1, t0
    finally:
        for bridge in bridges:
            bridge.stop()
        for reader in pcsc_stack.reader_names:
            pcsc.wait_for_removal(reader, CARD_TIMEOUT)


@pytest.fixture
def reader(pcsc_stack: PrivatePcscd, slots: tuple[SimpleCard, SimpleCard]) -> str:
    return pcsc_stack.reader_name


def test_list_readers_shows_the_private_vpcd_slots(pcsc_stack: PrivatePcscd) -> None:
    assert pcsc.list_readers() == ["Virtual PCD 00 00", "Virtual PCD 00 01"]


def test_connect_select_and_echo(reader: str, slots: tuple[SimpleCard, SimpleCard]) -> None:
    with PcscTransport(reader) as transport:
        assert isinstance(transport, Transport)
        assert transport.atr == ATR_T1
        assert transport.protocol == "T1"
        assert transport.description == "PC/SC reader Virtual PCD 00 00 (T=1)"
        response = transport.transmit(SELECT)
        assert response[-2:] == b"\x90\x00" and TEST_AID in response
        assert transport.transmit(bytes.fromhex("80EE000003A1B2C300")) == bytes.fromhex("A1B2C39000")
    assert slots[0].selected == TEST_AID


def test_reader_names_may_be_abbreviated_when_unique(pcsc_stack: PrivatePcscd, reader: str) -> None:
    with PcscTransport("pcd 00 00") as transport:
        assert transport.reader == reader
    with pytest.raises(ReaderNotFoundError, match="ambiguous"):
        PcscTransport("Virtual PCD")


def test_t0_and_t1_as_the_card_offers(pcsc_stack: PrivatePcscd, slots: tuple[SimpleCard, SimpleCard]) -> None:
    slot1 = pcsc_stack.reader_names[1]
    with PcscTransport(slot1) as transport:
        assert (transport.protocol, transport.atr) == ("T0", ATR_T0)
        assert transport.transmit(bytes.fromhex("80EE0000020102")) == bytes.fromhex("01029000")
    with PcscTransport(slot1, protocol="T0") as transport:
        assert transport.protocol == "T0"
    with pytest.raises(TransportError, match="protocol"):
        PcscTransport(slot1, protocol="T1")
    with PcscTransport(pcsc_stack.reader_name, protocol="T1") as transport:
        assert transport.protocol == "T1"
    with pytest.raises(ValueError):
        PcscTransport(pcsc_stack.reader_name, protocol="T=2")


def test_wrappers_resolve_61xx_and_6cxx_through_pcsc(
    reader: str, slots: tuple[SimpleCard, SimpleCard]
) -> None:
    trace: list[Exchange] = []
    data = bytes(range(200))
    with wrap(PcscTransport(reader), trace) as transport:
        command = bytes([0x80, 0xEE, 0x61, 64, len(data)]) + data
        assert transport.transmit(command) == data + b"\x90\x00"
        assert [e.command[1] for e in trace] == [0xEE] + [0xC0] * 4
        assert transport.transmit(bytes.fromhex("80EE6C0002ABCD05")) == bytes.fromhex("ABCD9000")
        assert trace[-1].command == bytes.fromhex("80EE6C0002ABCD02")


def test_extended_length_apdus_pass_through(reader: str) -> None:
    data = bytes(range(256)) * 8  # 2048 bytes: extended Lc and Le
    command = CommandApdu(0x80, 0xEE, 0x00, 0x00, data=data, le=65536, extended=True).encode()
    with PcscTransport(reader) as transport:
        assert transport.transmit(command) == data + b"\x90\x00"


def test_unknown_reader_lists_the_readers_that_exist(pcsc_stack: PrivatePcscd) -> None:
    with pytest.raises(ReaderNotFoundError) as info:
        PcscTransport("No Such Reader 99")
    message = str(info.value)
    assert "No Such Reader 99" in message and "Virtual PCD 00 00" in message


def test_sharing(reader: str) -> None:
    with PcscTransport(reader) as first, PcscTransport(reader) as second:
        assert first.transmit(bytes.fromhex("80EE00000101")) == b"\x01\x90\x00"
        assert second.transmit(bytes.fromhex("80EE00000102")) == b"\x02\x90\x00"
        with pytest.raises(ReaderBusyError, match="exclusively"):
            PcscTransport(reader, exclusive=True)
    with PcscTransport(reader, exclusive=True) as alone:
        with pytest.raises(ReaderBusyError):
            PcscTransport(reader)
        assert alone.transmit(bytes.fromhex("80EE00000103")) == b"\x03\x90\x00"


def test_close_is_idempotent_and_transmit_after_close_fails(reader: str) -> None:
    transport = PcscTransport(reader)
    transport.close()
    transport.close()
    with pytest.raises(TransportError, match="closed"):
        transport.transmit(SELECT)


def test_round_trip_time(reader: str) -> None:
    """Prints the median per-APDU time (measured here, asserted in benchmarks only)."""
    command = bytes.fromhex("80EE0000080102030405060708 00".replace(" ", ""))
    times = []
    with PcscTransport(reader) as transport:
        for _ in range(200):
            started = time.perf_counter_ns()
            transport.transmit(command)
            times.append(time.perf_counter_ns() - started)
    median_us = statistics.median(times) / 1000
    print(f"\nmedian APDU round trip pyscard→pcscd→vpcd→card: {median_us:.0f} µs")


def test_waiting_on_a_full_slot(pcsc_stack: PrivatePcscd, slots: tuple[SimpleCard, SimpleCard]) -> None:
    slot1 = pcsc_stack.reader_names[1]
    assert pcsc.wait_for_card(slot1, 0.1) == ATR_T0
    with pytest.raises(TransportTimeoutError, match="still in"):
        pcsc.wait_for_removal(slot1, 0.1)
