"""The attack table of DESIGN.md §3, at the verifier: each attack gets the verdict and the reason it should.

Real emulated cards (with card_emulation faults where the attack is the card's),
the real phone session, the verifier on an in-memory SQLite store.
"""

from __future__ import annotations

import dataclasses

from card_emulation.applet import EmvCard
from card_emulation.faults import AlterAip, CloneKeys, CloneStaticData, FaultPlan, RollbackAtc
from protocol.crypto.primitives import ec_public_bytes
from protocol.tap.assertion import Assertion, device_id_for
from protocol.tap.events import CheckStatus, Outcome
from protocol.tap.policy import policy_named
from protocol.tap.transaction import Transaction
from protocol.tap.verifier_result import (
    ARQC, ATC_INCREASING, CARD_ENROLLED, CHALLENGE_KNOWN, CHALLENGE_UNEXPIRED, CHALLENGE_UNUSED, DEVICE_SIGNATURE,
    OFFLINE_DATA_AUTHENTICATION, POLICY, TRANSACTION_BINDING,
)  # fmt: skip
from tests.flow.support import (
    DEVICE_KEY, OTHER_DEVICE_KEY, RELAY_PROFILE, TRANSACTION, USER, Clock, Counter, enrol, keystore_without_issuer_keys,
    make_card, make_verifier, personalised, tap,
)  # fmt: skip


def _failed(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {c.check for c in result.checks if c.status is CheckStatus.FAILED}


def _enrolled(name: str = "visa-cvn18-dda", **kwargs):  # type: ignore[no-untyped-def]
    verifier = make_verifier(**kwargs)
    card = make_card(name)
    assert enrol(verifier, card).accepted
    return verifier, card


def test_replay_of_a_captured_assertion() -> None:
    verifier, card = _enrolled()
    captured = tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes()
    assert verifier.verify(captured).outcome is Outcome.ACCEPT
    replay = verifier.verify(captured)
    assert replay.outcome is Outcome.REJECT
    assert replay.status(CHALLENGE_UNUSED) is CheckStatus.FAILED
    assert "already used" in replay.check(CHALLENGE_UNUSED).detail
    assert replay.status(ATC_INCREASING) is CheckStatus.FAILED  # the ATC was raised by the first


def test_replay_with_a_fresh_challenge_re_signed_fails_on_the_atc() -> None:
    """Malware holding the device key re-signs captured card answers for a new challenge."""
    verifier, card = _enrolled()
    captured = Assertion.from_bytes(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert verifier.verify(captured.to_bytes()).accepted
    fresh = verifier.issue_challenge(TRANSACTION)
    forged = dataclasses.replace(captured, challenge_id=fresh.challenge_id, signature=b"").signed_by(DEVICE_KEY)
    result = verifier.verify(forged.to_bytes())
    assert result.outcome is Outcome.REJECT
    assert result.status(CHALLENGE_UNUSED) is CheckStatus.PASSED
    assert result.status(DEVICE_SIGNATURE) is CheckStatus.PASSED
    assert "not above the last ATC accepted" in result.check(ATC_INCREASING).detail
    # and the old answers carry the old UN: neither ODA, the binding nor the ARQC fit the new challenge
    assert {ATC_INCREASING, TRANSACTION_BINDING, ARQC, OFFLINE_DATA_AUTHENTICATION} <= _failed(result)


def test_assertion_from_another_device() -> None:
    verifier, card = _enrolled()
    # the attacker's phone, not enrolled
    result = verifier.verify(tap(card, verifier.issue_challenge(TRANSACTION), device_key=OTHER_DEVICE_KEY).to_bytes())
    assert result.outcome is Outcome.REJECT and DEVICE_SIGNATURE in _failed(result)
    assert "is enrolled for user" in result.check(DEVICE_SIGNATURE).detail
    # the attacker's phone claiming the victim's device id: the enrolled key does not verify its signature
    honest = tap(card, verifier.issue_challenge(TRANSACTION), device_key=OTHER_DEVICE_KEY)
    victim_id = device_id_for(ec_public_bytes(DEVICE_KEY))
    forged = dataclasses.replace(honest, device_id=victim_id, signature=b"").signed_by(OTHER_DEVICE_KEY)
    result = verifier.verify(forged.to_bytes())
    assert _failed(result) == {DEVICE_SIGNATURE}
    assert "does not match" in result.check(DEVICE_SIGNATURE).detail


def test_expired_challenge() -> None:
    clock = Clock()
    verifier, card = _enrolled(clock=clock)
    challenge = verifier.issue_challenge(TRANSACTION, lifetime_s=60)
    assertion = tap(card, challenge).to_bytes()
    clock.t += 61
    result = verifier.verify(assertion)
    assert _failed(result) == {CHALLENGE_UNEXPIRED}
    assert "1 s ago" in result.check(CHALLENGE_UNEXPIRED).detail


def test_malware_changes_the_amount_after_the_user_confirmed() -> None:
    for name, extra in (("visa-cvn18-dda", set()), ("mastercard-cvn16-cda", {OFFLINE_DATA_AUTHENTICATION})):
        verifier, card = _enrolled(name)
        challenge = verifier.issue_challenge(TRANSACTION)
        changed = dataclasses.replace(TRANSACTION, amount_minor=90_000)
        result = verifier.verify(tap(card, challenge, card_transaction=changed).to_bytes())
        assert result.outcome is Outcome.REJECT
        assert _failed(result) == {TRANSACTION_BINDING, ARQC} | extra, result.reasons
        assert ("amount 9F02 sent to the card in CDOL1 was 000000090000, the transaction says 000000050000"
                in result.check(TRANSACTION_BINDING).detail)  # fmt: skip


def test_phishing_relay_for_another_transaction_is_rejected() -> None:
    """The victim taps for T' (the phisher's), the assertion is presented for T: the UN is bound to T."""
    verifier, card = _enrolled("mastercard-cvn16-cda")
    for_t = verifier.issue_challenge(TRANSACTION)
    other = Transaction(TRANSACTION.kind, 1_000_000, "410", "Phisher Ltd", TRANSACTION.timestamp)
    for_other = verifier.issue_challenge(other)
    answers = Assertion.from_bytes(tap(card, for_other).to_bytes())
    relayed = dataclasses.replace(answers, challenge_id=for_t.challenge_id, signature=b"").signed_by(DEVICE_KEY)
    result = verifier.verify(relayed.to_bytes())
    assert {TRANSACTION_BINDING, ARQC, OFFLINE_DATA_AUTHENTICATION} <= _failed(result)


def test_cloned_sda_card_without_keys() -> None:
    verifier, genuine = _enrolled("legacy-sda")
    clone = EmvCard(genuine.image, faults=FaultPlan((CloneStaticData(genuine.image, CloneKeys.NONE),)),
                    random_bytes=Counter(), sleep=lambda _s: None)  # fmt: skip
    result = verifier.verify(tap(clone, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert result.outcome is Outcome.REJECT
    assert _failed(result) == {ARQC}
    assert result.status(OFFLINE_DATA_AUTHENTICATION) is CheckStatus.PASSED  # SDA: a copy of the data passes


def test_cloned_dda_card_without_keys_fails_oda_too() -> None:
    verifier, genuine = _enrolled("visa-cvn18-dda")
    clone = EmvCard(genuine.image, faults=FaultPlan((CloneStaticData(genuine.image, CloneKeys.NONE),)),
                    random_bytes=Counter(), sleep=lambda _s: None)  # fmt: skip
    result = verifier.verify(tap(clone, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert {ARQC, OFFLINE_DATA_AUTHENTICATION} <= _failed(result)


def test_card_counter_rolled_back() -> None:
    verifier, card = _enrolled()
    assert verifier.verify(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes()).accepted  # ATC 2
    rolled = EmvCard(card.image, faults=FaultPlan((RollbackAtc(2),)), random_bytes=Counter(), sleep=lambda _s: None)
    result = verifier.verify(tap(rolled, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert _failed(result) == {ATC_INCREASING}  # the cryptogram itself is genuine
    assert result.status(ARQC) is CheckStatus.PASSED
    assert "ATC 0001 is not above the last ATC accepted for this card (0002)" in result.check(ATC_INCREASING).detail


def test_aip_downgrade_to_hide_dda_and_cda() -> None:
    verifier, card = _enrolled("mastercard-cvn16-cda")
    downgraded = EmvCard(card.image, faults=FaultPlan((AlterAip(),)), random_bytes=Counter(), sleep=lambda _s: None)
    result = verifier.verify(tap(downgraded, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert result.outcome is Outcome.REJECT
    assert {OFFLINE_DATA_AUTHENTICATION, POLICY, ARQC} <= _failed(result)  # the ARQC covers the real AIP
    assert "downgrade" in result.check(POLICY).detail and "was CDA at enrolment" in result.check(POLICY).detail


def test_aip_downgrade_from_cda_to_sda() -> None:
    """An AIP that still offers SDA: the phone falls back to SDA; the card has no SSAD; policy sees the downgrade."""
    verifier, card = _enrolled("mastercard-cvn16-cda")
    real = card.image.applications[0].aip
    fake = bytes([(real[0] & ~0x21) | 0x40, real[1]])
    downgraded = EmvCard(card.image, faults=FaultPlan((AlterAip(value=fake),)), random_bytes=Counter(),
                         sleep=lambda _s: None)  # fmt: skip
    result = verifier.verify(tap(downgraded, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert "SDA now" in result.check(POLICY).detail and "CDA at enrolment" in result.check(POLICY).detail


def test_real_card_without_issuer_keys_is_oda_only() -> None:
    verifier = make_verifier(keys=keystore_without_issuer_keys())
    card = make_card("mastercard-cvn16-cda")
    enrolment = enrol(verifier, card)
    assert enrolment.accepted and enrolment.result.outcome is Outcome.ODA_ONLY
    result = verifier.verify(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert result.outcome is Outcome.ODA_ONLY
    assert result.status(ARQC) is CheckStatus.NOT_CHECKABLE
    assert [c.check for c in result.checks if c.status is not CheckStatus.PASSED] == [ARQC]
    assert result.arpc is None and result.issuer_authentication_data is None
    assert "no issuer master keys" in result.reasons[0]


def test_sim_swap_leaves_card_tap_unaffected() -> None:
    """Nothing of a tap travels by SMS: the enrolled phone and card still authenticate."""
    verifier, card = _enrolled()
    assert verifier.verify(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes()).accepted


def _relay_tap(verifier, card, step_ns: int):  # type: ignore[no-untyped-def]
    """A tap whose every exchange the runner measures as ``step_ns`` (a relay adds tens of ms)."""
    from app.flow.runner import run_authentication
    from app.transports.emulated import EmulatedTransport
    from protocol.tap.authenticator import AuthenticatorSession
    from tests.flow.support import TODAY, ca_store

    ticks = iter(range(0, 10**12, step_ns))
    session = AuthenticatorSession(verifier.issue_challenge(TRANSACTION), user_id=USER, device_key=DEVICE_KEY,
                                   ca_store=ca_store(), today=TODAY, random_bytes=lambda n: bytes(n))  # fmt: skip
    with EmulatedTransport(card) as transport:
        outcome = run_authentication(session, transport, clock=lambda: next(ticks))
    assert outcome.assertion is not None, outcome.failure
    return outcome.assertion


def test_nfc_relay_of_the_victims_own_tap() -> None:
    """NGate-style: genuine cryptograms, so accepted — unless the policy bounds the relay-resistance time."""
    verifier = make_verifier()
    card = make_card(RELAY_PROFILE)
    assert enrol(verifier, card).accepted
    local = _relay_tap(verifier, card, 400_000)  # 0.4 ms per exchange
    relayed = _relay_tap(verifier, card, 40_000_000)  # 40 ms per exchange
    assert local.evidence.relay_resistance is not None and relayed.evidence.relay_resistance is not None
    assert verifier.verify(relayed.to_bytes()).outcome is Outcome.ACCEPT  # honestly: accepted by default
    bounded = policy_named("relay-bound")
    assert verifier.verify(_relay_tap(verifier, card, 400_000).to_bytes(), policy=bounded).accepted
    result = verifier.verify(_relay_tap(verifier, card, 40_000_000).to_bytes(), policy=bounded)
    assert _failed(result) == {POLICY}
    assert "40000 µs is above the bound of 10000 µs" in result.check(POLICY).detail


def test_relay_bound_without_a_measurement() -> None:
    verifier, card = _enrolled("visa-cvn18-dda")  # its AIP does not offer relay resistance
    assertion = tap(card, verifier.issue_challenge(TRANSACTION))
    result = verifier.verify(assertion.to_bytes(), policy=policy_named("relay-bound"))
    assert _failed(result) == {POLICY} and "measured none" in result.check(POLICY).detail


def test_stricter_policy_refuses_sda() -> None:
    verifier, card = _enrolled("legacy-sda")
    result = verifier.verify(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes(),
                             policy=policy_named("cda-or-dda-required"))  # fmt: skip
    assert _failed(result) == {POLICY}
    assert "SDA is not accepted" in result.check(POLICY).detail


def test_card_of_another_user() -> None:
    verifier, _ = _enrolled("visa-cvn18-dda")
    other = make_card("legacy-sda")
    result = verifier.verify(tap(other, verifier.issue_challenge(TRANSACTION)).to_bytes())
    assert CARD_ENROLLED in _failed(result)
    assert result.status(ATC_INCREASING) is CheckStatus.SKIPPED


def test_unknown_challenge() -> None:
    verifier, card = _enrolled()
    from protocol.tap.challenge import Challenge

    invented = Challenge("not-issued", bytes(16), TRANSACTION, TRANSACTION.timestamp, TRANSACTION.timestamp + 60)
    result = verifier.verify(tap(card, invented).to_bytes())
    assert CHALLENGE_KNOWN in _failed(result)
    assert result.status(ARQC) is CheckStatus.SKIPPED
    assert personalised("visa-cvn18-dda").image.applications[0].profile.pan not in repr(result)
