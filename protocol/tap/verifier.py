"""The verifier: challenges, enrolment and the checks of a card tap (DESIGN.md §3 steps 2, 7, 8).

Sans-I/O: the store (:class:`~protocol.tap.verifier_store.VerifierStore`), the
clock (``now`` in Unix seconds, ``today`` for certificate expiry) and the random
source are injected. Usage::

    verifier = Verifier(store, keystore=keys, ca_store=capks, now=clock, today=date_today)
    challenge = verifier.issue_challenge(transaction)        # stored as unused
    ... the phone taps the card and sends assertion bytes ...
    result = verifier.verify(assertion_bytes)                 # never raises for bad input
    result.outcome, result.checks, result.reasons, result.arpc, result.events

:meth:`Verifier.verify` runs the named checks of docs/tap-model.md in order —
assertion format · challenge known · unexpired · unused · device signature · card
enrolled · offline data authentication · transaction binding · ARQC · ATC
increasing · policy — and decides ACCEPT / OFFLINE DATA AUTHENTICATION ONLY /
REJECT (:func:`~protocol.tap.verifier_result.decide`). The challenge is consumed
atomically by the first attempt whatever its outcome; the ATC is raised (only
for a verdict other than REJECT) atomically with the audit record, which every
verification writes. Anything malformed in the assertion is a REJECT with a
reason, never an exception. Storage failures (the store's own errors) do
propagate: they are not the peer's fault.

OTP verification (TOTP, HOTP, EMV CAP) is in :mod:`protocol.tap.otp_verifier`;
:class:`Verifier` exposes it through the same object.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from protocol.cap import CapMode
from protocol.crypto.capk import CapkStore
from protocol.crypto.primitives import sha256
from protocol.errors import ProtocolError
from protocol.keystore import KeyStore
from protocol.tap import enrolment as enrol
from protocol.tap.assertion import Assertion, MalformedAssertion, device_id_for
from protocol.tap.challenge import DEFAULT_LIFETIME_S, NONCE_LENGTH, Challenge
from protocol.tap.events import CryptoComputed, Event, Lane, MessageSent, Outcome, Step, StepStarted
from protocol.tap.otp_verifier import OtpEnrolment, OtpVerifier
from protocol.tap.policy import DEFAULT_POLICY, OdaLevel, Policy
from protocol.tap.transaction import Transaction
from protocol.tap.verifier_cap import CapCard, CapEnrolment
from protocol.tap.verifier_card import CardFacts, parse_card_evidence
from protocol.tap.verifier_checks import (
    ArqcResult, atc_lost_race, check_arqc, check_atc, check_binding, check_policy, make_arpc, own_values, rebuild,
)  # fmt: skip
from protocol.tap.verifier_oda import offline_data_authentication
from protocol.tap.verifier_result import (
    ASSERTION_FORMAT, ATC_INCREASING, CARD_ENROLLED, DEVICE_SIGNATURE, TAP_CHECKS, Recorder, VerificationResult, decide,
    iso, report_challenge,
)  # fmt: skip
from protocol.tap.verifier_store import (
    AtcRaise, AuditKind, AuditRecord, ChallengePurpose, Consumption, EnrolmentRecord, StoredChallenge, VerifierStore,
)  # fmt: skip

REFERENCE = "TrustOne model (DESIGN.md §3 step 7; docs/tap-model.md); EMV 4.4 Books 2-3"
EXPLANATION = {
    ChallengePurpose.TRANSACTION: "The verifier checks the assertion on its own: its challenge, the enrolled device's "
    "signature, the enrolled card, the card's offline authentication to a trusted CA key, and the card's cryptogram "
    "recomputed over the transaction data the verifier rebuilds itself — never over what the phone claims.",
    ChallengePurpose.ENROLMENT: "Enrolment tap: the verifier checks the card as in a verification, with the device key "
    "just registered, then binds the card (by a salted hash of its PAN, never the PAN) to the user and the device.",
}


def challenge_events(challenge: Challenge) -> tuple[Event, ...]:
    """What issuing ``challenge`` looks like on the sequence diagram (DESIGN.md §3 step 2-3)."""
    return (
        StepStarted(Step.CHALLENGE, Lane.VERIFIER, "The verifier makes a fresh challenge bound to the transaction: a "
                    "random nonce, an expiry, and the unpredictable number the card will sign.",
                    "TrustOne model (DESIGN.md §3 step 2)"),
        CryptoComputed(Step.CHALLENGE, Lane.VERIFIER, "Unpredictable number UN = SHA-256(nonce ‖ H(T))[:4]",
                       (("nonce", challenge.nonce.hex().upper()),
                        ("H(T)", challenge.transaction.digest().hex().upper())),
                       (("UN (9F37)", challenge.un.hex().upper()), ("expires", iso(challenge.expires_at))),
                       "TrustOne model (DESIGN.md §3 step 2)"),
        MessageSent(Step.CHALLENGE, Lane.VERIFIER, Lane.PHONE, f"Challenge {challenge.challenge_id}: "
                    f"{challenge.transaction.describe()}"),
    )  # fmt: skip


@dataclass
class _Run:
    """One tap being checked (internal)."""

    rec: Recorder
    purpose: ChallengePurpose
    assertion: Assertion | None = None
    facts: CardFacts | None = None
    consumption: Consumption | None = None
    card_ref: bytes | None = None
    enrolled: EnrolmentRecord | None = None
    device_key: bytes | None = None
    oda_method: OdaLevel = OdaLevel.NONE
    arqc: ArqcResult | None = None
    enrolments: tuple[EnrolmentRecord, ...] = ()

    @property
    def atc(self) -> int | None:
        return self.facts.generate_ac.atc_value if self.facts else None


class Verifier:
    """The verifier of DESIGN.md §3 (see the module docstring)."""

    def __init__(
        self,
        store: VerifierStore,
        *,
        keystore: KeyStore,
        ca_store: CapkStore,
        policy: Policy = DEFAULT_POLICY,
        now: Callable[[], int],
        today: Callable[[], datetime.date],
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.store = store
        self.keystore = keystore
        self.ca_store = ca_store
        self.policy = policy
        self._now = now
        self._today = today
        self._random = random_bytes
        self.otp = OtpVerifier(store, keystore=keystore, now=now, random_bytes=random_bytes)

    # ------------------------------------------------------------------ challenges and enrolment

    def issue_challenge(self, transaction: Transaction, lifetime_s: int = DEFAULT_LIFETIME_S) -> Challenge:
        """A fresh challenge for ``transaction``, stored as unused (DESIGN.md §3 step 2)."""
        challenge = Challenge.new(transaction, self._now(), lifetime_s, nonce=self._random(NONCE_LENGTH))
        self.store.save_challenge(StoredChallenge(challenge, ChallengePurpose.TRANSACTION))
        return challenge

    challenge_events = staticmethod(challenge_events)

    def begin_enrolment(
        self, user_id: str, device_public_key: bytes, lifetime_s: int = DEFAULT_LIFETIME_S
    ) -> Challenge:
        """Register the phone's device key for ``user_id`` and return the enrolment tap's challenge."""
        enrol.check_user_id(user_id)
        enrol.check_device_key(device_public_key)
        now = self._now()
        challenge = Challenge.new(enrol.enrolment_transaction(now), now, lifetime_s, nonce=self._random(NONCE_LENGTH))
        self.store.save_challenge(StoredChallenge(challenge, ChallengePurpose.ENROLMENT, user_id, device_public_key))
        return challenge

    def complete_enrolment(self, assertion_bytes: bytes, *, policy: Policy | None = None) -> enrol.Enrolment:
        """Check the enrolment tap and bind the card (DESIGN.md §3 "Enrolment"). Never raises for bad input."""
        policy = policy or self.policy
        run = self._run(assertion_bytes, ChallengePurpose.ENROLMENT, policy)
        outcome, _ = decide(run.rec.checks)
        record = None
        if outcome is not Outcome.REJECT and run.facts is not None and run.card_ref is not None and run.assertion:
            a = run.assertion
            assert run.device_key is not None
            record = EnrolmentRecord(
                a.user_id, a.device_id, run.device_key, run.card_ref, run.facts.masked_pan, run.facts.aid,
                run.facts.aip, run.oda_method.name, self._now(), policy.name,
            )  # fmt: skip
            raise_atc = AtcRaise(run.card_ref, run.facts.generate_ac.atc_value, create=True)
            if not self.store.save_enrolment(record, self._audit(run, AuditKind.ENROLMENT), raise_atc):
                atc_lost_race(run.rec, raise_atc.atc)
                record = None
                self.store.finish(self._audit(run, AuditKind.ENROLMENT))
        else:
            self.store.finish(self._audit(run, AuditKind.ENROLMENT))
        return enrol.Enrolment(self._result(run, AuditKind.ENROLMENT, None), record)

    # ------------------------------------------------------------------ verification

    def verify(self, assertion_bytes: bytes, *, policy: Policy | None = None) -> VerificationResult:
        """Check a card-tap assertion (DESIGN.md §3 step 7-8). Never raises for bad input."""
        run = self._run(assertion_bytes, ChallengePurpose.TRANSACTION, policy or self.policy)
        outcome, _ = decide(run.rec.checks)
        raise_atc = None
        if outcome is not Outcome.REJECT and run.card_ref is not None and run.atc is not None:
            raise_atc = AtcRaise(run.card_ref, run.atc)
        if not self.store.finish(self._audit(run, AuditKind.TAP), raise_atc):
            assert raise_atc is not None
            atc_lost_race(run.rec, raise_atc.atc)
            self.store.finish(self._audit(run, AuditKind.TAP))
        arpc = None
        if decide(run.rec.checks)[0] is Outcome.ACCEPT and run.facts is not None and run.arqc is not None:
            arpc = make_arpc(run.facts, run.rec, run.arqc)
        return self._result(run, AuditKind.TAP, arpc)

    def audit_log(self, limit: int = 50) -> tuple[AuditRecord, ...]:
        return self.store.audit_log(limit)

    # ------------------------------------------------------------------ OTP (protocol.tap.otp_verifier)

    def enrol_totp(self, user_id: str, *, digits: int = 6, algorithm: str = "SHA1", period: int = 30) -> OtpEnrolment:
        """A new TOTP secret and its ``otpauth://`` URI (:meth:`OtpVerifier.enrol_totp`)."""
        return self.otp.enrol_totp(user_id, digits=digits, algorithm=algorithm, period=period)

    def enrol_hotp(self, user_id: str, *, digits: int = 6, algorithm: str = "SHA1") -> OtpEnrolment:
        """A new HOTP secret, counter 0 (:meth:`OtpVerifier.enrol_hotp`)."""
        return self.otp.enrol_hotp(user_id, digits=digits, algorithm=algorithm)

    def enrol_cap(self, user_id: str, card: CapCard) -> CapEnrolment:
        """Register a CAP card (its issuer keys must be in the key store)."""
        return self.otp.enrol_cap(user_id, card)

    def verify_totp(self, user_id: str, code: str, *, challenge_id: str | None = None) -> VerificationResult:
        """Check a TOTP code; with ``challenge_id`` the challenge is consumed as for a tap."""
        return self.otp.verify_totp(user_id, code, challenge_id=challenge_id)

    def verify_hotp(self, user_id: str, code: str, *, challenge_id: str | None = None) -> VerificationResult:
        """Check an HOTP code; with ``challenge_id`` the challenge is consumed as for a tap."""
        return self.otp.verify_hotp(user_id, code, challenge_id=challenge_id)

    def verify_cap(
        self, user_id: str, code: str, *, pan: str, mode: CapMode, challenge_id: str | None = None
    ) -> VerificationResult:
        """Check an EMV CAP code typed with the card number (Respond and Sign answer ``challenge_id``)."""
        return self.otp.verify_cap(user_id, code, pan=pan, mode=mode, challenge_id=challenge_id)

    # ------------------------------------------------------------------ internals

    def _run(self, data: bytes, purpose: ChallengePurpose, policy: Policy) -> _Run:
        rec = Recorder()
        rec.start(EXPLANATION[purpose], REFERENCE)
        run = _Run(rec, purpose)
        size = len(data) if isinstance(data, bytes | bytearray) else 0
        rec.message(Lane.PHONE, Lane.VERIFIER, "Assertion", size)
        try:
            run.assertion = Assertion.from_bytes(data)
        except MalformedAssertion as exc:
            return self._unreadable(run, str(exc))
        except Exception as exc:  # noqa: BLE001 - hostile bytes (e.g. JSON nested too deeply) never escape
            return self._unreadable(run, f"malformed assertion: cannot be parsed ({type(exc).__name__})")
        try:
            run.facts = parse_card_evidence(run.assertion.evidence)
            rec.pan = run.facts.pan
            rec.passed(ASSERTION_FORMAT, f"version 1; the card's answers parse (AID {run.facts.aid.hex().upper()}, "
                       f"PAN {run.facts.masked_pan}, AIP {run.facts.aip.hex().upper()})")  # fmt: skip
        except MalformedAssertion as exc:
            rec.failed(ASSERTION_FORMAT, str(exc))
        except Exception as exc:  # noqa: BLE001
            rec.failed(ASSERTION_FORMAT, f"the card's answers cannot be parsed ({type(exc).__name__})")
        self._challenge(run)
        self._device(run)
        self._card(run)
        last = self.store.card_state(run.card_ref) if run.card_ref is not None else None
        try:
            self._card_checks(run, policy, None if last is None else last.last_atc)
        except Exception as exc:  # noqa: BLE001 - a bug in a check must not let hostile input escape
            done = {c.check for c in rec.checks}
            missing = [name for name in TAP_CHECKS if name not in done]
            rec.failed(missing[0], f"internal error while checking ({type(exc).__name__}); the tap is rejected")
            for name in missing[1:]:
                rec.skipped(name, "not checked after an internal error")
        return run

    def _unreadable(self, run: _Run, reason: str) -> _Run:
        run.rec.failed(ASSERTION_FORMAT, reason)
        for name in TAP_CHECKS[1:]:
            run.rec.skipped(name, "the assertion could not be read")
        return run

    def _challenge(self, run: _Run) -> None:
        assert run.assertion is not None
        now = self._now()
        run.consumption = self.store.consume_challenge(run.assertion.challenge_id, run.purpose, now)
        stored = run.consumption.stored
        report_challenge(run.rec, run.assertion.challenge_id, run.purpose.value, stored.challenge if stored else None,
                         stored.used_at if stored else None, run.consumption.consumed, now)  # fmt: skip

    def _device(self, run: _Run) -> None:
        rec, a = run.rec, run.assertion
        assert a is not None
        stored = run.consumption.stored if run.consumption else None
        problem = None
        if run.purpose is ChallengePurpose.ENROLMENT:
            key = stored.device_public_key if stored is not None else None
            if stored is None or key is None:
                problem = "there is no pending enrolment for this challenge, so no registered device key"
            elif stored.user_id != a.user_id:
                problem = f"the enrolment challenge was issued to another user, not {a.user_id!r}"
            elif device_id_for(key) != a.device_id:
                problem = (f"the assertion names device {a.device_id}, but the key registered is device "
                           f"{device_id_for(key)}")  # fmt: skip
        else:
            enrolments = self.store.enrolments_for(a.user_id, a.device_id)
            key = enrolments[0].device_public_key if enrolments else None
            run.enrolments = enrolments
            if key is None:
                problem = (f"no device {a.device_id} is enrolled for user {a.user_id!r}: there is no key to check the "
                           "signature with (a key sent in the assertion is never trusted)")  # fmt: skip
            elif device_id_for(key) != a.device_id:
                problem = "the enrolled key does not match the device id"
        if problem is not None:
            rec.failed(DEVICE_SIGNATURE, problem)
            return
        assert key is not None
        run.device_key = key
        message = a.signed_bytes()
        try:
            a.verify_signature(key)
        except ProtocolError as exc:
            rec.failed(DEVICE_SIGNATURE, f"{getattr(exc, 'detail', exc)} (checked with the key enrolled for device "
                       f"{a.device_id})")  # fmt: skip
            return
        rec.crypto("ECDSA P-256 verification of the device signature",
                   (("signed data", f"{len(message)} bytes, SHA-256 {sha256(message).hex().upper()[:16]}…"),
                    ("device id", a.device_id)),
                   (("signature", "valid"),), "FIPS 186-4 ECDSA; DESIGN.md §3 step 6")  # fmt: skip
        rec.passed(DEVICE_SIGNATURE, f"signed by the key enrolled for device {a.device_id} of user {a.user_id!r}")

    def _card(self, run: _Run) -> None:
        rec, a, facts = run.rec, run.assertion, run.facts
        assert a is not None
        if facts is None:
            rec.skipped(CARD_ENROLLED, "the card's answers could not be read")
            return
        run.card_ref = enrol.card_ref(self.store.server_salt(), facts.pan, facts.psn)
        who = f"user {a.user_id!r} and device {a.device_id}"
        if run.purpose is ChallengePurpose.ENROLMENT:
            rec.passed(CARD_ENROLLED, f"enrolment: card {facts.masked_pan} (card_ref {run.card_ref.hex()[:12]}…) is "
                       f"to be bound to {who}")  # fmt: skip
            return
        match = next((e for e in run.enrolments if e.card_ref == run.card_ref), None)
        if match is None:
            rec.failed(CARD_ENROLLED, f"card {facts.masked_pan} is not enrolled for {who}")
            return
        run.enrolled = match
        rec.passed(CARD_ENROLLED, f"card {facts.masked_pan} is enrolled for {who} since {iso(match.enrolled_at)} "
                   f"({match.oda_method} at enrolment)")  # fmt: skip

    def _card_checks(self, run: _Run, policy: Policy, last_atc: int | None) -> None:
        rec, a, facts = run.rec, run.assertion, run.facts
        stored = run.consumption.stored if run.consumption else None
        if facts is None or stored is None or a is None:
            why = "the card's answers could not be read" if facts is None else (
                "without a known challenge there is no transaction and no UN to check the card's answers against")
            for name in TAP_CHECKS[6:]:
                rec.skipped(name, why)
            return
        challenge, evidence = stored.challenge, a.evidence
        own = own_values(challenge)
        cdol1 = rebuild(facts.cdol1, evidence.cdol1_data, own, "CDOL1")
        ddol = rebuild(facts.ddol, evidence.ddol_data, own, "DDOL") if facts.internal_authenticate_sdad else None
        oda = offline_data_authentication(
            facts, rec, ca_store=self.ca_store, today=self._today(), un=challenge.un, pdol_data=evidence.pdol_data,
            cdol1_data=cdol1.data if cdol1 else None, ddol_data=ddol.data if ddol else None,
        )  # fmt: skip
        run.oda_method = oda.method
        check_binding(facts, rec, cdol1, ddol, evidence.cdol1_data, oda.method)
        run.arqc = check_arqc(facts, rec, self.keystore, cdol1, oda.cda)
        if run.purpose is ChallengePurpose.ENROLMENT:
            check_atc(facts, rec, last_atc, first_use=True)
        elif run.enrolled is None:
            rec.skipped(ATC_INCREASING, "the card is not enrolled: no ATC on record to compare with")
        else:
            check_atc(facts, rec, last_atc)
        enrolled = OdaLevel.parse(run.enrolled.oda_method) if run.enrolled is not None else None
        check_policy(facts, rec, policy, oda, enrolled, evidence.relay_resistance)

    def _audit(self, run: _Run, kind: AuditKind) -> AuditRecord:
        outcome, reasons = decide(run.rec.checks)
        a = run.assertion
        return AuditRecord(
            at=self._now(), kind=kind, outcome=outcome, reasons=tuple(run.rec.clean(r) for r in reasons),
            checks=tuple((c.check, c.status.value) for c in run.rec.checks),
            challenge_id=a.challenge_id if a else None,
            challenge_consumed=bool(run.consumption and run.consumption.consumed),
            user_id=a.user_id if a else None, device_id=a.device_id if a else None, card_ref=run.card_ref,
            atc=run.atc, masked_pan=run.facts.masked_pan if run.facts else None,
        )  # fmt: skip

    def _result(self, run: _Run, kind: AuditKind, arpc: tuple[bytes, bytes] | None) -> VerificationResult:
        verdict = run.rec.verdict(arpc=arpc[0] if arpc else None)
        rec = run.rec
        rec.events.append(verdict)
        label = f"Verdict: {verdict.outcome.value}" + (" with ARPC" if verdict.arpc else "")
        rec.events.append(MessageSent(Step.VERDICT, Lane.VERIFIER, Lane.PHONE, label))
        a = run.assertion
        return VerificationResult(
            kind=kind.value, verdict=verdict, events=tuple(rec.events),
            challenge_id=a.challenge_id if a else None, user_id=a.user_id if a else None,
            device_id=a.device_id if a else None, masked_pan=run.facts.masked_pan if run.facts else None,
            atc=run.atc, issuer_authentication_data=arpc[1] if arpc and verdict.arpc else None,
        )  # fmt: skip
