"""Application selection (EMV 4.4 Book 1 §12; Contactless Book B §3.3) with the real card."""

from __future__ import annotations

import pytest

from card_emulation.commands import CommandKind
from card_emulation.faults import FaultPlan, OverrideStatus, Trigger
from protocol import tlv
from protocol.errors import UsageError
from protocol.tap.events import ApduExchanged, SessionFailed, Step
from protocol.tap.terminal import TerminalConfig
from tests.tap.support import make_card, new_session, pump

MC = bytes.fromhex("A0000000041010")
MAESTRO = bytes.fromhex("A0000000043060")
VISA = bytes.fromhex("A0000000031010")


def _commands(session) -> list[str]:
    return [e.command_name for e in session.drain_events() if isinstance(e, ApduExchanged)]


def test_priority_takes_the_highest_priority_application() -> None:
    session = new_session()
    pump(session, make_card("dual-mastercard-maestro"))
    assert session.assertion is not None and session.assertion.evidence.aid == MC


def test_ask_pauses_for_the_user_and_follows_the_choice() -> None:
    card = make_card("dual-mastercard-maestro")
    session = new_session(application_choice="ask")
    pump(session, card)  # stops at the choice
    assert not session.done and session.next_command() is None
    candidates = session.pending_choice
    assert candidates is not None
    assert [(c.aid, c.label, c.priority, c.kernel_id) for c in candidates] == [
        (MC, "TEST MC CREDIT", 1, b"\x02"), (MAESTRO, "TEST MAESTRO", 2, b"\x02"),
    ]  # fmt: skip
    with pytest.raises(UsageError):
        session.choose(VISA)
    with pytest.raises(UsageError):
        session.receive(b"\x90\x00")
    session.choose(MAESTRO)
    assert session.pending_choice is None
    pump(session, card)
    assert session.assertion is not None and session.assertion.evidence.aid == MAESTRO
    with pytest.raises(UsageError):
        session.choose(MC)


def test_ask_with_one_application_does_not_ask() -> None:
    session = new_session(application_choice="ask")
    pump(session, make_card("visa-cvn18-dda"))
    assert session.assertion is not None


def test_no_ppse_falls_back_to_the_list_of_aids() -> None:
    card = make_card("trustone-aes", FaultPlan((OverrideStatus(0x6A82, Trigger(CommandKind.SELECT, 1)),)))
    session = new_session()
    pump(session, card)
    assert session.assertion is not None
    names = _commands(session)
    assert names[0] == "SELECT PPSE"
    assert "SELECT A0000000031010" in names and "SELECT F054525553544F4E4501" in names
    # the final selection selects the chosen application again (Book 1 §12.4)
    assert names.count("SELECT F054525553544F4E4501") == 2


def test_empty_ppse_falls_back_to_the_list_of_aids() -> None:
    card = make_card("visa-cvn18-dda")
    empty = tlv.encode(0x6F, tlv.encode(0x84, b"2PAY.SYS.DDF01") + tlv.encode(0xA5, tlv.encode(0xBF0C, b"")))

    def process(command: bytes) -> bytes:
        answer = card.process(command)
        return empty + b"\x90\x00" if b"2PAY.SYS.DDF01" in command else answer

    session = new_session()
    pump(session, process)
    assert session.assertion is not None and session.assertion.evidence.aid == VISA


def test_unsupported_applications_are_ignored() -> None:
    config = TerminalConfig(known_aids=(bytes.fromhex("A0000000043060"),))
    session = new_session(terminal=config, application_choice="ask")
    pump(session, make_card("dual-mastercard-maestro"))
    assert session.pending_choice is None
    assert session.assertion is not None and session.assertion.evidence.aid == MAESTRO


def test_no_supported_application_fails_clearly() -> None:
    config = TerminalConfig(known_aids=(bytes.fromhex("A0000000651010"),))
    session = new_session(terminal=config)
    pump(session, make_card("visa-cvn18-dda"))
    assert session.failure is not None and session.failure.error_type == "NoApplicationError"
    assert "no application the phone supports" in session.failure.reason


def test_blocked_application_is_skipped_for_the_next_one() -> None:
    # the second SELECT (the final selection of the Mastercard application) answers 6283
    card = make_card("dual-mastercard-maestro", FaultPlan((OverrideStatus(0x6283, Trigger(CommandKind.SELECT, 2)),)))
    session = new_session()
    pump(session, card)
    assert session.assertion is not None and session.assertion.evidence.aid == MAESTRO


def test_6a81_on_ppse_ends_the_session() -> None:
    card = make_card("visa-cvn18-dda", FaultPlan((OverrideStatus(0x6A81, Trigger(CommandKind.SELECT, 1)),)))
    session = new_session()
    pump(session, card)
    failure = session.failure
    assert failure is not None and failure.step is Step.SELECT_PPSE
    assert "6A81" in failure.reason and session.assertion is None
    assert isinstance(session.drain_events()[-1], SessionFailed)


def test_every_candidate_failing_names_each_reason() -> None:
    card = make_card("dual-mastercard-maestro", FaultPlan((OverrideStatus(0x6A82, Trigger(CommandKind.SELECT, 2)),
                                                          OverrideStatus(0x6A82, Trigger(CommandKind.SELECT, 3)))))
    session = new_session()
    pump(session, card)
    assert session.failure is not None
    assert "TEST MC CREDIT answered 6A82" in session.failure.reason
    assert "TEST MAESTRO answered 6A82" in session.failure.reason
