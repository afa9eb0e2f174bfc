"""ISO/IEC 14443-4 target state machine: unit tests and Hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card_emulation.isodep import (
    Activated,
    ApduReceived,
    Deselected,
    Ignore,
    IsoDepConfig,
    IsoDepTarget,
    IsoDepUsageError,
    Send,
    TargetState,
    WtxAcknowledged,
    fwt_seconds,
)

pytestmark = pytest.mark.timeout(60)

RATS_FSD256 = bytes.fromhex("E080")


def activated(config: IsoDepConfig | None = None, rats: bytes = RATS_FSD256) -> IsoDepTarget:
    target = IsoDepTarget(config)
    assert isinstance(target.receive(rats), Activated)
    return target


def sent(action: object) -> bytes:
    assert isinstance(action, Send), action
    return action.frame


# --- activation (§5) ---------------------------------------------------------------


def test_ats_announces_fsci_fwi_sfgi_no_cid_nad_and_historical_bytes() -> None:
    target = IsoDepTarget(IsoDepConfig(historical_bytes=b"HIST", fsci=8, fwi=7, sfgi=2))
    action = target.receive(RATS_FSD256)
    assert isinstance(action, Activated)
    assert action.frame == bytes.fromhex("09 78 00 72 00") + b"HIST"
    assert (action.fsd, action.cid) == (256, 0)
    assert target.state is TargetState.READY
    assert target.fwt_s == pytest.approx(fwt_seconds(7)) == pytest.approx(0.0387, rel=1e-2)


def test_rats_fsdi_maps_to_fsd_and_rfu_values_read_as_256() -> None:
    assert activated(rats=bytes.fromhex("E000")).fsd == 16
    assert activated(rats=bytes.fromhex("E050")).fsd == 64
    assert activated(rats=bytes.fromhex("E0F0")).fsd == 256


def test_ats_historical_bytes_truncated_to_fit_a_small_fsd() -> None:
    target = IsoDepTarget(IsoDepConfig(historical_bytes=bytes(range(40))))
    ats = sent(target.receive(bytes.fromhex("E000")))  # FSD 16: frame ≤ 14 bytes without EDC
    assert len(ats) == 14 and ats[0] == 14


@pytest.mark.parametrize("frame", ["", "E0", "E08000", "E08F", "0200", "C2"])
def test_idle_target_only_answers_a_well_formed_rats(frame: str) -> None:
    target = IsoDepTarget()
    assert isinstance(target.receive(bytes.fromhex(frame)), Ignore)
    assert target.state is TargetState.IDLE


def test_rats_repeated_before_any_block_is_answered_again() -> None:
    target = activated()
    assert isinstance(target.receive(RATS_FSD256), Activated)
    assert isinstance(target.receive(bytes.fromhex("0200A4")), ApduReceived)
    assert isinstance(target.receive(RATS_FSD256), Ignore)


def test_pps_only_first_and_only_106_kbit() -> None:
    target = activated()
    assert sent(target.receive(bytes.fromhex("D01100"))) == b"\xd0"
    assert isinstance(target.receive(bytes.fromhex("D01100")), Ignore)  # no longer first
    assert isinstance(activated().receive(bytes.fromhex("D0110A")), Ignore)  # 424 kbit/s not announced
    assert sent(activated().receive(bytes.fromhex("D001"))) == b"\xd0"
    assert isinstance(activated().receive(bytes.fromhex("D101")), Ignore)  # CID 1 ≠ 0


# --- I-blocks, numbering, chaining (§7.5) --------------------------------------------


def test_single_apdu_and_block_number_toggling() -> None:
    target = activated()
    for i in range(4):
        number = i & 1
        action = target.receive(bytes([0x02 | number]) + b"\x00\xb0\x00\x00")
        assert action == ApduReceived(b"\x00\xb0\x00\x00")
        assert target.state is TargetState.PROCESSING
        assert target.complete(b"\x90\x00") == bytes([0x02 | number]) + b"\x90\x00"
        assert target.state is TargetState.READY


def test_repeated_i_block_is_ignored_without_toggling() -> None:
    target = activated()
    target.receive(b"\x02\x01")
    target.complete(b"\x90\x00")
    assert isinstance(target.receive(b"\x02\x01"), Ignore)
    assert sent(target.receive(b"\xb2")) == b"\x02\x90\x00"  # R(NAK) same number: repeat


def test_command_chaining_acks_each_block_and_delivers_the_whole_apdu() -> None:
    target = activated()
    assert sent(target.receive(b"\x12AB")) == b"\xa2"
    assert sent(target.receive(b"\x13CD")) == b"\xa3"
    assert target.receive(b"\x02EF") == ApduReceived(b"ABCDEF")


def test_response_chaining_within_fsd() -> None:
    target = activated(rats=bytes.fromhex("E000"))  # FSD 16 → 13 INF bytes per block
    target.receive(b"\x02\x00")
    response = bytes(range(40))
    first = target.complete(response)
    assert first == b"\x12" + response[:13]
    assert target.state is TargetState.SENDING
    second = sent(target.receive(b"\xa3"))
    assert second == b"\x13" + response[13:26]
    assert sent(target.receive(b"\xa3")) == second  # R(ACK) same number: repeat
    third = sent(target.receive(b"\xa2"))
    assert third == b"\x12" + response[26:39]
    assert sent(target.receive(b"\xa3")) == b"\x03" + response[39:]
    assert target.state is TargetState.READY


def test_link_frame_limit_caps_blocks_below_fsd() -> None:
    target = activated(IsoDepConfig(max_frame_size=20))
    target.receive(b"\x02\x00")
    assert len(target.complete(bytes(100))) == 20


# --- R-blocks (§7.5.4) -------------------------------------------------------------------


def test_r_nak_with_other_number_is_answered_with_r_ack_presence_check() -> None:
    target = activated()
    assert sent(target.receive(b"\xb2")) == b"\xa3"  # before any I-block: PICC number 1
    target.receive(b"\x02\x00")
    target.complete(b"\x90\x00")
    assert sent(target.receive(b"\xb3")) == b"\xa2"  # nfcpy's presence check


def test_r_ack_while_not_chaining_and_r_blocks_with_inf_are_ignored() -> None:
    target = activated()
    assert isinstance(target.receive(b"\xa2"), Ignore)
    assert isinstance(target.receive(b"\xb2\x00"), Ignore)


def test_lost_r_ack_during_command_chaining_is_repeated() -> None:
    target = activated()
    target.receive(b"\x12AB")
    assert sent(target.receive(b"\xb2")) == b"\xa2"


# --- S-blocks: WTX (§7.3) and DESELECT (§8) ---------------------------------------------


def test_wtx_request_response_then_complete() -> None:
    target = activated()
    target.receive(b"\x02\x00")
    assert target.request_wtx(0) == b"\xf2\x01"  # clamped to 1..59
    with pytest.raises(IsoDepUsageError):
        target.request_wtx(1)  # one S(WTX) at a time
    target = activated()
    target.receive(b"\x02\x00")
    assert target.request_wtx(3) == b"\xf2\x03"
    with pytest.raises(IsoDepUsageError):
        target.complete(b"\x90\x00")  # must wait for the reader's S(WTX) response
    assert sent(target.receive(b"\xb2")) == b"\xf2\x03"  # lost: repeated on R(NAK)
    assert isinstance(target.receive(b"\xf2\x04"), Ignore)  # wrong WTXM
    assert target.receive(b"\xf2\x03") == WtxAcknowledged(3)
    assert target.complete(b"\x90\x00") == b"\x02\x90\x00"


def test_wtx_multiplier_is_clamped_to_fwt_max() -> None:
    target = activated(IsoDepConfig(fwi=12))
    target.receive(b"\x02\x00")
    assert target.max_wtxm == 4
    assert target.request_wtx(59) == b"\xf2\x04"


def test_usage_errors() -> None:
    target = activated()
    with pytest.raises(IsoDepUsageError):
        target.complete(b"\x90\x00")
    with pytest.raises(IsoDepUsageError):
        target.request_wtx(1)


def test_deselect_halts_until_reset() -> None:
    target = activated()
    target.receive(b"\x02\x00")
    target.complete(b"\x90\x00")
    action = target.receive(b"\xc2")
    assert isinstance(action, Deselected) and action.frame == b"\xc2"
    assert target.state is TargetState.HALTED
    assert isinstance(target.receive(RATS_FSD256), Ignore)
    target.reset()
    assert isinstance(target.receive(RATS_FSD256), Activated)
    assert target.receive(b"\x02\x01") == ApduReceived(b"\x01")  # numbering restarted


def test_deselect_while_processing_drops_the_apdu() -> None:
    target = activated()
    target.receive(b"\x02\x00")
    assert isinstance(target.receive(b"\xc2"), Deselected)
    with pytest.raises(IsoDepUsageError):
        target.complete(b"\x90\x00")


@pytest.mark.parametrize(
    "frame",
    ["0A0000", "06000000", "2200", "4200", "AA", "BA", "CA", "C3", "E2", "F203", "C200", "F0"],
)
def test_cid_nad_reserved_bits_and_unknown_s_blocks_are_ignored(frame: str) -> None:
    target = activated()
    assert isinstance(target.receive(b"\x02\x00\x01"), ApduReceived)
    target.complete(b"\x90\x00")
    before = target.state
    assert isinstance(target.receive(bytes.fromhex(frame)), Ignore)
    assert target.state is before


def test_frame_longer_than_fsc_is_ignored() -> None:
    target = activated(IsoDepConfig(fsci=0))  # FSC 16
    assert isinstance(target.receive(b"\x02" + bytes(14)), Ignore)
    assert isinstance(target.receive(b"\x02" + bytes(13)), ApduReceived)


def test_config_validation() -> None:
    for bad in ({"fsci": 9}, {"fwi": 15}, {"sfgi": -1}, {"max_frame_size": 8}):
        with pytest.raises(ValueError):
            IsoDepConfig(**bad)  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------

_PCBS = [0x02, 0x03, 0x12, 0x13, 0xA2, 0xA3, 0xB2, 0xB3, 0xC2, 0xF2, 0xE0, 0xD0, 0x0A, 0xAA, 0xFA]
frames = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda pcb, tail: bytes([pcb]) + tail, st.sampled_from(_PCBS), st.binary(max_size=40)),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("frame"), frames),
        st.tuples(st.just("complete"), st.binary(max_size=700)),
        st.tuples(st.just("wtx"), st.integers(min_value=-5, max_value=80)),
        st.tuples(st.just("reset"), st.none()),
    ),
    max_size=60,
)
configs = st.builds(
    IsoDepConfig,
    historical_bytes=st.binary(max_size=30),
    fsci=st.integers(0, 8),
    fwi=st.integers(0, 14),
    max_frame_size=st.one_of(st.none(), st.integers(16, 300)),
    max_apdu_size=st.integers(1, 2000),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs, st.sampled_from([RATS_FSD256, b"\xe0\x00", b"\xe0\x30"]), operations)
def test_arbitrary_frame_sequences_never_crash_and_respect_frame_sizes(
    config: IsoDepConfig, rats: bytes, ops: list[tuple[str, object]]
) -> None:
    target = IsoDepTarget(config)
    target.receive(rats)
    for op, arg in ops:
        if op == "frame":
            action = target.receive(arg)  # type: ignore[arg-type]
            assert isinstance(action, (Send, Ignore, ApduReceived, WtxAcknowledged))
            frame = action.frame if isinstance(action, Send) else b""
        elif op == "complete" and target.state is TargetState.PROCESSING and target.wtx_pending is None:
            frame = target.complete(arg)  # type: ignore[arg-type]
        elif op == "wtx" and target.state is TargetState.PROCESSING and target.wtx_pending is None:
            frame = target.request_wtx(arg)  # type: ignore[arg-type]
            assert 1 <= frame[1] <= target.max_wtxm
        elif op == "reset":
            target.reset()
            target.receive(rats)
            continue
        else:
            continue
        if target.fsd:
            limit = target.fsd - 2 if config.max_frame_size is None else min(target.fsd - 2, config.max_frame_size)
            assert len(frame) <= limit


class ModelPcd:
    """A reader following the ISO/IEC 14443-4 §7.5 PCD rules over a lossy link."""

    def __init__(self, target: IsoDepTarget, fsc: int, card: "ModelCard", losses: list[bool]) -> None:
        self.target, self.card, self.losses = target, card, list(losses)
        self.miu = fsc - 3
        self.number = 0  # rule A
        self.steps = 0

    def _lost(self) -> bool:
        return self.losses.pop(0) if self.losses else False

    def _roundtrip(self, frame: bytes) -> bytes | None:
        """Send a frame; the PICC's answer, or None on a lost frame / silence (timeout)."""
        self.steps += 1
        assert self.steps < 5000, "no progress"
        if self._lost():
            return None
        answer = self.card.react(self.target.receive(frame))
        if answer is None or self._lost():
            return None
        return answer

    def exchange(self, apdu: bytes) -> bytes:
        chunks = [apdu[i : i + self.miu] for i in range(0, len(apdu), self.miu)] or [b""]
        answer: bytes | None = None
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1
            block = bytes([0x02 | (0x10 if more else 0) | self.number]) + chunk
            frame = block
            while True:
                answer = self._roundtrip(frame)
                if answer is None:
                    frame = bytes([0xB2 | self.number])  # rule 4: timeout → R(NAK)
                    continue
                pcb = answer[0]
                if pcb & 0xFE == 0xF2:  # S(WTX) request → S(WTX) response
                    frame = answer
                    continue
                if pcb & 0xF6 == 0xA2:  # R(ACK)
                    if pcb & 1 != self.number:
                        frame = block  # rule 6: repeat the last I-block
                        continue
                    assert more, "R(ACK) to the last block"
                    self.number ^= 1  # rule B
                    break
                assert pcb & 0xE2 == 0x02 and not more, f"unexpected {answer.hex()}"
                assert pcb & 1 == self.number, "I-block with the wrong block number"
                break
        assert answer is not None
        response = bytearray()
        while True:
            self.number ^= 1  # rule B: I-block with the current number received
            response += answer[1:]
            if not answer[0] & 0x10:
                return bytes(response)
            ack = bytes([0xA2 | self.number])
            while True:
                got = self._roundtrip(ack)
                if got is None:
                    continue  # rule 5: in PICC chaining, timeout → R(ACK) again
                assert got[0] & 0xE2 == 0x02 and got[0] & 1 == self.number, got.hex()
                answer = got
                break


class ModelCard:
    """Answers each APDU with a given response after a number of S(WTX) rounds."""

    def __init__(self, target: IsoDepTarget, wtx_rounds: int) -> None:
        self.target, self.wtx_rounds = target, wtx_rounds
        self.received: list[bytes] = []
        self.response = b""
        self._wtx_left = 0

    def react(self, action: object) -> bytes | None:
        if isinstance(action, ApduReceived):
            self.received.append(action.apdu)
            self._wtx_left = self.wtx_rounds
            return self._busy_or_done()
        if isinstance(action, WtxAcknowledged):
            return self._busy_or_done()
        if isinstance(action, Send):
            return action.frame
        assert isinstance(action, Ignore), action
        return None

    def _busy_or_done(self) -> bytes:
        if self._wtx_left:
            self._wtx_left -= 1
            return self.target.request_wtx(2)
        return self.target.complete(self.response)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fsdi=st.integers(0, 8),
    fsci=st.integers(0, 8),
    exchanges=st.lists(st.tuples(st.binary(max_size=600), st.binary(max_size=600)), min_size=1, max_size=4),
    wtx_rounds=st.integers(0, 2),
    losses=st.lists(st.booleans(), max_size=80),
)
def test_model_reader_over_a_lossy_link_delivers_every_apdu_and_response(
    fsdi: int, fsci: int, exchanges: list[tuple[bytes, bytes]], wtx_rounds: int, losses: list[bool]
) -> None:
    target = IsoDepTarget(IsoDepConfig(fsci=fsci))
    ats = sent(target.receive(bytes([0xE0, fsdi << 4])))
    fsc = (16, 24, 32, 40, 48, 64, 96, 128, 256)[ats[1] & 0x0F]
    card = ModelCard(target, wtx_rounds)
    pcd = ModelPcd(target, fsc, card, losses)
    for apdu, response in exchanges:
        card.response = response
        assert pcd.exchange(apdu) == response
        assert card.received[-1] == apdu


def test_edge_cases_busy_card_nothing_to_repeat_and_oversized_command() -> None:
    target = activated()
    assert isinstance(target.receive(b"\xb3"), Ignore)  # R(NAK) = current number, nothing sent yet
    target.receive(b"\x02\x00")
    assert isinstance(target.receive(b"\xb2"), Ignore)  # card busy, no S(WTX) outstanding
    small = activated(IsoDepConfig(max_apdu_size=4))
    assert sent(small.receive(b"\x12AB")) == b"\xa2"
    assert isinstance(small.receive(b"\x13CDE"), Ignore)  # 5 bytes > 4: chain dropped
    assert small.receive(b"\x03XY") == ApduReceived(b"XY")
