"""What the attack lab reports: verdicts, the verifier's reasons, attempts and scenario results.

Plain frozen dataclasses (for the CLI, the desktop app and tests). Every result
is built from what the verifier itself decided — a
:class:`~protocol.tap.verifier_result.VerificationResult` or a
:class:`~app.flow.service.TapOutcome` — never from what the lab expected:

* a :class:`Verdict` (ACCEPT, REJECT, ODA ONLY, or FAILED when the card session
  ended before there was anything to verify);
* :class:`Reason` — one main check that *failed*, by its name
  (``protocol.tap.verifier_result``: "transaction binding", "ARQC", …) and the
  verifier's detail in plain words;
* notes — the checks that did not pass without failing (an OTP's informative
  "transaction binding: not checkable", which is exactly why an OTP is accepted
  for another transaction).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.flow.service import TapOutcome, TapStatus
from protocol.tap.events import CheckStatus, Event, Outcome
from protocol.tap.verifier_result import VerificationResult


class Verdict(enum.Enum):
    """A side's verdict: the verifier's outcome, or FAILED when no verification took place."""

    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    ODA_ONLY = "ODA ONLY"
    FAILED = "FAILED"

    @classmethod
    def of(cls, outcome: Outcome) -> Verdict:
        return {Outcome.ACCEPT: cls.ACCEPT, Outcome.REJECT: cls.REJECT, Outcome.ODA_ONLY: cls.ODA_ONLY}[outcome]


@dataclass(frozen=True)
class Reason:
    """One main check of a verification that did not pass: its name, status and the verifier's words."""

    check: str
    status: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


@dataclass(frozen=True)
class Attempt:
    """One verification the lab ran: what was tried, the verdict, the failed checks, the notes, the events.

    ``policy`` names the verifier policy used when it is not the default one.
    """

    label: str
    verdict: Verdict
    reasons: tuple[Reason, ...] = ()
    notes: tuple[Reason, ...] = ()
    events: tuple[Event, ...] = ()
    policy: str | None = None

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return tuple(r.check for r in self.reasons)


@dataclass(frozen=True)
class SideResult:
    """One side (OTP or card tap) of a scenario: the attack's verdict and WHY, after the honest run.

    ``verdict``/``reasons``/``events`` are the attack's (its main attempt);
    ``honest`` is the honest flow run first (it must be accepted for the
    comparison to mean anything); ``variants`` are further attempts of the same
    attack (another OTP kind, a stricter verifier policy, another card).
    """

    verdict: Verdict
    reasons: tuple[Reason, ...]
    events: tuple[Event, ...]
    honest: Attempt
    attack: Attempt
    variants: tuple[Attempt, ...] = ()
    note: str = ""

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return tuple(r.check for r in self.reasons)

    @classmethod
    def of(cls, honest: Attempt, attack: Attempt, variants: tuple[Attempt, ...] = (), note: str = "") -> SideResult:
        return cls(attack.verdict, attack.reasons, attack.events, honest, attack, variants, note)


@dataclass(frozen=True)
class ScenarioResult:
    """A scenario's outcome on both sides; ``otp`` is ``None`` where the attack does not apply to OTPs.

    ``as_expected`` says whether both verdicts (and the failed checks named by
    the scenario) equal DESIGN.md §3's table and both honest runs were
    accepted; ``mismatches`` says what differs when not.
    """

    scenario_id: str
    title: str
    otp: SideResult | None
    tap: SideResult
    why: str
    expected_otp: Verdict | None
    expected_tap: Verdict
    as_expected: bool
    mismatches: tuple[str, ...] = ()


# --------------------------------------------------------------------------- conversions


def from_verification(label: str, result: VerificationResult, *, policy: str | None = None,
                      events: tuple[Event, ...] | None = None) -> Attempt:  # fmt: skip
    """An attempt from the verifier's result: FAILED checks are the reasons, other non-passed ones notes."""
    reasons = tuple(Reason(c.check, c.status.value, c.detail) for c in result.checks if c.status is CheckStatus.FAILED)
    notes = tuple(
        Reason(c.check, c.status.value, c.detail)
        for c in result.checks
        if c.status in (CheckStatus.NOT_CHECKABLE,)
    )
    return Attempt(label, Verdict.of(result.outcome), reasons, notes, result.events if events is None else events, policy)


def from_outcome(label: str, outcome: TapOutcome, *, policy: str | None = None) -> Attempt:
    """An attempt from a whole tap (phone session and verification)."""
    if outcome.status is TapStatus.VERDICT and outcome.verification is not None:
        return from_verification(label, outcome.verification, policy=policy, events=outcome.events)
    return Attempt(label, Verdict.FAILED, (Reason("card session", "failed", outcome.message),), (), outcome.events, policy)
