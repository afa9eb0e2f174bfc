"""APDU wrappers (61xx, 6Cxx, tracing) and the emulated transport, in process."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import TransportError
from app.transports.base import Transport
from app.transports.emulated import EmulatedTransport
from app.transports.wrappers import (
    Exchange,
    GetResponseTransport,
    ResponseChainError,
    TracingTransport,
    wrap,
)
from protocol.apdu import CommandApdu
from tests.support.simple_card import TEST_AID, SimpleCard

DATA = bytes(range(256)) * 2 + b"tail"  # 516 bytes: three GET RESPONSE rounds of 256


def echo(data: bytes, p1: int = 0, p2: int = 0, le: int | None = 0) -> bytes:
    """``80 EE p1 p2 Lc data [Le]`` (short; ``le=None`` leaves Le out)."""
    tail = b"" if le is None else bytes([le])
    return bytes([0x80, 0xEE, p1, p2, len(data)]) + data + tail


def test_emulated_transport_powers_the_card_and_describes_it() -> None:
    card = SimpleCard(name="demo")
    transport = EmulatedTransport(card)
    assert isinstance(transport, Transport)
    assert card.powered and transport.description == "Emulated card (demo)"
    select = bytes([0x00, 0xA4, 0x04, 0x00, len(TEST_AID)]) + TEST_AID + b"\x00"
    assert transport.transmit(select).endswith(b"\x90\x00")
    transport.close()
    transport.close()
    assert not card.powered
    with pytest.raises(TransportError, match="closed"):
        transport.transmit(select)


def test_get_response_concatenates_all_rounds() -> None:
    card = SimpleCard()
    transport = GetResponseTransport(EmulatedTransport(card))
    big = DATA[:250]
    assert transport.transmit(echo(big, 0x61, 100)) == big + b"\x90\x00"
    gets = [c for c in card.commands if c[1] == 0xC0]
    assert gets == [bytes.fromhex("00C0000064")] * 2 + [bytes.fromhex("00C0000032")]


def test_sw_6100_means_256_more_bytes() -> None:
    card = SimpleCard()
    transport = GetResponseTransport(EmulatedTransport(card))
    data = DATA[:300]
    command = CommandApdu(0x80, 0xEE, 0x61, 0x00, data=data, extended=True).encode()
    assert transport.transmit(command) == data + b"\x90\x00"
    assert card.commands[1:] == [bytes.fromhex("00C0000000"), bytes.fromhex("00C000002C")]


def test_wrong_length_6cxx_is_resent_with_the_right_le() -> None:
    card = SimpleCard()
    transport = GetResponseTransport(EmulatedTransport(card))
    data = b"\x01\x02\x03"
    assert transport.transmit(echo(data, 0x6C, le=0x10)) == data + b"\x90\x00"
    assert card.commands == [echo(data, 0x6C, le=0x10), echo(data, 0x6C, le=3)]


def test_6cxx_for_a_command_without_le_adds_one() -> None:
    card = SimpleCard()
    transport = GetResponseTransport(EmulatedTransport(card))
    assert transport.transmit(echo(b"\xaa", 0x6C, le=None)) == b"\xaa\x90\x00"
    assert card.commands[-1] == echo(b"\xaa", 0x6C, le=1)


def test_a_card_that_chains_forever_is_cut_off() -> None:
    transport = GetResponseTransport(EmulatedTransport(SimpleCard()), max_get_response=20)
    with pytest.raises(ResponseChainError, match="61") as info:
        transport.transmit(echo(b"\x01", 0x66))
    assert isinstance(info.value, TransportError)


def test_a_card_that_always_says_wrong_length_is_cut_off() -> None:
    card = SimpleCard()
    transport = GetResponseTransport(EmulatedTransport(card), max_resend=3)
    with pytest.raises(ResponseChainError, match="6C"):
        transport.transmit(echo(b"\x01", 0x6D))
    assert len(card.commands) == 4  # the command and three re-sends


def test_unparsable_commands_pass_through() -> None:
    transport = GetResponseTransport(EmulatedTransport(SimpleCard()))
    assert transport.transmit(b"\x80") == b"\x67\x00"


def test_tracing_records_every_physical_exchange() -> None:
    trace: list[Exchange] = []
    transport = wrap(EmulatedTransport(SimpleCard()), trace)
    assert transport.transmit(echo(DATA[:20], 0x61, 8)) == DATA[:20] + b"\x90\x00"
    assert [e.command[1] for e in trace] == [0xEE, 0xC0, 0xC0, 0xC0]
    assert trace[-1].response == DATA[16:20] + b"\x90\x00"
    assert all(e.elapsed_ns >= 0 for e in trace)
    assert [e.started_ns for e in trace] == sorted(e.started_ns for e in trace)
    with pytest.raises(AttributeError):
        trace[0].command = b""  # type: ignore[misc]  # frozen


def test_tracing_with_a_callback_and_without_a_sink() -> None:
    seen: list[Exchange] = []
    TracingTransport(EmulatedTransport(SimpleCard()), seen.append).transmit(echo(b"\x01"))
    assert len(seen) == 1
    own = TracingTransport(EmulatedTransport(SimpleCard()))
    own.transmit(echo(b"\x02"))
    assert own.exchanges[0].response == b"\x02\x90\x00"
    assert own.description == "Emulated card (simple test card)"


def test_wrap_without_trace_and_close_reaches_the_card() -> None:
    card = SimpleCard()
    transport = wrap(EmulatedTransport(card))
    assert isinstance(transport, Transport)
    assert transport.transmit(echo(DATA[:250], 0x61, 0)) == DATA[:250] + b"\x90\x00"
    with transport:
        pass
    assert not card.powered


class HostileCard:
    """A transport whose answers are drawn by hypothesis: any SW1/SW2, any data."""

    description = "hostile"

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.calls = 0

    def transmit(self, apdu: bytes) -> bytes:
        answer = self.answers[self.calls % len(self.answers)]
        self.calls += 1
        return answer

    def close(self) -> None:
        pass


status = st.one_of(
    st.tuples(st.sampled_from([0x61, 0x6C, 0x90, 0x6A]), st.integers(0, 255)).map(bytes),
    st.binary(max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=4), status).map(b"".join), min_size=1, max_size=6))
def test_a_hostile_card_cannot_make_the_wrapper_spin(answers: list[bytes]) -> None:
    inner = HostileCard(answers)
    transport = GetResponseTransport(inner, max_get_response=16, max_resend=2)
    with contextlib.suppress(ResponseChainError):  # a typed error is a fine outcome
        transport.transmit(echo(b"\x01"))
    assert inner.calls <= (16 + 1) * (2 + 1)
