"""End to end over nfcpy's udp driver: nfcpy's reader code (the transport) ↔ the bridge.

Both sides run in this process, in different threads, on 127.0.0.1.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from app.errors import CardRemovedError, ConfigurationError, NoCardError, TransportTimeoutError
from app.transports.base import Transport
from app.transports.nfc import NfcTransport
from card_emulation.isodep import IsoDepConfig
from card_emulation.nfc_bridge import NfcBridge, NfcBridgeError
from tests.nfc.support_card import SupportCard, echo, large, select, slow

pytestmark = [pytest.mark.nfc, pytest.mark.timeout(20)]

SW_OK = b"\x90\x00"


@pytest.fixture
def transport(bridge: NfcBridge) -> Iterator[NfcTransport]:
    reader = NfcTransport(bridge.device_path, timeout_s=3.0, apdu_timeout_s=5.0)
    yield reader
    reader.close()


def wait_until(predicate, timeout: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_activation_and_select(bridge: NfcBridge, transport: NfcTransport, card: SupportCard) -> None:
    assert isinstance(transport, Transport)
    assert "Type4ATag" in transport.description and "08A1B2C3" in transport.description
    assert transport.uid == bytes.fromhex("08A1B2C3")
    response = transport.transmit(select())
    assert response.endswith(SW_OK) and card.aid in response
    assert transport.transmit(select(b"\xa0\x00\x00\x00\x03")) == b"\x6a\x82"
    assert bridge.stats.activations == 1 and card.power_ons == 1


def test_median_apdu_time(transport: NfcTransport) -> None:
    transport.transmit(select())
    times = []
    for i in range(300):
        start = time.perf_counter()
        assert transport.transmit(echo(bytes([i & 0xFF]) * 8)) == bytes([i & 0xFF]) * 8 + SW_OK
        times.append(time.perf_counter() - start)
    print(f"\nmedian per-APDU time over nfcpy udp: {statistics.median(times) * 1e6:.0f} µs")


@pytest.mark.parametrize("length", [254, 600, 4000])
def test_command_chaining_of_a_long_apdu(transport: NfcTransport, bridge: NfcBridge, length: int) -> None:
    transport.transmit(select())
    data = bytes((i * 7) & 0xFF for i in range(length))
    assert transport.transmit(echo(data)) == data + SW_OK  # > FSC: chained by nfcpy's initiator


@pytest.mark.parametrize("length", [252, 253, 1000, 5000])
def test_response_chaining_of_a_large_response(transport: NfcTransport, length: int) -> None:
    transport.transmit(select())
    assert transport.transmit(large(length)) == bytes(i & 0xFF for i in range(length)) + SW_OK


def test_wtx_keeps_a_slow_card_in_time(transport: NfcTransport, bridge: NfcBridge) -> None:
    transport.transmit(select())
    start = time.monotonic()
    assert transport.transmit(slow(500)) == SW_OK  # FWT ≈ 77 ms: needs several S(WTX)
    assert time.monotonic() - start >= 0.5
    assert bridge.stats.wtx_requests >= 2
    assert transport.transmit(echo(b"after")) == b"after" + SW_OK


def test_a_card_asking_for_time_without_end_hits_the_apdu_deadline(bridge: NfcBridge, card: SupportCard) -> None:
    reader = NfcTransport(bridge.device_path, timeout_s=3.0, apdu_timeout_s=0.4)
    try:
        reader.transmit(select())
        start = time.monotonic()
        with pytest.raises(TransportTimeoutError):
            reader.transmit(slow(1500))
        assert time.monotonic() - start < 1.0
        with pytest.raises(CardRemovedError):
            reader.transmit(select())  # the session is gone until reactivate()
        reader.reactivate(timeout_s=5.0)
        assert reader.transmit(select()).endswith(SW_OK)
    finally:
        reader.close()


def test_without_wtx_a_slow_card_times_out(card: SupportCard) -> None:
    with NfcBridge(card, wtx=False) as bridge:
        reader = NfcTransport(bridge.device_path, timeout_s=3.0)
        try:
            reader.transmit(select())
            with pytest.raises((TransportTimeoutError, CardRemovedError)):
                reader.transmit(slow(1200))
        finally:
            reader.close()


def test_deselect_and_reactivation(transport: NfcTransport, bridge: NfcBridge, card: SupportCard) -> None:
    transport.transmit(select())
    transport.reactivate(timeout_s=3.0)
    assert wait_until(lambda: bridge.stats.activations == 2 and bridge.stats.deselects == 1)
    assert transport.transmit(echo(b"x")) == b"\x69\x85"  # a new session: nothing selected
    assert transport.transmit(select()).endswith(SW_OK)
    assert card.power_ons == 2 and card.power_offs == 1


def test_field_off_from_the_reader_ends_the_session(bridge: NfcBridge, card: SupportCard) -> None:
    reader = NfcTransport(bridge.device_path, timeout_s=3.0)
    reader.transmit(select())
    reader.close()  # nfcpy's udp reader sends RFOFF
    assert wait_until(lambda: card.power_offs == 1)
    again = NfcTransport(bridge.device_path, timeout_s=3.0)
    try:
        assert again.transmit(select()).endswith(SW_OK)
        assert bridge.stats.activations == 2
    finally:
        again.close()


@pytest.mark.parametrize("notify_reader", [True, False])
def test_card_removed_mid_exchange(transport: NfcTransport, bridge: NfcBridge, notify_reader: bool) -> None:
    transport.transmit(select())
    timer = threading.Timer(0.3, lambda: bridge.remove(notify_reader=notify_reader))
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(CardRemovedError):
            transport.transmit(slow(1500))
        elapsed = time.monotonic() - start
    finally:
        timer.join()
    assert elapsed < 1.4  # long before the card would have answered
    with pytest.raises(CardRemovedError):
        transport.transmit(select())
    bridge.present()
    transport.reactivate(timeout_s=8.0)
    assert transport.transmit(select()).endswith(SW_OK)


def test_no_card_in_the_field(bridge: NfcBridge) -> None:
    bridge.remove()
    start = time.monotonic()
    with pytest.raises(NoCardError):
        NfcTransport(bridge.device_path, timeout_s=0.5)
    assert time.monotonic() - start < 0.5 + 1.5  # + one udp poll cycle (nfcpy waits 1 s)
    bridge.present()
    reader = NfcTransport(bridge.device_path, timeout_s=3.0)
    reader.close()


def test_no_bridge_at_all() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(NoCardError):
        NfcTransport(f"udp:127.0.0.1:{port}", timeout_s=0.3)
    assert time.monotonic() - start < 0.3 + 1.5


def test_bad_device_path() -> None:
    with pytest.raises(ConfigurationError):
        NfcTransport("bluetooth:1")


def test_bridge_survives_garbage_datagrams(bridge: NfcBridge) -> None:
    junk = [b"", b"garbage", b"106A", b"106A zz", b"106A 00", b"212F 0600ffff0100", b"106A e0", b"106A c2", b"106B 050010"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for datagram in junk:
            s.sendto(datagram, ("127.0.0.1", bridge.port))
    reader = NfcTransport(bridge.device_path, timeout_s=5.0)
    try:
        assert reader.transmit(select()).endswith(SW_OK)
    finally:
        reader.close()


def test_bridge_answers_iso_dep_recovery_blocks_over_the_wire(transport: NfcTransport) -> None:
    """Raw nfcpy frames: R(NAK) repeats the last block, another R(NAK) gets R(ACK), junk is ignored."""
    transport.transmit(select())  # block 0 done; the card's current block number is 0
    clf = transport._clf  # nfcpy's frontend, activated on the card
    assert bytes(clf.exchange(bytearray(b"\xb2"), 0.5)).startswith(b"\x02\x6f")  # repeat last I-block
    assert bytes(clf.exchange(bytearray(b"\xb3"), 0.5)) == b"\xa2"  # presence check
    import nfc.clf

    for junk in (b"\x0a\x00", b"\x22\x00", b"\xc3", b"\x02" + bytes(300)):
        with pytest.raises(nfc.clf.TimeoutError):
            clf.exchange(bytearray(junk), 0.1)  # ignored: the card stays silent
    assert transport.transmit(echo(b"still fine")) == b"still fine" + SW_OK


def test_stop_is_prompt_and_releases_the_port(card: SupportCard) -> None:
    bridge = NfcBridge(card)
    bridge.start()
    reader = NfcTransport(bridge.device_path, timeout_s=3.0)
    port = bridge.port
    start = time.monotonic()
    bridge.stop()
    assert time.monotonic() - start < 1.0
    reader.close()
    again = NfcBridge(card, port=port)
    again.start()
    again.stop()
    busy = NfcBridge(card, port=port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        with pytest.raises(NfcBridgeError):
            busy.start()


def test_small_frames_and_seven_byte_uid(card: SupportCard) -> None:
    uid = bytes.fromhex("04112233445566")
    with NfcBridge(card, uid=uid, config=IsoDepConfig(fsci=2, fwi=6)) as bridge:  # FSC 32
        reader = NfcTransport(bridge.device_path, timeout_s=3.0)
        try:
            assert reader.uid == uid
            reader.transmit(select())
            data = bytes(range(200))
            assert reader.transmit(echo(data)) == data + SW_OK
            assert reader.transmit(slow(150)) == SW_OK
        finally:
            reader.close()
