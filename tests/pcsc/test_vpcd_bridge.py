"""The vpcd bridge thread against a scripted stand-in for vpcd (a local TCP listener).

These do not need pcscd: the test plays vpcd's side of the protocol, including a
hostile one, and checks that the bridge reconnects, backs off and stops promptly.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from card_emulation.vpcd import VpcdBridge, VpcdSession, encode_frame, tune_socket
from tests.support.pcscd import free_port_pair
from tests.support.simple_card import ATR_T1, SimpleCard

TIMEOUT = 5.0


class FakeVpcd:
    """vpcd's side: listens on 127.0.0.1, accepts the card, speaks frames."""

    def __init__(self, port: int = 0) -> None:
        self.listener = socket.create_server(("127.0.0.1", port))
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]

    def accept(self) -> socket.socket:
        conn, _ = self.listener.accept()
        conn.settimeout(TIMEOUT)
        return conn

    @staticmethod
    def tell(conn: socket.socket, payload: bytes) -> None:
        """Send a frame that gets no answer (power on/off, reset)."""
        conn.sendall(encode_frame(payload))

    @staticmethod
    def ask(conn: socket.socket, payload: bytes) -> bytes:
        conn.sendall(encode_frame(payload))
        head = recv_exact(conn, 2)
        return recv_exact(conn, int.from_bytes(head, "big"))

    def close(self) -> None:
        self.listener.close()

    def __enter__(self) -> FakeVpcd:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


@pytest.fixture
def fake() -> Iterator[FakeVpcd]:
    server = FakeVpcd()
    yield server
    server.close()


@pytest.fixture
def bridge(fake: FakeVpcd) -> Iterator[VpcdBridge]:
    b = VpcdBridge(SimpleCard(), port=fake.port, retry_initial=0.01, retry_max=0.1)
    b.start()
    yield b
    b.stop()


def test_exchange_and_socket_options(fake: FakeVpcd, bridge: VpcdBridge) -> None:
    conn = fake.accept()
    with conn:
        assert bridge.wait_connected(TIMEOUT)
        fake.tell(conn, b"\x01")  # power on (no answer) ...
        assert fake.ask(conn, b"\x04") == ATR_T1  # ... then the ATR
        assert fake.ask(conn, bytes.fromhex("80EE000002CAFE00")) == bytes.fromhex("CAFE9000")
        card_socket = bridge._sock  # the bridge's own socket, idle in recv() now
        assert card_socket is not None
        assert card_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        # QUICKACK is re-armed before every recv(): once the bridge thread is back in
        # recv() it reads 1 (the kernel clears it when the card sends its answer).
        deadline = time.monotonic() + TIMEOUT
        while card_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) != 1:
            assert time.monotonic() < deadline, "TCP_QUICKACK not re-armed"
            time.sleep(0.001)


def test_tune_socket_sets_nodelay_and_quickack() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname()) as client:
        tune_socket(client)
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1
    a, b = socket.socketpair()
    with a, b:
        tune_socket(a)  # not TCP: silently nothing to do
        VpcdSession(a, SimpleCard())


def test_retries_until_vpcd_listens() -> None:
    port = free_port_pair()
    bridge = VpcdBridge(SimpleCard(), port=port, retry_initial=0.01, retry_max=0.05)
    bridge.start()
    try:
        assert not bridge.wait_connected(0.2)
        assert bridge.last_error and "cannot connect" in bridge.last_error
        server = FakeVpcd(port)  # "pcscd starts now"
        with server, server.accept() as conn:
            assert bridge.wait_connected(TIMEOUT)
            assert server.ask(conn, b"\x04") == ATR_T1
    finally:
        bridge.stop()


@pytest.mark.parametrize("garbage", [b"\x00\x00", b"\x00\x01\x07", b"\x00\x05\x01"])
def test_garbage_drops_the_connection_and_the_bridge_reconnects(
    fake: FakeVpcd, bridge: VpcdBridge, garbage: bytes
) -> None:
    first = fake.accept()
    with first:
        first.sendall(garbage)
        if garbage == b"\x00\x05\x01":  # a frame cut short: the peer hangs up mid-frame
            first.shutdown(socket.SHUT_WR)
        assert first.recv(16) == b""  # the bridge hung up
    with fake.accept() as second:
        assert fake.ask(second, b"\x04") == ATR_T1
        assert bridge.connections == 2
        assert bridge.last_error


def test_remove_closes_the_connection_and_insert_reconnects(fake: FakeVpcd, bridge: VpcdBridge) -> None:
    with fake.accept() as conn:
        assert bridge.wait_connected(TIMEOUT)
        fake.tell(conn, b"\x01")
        assert fake.ask(conn, b"\x04") == ATR_T1  # the power on was handled
        bridge.remove()
        assert conn.recv(16) == b""  # "card removed"
        assert bridge.wait_disconnected(TIMEOUT)
        assert not bridge.card.powered  # type: ignore[attr-defined]
    assert not bridge.inserted
    bridge.insert()
    with fake.accept() as conn:
        assert bridge.wait_connected(TIMEOUT)
        assert fake.ask(conn, b"\x04") == ATR_T1


def test_stop_is_prompt_while_a_hostile_peer_stalls_mid_frame(fake: FakeVpcd, bridge: VpcdBridge) -> None:
    with fake.accept() as conn:
        conn.sendall(b"\xff\xff" + b"\x00" * 10)  # promises 65535 bytes, sends 10, stalls
        assert bridge.wait_connected(TIMEOUT)
        started = time.monotonic()
        bridge.stop()
        assert not bridge._thread.is_alive()  # type: ignore[union-attr]
        assert time.monotonic() - started < TIMEOUT


def test_stop_is_prompt_while_backing_off() -> None:
    bridge = VpcdBridge(SimpleCard(), port=free_port_pair(), retry_initial=5.0, retry_max=5.0)
    bridge.start()
    deadline = time.monotonic() + TIMEOUT
    while bridge.last_error is None and time.monotonic() < deadline:  # failed once: backing off
        time.sleep(0.005)
    assert bridge.last_error
    started = time.monotonic()
    bridge.stop()
    assert time.monotonic() - started < 2.0
