"""Each named check of the verifier (docs/tap-model.md), its pass path and its fail paths.

Valid assertions come from real taps; hostile ones are made by changing the card's
answers and re-signing with the device key (a phone whose software is hostile).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable

import pytest

from app.flow.store import SqliteVerifierStore
from card_emulation.applet import EmvCard
from card_emulation.commands import CommandKind
from card_emulation.faults import CorruptCryptogram, CorruptSignature, FaultPlan, Trigger
from protocol import tlv
from protocol.crypto.capk import default_store
from protocol.tap.assertion import Assertion, RecordRead
from protocol.tap.events import CheckCompleted, CheckStatus, CryptoComputed, Outcome, VerdictReached
from protocol.tap.verifier import Verifier
from protocol.tap.verifier_result import (
    ARQC, ASSERTION_FORMAT, ATC_INCREASING, CHALLENGE_KNOWN, CHALLENGE_UNUSED, DEVICE_SIGNATURE,
    OFFLINE_DATA_AUTHENTICATION, TAP_CHECKS, TRANSACTION_BINDING,
)  # fmt: skip
from protocol.tap.verifier_store import AtcRaise, AuditRecord
from tests.flow.support import (
    DEVICE_KEY, TRANSACTION, Clock, Counter, enrol, keystore, make_card, make_verifier, personalised, tap,
)  # fmt: skip

Tapper = Callable[..., tuple[Verifier, Assertion]]


def _failed(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {c.check for c in result.checks if c.status is CheckStatus.FAILED}


@pytest.fixture
def enrolled() -> Callable[..., tuple[Verifier, EmvCard]]:
    def make(name: str = "visa-cvn18-dda", **kwargs: object) -> tuple[Verifier, EmvCard]:
        verifier = make_verifier(**kwargs)  # type: ignore[arg-type]
        card = make_card(name)
        assert enrol(verifier, card).accepted
        return verifier, card

    return make


def fresh(verifier: Verifier, card: EmvCard, **kwargs: object) -> Assertion:
    return tap(card, verifier.issue_challenge(TRANSACTION), **kwargs)


def resign(assertion: Assertion, **changes: object) -> bytes:
    evidence = dataclasses.replace(assertion.evidence, **changes)
    return dataclasses.replace(assertion, evidence=evidence, signature=b"").signed_by(DEVICE_KEY).to_bytes()


# --------------------------------------------------------------------------- assertion format


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[]", b"{}", b"\xff\xfe", b"[" * 100_000, b'{"version": 2}', "text", None, 42, b"{" * 70_000],
    ids=["empty", "text", "list", "object", "not-utf8", "deep", "version", "str", "none", "int", "too-big"],
)
def test_unreadable_assertions_are_rejected_not_raised(enrolled, data: object) -> None:  # type: ignore[no-untyped-def]
    verifier, _ = enrolled()
    result = verifier.verify(data)  # type: ignore[arg-type]
    assert result.outcome is Outcome.REJECT
    assert result.status(ASSERTION_FORMAT) is CheckStatus.FAILED
    assert [c.check for c in result.checks] == list(TAP_CHECKS)
    assert all(c.status is CheckStatus.SKIPPED for c in result.checks[1:])
    assert result.reasons[0].startswith("assertion format: malformed assertion")
    assert verifier.audit_log(1)[0].outcome is Outcome.REJECT


def test_records_other_than_the_afl_lists(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    good = fresh(verifier, card)
    result = verifier.verify(resign(good, records=good.evidence.records[:-1]))
    assert _failed(result) >= {ASSERTION_FORMAT} and "AFL" in result.check(ASSERTION_FORMAT).detail
    assert result.status(CHALLENGE_UNUSED) is CheckStatus.PASSED  # consumed by this first attempt, whatever the outcome
    assert result.status(DEVICE_SIGNATURE) is CheckStatus.PASSED
    assert result.status(ARQC) is CheckStatus.SKIPPED
    assert verifier.verify(good.to_bytes()).status(CHALLENGE_UNUSED) is CheckStatus.FAILED


def test_oda_flags_must_follow_the_afl(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    good = fresh(verifier, card)
    records = tuple(dataclasses.replace(r, for_oda=not r.for_oda) for r in good.evidence.records)
    result = verifier.verify(resign(good, records=records))
    assert "mark other records for offline data authentication than the AFL" in result.check(ASSERTION_FORMAT).detail


def test_a_data_object_twice_in_the_records_is_refused(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    good = fresh(verifier, card)
    first = good.evidence.records[0]
    template = tlv.decode_one(first.data)
    doubled = tlv.encode(0x70, template.value + tlv.encode(0x5A, bytes.fromhex("4111111111111111")))
    records = (RecordRead(first.sfi, first.record, doubled, first.for_oda), *good.evidence.records[1:])
    result = verifier.verify(resign(good, records=records))
    assert "appears twice" in result.check(ASSERTION_FORMAT).detail


@pytest.mark.parametrize("response", [b"\x80\x01\x00", b"\x77\x00", b"\x9f\x27\x01\x80", b"\x80\x82\xff"])
def test_unusable_generate_ac_answer(enrolled, response: bytes) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    result = verifier.verify(resign(fresh(verifier, card), generate_ac_response=response))
    assert result.status(ASSERTION_FORMAT) is CheckStatus.FAILED
    assert "generate_ac_response" in result.check(ASSERTION_FORMAT).detail


# --------------------------------------------------------------------------- challenge


def test_challenge_checks_pass_then_fail_on_reuse(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    assertion = fresh(verifier, card).to_bytes()
    first = verifier.verify(assertion)
    assert all(first.status(name) is CheckStatus.PASSED for name in TAP_CHECKS[1:4])
    second = verifier.verify(assertion)
    assert second.status(CHALLENGE_KNOWN) is CheckStatus.PASSED
    assert second.status(CHALLENGE_UNUSED) is CheckStatus.FAILED


def test_an_enrolment_challenge_is_not_a_transaction_challenge(enrolled) -> None:  # type: ignore[no-untyped-def]
    from protocol.crypto.primitives import ec_public_bytes

    verifier, card = enrolled()
    challenge = verifier.begin_enrolment("alice", ec_public_bytes(DEVICE_KEY))
    result = verifier.verify(tap(card, challenge).to_bytes())
    assert CHALLENGE_KNOWN in _failed(result) and "no transaction challenge" in result.check(CHALLENGE_KNOWN).detail


# --------------------------------------------------------------------------- device signature


def test_signature_over_other_bytes(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    good = fresh(verifier, card)
    altered = dataclasses.replace(good, evidence=dataclasses.replace(good.evidence, masked_pan="411111******1111"))
    result = verifier.verify(altered.to_bytes())
    assert _failed(result) == {DEVICE_SIGNATURE}
    flipped = dataclasses.replace(good, signature=good.signature[:-1] + bytes([good.signature[-1] ^ 1]))
    assert DEVICE_SIGNATURE in _failed(make_verifier(verifier.store).verify(flipped.to_bytes()))


# --------------------------------------------------------------------------- offline data authentication


def test_corrupt_dda_signature(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    bad = EmvCard(card.image, faults=FaultPlan((CorruptSignature(Trigger(CommandKind.INTERNAL_AUTHENTICATE)),)),
                  random_bytes=Counter(), sleep=lambda _s: None)  # fmt: skip
    result = verifier.verify(fresh(verifier, bad).to_bytes())
    assert _failed(result) == {OFFLINE_DATA_AUTHENTICATION}
    subs = {e.check: e for e in result.events if isinstance(e, CheckCompleted) and e.check not in TAP_CHECKS}
    assert subs["CA key found"].status is CheckStatus.PASSED and subs["ICC certificate"].status is CheckStatus.PASSED
    assert subs["signed dynamic data (DDA)"].status is CheckStatus.FAILED
    assert "DDA: signed dynamic data (DDA)" in result.check(OFFLINE_DATA_AUTHENTICATION).detail


def test_corrupt_cda_signature(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled("trustone-aes")
    bad = EmvCard(card.image, faults=FaultPlan((CorruptSignature(Trigger(CommandKind.GENERATE_AC)),)),
                  random_bytes=Counter(), sleep=lambda _s: None)  # fmt: skip
    result = verifier.verify(fresh(verifier, bad).to_bytes())
    assert OFFLINE_DATA_AUTHENTICATION in _failed(result)
    # the AC travels only inside the signature: without a valid signature there is no cryptogram to check
    assert ARQC in _failed(result)


def test_untrusted_ca(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    public_only = Verifier(verifier.store, keystore=keystore(), ca_store=default_store(),
                           now=lambda: TRANSACTION.timestamp, today=lambda: datetime.date(2026, 1, 1))  # fmt: skip
    result = public_only.verify(fresh(public_only, card).to_bytes())
    assert _failed(result) == {OFFLINE_DATA_AUTHENTICATION}
    assert "CA key found" in result.check(OFFLINE_DATA_AUTHENTICATION).detail


def test_expired_ca_key(enrolled) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    verifier, card = enrolled(clock=clock)
    clock.t = int(datetime.datetime(2046, 6, 1, tzinfo=datetime.UTC).timestamp())
    challenge = verifier.issue_challenge(dataclasses.replace(TRANSACTION, timestamp=clock.t))
    result = verifier.verify(tap(card, challenge).to_bytes())
    assert OFFLINE_DATA_AUTHENTICATION in _failed(result)
    assert "expired" in result.check(OFFLINE_DATA_AUTHENTICATION).detail


def test_sda_over_changed_records(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled("legacy-sda")
    good = fresh(verifier, card)
    first = good.evidence.records[0]
    assert first.for_oda
    template = tlv.decode_one(first.data)
    children = [c.encode() if c.tag != 0x5F20 else tlv.encode(0x5F20, b"MALLORY/M") for c in template.children]
    changed = RecordRead(first.sfi, first.record, tlv.encode(0x70, b"".join(children)), True)
    records = (changed, *good.evidence.records[1:])
    result = verifier.verify(resign(good, records=records))
    assert _failed(result) == {OFFLINE_DATA_AUTHENTICATION}
    assert "signed static data hash" in result.check(OFFLINE_DATA_AUTHENTICATION).detail


def test_dda_card_without_an_internal_authenticate_answer(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    good = fresh(verifier, card)
    result = verifier.verify(resign(good, internal_authenticate_response=b"", ddol_data=b""))
    assert OFFLINE_DATA_AUTHENTICATION in _failed(result)
    assert "neither a CDA signature nor an INTERNAL AUTHENTICATE" in result.check(OFFLINE_DATA_AUTHENTICATION).detail


def test_oda_events_show_the_rsa_recoveries(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled("mastercard-cvn16-cda")
    result = verifier.verify(fresh(verifier, card).to_bytes())
    operations = [e.operation for e in result.events if isinstance(e, CryptoComputed)]
    assert any("Issuer Public Key Certificate" in op for op in operations)
    assert any("ICC Public Key Certificate" in op for op in operations)
    assert any("format 05, CDA" in op for op in operations)
    arqc = next(e for e in result.events if isinstance(e, CryptoComputed) and e.operation.startswith("ARQC"))
    shown = dict(arqc.inputs)
    assert shown["issuer master key AC"].startswith("KCV ") and len(shown["issuer master key AC"]) == 10


# --------------------------------------------------------------------------- transaction binding


def test_binding_names_the_differing_element(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    dollars = dataclasses.replace(TRANSACTION, currency="840")
    result = verifier.verify(fresh(verifier, card, card_transaction=dollars).to_bytes())
    assert "currency 5F2A sent to the card in CDOL1 was 0840, the transaction says 0410" in result.check(
        TRANSACTION_BINDING).detail  # fmt: skip
    later = dataclasses.replace(TRANSACTION, timestamp=TRANSACTION.timestamp + 86_400)
    result = verifier.verify(fresh(verifier, card, card_transaction=later).to_bytes())
    assert "date 9A sent to the card in CDOL1 was 260102, the transaction says 260101" in result.check(
        TRANSACTION_BINDING).detail  # fmt: skip


def test_binding_with_cdol1_data_of_the_wrong_length(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    good = fresh(verifier, card)
    result = verifier.verify(resign(good, cdol1_data=good.evidence.cdol1_data[:-1]))
    assert {TRANSACTION_BINDING, ARQC} <= _failed(result)
    assert "asks for 29" in result.check(TRANSACTION_BINDING).detail


def test_binding_of_the_ddol_un(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    good = fresh(verifier, card)
    result = verifier.verify(resign(good, ddol_data=bytes(4)))
    assert "unpredictable number 9F37 sent to the card in DDOL was 00000000" in result.check(TRANSACTION_BINDING).detail
    # the card did sign the verifier's UN: ODA over the verifier's own DDOL data passes; only the phone's claim lies
    assert result.status(OFFLINE_DATA_AUTHENTICATION) is CheckStatus.PASSED and _failed(result) == {TRANSACTION_BINDING}


# --------------------------------------------------------------------------- ARQC


def test_corrupt_cryptogram(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    bad = EmvCard(card.image, faults=FaultPlan((CorruptCryptogram(),)), random_bytes=Counter(), sleep=lambda _s: None)
    result = verifier.verify(fresh(verifier, bad).to_bytes())
    assert _failed(result) == {ARQC}
    arqc = next(e for e in result.events if isinstance(e, CryptoComputed) and e.operation.startswith("ARQC"))
    assert dict(arqc.outputs)["recomputed ARQC"] == "(withheld: it does not match)"
    assert result.arpc is None


def test_a_tc_is_not_an_arqc(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()  # format 1 answer: 80 {CID ATC AC IAD}
    good = fresh(verifier, card)
    value = tlv.decode_one(good.evidence.generate_ac_response).value
    result = verifier.verify(resign(good, generate_ac_response=tlv.encode(0x80, b"\x40" + value[1:])))
    assert _failed(result) == {ARQC} and "a TC" in result.check(ARQC).detail


# --------------------------------------------------------------------------- ATC


def test_atc_lost_to_a_concurrent_verification(enrolled) -> None:  # type: ignore[no-untyped-def]
    """Between the ATC check and the atomic update another verification raised the ATC: REJECT, audited."""

    class Racing(SqliteVerifierStore):
        def finish(self, audit: AuditRecord, atc: AtcRaise | None = None) -> bool:
            if atc is not None:  # someone else got there first
                self._atomic(lambda conn: conn.execute("UPDATE cards SET last_atc = 99").rowcount == 1)
            return super().finish(audit, atc)

    store = Racing(":memory:")
    verifier, card = enrolled(store=make_verifier(store).store)
    result = verifier.verify(fresh(verifier, card).to_bytes())
    assert result.outcome is Outcome.REJECT and _failed(result) == {ATC_INCREASING}
    assert "another verification" in result.check(ATC_INCREASING).detail
    assert verifier.audit_log(1)[0].outcome is Outcome.REJECT
    assert result.arpc is None


# --------------------------------------------------------------------------- verdict event and events order


def test_events_end_with_the_verdict(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    result = verifier.verify(fresh(verifier, card).to_bytes())
    verdicts = [e for e in result.events if isinstance(e, VerdictReached)]
    assert verdicts == [result.verdict] and result.verdict.arpc == result.arpc
    main = [e for e in result.events if isinstance(e, CheckCompleted) and e.check in TAP_CHECKS]
    assert tuple(main) == result.checks


def test_pan_never_in_results_or_audit(enrolled) -> None:  # type: ignore[no-untyped-def]
    verifier, card = enrolled()
    pan = personalised("visa-cvn18-dda").image.applications[0].profile.pan
    good = fresh(verifier, card)
    results = [verifier.verify(good.to_bytes()), verifier.verify(good.to_bytes()),
               verifier.verify(resign(fresh(verifier, card), cdol1_data=b"\x00"))]  # fmt: skip
    text = repr(results) + repr(verifier.audit_log(10))
    assert pan not in text and pan[:8] + " " not in text
