"""app.flow.runner pumps the session through a real Transport (the emulated one here)."""

from __future__ import annotations

import itertools

from app.flow.runner import RunOutcome, run_authentication
from app.transports.emulated import EmulatedTransport
from card_emulation.commands import CommandKind
from card_emulation.faults import FaultPlan, Mute, Trigger
from protocol.crypto.primitives import ec_public_bytes
from protocol.tap.events import ApduExchanged, Event, SessionFailed
from tests.tap.support import DEVICE_KEY, RELAY_PROFILE, make_card, new_session
from tests.support.transports import RemovedAfter


def test_honest_tap_over_the_emulated_transport() -> None:
    seen: list[Event] = []
    with EmulatedTransport(make_card("mastercard-cvn16-cda")) as transport:
        outcome = run_authentication(new_session(), transport, on_event=seen.append)
    assert isinstance(outcome, RunOutcome) and outcome.ok and outcome.failure is None
    assert outcome.assertion is not None
    outcome.assertion.verify_signature(ec_public_bytes(DEVICE_KEY))
    assert list(outcome.events) == seen and seen
    exchanges = [e for e in seen if isinstance(e, ApduExchanged)]
    assert exchanges and all(e.elapsed_ns is not None and e.elapsed_ns >= 0 for e in exchanges)


def test_card_removed_mid_way_is_a_session_failure_not_an_exception() -> None:
    transport = RemovedAfter(EmulatedTransport(make_card("visa-cvn18-dda")), 5)
    outcome = run_authentication(new_session(), transport)
    assert not outcome.ok and outcome.assertion is None
    failure = outcome.failure
    assert failure is not None and failure.error_type == "CardRemovedError"
    assert "the card left the NFC field" in failure.reason
    assert outcome.events[-1] == failure
    assert sum(isinstance(e, ApduExchanged) for e in outcome.events) == 5


def test_mute_card_through_the_transport() -> None:
    card = make_card("visa-cvn18-dda", FaultPlan((Mute(Trigger(CommandKind.GENERATE_AC)),)))
    outcome = run_authentication(new_session(), EmulatedTransport(card))
    assert outcome.failure is not None and outcome.failure.error_type == "CardSilentError"


def test_the_clock_measures_each_exchange() -> None:
    ticks = itertools.count(0, 700_000)  # every clock() call advances 0.7 ms
    card = make_card(RELAY_PROFILE)
    outcome = run_authentication(new_session(), EmulatedTransport(card), clock=lambda: next(ticks))
    assert outcome.assertion is not None
    assert all(e.elapsed_ns == 700_000 for e in outcome.events if isinstance(e, ApduExchanged))
    assert outcome.assertion.evidence.relay_resistance.measured_us == 700  # type: ignore[union-attr]


def test_application_choice_through_the_runner() -> None:
    asked = []

    def choose(candidates):
        asked.append([c.label for c in candidates])
        return candidates[1].aid

    card = make_card("dual-mastercard-maestro")
    outcome = run_authentication(new_session(application_choice="ask"), EmulatedTransport(card), choose=choose)
    assert asked == [["TEST MC CREDIT", "TEST MAESTRO"]]
    assert outcome.assertion is not None and outcome.assertion.evidence.aid == bytes.fromhex("A0000000043060")


def test_a_choice_without_a_chooser_ends_the_session() -> None:
    card = make_card("dual-mastercard-maestro")
    outcome = run_authentication(new_session(application_choice="ask"), EmulatedTransport(card))
    assert isinstance(outcome.events[-1], SessionFailed) and outcome.failure is not None
    assert outcome.failure.error_type == "NoChooser"
