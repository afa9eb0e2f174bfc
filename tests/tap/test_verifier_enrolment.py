"""Enrolment (DESIGN.md §3): the enrolment tap is checked like a verification and binds card_ref, never the PAN."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.flow.store import SqliteVerifierStore
from card_emulation.applet import EmvCard
from card_emulation.faults import CorruptCryptogram, FaultPlan
from protocol.crypto.primitives import ec_public_bytes
from protocol.errors import UsageError
from protocol.tap.assertion import Assertion
from protocol.tap.enrolment import card_ref, enrolment_transaction
from protocol.tap.events import CheckStatus, Outcome
from protocol.tap.policy import policy_named
from protocol.tap.verifier_result import ARQC, ATC_INCREASING, CARD_ENROLLED, DEVICE_SIGNATURE, POLICY
from tests.flow.support import (
    DEVICE_KEY, OTHER_DEVICE_KEY, TRANSACTION, USER, Counter, enrol, make_card, make_verifier, personalised, tap,
)  # fmt: skip


def test_enrolment_binds_card_ref_user_device_and_oda() -> None:
    verifier = make_verifier()
    enrolment = enrol(verifier, make_card("mastercard-cvn16-cda"))
    assert enrolment.accepted and enrolment.result.kind == "enrolment"
    record = enrolment.record
    assert record is not None
    pan = personalised("mastercard-cvn16-cda").image.applications[0].profile.pan
    assert record.card_ref == card_ref(verifier.store.server_salt(), pan, "00")
    assert (record.user_id, record.oda_method, record.aip.hex().upper()) == (USER, "CDA", "3981")
    assert record.device_public_key == ec_public_bytes(DEVICE_KEY)
    assert record.masked_pan == "559999******0018"
    assert verifier.store.card_state(record.card_ref).last_atc == 1  # type: ignore[union-attr]
    assert enrolment.result.status(CARD_ENROLLED) is CheckStatus.PASSED


def test_the_pan_is_never_stored(tmp_path: Path) -> None:
    path = tmp_path / "verifier.sqlite3"
    store = SqliteVerifierStore(path)
    verifier = make_verifier(store)
    card = make_card("visa-cvn18-dda")
    enrol(verifier, card)
    verifier.verify(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes())
    store.close()
    pan = personalised("visa-cvn18-dda").image.applications[0].profile.pan
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert pan.encode() not in raw and bytes.fromhex(pan) not in raw
    assert b"499999******0015" in raw  # the masked PAN is


def test_begin_enrolment_validates_its_input() -> None:
    verifier = make_verifier()
    with pytest.raises(UsageError):
        verifier.begin_enrolment("", ec_public_bytes(DEVICE_KEY))
    with pytest.raises(UsageError):
        verifier.begin_enrolment("alice", b"\x04" + bytes(10))
    with pytest.raises(UsageError):
        verifier.begin_enrolment("x" * 200, ec_public_bytes(DEVICE_KEY))


def test_a_key_that_is_not_on_the_curve_fails_the_signature() -> None:
    verifier = make_verifier()
    challenge = verifier.begin_enrolment(USER, b"\x04" + bytes(64))
    result = verifier.complete_enrolment(tap(make_card("visa-cvn18-dda"), challenge).to_bytes())
    assert not result.accepted and result.result.status(DEVICE_SIGNATURE) is CheckStatus.FAILED


def test_enrolment_signed_by_another_device() -> None:
    verifier = make_verifier()
    challenge = verifier.begin_enrolment(USER, ec_public_bytes(DEVICE_KEY))
    assertion = tap(make_card("visa-cvn18-dda"), challenge, device_key=OTHER_DEVICE_KEY)
    result = verifier.complete_enrolment(assertion.to_bytes())
    assert not result.accepted and "the key registered is device" in result.result.check(DEVICE_SIGNATURE).detail


def test_enrolment_challenge_of_another_user() -> None:
    verifier = make_verifier()
    challenge = verifier.begin_enrolment("bob", ec_public_bytes(DEVICE_KEY))
    result = verifier.complete_enrolment(tap(make_card("visa-cvn18-dda"), challenge, user_id=USER).to_bytes())
    assert not result.accepted and "another user" in result.result.check(DEVICE_SIGNATURE).detail


def test_a_transaction_challenge_cannot_complete_an_enrolment() -> None:
    verifier = make_verifier()
    assertion = tap(make_card("visa-cvn18-dda"), verifier.issue_challenge(TRANSACTION))
    result = verifier.complete_enrolment(assertion.to_bytes())
    assert not result.accepted and result.result.outcome is Outcome.REJECT


def test_a_card_failing_the_arqc_is_not_enrolled_and_then_not_accepted() -> None:
    verifier = make_verifier()
    genuine = make_card("visa-cvn18-dda")
    faults = FaultPlan((CorruptCryptogram(),))
    bad = EmvCard(genuine.image, faults=faults, random_bytes=Counter(), sleep=lambda _s: None)
    enrolment = enrol(verifier, bad)
    assert not enrolment.accepted and enrolment.record is None
    assert enrolment.result.status(ARQC) is CheckStatus.FAILED
    result = verifier.verify(tap(genuine, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert result.status(DEVICE_SIGNATURE) is CheckStatus.FAILED  # nothing was enrolled for this device
    assert verifier.store.integrity_report().ok  # type: ignore[attr-defined]


def test_enrolment_under_a_stricter_policy() -> None:
    verifier = make_verifier()
    challenge = verifier.begin_enrolment(USER, ec_public_bytes(DEVICE_KEY))
    result = verifier.complete_enrolment(tap(make_card("legacy-sda"), challenge).to_bytes(),
                                         policy=policy_named("cda-or-dda-required"))  # fmt: skip
    assert not result.accepted and result.result.status(POLICY) is CheckStatus.FAILED


def test_re_enrolment_and_second_user_need_a_higher_atc() -> None:
    verifier = make_verifier()
    card = make_card("visa-cvn18-dda")
    assert enrol(verifier, card).accepted  # ATC 1
    assert enrol(verifier, card).accepted  # ATC 2: the enrolment is renewed
    second = enrol(verifier, card, user_id="bob", device_key=OTHER_DEVICE_KEY)  # ATC 3, same card, another user
    assert second.accepted and second.result.status(ATC_INCREASING) is CheckStatus.PASSED
    challenge = verifier.begin_enrolment("carol", ec_public_bytes(DEVICE_KEY))
    old = Assertion.from_bytes(tap(card, challenge, user_id="carol").to_bytes())
    assert verifier.complete_enrolment(old.to_bytes()).accepted  # ATC 4
    challenge = verifier.begin_enrolment("dave", ec_public_bytes(DEVICE_KEY))
    replayed = dataclasses.replace(old, challenge_id=challenge.challenge_id, user_id="dave", signature=b"")
    result = verifier.complete_enrolment(replayed.signed_by(DEVICE_KEY).to_bytes())
    assert not result.accepted and result.result.status(ATC_INCREASING) is CheckStatus.FAILED
    assert verifier.store.integrity_report().ok  # type: ignore[attr-defined]


def test_card_ref() -> None:
    salt = bytes(32)
    assert card_ref(salt, "4999990018000015", "01") != card_ref(salt, "4999990018000015", "00")
    assert card_ref(salt, "4999990018000015", None) == card_ref(salt, "4999990018000015", "00")
    assert card_ref(b"\x01" * 32, "4999990018000015", "01") != card_ref(salt, "4999990018000015", "01")
    with pytest.raises(UsageError):
        card_ref(salt, "49999900180000A5", "01")
    with pytest.raises(UsageError):
        card_ref(salt, "4999990018000015", "1")


def test_enrolment_transaction_is_a_login_of_nothing() -> None:
    t = enrolment_transaction(TRANSACTION.timestamp)
    assert t.amount_minor == 0 and t.kind.label == "login"
