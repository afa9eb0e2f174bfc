"""A card that fails mid-way ends the session with a clear SessionFailed; phone ODA
failures are failed checks, and the assertion is still produced (the verifier decides).

Faults come from :mod:`card_emulation.faults`, injected into the real emulated card.
"""

from __future__ import annotations

import pytest

from card_emulation.commands import CommandKind
from card_emulation.faults import (
    AlterAip,
    CorruptCryptogram,
    CorruptSignature,
    FaultPlan,
    Mute,
    OverrideStatus,
    TearAfter,
    Trigger,
)
from protocol import tlv
from protocol.dol import parse_dol, split_dol_data
from protocol.tap.events import CheckCompleted, CheckStatus, SessionFailed, Step
from protocol.tap.transaction import Transaction, TransactionType
from tests.tap.support import NOW, TRANSACTION, challenge, make_card, new_session, pump


def _run(name: str, *faults: object, **kwargs: object):
    session = new_session(**kwargs)
    pump(session, make_card(name, FaultPlan(tuple(faults))))  # type: ignore[arg-type]
    return session


def _checks(session) -> dict[str, CheckCompleted]:
    return {e.check: e for e in session.drain_events() if isinstance(e, CheckCompleted)}


def test_error_status_on_gpo_fails_the_session() -> None:
    session = _run("visa-cvn18-dda", OverrideStatus(0x6985, Trigger(CommandKind.GPO)))
    failure = session.failure
    assert failure is not None and session.assertion is None and session.done
    assert failure.step is Step.GET_PROCESSING_OPTIONS
    assert "GET PROCESSING OPTIONS" in failure.reason and "6985" in failure.reason
    assert "Traceback" not in failure.reason
    assert session.next_command() is None


@pytest.mark.parametrize("kind", [CommandKind.READ_RECORD, CommandKind.INTERNAL_AUTHENTICATE, CommandKind.GENERATE_AC])
def test_error_status_later_fails_the_session(kind: CommandKind) -> None:
    session = _run("visa-cvn18-dda", OverrideStatus(0x6A80, Trigger(kind)))
    assert session.failure is not None and "6A80" in session.failure.reason


def test_mute_card_mid_way() -> None:
    session = _run("mastercard-cvn16-cda", Mute(Trigger(CommandKind.READ_RECORD, 2)))
    failure = session.failure
    assert failure is not None and failure.step is Step.READ_RECORDS
    assert failure.error_type == "CardSilentError" and "did not answer READ RECORD" in failure.reason


@pytest.mark.parametrize("after", [0, 1, 2, 4, 6, 8])
def test_card_torn_away(after: int) -> None:
    session = _run("visa-cvn18-dda", TearAfter(after))
    assert session.failure is not None and session.assertion is None
    assert "did not answer" in session.failure.reason
    assert isinstance(session.drain_events()[-1], SessionFailed)


def test_corrupt_dda_signature_is_a_failed_check_not_a_failure() -> None:
    session = _run("visa-cvn18-dda", CorruptSignature(Trigger(CommandKind.INTERNAL_AUTHENTICATE)))
    assert session.assertion is not None and session.failure is None
    checks = _checks(session)
    assert checks["signed dynamic data (DDA)"].status is CheckStatus.FAILED
    assert checks["offline data authentication"].status is CheckStatus.FAILED
    # the phone reports "DDA failed" in the TVR it sends in CDOL1 (Book 3 Annex C5)
    assert _tvr(session)[0] & 0x08


def _tvr(session) -> bytes:
    """The TVR (95) the phone sent the card in CDOL1."""
    evidence = session.assertion.evidence
    cdol1 = next(tlv.decode_one(r.data).find(0x8C) for r in evidence.records if tlv.decode_one(r.data).find(0x8C))
    return split_dol_data(parse_dol(cdol1.value), evidence.cdol1_data)[0x95]


def test_corrupt_cda_signature_is_a_failed_check_not_a_failure() -> None:
    session = _run("mastercard-cvn16-cda", CorruptSignature(Trigger(CommandKind.GENERATE_AC)))
    assert session.assertion is not None
    checks = _checks(session)
    assert checks["signed dynamic data (CDA)"].status is CheckStatus.FAILED
    assert checks["offline data authentication"].status is CheckStatus.FAILED


def test_aip_downgrade_fails_the_certificate_check_on_the_phone() -> None:
    session = _run("mastercard-cvn16-cda", AlterAip())
    assert session.assertion is not None
    checks = _checks(session)
    # with DDA and CDA hidden the card shows no ODA method at all: the phone cannot
    # authenticate it offline, says so in the TVR, and the verifier's policy refuses it
    assert checks["offline data authentication"].status is CheckStatus.SKIPPED
    assert _tvr(session)[0] & 0x80  # "offline data authentication was not performed"
    evidence = session.assertion.evidence
    assert evidence.generate_ac_p1 == 0x80 and evidence.internal_authenticate_response == b""


def test_corrupt_cryptogram_is_invisible_to_the_phone() -> None:
    """Only the verifier, with the issuer keys, can see a wrong ARQC."""
    session = _run("mastercard-cvn16-cda", CorruptCryptogram())
    assert session.assertion is not None
    assert _checks(session)["offline data authentication"].status is CheckStatus.PASSED


def test_without_cda_a_cda_card_does_dda() -> None:
    session = _run("mastercard-cvn16-cda", request_cda=False)
    evidence = session.assertion.evidence  # type: ignore[union-attr]
    assert evidence.generate_ac_p1 == 0x80 and evidence.internal_authenticate_response
    assert _checks(session)["signed dynamic data (DDA)"].status is CheckStatus.PASSED


def test_missing_ca_key_is_a_failed_check() -> None:
    from protocol.crypto.capk import default_store

    session = _run("visa-cvn18-dda", ca_store=default_store())  # the public keys only
    assert session.assertion is not None
    checks = _checks(session)
    assert checks["CA key found"].status is CheckStatus.FAILED
    assert checks["signed dynamic data (DDA)"].status is CheckStatus.NOT_CHECKABLE


def test_cdol1_is_built_from_the_card_transaction() -> None:
    """Malware changes the amount after the user confirmed: the card signs the other amount."""
    tampered = Transaction(TransactionType.PAYMENT, 90_000, "410", TRANSACTION.payee, NOW)
    session = _run("visa-cvn18-dda", card_transaction=tampered)
    evidence = session.assertion.evidence  # type: ignore[union-attr]
    cdol1 = split_dol_data(parse_dol(bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")), evidence.cdol1_data)
    assert cdol1[0x9F02] == bytes.fromhex("000000090000")
    assert cdol1[0x9F37] == challenge().un  # the UN still comes from the verifier's challenge and T


def _gpo_rewriter(name: str, replacement: bytes):
    card = make_card(name)

    def process(command: bytes) -> bytes:
        answer = card.process(command)
        return replacement if command[:2] == b"\x80\xa8" else answer

    return process


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (bytes.fromhex("7704 9402 0800 9000"), "lacks the AIP (82)"),
        (bytes.fromhex("7704 8202 3900 9000"), "lacks the AFL (94)"),
        (bytes.fromhex("7706 8202 3900 9403 9000"), "not valid BER-TLV"),
        (bytes.fromhex("8003 390008 9000"), "format 1 answer"),
        (bytes.fromhex("8006 3900 00010100 9000"), "AFL (94) is malformed"),
        (bytes.fromhex("6F02 8400 9000"), "should be one 80 or 77 template"),
    ],
)
def test_malformed_or_incomplete_gpo_answers(answer: bytes, words: str) -> None:
    session = new_session()
    pump(session, _gpo_rewriter("visa-cvn18-dda", answer))
    assert session.failure is not None and words in session.failure.reason, session.failure


def test_records_without_cdol1_fail_clearly() -> None:
    card = make_card("legacy-sda")

    def process(command: bytes) -> bytes:
        answer = card.process(command)
        if command[:2] == b"\x00\xb2" and answer.endswith(b"\x90\x00"):
            record = tlv.decode_one(answer[:-2])
            kept = b"".join(c.encode() for c in record.children if c.tag != 0x8C)
            return tlv.encode(0x70, kept) + b"\x90\x00"
        return answer

    session = new_session()
    pump(session, process)
    assert session.failure is not None and "CDOL1 (8C)" in session.failure.reason


def test_abort_reports_the_transport_failure() -> None:
    session = new_session()
    card = make_card("visa-cvn18-dda")
    session.receive(card.process(session.next_command()))  # type: ignore[arg-type]
    session.abort("The card was removed.", error_type="CardRemovedError")
    assert session.done and session.next_command() is None
    assert session.failure == SessionFailed(Step.SELECT_AID, "The card was removed.", "CardRemovedError")
    session.abort("again")  # idempotent
    assert session.failure.reason == "The card was removed."
