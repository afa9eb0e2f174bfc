"""Policies, the verdict rules and the parts of the policy check no honest card reaches (CDA consistency)."""

from __future__ import annotations

import dataclasses

import pytest

from protocol.crypto.oda import CdaSignature
from protocol.errors import UsageError
from protocol.tap.assertion import RelayResistanceEvidence
from protocol.tap.events import CheckCompleted, CheckStatus, Lane, Outcome, Step
from protocol.tap.policy import NAMED_POLICIES, OdaLevel, Policy, policy_named
from protocol.tap.verifier_card import parse_card_evidence
from protocol.tap.verifier_checks import check_policy
from protocol.tap.verifier_oda import OdaResult, capability_of
from protocol.tap.verifier_result import (
    ARQC, OFFLINE_DATA_AUTHENTICATION, POLICY, TRANSACTION_BINDING, Recorder, decide,
)  # fmt: skip
from tests.flow.support import TRANSACTION, make_card, make_verifier, tap


def _check(name: str, status: CheckStatus) -> CheckCompleted:
    return CheckCompleted(Step.VERIFICATION, Lane.VERIFIER, name, status, "detail")


P, F, N, S = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_CHECKABLE, CheckStatus.SKIPPED


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        ({OFFLINE_DATA_AUTHENTICATION: P, ARQC: P, POLICY: P}, Outcome.ACCEPT),
        ({OFFLINE_DATA_AUTHENTICATION: P, ARQC: N, POLICY: P}, Outcome.ODA_ONLY),
        ({OFFLINE_DATA_AUTHENTICATION: P, ARQC: N, POLICY: F}, Outcome.REJECT),
        ({OFFLINE_DATA_AUTHENTICATION: F, ARQC: N, POLICY: P}, Outcome.REJECT),
        ({OFFLINE_DATA_AUTHENTICATION: P, ARQC: F, POLICY: P}, Outcome.REJECT),
        ({OFFLINE_DATA_AUTHENTICATION: P, ARQC: P, POLICY: S}, Outcome.REJECT),
        ({OFFLINE_DATA_AUTHENTICATION: N, ARQC: P, POLICY: P}, Outcome.REJECT),
    ],
)
def test_verdict_rules(statuses: dict[str, CheckStatus], outcome: Outcome) -> None:
    got, reasons = decide([_check(n, s) for n, s in statuses.items()])
    assert got is outcome
    assert bool(reasons) == (outcome is not Outcome.ACCEPT)
    if outcome is Outcome.REJECT:
        assert all(r.split(":")[0] in statuses for r in reasons)


def test_informative_checks_do_not_change_the_verdict() -> None:
    checks = [_check("TOTP code", P), _check(TRANSACTION_BINDING, N)]
    assert decide(checks)[0] is Outcome.REJECT
    assert decide(checks, frozenset({TRANSACTION_BINDING}))[0] is Outcome.ACCEPT


def test_named_policies() -> None:
    assert set(NAMED_POLICIES) >= {"default", "cda-or-dda-required", "cda-required", "relay-bound"}
    assert policy_named("default") == Policy()
    assert not policy_named("cda-or-dda-required").allows(OdaLevel.SDA)
    assert policy_named("relay-bound").max_relay_us == 10_000
    with pytest.raises(UsageError, match="known: default"):
        policy_named("lenient")


@pytest.mark.parametrize(
    "kwargs",
    [{"allowed_oda": frozenset({OdaLevel.NONE})}, {"max_relay_us": 0}, {"max_relay_us": True}, {"name": ""},
     {"allowed_oda": {OdaLevel.SDA}}],
)
def test_policy_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        Policy(**kwargs)  # type: ignore[arg-type]


def test_oda_levels() -> None:
    assert OdaLevel.NONE < OdaLevel.SDA < OdaLevel.DDA < OdaLevel.CDA
    assert OdaLevel.parse("cda") is OdaLevel.CDA
    assert capability_of(bytes.fromhex("3981")) is OdaLevel.CDA
    assert capability_of(bytes.fromhex("5800")) is OdaLevel.SDA
    assert capability_of(bytes.fromhex("1880")) is OdaLevel.NONE
    with pytest.raises(UsageError):
        OdaLevel.parse("xda")


def _cda_facts():  # type: ignore[no-untyped-def]
    verifier = make_verifier()
    assertion = tap(make_card("mastercard-cvn16-cda"), verifier.issue_challenge(TRANSACTION))
    return parse_card_evidence(assertion.evidence)


def test_cda_consistency() -> None:
    facts = _cda_facts()
    signed = CdaSignature(b"", 1, b"", b"\x01\x02", bytes([facts.generate_ac.cid]), bytes(8), bytes(20), bytes(20), ())
    oda = OdaResult(OdaLevel.CDA, OdaLevel.CDA, True, "", signed)
    rec = Recorder()
    check_policy(facts, rec, Policy(), oda, OdaLevel.CDA, None)
    assert rec.checks[-1].status is CheckStatus.PASSED  # no 9F26 in a CDA answer: the signed AC is the AC
    other = dataclasses.replace(facts, generate_ac=dataclasses.replace(facts.generate_ac, ac=b"\x11" * 8))
    rec = Recorder()
    check_policy(other, rec, Policy(), oda, OdaLevel.CDA, None)
    assert rec.checks[-1].status is CheckStatus.FAILED and "9F26" in rec.checks[-1].detail
    rec = Recorder()
    other_cid = dataclasses.replace(oda, cda=dataclasses.replace(signed, cryptogram_information_data=b"\x00"))
    check_policy(facts, rec, Policy(), other_cid, OdaLevel.CDA, None)
    assert "CID" in rec.checks[-1].detail


def test_relay_bound_reports_what_the_card_announced() -> None:
    facts = _cda_facts()
    oda = OdaResult(OdaLevel.CDA, OdaLevel.CDA, True, "", None)
    answer = bytes.fromhex("800A" "0BADF00D" "0000" "000F" "0004")
    rec = Recorder()
    check_policy(facts, rec, policy_named("relay-bound"), oda, None, RelayResistanceEvidence(bytes(4), answer, 25_000))
    detail = rec.checks[-1].detail
    assert rec.checks[-1].status is CheckStatus.FAILED
    assert "25000 µs is above the bound of 10000 µs" in detail and "at most 1500 µs of processing" in detail
