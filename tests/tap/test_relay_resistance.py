"""Relay resistance (EMV Contactless Book C-2 §5.3, model): timed when offered, skipped gracefully otherwise.

The shipped emulated cards do not offer it (AIP byte 2 bit 1 clear) and do not
implement EXCHANGE RELAY RESISTANCE DATA (they answer 6D00). The tests use a
test-only variant of the Mastercard profile whose (signed) AIP sets the bit, and a
thin wrapper that implements the command in front of the real card.
"""

from __future__ import annotations

from card_emulation.applet import EmvCard
from protocol import tlv
from protocol.crypto.primitives import ec_public_bytes
from protocol.tap.assertion import Assertion
from protocol.tap.events import ApduExchanged, CheckCompleted, CheckStatus
from tests.tap.support import DEVICE_KEY, RELAY_PROFILE, make_card, new_session, pump

ERRD = b"\x80\xea"
DEVICE_ENTROPY = bytes.fromhex("0BADF00D")
MAX_TIME = 20  # x 100 us = 2 ms


class RelayResistantCard:
    """The real card plus EXCHANGE RELAY RESISTANCE DATA (format 1 answer, times in 100 us)."""

    def __init__(self, card: EmvCard) -> None:
        self.card = card
        self.entropy: bytes | None = None

    @property
    def atr(self) -> bytes:
        return self.card.atr

    @property
    def historical_bytes(self) -> bytes:
        return self.card.historical_bytes

    def power_on(self) -> None:
        self.card.power_on()

    def power_off(self) -> None:
        self.card.power_off()

    def process(self, apdu: bytes) -> bytes:
        if apdu[:2] == ERRD:
            self.entropy = apdu[5:9]
            value = DEVICE_ENTROPY + (5).to_bytes(2, "big") + MAX_TIME.to_bytes(2, "big") + (3).to_bytes(2, "big")
            return tlv.encode(0x80, value) + b"\x90\x00"
        return self.card.process(apdu)


def _check(session) -> CheckCompleted:
    events = session.drain_events()
    return next(e for e in events if isinstance(e, CheckCompleted) and e.check == "relay resistance time")


def test_measured_time_is_signed_into_the_assertion() -> None:
    card = RelayResistantCard(make_card(RELAY_PROFILE))
    session = new_session()
    pump(session, card, elapsed_ns=1_234_567)
    assertion = session.assertion
    assert assertion is not None
    relay = assertion.evidence.relay_resistance
    assert relay is not None
    assert relay.terminal_entropy == card.entropy == bytes(range(0xA0, 0xA4))
    assert relay.measured_us == 1_234
    assert relay.response[2:6] == DEVICE_ENTROPY
    assertion.verify_signature(ec_public_bytes(DEVICE_KEY))
    assert Assertion.from_bytes(assertion.to_bytes()).evidence.relay_resistance == relay
    check = _check(session)
    assert check.status is CheckStatus.PASSED and "1234 µs" in check.detail


def test_a_slow_round_trip_fails_the_phone_check_but_is_still_reported() -> None:
    session = new_session()
    pump(session, RelayResistantCard(make_card(RELAY_PROFILE)), elapsed_ns=45_000_000)  # a 45 ms relay
    assert session.assertion is not None
    assert session.assertion.evidence.relay_resistance is not None
    assert session.assertion.evidence.relay_resistance.measured_us == 45_000
    assert _check(session).status is CheckStatus.FAILED


def test_card_that_does_not_implement_the_command_is_skipped() -> None:
    session = new_session()
    pump(session, make_card(RELAY_PROFILE))  # AIP says yes, the applet answers 6D00
    assert session.assertion is not None and session.assertion.evidence.relay_resistance is None
    events = session.drain_events()
    exchange = next(e for e in events if isinstance(e, ApduExchanged) and e.command.startswith(ERRD))
    assert exchange.sw == 0x6D00
    check = next(e for e in events if isinstance(e, CheckCompleted) and e.check == "relay resistance time")
    assert check.status is CheckStatus.SKIPPED and "6D00" in check.detail


def test_switched_off_or_not_offered_sends_nothing() -> None:
    for name, kwargs in ((RELAY_PROFILE, {"relay_resistance": False}), ("mastercard-cvn16-cda", {})):
        session = new_session(**kwargs)
        sent = pump(session, RelayResistantCard(make_card(name)))
        assert not any(command.startswith(ERRD) for command in sent)
        assert session.assertion is not None and session.assertion.evidence.relay_resistance is None
        assert _check(session).status is CheckStatus.SKIPPED


def test_untimed_exchange_records_no_measurement() -> None:
    session = new_session()
    pump(session, RelayResistantCard(make_card(RELAY_PROFILE)), elapsed_ns=None)
    assert session.assertion is not None and session.assertion.evidence.relay_resistance is None
    assert _check(session).status is CheckStatus.NOT_CHECKABLE
