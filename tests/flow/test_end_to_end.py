"""End to end: the real emulated card, the real phone session over EmulatedTransport, the verifier on SQLite.

For every application of every shipped profile: enrolment ACCEPTs, a verification
ACCEPTs with every named check passed in the order of docs/tap-model.md, and the
ARPC the verifier returns verifies with the card's own keys (EMV 4.4 Book 2 §8.2).
Also prints the verifier's throughput (no timing assertion).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.flow.store import SqliteVerifierStore
from protocol.crypto.cryptogram import verify_arpc_from_icc_mk
from protocol.crypto.cvn import Cvn
from protocol.tap.events import CheckStatus, CryptoComputed, Outcome, VerdictReached
from protocol.tap.verifier_checks import ARC_APPROVED, CSU_APPROVED
from protocol.tap.verifier_result import TAP_CHECKS
from tests.flow.support import TRANSACTION, all_cases, enrol, make_card, make_verifier, personalised, tap

CASES = all_cases()
IDS = [f"{name}-{aid.hex().upper()}" for name, aid in CASES]


@pytest.mark.parametrize(("name", "aid"), CASES, ids=IDS)
def test_every_profile_enrols_and_verifies(name: str, aid: bytes) -> None:
    verifier = make_verifier()
    card = make_card(name)
    enrolment = enrol(verifier, card, aid=aid)
    assert enrolment.accepted, enrolment.result.reasons
    assert enrolment.result.outcome is Outcome.ACCEPT
    profile = card.image.application(aid).profile
    assert enrolment.record is not None and enrolment.record.masked_pan == enrolment.masked_pan
    assert profile.pan not in repr(enrolment)

    challenge = verifier.issue_challenge(TRANSACTION)
    result = verifier.verify(tap(card, challenge, aid=aid).to_bytes())
    assert result.outcome is Outcome.ACCEPT, result.reasons
    assert [c.check for c in result.checks] == list(TAP_CHECKS)
    assert all(c.status is CheckStatus.PASSED for c in result.checks)
    assert result.reasons == () and result.atc == 2
    assert isinstance(result.events[-2], VerdictReached) and result.events[-2] == result.verdict

    # The ARPC verifies with the card's own ICC master key (what the card would do, Book 3 §10.9).
    app = card.image.application(aid)
    cvn = Cvn.parse(profile.cryptogram)
    arpc_event = next(e for e in result.events if isinstance(e, CryptoComputed) and e.operation.startswith("ARPC"))
    arqc = bytes.fromhex(dict(arpc_event.inputs)["ARQC"])
    assert result.arpc is not None and result.issuer_authentication_data is not None
    assert result.issuer_authentication_data.startswith(result.arpc)
    verify_arpc_from_icc_mk(
        cvn, app.keys.mk_ac, arpc=result.arpc, arqc=arqc, atc=(2).to_bytes(2, "big"), un=challenge.un,
        arc=ARC_APPROVED, csu=CSU_APPROVED,
    )
    report = verifier.store.integrity_report()  # type: ignore[attr-defined]
    assert report.ok, report.problems


def test_no_key_material_in_events_or_audit() -> None:
    verifier = make_verifier()
    card = make_card("visa-cvn18-dda")
    enrol(verifier, card)
    result = verifier.verify(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes())
    entry = next(e for e in verifier.keystore.issuer_keys if e.aid == bytes.fromhex("A0000000031010")
                 and "4999990018" in e.pan_prefix)  # fmt: skip
    app = card.image.applications[0]
    text = repr(result) + repr(verifier.audit_log())
    for secret in (entry.keys.ac, entry.keys.smi, entry.keys.smc, app.keys.mk_ac):
        assert secret.hex().upper() not in text.upper()
    assert app.profile.pan not in text
    assert "KCV" in repr(result.events)


def test_sequence_of_taps_raises_the_atc_each_time() -> None:
    verifier = make_verifier()
    card = make_card("mastercard-cvn16-cda")
    enrol(verifier, card)
    for expected_atc in range(2, 6):
        result = verifier.verify(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes())
        assert result.outcome is Outcome.ACCEPT and result.atc == expected_atc
    assert [a.atc for a in verifier.audit_log(4)] == [5, 4, 3, 2]


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "file"])
def test_verification_throughput(on_disk: bool, tmp_path: Path) -> None:
    """verify() calls per second for one profile (printed; no timing assertion)."""
    store = SqliteVerifierStore(tmp_path / "v.sqlite3" if on_disk else ":memory:")
    verifier = make_verifier(store)
    card = make_card("visa-cvn18-dda")
    enrol(verifier, card)
    assertions = [tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes() for _ in range(40)]
    started = time.perf_counter()
    results = [verifier.verify(a) for a in assertions]
    elapsed = time.perf_counter() - started
    assert all(r.outcome is Outcome.ACCEPT for r in results)
    where = "SQLite file (WAL, synchronous=FULL)" if on_disk else "SQLite :memory:"
    print(f"\nverify() throughput, visa-cvn18-dda (DDA, CVN 18), {where}: {len(results) / elapsed:.0f} per second")
    store.close()


def test_profiles_are_the_shipped_ones() -> None:
    assert {name for name, _ in CASES} >= {"visa-cvn18-dda", "legacy-sda", "cap-visa-dpa", "trustone-aes"}
    assert personalised("legacy-sda").image.applications[0].keys.icc_key is None  # SDA: no ICC key
