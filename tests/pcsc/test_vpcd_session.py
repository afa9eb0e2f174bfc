"""The vpcd frame handling at unit level, over a ``socketpair`` (no pcscd needed)."""

from __future__ import annotations

import socket
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card_emulation.vpcd import (
    MAX_PAYLOAD,
    VpcdBridge,
    VpcdCardFault,
    VpcdControl,
    VpcdFrameError,
    VpcdSession,
    encode_frame,
)
from protocol.errors import UsageError
from tests.support.simple_card import ATR_T1, TEST_AID, SimpleCard

SELECT = bytes([0x00, 0xA4, 0x04, 0x00, len(TEST_AID)]) + TEST_AID


class ExplodingCard(SimpleCard):
    """A card whose every method raises (a bug in an emulated card)."""

    def power_on(self) -> None:
        raise RuntimeError("power_on exploded")

    def power_off(self) -> None:
        raise RuntimeError("power_off exploded")

    def process(self, apdu: bytes) -> bytes:
        raise RuntimeError("process exploded")


class OddCard(SimpleCard):
    """Answers with ``answer`` whatever the command."""

    def __init__(self, answer: bytes) -> None:
        super().__init__()
        self.answer = answer

    def process(self, apdu: bytes) -> bytes:
        return self.answer


def frames(*payloads: bytes) -> bytes:
    return b"".join(encode_frame(p) for p in payloads)


def parse_frames(data: bytes) -> list[bytes]:
    """Split a byte stream written by the card into payloads; asserts well-formed framing."""
    out = []
    while data:
        assert len(data) >= 2, "trailing half length"
        size = int.from_bytes(data[:2], "big")
        assert len(data) >= 2 + size, "truncated frame"
        out.append(data[2 : 2 + size])
        data = data[2 + size :]
    return out


def run_session(card: SimpleCard, incoming: bytes) -> tuple[BaseException | None, list[bytes]]:
    """Feed ``incoming`` to a session, then end of stream; return (error, answers)."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(incoming)
        theirs.shutdown(socket.SHUT_WR)
        ours.settimeout(5.0)  # a hang would be a bug: make it fail, not block
        error: BaseException | None = None
        try:
            VpcdSession(ours, card).serve()
        except (VpcdFrameError, VpcdCardFault) as exc:
            error = exc
        ours.shutdown(socket.SHUT_WR)
        theirs.settimeout(5.0)
        written = b""
        while chunk := theirs.recv(65536):
            written += chunk
    return error, parse_frames(written)


def test_control_codes_drive_the_card() -> None:
    card = SimpleCard()
    ours, theirs = socket.socketpair()
    theirs.close()
    session = VpcdSession(ours, card)
    assert session.handle(bytes([VpcdControl.POWER_ON])) is None
    assert card.powered and card.power_ons == 1
    assert session.handle(bytes([VpcdControl.RESET])) is None
    assert card.powered and card.power_ons == 2
    assert session.handle(bytes([VpcdControl.GET_ATR])) == ATR_T1
    assert session.handle(bytes([VpcdControl.POWER_OFF])) is None
    assert not card.powered
    ours.close()


def test_a_scripted_exchange_is_answered_in_order() -> None:
    echo = bytes.fromhex("80EE0000030102 03 00".replace(" ", ""))
    error, answers = run_session(SimpleCard(), frames(b"\x01", b"\x04", SELECT, echo, b"\x00"))
    assert error is None
    assert answers[0] == ATR_T1
    assert answers[1].endswith(b"\x90\x00") and TEST_AID in answers[1]
    assert answers[2] == b"\x01\x02\x03\x90\x00"
    assert len(answers) == 3  # power on/off are not answered


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(b"", "empty payload"), (b"\x03", "unknown control code 03"), (b"\xff", "unknown control code FF")],
)
def test_bad_frames_raise_a_typed_error(payload: bytes, reason: str) -> None:
    error, answers = run_session(SimpleCard(), frames(b"\x04", payload, b"\x04"))
    assert isinstance(error, VpcdFrameError) and reason in str(error)
    assert answers == [ATR_T1]  # nothing after the bad frame is processed


def test_end_of_stream_inside_a_frame_is_a_frame_error() -> None:
    error, _ = run_session(SimpleCard(), b"\x00\x10\x00\xa4")
    assert isinstance(error, VpcdFrameError)


def test_card_exceptions_are_answered_6f00_and_do_not_stop_the_session() -> None:
    error, answers = run_session(ExplodingCard(), frames(b"\x01", SELECT, b"\x02", SELECT, b"\x00"))
    assert error is None
    assert answers == [b"\x6f\x00", b"\x6f\x00"]


@pytest.mark.parametrize("answer", [b"", b"\x90", bytes(MAX_PAYLOAD + 1)])
def test_impossible_card_answers_become_6f00(answer: bytes) -> None:
    error, answers = run_session(OddCard(answer), frames(SELECT))
    assert error is None and answers == [b"\x6f\x00"]


def test_a_card_without_a_valid_atr_ends_the_session() -> None:
    class NoAtr(SimpleCard):
        @property
        def atr(self) -> bytes:
            return b"\x3b"

    error, _ = run_session(NoAtr(), frames(b"\x04"))
    assert isinstance(error, VpcdCardFault)


def test_encode_frame_refuses_oversized_payloads() -> None:
    assert encode_frame(b"\x04") == b"\x00\x01\x04"
    with pytest.raises(UsageError):
        encode_frame(bytes(MAX_PAYLOAD + 1))


def test_the_bridge_connects_to_loopback_only() -> None:
    with pytest.raises(UsageError, match="loopback"):
        VpcdBridge(SimpleCard(), host="192.0.2.1")
    VpcdBridge(SimpleCard(), host="::1")
    VpcdBridge(SimpleCard(), host="localhost")


frame_strategy = st.one_of(
    st.binary(max_size=40).map(encode_frame),  # well-formed frame, any payload
    st.binary(max_size=8),  # raw garbage, including broken lengths
    st.sampled_from([b"\x00\x01\x04", b"\x00\x01\x01", b"\xff\xff", b"\x00\x00"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frame_strategy, max_size=12).map(b"".join))
def test_hostile_byte_streams_never_crash_or_hang(stream: bytes) -> None:
    card = SimpleCard()
    done = threading.Event()
    result: list[object] = []

    def target() -> None:
        try:
            result.append(run_session(card, stream))
        except BaseException as exc:  # reported below, on the test's thread
            result.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    assert done.wait(10), "session hung on hostile input"
    if isinstance(result[0], BaseException):
        raise result[0]
    outcome = result[0]
    assert isinstance(outcome, tuple)
    error, answers = outcome
    assert error is None or isinstance(error, VpcdFrameError)
    # Every answer the card wrote is a well-formed frame (checked by parse_frames),
    # and every APDU answer ends with a status word.
    for answer in answers:
        assert len(answer) >= 2
