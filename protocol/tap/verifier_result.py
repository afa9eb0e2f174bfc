"""The verifier's named checks, its verdict rules and the result it returns.

docs/tap-model.md fixes the checks of a card-tap verification and their order
(DESIGN.md §3 step 7), each reported as a :class:`~protocol.tap.events.CheckCompleted`
with a reason in plain words, then the verdict (step 8):

* ``ACCEPT`` — every check passed;
* ``OFFLINE DATA AUTHENTICATION ONLY`` — the only check not passed is the ARQC,
  *not checkable* because the verifier lacks the issuer's keys (never shown as
  passed);
* ``REJECT`` — anything else, with the failed checks as reasons.

OTP verifications (RFC 4226/6238, EMV CAP) use the same result type and the same
rules; their "transaction binding" check is *informative* (an OTP that is not
bound to T is exactly what the comparison wants to show) and does not change the
verdict.

:class:`Recorder` collects the events of one verification in order. Once the
card's PAN is known every detail goes through :func:`protocol.masking.redact_pan`,
so no reason, event or audit record ever carries the full PAN.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from protocol.masking import PanRedactor
from protocol.tap.challenge import Challenge
from protocol.tap.events import (
    CheckCompleted,
    CheckStatus,
    CryptoComputed,
    Event,
    Lane,
    MessageSent,
    Outcome,
    Step,
    StepStarted,
    VerdictReached,
)

# The checks of a card-tap verification, in order (docs/tap-model.md; check 0 added).
ASSERTION_FORMAT = "assertion format"
CHALLENGE_KNOWN = "challenge known"
CHALLENGE_UNEXPIRED = "challenge unexpired"
CHALLENGE_UNUSED = "challenge unused"
DEVICE_SIGNATURE = "device signature"
CARD_ENROLLED = "card enrolled"
OFFLINE_DATA_AUTHENTICATION = "offline data authentication"
TRANSACTION_BINDING = "transaction binding"
ARQC = "ARQC"
ATC_INCREASING = "ATC increasing"
POLICY = "policy"

TAP_CHECKS = (
    ASSERTION_FORMAT, CHALLENGE_KNOWN, CHALLENGE_UNEXPIRED, CHALLENGE_UNUSED, DEVICE_SIGNATURE, CARD_ENROLLED,
    OFFLINE_DATA_AUTHENTICATION, TRANSACTION_BINDING, ARQC, ATC_INCREASING, POLICY,
)  # fmt: skip

# OTP checks (otp_verifier).
OTP_ENROLLED = "OTP enrolled"
TOTP_CODE = "TOTP code"
HOTP_CODE = "HOTP code"
TIME_STEP_UNUSED = "time step unused"
COUNTER_ADVANCED = "counter advanced"
CAP_CARD = "card number"
CAP_CODE = "CAP code"


@dataclass(frozen=True)
class VerificationResult:
    """Everything one verification established, for the app, the CLI and the audit log.

    ``verdict`` carries the ordered main checks, the reasons and (on accept) the
    ARPC; ``events`` is the whole story in order (step started, crypto computed
    with key check values only, sub-checks, the main checks, the verdict).
    ``issuer_authentication_data`` is tag 91 (ARPC ‖ ARC or ARPC ‖ CSU) on accept.
    """

    kind: str
    verdict: VerdictReached
    events: tuple[Event, ...]
    challenge_id: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    masked_pan: str | None = None
    atc: int | None = None
    issuer_authentication_data: bytes | None = None

    @property
    def outcome(self) -> Outcome:
        return self.verdict.outcome

    @property
    def accepted(self) -> bool:
        return self.verdict.accepted

    @property
    def checks(self) -> tuple[CheckCompleted, ...]:
        return self.verdict.checks

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.verdict.reasons

    @property
    def arpc(self) -> bytes | None:
        return self.verdict.arpc

    def check(self, name: str) -> CheckCompleted:
        """The main check called ``name`` (``KeyError`` if it was not reported)."""
        for item in self.verdict.checks:
            if item.check == name:
                return item
        raise KeyError(name)

    def status(self, name: str) -> CheckStatus:
        return self.check(name).status


def decide(
    checks: Iterable[CheckCompleted], informative: frozenset[str] = frozenset()
) -> tuple[Outcome, tuple[str, ...]]:
    """The verdict rules of docs/tap-model.md; returns the outcome and the reasons."""
    relevant = [c for c in checks if c.check not in informative]
    failing = [c for c in relevant if c.status is not CheckStatus.PASSED]
    if not failing:
        return Outcome.ACCEPT, ()
    if all(c.check == ARQC and c.status is CheckStatus.NOT_CHECKABLE for c in failing) and any(
        c.check == OFFLINE_DATA_AUTHENTICATION and c.status is CheckStatus.PASSED for c in relevant
    ):
        return Outcome.ODA_ONLY, tuple(f"{c.check}: {c.detail}" for c in failing)
    failed = [c for c in failing if c.status is CheckStatus.FAILED] or failing
    return Outcome.REJECT, tuple(f"{c.check}: {c.detail}" for c in failed)


@dataclass
class Recorder:
    """Collects one verification's events in order (internal, mutable, not a value)."""

    step: Step = Step.VERIFICATION
    events: list[Event] = field(default_factory=list)
    checks: list[CheckCompleted] = field(default_factory=list)
    pan: str | None = None

    _redactor: PanRedactor | None = field(default=None, init=False, repr=False, compare=False)

    def clean(self, text: str) -> str:
        """``text`` with the card's PAN (once known) masked (:func:`protocol.masking.redact_pan`)."""
        pan = self.pan
        if not pan:
            return text
        redactor = self._redactor
        if redactor is None or redactor.pan != pan:  # prepared once per PAN
            redactor = self._redactor = PanRedactor(pan)
        return redactor(text)

    def start(self, explanation: str, reference: str) -> None:
        self.events.append(StepStarted(self.step, Lane.VERIFIER, explanation, reference))

    def message(self, sender: Lane, receiver: Lane, label: str, size: int = 0) -> None:
        self.events.append(MessageSent(self.step, sender, receiver, self.clean(label), size))

    def crypto(
        self, operation: str, inputs: Iterable[tuple[str, str]] = (), outputs: Iterable[tuple[str, str]] = (),
        reference: str = "",
    ) -> None:  # fmt: skip
        clean = lambda pairs: tuple((k, self.clean(v)) for k, v in pairs)  # noqa: E731
        event = CryptoComputed(self.step, Lane.VERIFIER, operation, clean(inputs), clean(outputs), reference)
        self.events.append(event)

    def sub(self, check: str, status: CheckStatus, detail: str) -> None:
        """A sub-step of a main check (e.g. "issuer certificate" inside ODA): an event only."""
        self.events.append(CheckCompleted(self.step, Lane.VERIFIER, check, status, self.clean(detail)))

    def check(self, name: str, status: CheckStatus, detail: str) -> CheckCompleted:
        """A main check: an event and a line of the verdict."""
        event = CheckCompleted(self.step, Lane.VERIFIER, name, status, self.clean(detail))
        self.events.append(event)
        self.checks.append(event)
        return event

    def passed(self, name: str, detail: str) -> CheckCompleted:
        return self.check(name, CheckStatus.PASSED, detail)

    def failed(self, name: str, detail: str) -> CheckCompleted:
        return self.check(name, CheckStatus.FAILED, detail)

    def skipped(self, name: str, detail: str) -> CheckCompleted:
        return self.check(name, CheckStatus.SKIPPED, detail)

    def replace(self, name: str, status: CheckStatus, detail: str) -> None:
        """Change a main check already reported (the ATC lost a race at commit time)."""
        old = next(c for c in self.checks if c.check == name)
        event = CheckCompleted(self.step, Lane.VERIFIER, name, status, self.clean(detail))
        self.checks = [event if c is old else c for c in self.checks]
        self.events = [event if e is old else e for e in self.events]

    def verdict(
        self, informative: frozenset[str] = frozenset(), arpc: bytes | None = None
    ) -> VerdictReached:
        outcome, reasons = decide(self.checks, informative)
        return VerdictReached(
            outcome, tuple(self.clean(r) for r in reasons), arpc if outcome is Outcome.ACCEPT else None,
            tuple(self.checks),
        )


def iso(seconds: int) -> str:
    """Unix seconds as a UTC timestamp for people."""
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def report_challenge(
    rec: Recorder, challenge_id: str, purpose: str, stored: Challenge | None, used_at: int | None, consumed: bool,
    now: int,
) -> None:  # fmt: skip
    """Checks 1-3 (docs/tap-model.md): known, unexpired, unused — after the store's atomic consumption."""
    if stored is None:
        rec.failed(CHALLENGE_KNOWN, f"no {purpose} challenge {challenge_id!r} was issued by this verifier")
        rec.skipped(CHALLENGE_UNEXPIRED, "there is no such challenge")
        rec.skipped(CHALLENGE_UNUSED, "there is no such challenge")
        return
    rec.passed(CHALLENGE_KNOWN, f"challenge {stored.challenge_id} for {stored.transaction.describe()}, "
               f"issued {iso(stored.issued_at)}")  # fmt: skip
    if now > stored.expires_at:
        rec.failed(CHALLENGE_UNEXPIRED, f"expired at {iso(stored.expires_at)}, {now - stored.expires_at} s ago")
    else:
        rec.passed(CHALLENGE_UNEXPIRED, f"valid until {iso(stored.expires_at)} ({stored.expires_at - now} s left)")
    if consumed:
        rec.passed(CHALLENGE_UNUSED, "marked used by this attempt, atomically: any other attempt with this challenge "
                   "fails")  # fmt: skip
    else:
        when = iso(used_at) if used_at is not None else "by an earlier attempt"
        rec.failed(CHALLENGE_UNUSED, f"already used ({when}): a challenge is good for one attempt — a replay")
