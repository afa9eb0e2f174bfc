"""What the new pages render: plain frozen dataclasses, built by the backends on worker threads.

The backends (:mod:`app.gui.otp_compare`, :mod:`app.gui.lab_backend`,
:mod:`app.gui.calculator_backend`) call the engine and crypto and return these
values; the widgets only lay them out. Nothing here imports crypto, drivers or
``app.flow``, so widgets may import it (``tests/gui/test_architecture.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.tap.events import CheckCompleted, Event


# ----------------------------------------------------------------------------- OTP vs tap


@dataclass(frozen=True)
class MethodResult:
    """One column of the OTP vs tap page: one way of authenticating the same transaction.

    ``outcome`` is the verifier's verdict in words (``ACCEPT``, ``REJECT``,
    ``OFFLINE DATA AUTHENTICATION ONLY``) or ``FAILED`` when nothing reached the
    verifier; ``elapsed_s`` is measured (card with a real card's pacing);
    ``digits_typed`` counts every digit the user keys in (PIN, challenge, amount,
    code, card number); ``events``: the steps of the run, for the step-by-step views.
    """

    key: str  # "totp", "cap", "tap"
    method: str
    user_steps: tuple[str, ...]
    typed: str
    digits_typed: int
    bound: str
    outcome: str
    reasons: tuple[str, ...]
    checks: tuple[CheckCompleted, ...]
    elapsed_s: float
    note: str = ""
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """The same transaction authenticated three ways."""

    transaction: str
    methods: tuple[MethodResult, ...]

    def method(self, key: str) -> MethodResult:
        return next(m for m in self.methods if m.key == key)


# ----------------------------------------------------------------------------- attack lab


@dataclass(frozen=True)
class ScenarioInfo:
    """A row of the attack table before it is run: what it is, what DESIGN.md §3 expects."""

    id: str
    title: str
    description: str
    expected_otp: str | None  # None: the attack does not apply to OTPs
    expected_tap: str
    countermeasure: str | None = None


@dataclass(frozen=True)
class Failure:
    """A check that did not pass: its name, its status in words, and the verifier's reason."""

    check: str
    status: str
    detail: str


@dataclass(frozen=True)
class AttemptView:
    """One verification the lab ran (the attack, or a variant: another OTP, a stricter policy)."""

    label: str
    verdict: str
    failures: tuple[Failure, ...] = ()
    notes: tuple[Failure, ...] = ()
    policy: str | None = None
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class SideView:
    """One side (OTP or tap) of a scenario: the attack's verdict and why, the honest run, variants."""

    attack: AttemptView
    honest: AttemptView
    variants: tuple[AttemptView, ...] = ()
    note: str = ""

    @property
    def verdict(self) -> str:
        return self.attack.verdict


@dataclass(frozen=True)
class ScenarioView:
    """A scenario after its run: both sides, the explanation, and whether it matches DESIGN.md §3."""

    info: ScenarioInfo
    otp: SideView | None
    tap: SideView
    why: str
    as_expected: bool
    mismatches: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- calculator


@dataclass(frozen=True)
class CalcResult:
    """A calculator result: the rows to show in order (name, value), and a verdict for verifications."""

    operation: str
    rows: tuple[tuple[str, str], ...]
    verdict: str | None = None  # "OK" / "FAIL" for the verify operations
    detail: str = ""
