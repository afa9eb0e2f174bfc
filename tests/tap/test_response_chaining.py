"""61xx and 6Cxx answers are resolved by the session itself (ISO/IEC 7816-4 §5.1.3).

The card is the real emulated card behind a thin wrapper that behaves like a T=0
card: it answers ``61xx`` first and hands out the data in pieces through GET
RESPONSE, or asks for the exact Le with ``6Cxx``. The tap must end exactly as it
does without the wrapper.
"""

from __future__ import annotations

from card_emulation.applet import EmvCard
from protocol.apdu import CommandApdu
from protocol.tap.events import ApduExchanged, SessionFailed
from tests.tap.support import make_card, new_session, pump


class ChainingCard:
    """Wraps a real card: every answer with data comes as ``61xx`` + GET RESPONSE chunks."""

    def __init__(self, card: EmvCard, chunk: int = 100) -> None:
        self.card = card
        self.chunk = chunk
        self.pending = b""
        self.get_responses = 0

    def process(self, apdu: bytes) -> bytes:
        if apdu[:2] == b"\x00\xc0":
            self.get_responses += 1
            part, self.pending = self.pending[: self.chunk], self.pending[self.chunk :]
            return part + self._sw_after()
        answer = self.card.process(apdu)
        data, sw = answer[:-2], answer[-2:]
        if not data:
            return answer
        self.pending, self.final_sw = data, sw
        return bytes([0x61, min(len(data), 0xFF) if len(data) < 256 else 0x00])

    def _sw_after(self) -> bytes:
        if self.pending:
            return bytes([0x61, min(len(self.pending), 0xFF)])
        return self.final_sw


class WrongLeCard:
    """Wraps a real card: READ RECORD with Le = 00 is answered ``6Cxx`` (the exact length)."""

    def __init__(self, card: EmvCard) -> None:
        self.card = card
        self.resends = 0

    def process(self, apdu: bytes) -> bytes:
        command = CommandApdu.parse(apdu)
        if command.ins == 0xB2 and command.le == 256:
            answer = self.card.process(apdu)  # READ RECORD changes nothing on the card
            return bytes([0x6C, len(answer) - 2])
        if command.ins == 0xB2:
            self.resends += 1
        return self.card.process(apdu)


def _reference(name: str):
    session = new_session()
    pump(session, make_card(name))
    return session.assertion


def test_61xx_answers_are_fetched_with_get_response() -> None:
    for name in ("visa-cvn18-dda", "mastercard-cvn16-cda"):
        wrapper = ChainingCard(make_card(name), chunk=60)
        session = new_session()
        pump(session, wrapper)
        assert session.failure is None, session.failure
        reference = _reference(name)
        assert session.assertion is not None and reference is not None
        assert session.assertion.evidence.records == reference.evidence.records
        assert session.assertion.evidence.gpo_response == reference.evidence.gpo_response
        names = [e.command_name for e in session.drain_events() if isinstance(e, ApduExchanged)]
        assert wrapper.get_responses >= 10
        assert sum(n.startswith("GET RESPONSE") for n in names) == wrapper.get_responses


def test_6cxx_answers_are_resent_with_the_right_le() -> None:
    wrapper = WrongLeCard(make_card("legacy-sda"))
    session = new_session()
    pump(session, wrapper)
    assert session.assertion is not None
    assert wrapper.resends == len(session.assertion.evidence.records)
    assert session.assertion.evidence.records == _reference("legacy-sda").evidence.records  # type: ignore[union-attr]
    names = [e.command_name for e in session.drain_events() if isinstance(e, ApduExchanged)]
    assert "READ RECORD SFI 1 #1 (again, with the Le the card asked for)" in names


def test_a_card_that_chains_forever_fails_cleanly() -> None:
    session = new_session()
    pump(session, lambda _apdu: b"\x61\x10")
    assert session.failure is not None and session.failure.error_type == "ResponseChainError"
    assert isinstance(session.drain_events()[-1], SessionFailed)
