"""The sans-I/O 61xx / 6Cxx helper (ISO/IEC 7816-4 §5.1.3; EMV 4.4 Book 1 §9.3.1.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.apdu_exchange import ApduExchange, ResponseChainError, TransmissionKind
from protocol.errors import UsageError

READ_RECORD = bytes.fromhex("00B2010C00")
GPO = bytes.fromhex("80A8000002830000")


def test_plain_answer_is_done_at_once() -> None:
    exchange = ApduExchange(READ_RECORD)
    assert exchange.pending == READ_RECORD
    exchange.receive(bytes.fromhex("7003500141") + b"\x90\x00", 1_000)
    assert exchange.done and exchange.pending is None
    assert exchange.response == bytes.fromhex("70035001419000")
    assert [t.kind for t in exchange.transmissions] == [TransmissionKind.COMMAND]
    assert exchange.elapsed_ns == 1_000


def test_61xx_is_fetched_with_get_response_and_concatenated() -> None:
    exchange = ApduExchange(GPO)
    exchange.receive(bytes.fromhex("6104"), 10)
    assert exchange.pending == bytes.fromhex("00C0000004")
    exchange.receive(bytes.fromhex("7706") + bytes.fromhex("6104"), 20)  # partial data and more to come
    assert exchange.pending == bytes.fromhex("00C0000004")
    exchange.receive(bytes.fromhex("82021980") + b"\x90\x00", 30)
    assert exchange.response == bytes.fromhex("770682021980") + b"\x90\x00"
    assert [t.kind for t in exchange.transmissions] == [
        TransmissionKind.COMMAND, TransmissionKind.GET_RESPONSE, TransmissionKind.GET_RESPONSE,
    ]
    assert exchange.elapsed_ns == 60


def test_6cxx_resends_with_the_le_asked_for() -> None:
    exchange = ApduExchange(READ_RECORD)
    exchange.receive(bytes.fromhex("6C05"))
    assert exchange.pending == bytes.fromhex("00B2010C05")
    exchange.receive(bytes.fromhex("7003500141") + b"\x90\x00")
    assert exchange.response is not None and exchange.response.endswith(b"\x90\x00")
    assert exchange.transmissions[1].kind is TransmissionKind.RESEND
    assert exchange.elapsed_ns is None  # not measured


def test_6c00_means_256() -> None:
    exchange = ApduExchange(bytes.fromhex("00B2010C10"))
    exchange.receive(bytes.fromhex("6C00"))
    assert exchange.pending == bytes.fromhex("00B2010C00")


def test_6cxx_to_an_unparsable_command_is_returned_as_is() -> None:
    exchange = ApduExchange(b"\x00\xb2")
    exchange.receive(bytes.fromhex("6C05"))
    assert exchange.done and exchange.response == bytes.fromhex("6C05")


def test_silence_ends_the_exchange_without_earlier_data() -> None:
    exchange = ApduExchange(GPO)
    exchange.receive(bytes.fromhex("AABB6102"))
    exchange.receive(b"")
    assert exchange.done and exchange.response == b""


def test_endless_61xx_is_bounded() -> None:
    exchange = ApduExchange(GPO, max_get_response=3)
    with pytest.raises(ResponseChainError, match="61"):
        for _ in range(10):
            exchange.receive(bytes.fromhex("6101"))


def test_endless_6cxx_is_bounded() -> None:
    exchange = ApduExchange(READ_RECORD, max_resend=2)
    with pytest.raises(ResponseChainError, match="6C"):
        for _ in range(10):
            exchange.receive(bytes.fromhex("6C05"))


def test_misuse_is_a_usage_error() -> None:
    exchange = ApduExchange(READ_RECORD)
    exchange.receive(b"\x90\x00")
    with pytest.raises(UsageError):
        exchange.receive(b"\x90\x00")
    with pytest.raises(UsageError):
        ApduExchange("00B2010C00")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12), st.lists(st.binary(max_size=8), max_size=60))
def test_any_answers_end_within_the_bounds(command: bytes, answers: list[bytes]) -> None:
    exchange = ApduExchange(command, max_get_response=4, max_resend=2)
    rounds = 0
    try:
        for answer in answers:
            if exchange.done:
                break
            exchange.receive(answer)
            rounds += 1
    except ResponseChainError:
        return
    assert rounds <= 1 + 4 + 4 * 2 + 2 + 1
