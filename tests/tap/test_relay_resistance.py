"""Relay resistance (EMV Contactless Book C-2 §5.3, model): timed when offered, skipped gracefully otherwise.

The shipped Mastercard-like and AES cards offer it (AIP byte 2 bit 1) and answer
EXCHANGE RELAY RESISTANCE DATA; a test-only variant advertises it in its AIP but
answers 6D00, as a card with a wrong AIP would.
"""

from __future__ import annotations

from protocol.crypto.primitives import ec_public_bytes
from protocol.tap.assertion import Assertion
from protocol.tap.events import ApduExchanged, CheckCompleted, CheckStatus
from tests.tap.support import ADVERTISES_ONLY_PROFILE, DEVICE_KEY, RELAY_PROFILE, make_card, new_session, pump

ERRD = b"\x80\xea"
# The Mastercard profile announces min 0 µs, max 1500 µs, transmission 400 µs (units of 100 µs).
ANNOUNCED_TIMES = bytes.fromhex("0000" "000F" "0004")


def _check(session) -> CheckCompleted:
    events = session.drain_events()
    return next(e for e in events if isinstance(e, CheckCompleted) and e.check == "relay resistance time")


def test_measured_time_is_signed_into_the_assertion() -> None:
    session = new_session()
    sent = pump(session, make_card(RELAY_PROFILE), elapsed_ns=1_234_567)
    assertion = session.assertion
    assert assertion is not None
    relay = assertion.evidence.relay_resistance
    assert relay is not None
    errd = next(command for command in sent if command.startswith(ERRD))
    assert relay.terminal_entropy == errd[5:9] == bytes(range(0xA0, 0xA4))
    assert relay.measured_us == 1_234
    assert relay.response[:2] == b"\x80\x0a" and relay.response[6:] == ANNOUNCED_TIMES
    assertion.verify_signature(ec_public_bytes(DEVICE_KEY))
    assert Assertion.from_bytes(assertion.to_bytes()).evidence.relay_resistance == relay
    check = _check(session)
    # 1234 µs minus the announced 400 µs transmission is within 1500 µs (+ grace).
    assert check.status is CheckStatus.PASSED and "1234 µs" in check.detail


def test_relay_resistance_comes_right_after_gpo_as_in_book_c2() -> None:
    sent = pump(new_session(), make_card(RELAY_PROFILE), elapsed_ns=1_000)
    gpo = next(i for i, command in enumerate(sent) if command[:2] == b"\x80\xa8")
    assert sent[gpo + 1].startswith(ERRD)


def test_a_slow_round_trip_fails_the_phone_check_but_is_still_reported() -> None:
    session = new_session()
    pump(session, make_card(RELAY_PROFILE), elapsed_ns=45_000_000)  # a 45 ms relay
    assert session.assertion is not None
    assert session.assertion.evidence.relay_resistance is not None
    assert session.assertion.evidence.relay_resistance.measured_us == 45_000
    assert _check(session).status is CheckStatus.FAILED


def test_card_that_does_not_implement_the_command_is_skipped() -> None:
    session = new_session()
    pump(session, make_card(ADVERTISES_ONLY_PROFILE))  # AIP says yes, the applet answers 6D00
    assert session.assertion is not None and session.assertion.evidence.relay_resistance is None
    events = session.drain_events()
    exchange = next(e for e in events if isinstance(e, ApduExchanged) and e.command.startswith(ERRD))
    assert exchange.sw == 0x6D00
    check = next(e for e in events if isinstance(e, CheckCompleted) and e.check == "relay resistance time")
    assert check.status is CheckStatus.SKIPPED and "6D00" in check.detail


def test_switched_off_or_not_offered_sends_nothing() -> None:
    for name, kwargs in ((RELAY_PROFILE, {"relay_resistance": False}), ("visa-cvn18-dda", {})):
        session = new_session(**kwargs)
        sent = pump(session, make_card(name))
        assert not any(command.startswith(ERRD) for command in sent)
        assert session.assertion is not None and session.assertion.evidence.relay_resistance is None
        assert _check(session).status is CheckStatus.SKIPPED


def test_untimed_exchange_records_no_measurement() -> None:
    session = new_session()
    pump(session, make_card(RELAY_PROFILE), elapsed_ns=None)
    assert session.assertion is not None and session.assertion.evidence.relay_resistance is None
    assert _check(session).status is CheckStatus.NOT_CHECKABLE
