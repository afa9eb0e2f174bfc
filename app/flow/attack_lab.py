"""The attack lab: DESIGN.md §3's attack table, run for real against the OTP flow and the card tap.

Each :class:`Scenario` runs the **honest** flow first (it must be accepted), then
the **attack**, on the OTP side (TOTP app, SMS code, CAP reader — where the attack
has an OTP counterpart) and on the tap, in a fresh isolated
:class:`~app.flow.attack_support.Lab` (temporary data directory, in-memory
verifier store, fixed clock, seeded randomness). It reports both verdicts and why
— the verifier's failed checks, by name, with its own words::

    from app.flow.attack_lab import SCENARIOS, run_all, scenario

    result = scenario("phishing-relay").run()
    result.otp.verdict, result.tap.verdict          # Verdict.ACCEPT, Verdict.REJECT
    result.tap.failed_checks                        # ('offline data authentication', 'transaction binding', 'ARQC')
    results = run_all()                             # every row, in DESIGN.md order

``on_event`` receives every protocol event (:mod:`protocol.tap.events`) as it
happens, for a live view; results are frozen dataclasses
(:mod:`app.flow.attack_results`) holding the events too. Events carry the card's
raw answers (test cards): mask them before display (:mod:`protocol.tap.trace`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.flow import attack_scenarios as run
from app.flow.attack_results import Attempt, ScenarioResult, SideResult, Verdict
from app.flow.attack_support import DEFAULT_RELAY_LATENCY_MS, Lab, LabConfig
from protocol.tap.events import Event
from protocol.tap.verifier_result import (
    ARQC, ATC_INCREASING, CHALLENGE_UNEXPIRED, CHALLENGE_UNUSED, DEVICE_SIGNATURE, OFFLINE_DATA_AUTHENTICATION,
    POLICY, TRANSACTION_BINDING,
)  # fmt: skip

__all__ = [
    "DEFAULT_RELAY_LATENCY_MS", "SCENARIOS", "Attempt", "LabConfig", "Scenario", "ScenarioResult", "SideResult",
    "Verdict", "run_all", "scenario",
]  # fmt: skip

Runner = Callable[[Lab], "run.Sides"]


@dataclass(frozen=True)
class Scenario:
    """One row of the attack table: what it is, what DESIGN.md §3 expects, and how to run it.

    ``expected_checks`` are failed checks the tap attack must report (at least
    these); ``countermeasure`` names a stricter verifier policy under which a
    variant of the tap attack must be rejected with ``countermeasure_checks``.
    ``why_otp`` / ``why_tap`` say in a few words why each side ends as it does;
    ``tap_cell`` is how a table shows the tap verdict (``{verdict}`` is replaced).
    """

    id: str
    title: str
    description: str
    expected_otp: Verdict | None
    expected_tap: Verdict
    expected_checks: frozenset[str]
    why_otp: str
    why_tap: str
    runner: Runner = field(repr=False, compare=False)
    countermeasure: str | None = None
    countermeasure_checks: frozenset[str] = frozenset()
    tap_cell: str = "{verdict}"

    def run(self, config: LabConfig = LabConfig(), on_event: Callable[[Event], None] | None = None) -> ScenarioResult:
        """Run the honest flows and the attack in a fresh lab; the verdicts are the verifier's."""
        with Lab(config, on_event) as lab:
            otp, tap = self.runner(lab)
        problems = self._mismatches(otp, tap)
        return ScenarioResult(self.id, self.title, otp, tap, self._why(otp, tap), self.expected_otp,
                              self.expected_tap, not problems, problems)  # fmt: skip

    def _mismatches(self, otp: SideResult | None, tap: SideResult) -> tuple[str, ...]:
        out = []
        if (otp is None) != (self.expected_otp is None) or (otp is not None and otp.verdict is not self.expected_otp):
            out.append(f"OTP: expected {_label(self.expected_otp)}, got {_label(otp.verdict if otp else None)}")
        if otp is not None and otp.honest.verdict is not Verdict.ACCEPT:
            out.append(f"OTP: the honest run was {otp.honest.verdict.value}")
        if tap.honest.verdict is not Verdict.ACCEPT:
            out.append(f"tap: the honest run was {tap.honest.verdict.value}")
        if tap.verdict is not self.expected_tap:
            out.append(f"tap: expected {self.expected_tap.value}, got {tap.verdict.value}")
        missing = self.expected_checks - set(tap.failed_checks)
        if missing:
            out.append(f"tap: expected failed checks {', '.join(sorted(missing))}")
        if self.countermeasure is not None:
            bounded = next((v for v in tap.variants if v.policy == self.countermeasure), None)
            if bounded is None or bounded.verdict is not Verdict.REJECT or (
                self.countermeasure_checks - set(bounded.failed_checks)
            ):
                out.append(f"tap: expected REJECT under policy {self.countermeasure}")
        return tuple(out)

    def _why(self, otp: SideResult | None, tap: SideResult) -> str:
        failed = ", ".join(tap.failed_checks)
        tap_part = f"tap: {self.why_tap}" + (f" (✗ {failed})" if failed else "")
        if self.countermeasure is not None:
            bounded = next((v for v in tap.variants if v.policy == self.countermeasure), None)
            if bounded is not None:
                tap_part += f"; under {self.countermeasure}: {bounded.verdict.value}"
                tap_part += f" (✗ {', '.join(bounded.failed_checks)})" if bounded.failed_checks else ""
        return tap_part if otp is None else f"OTP: {self.why_otp} · {tap_part}"


def _label(verdict: Verdict | None) -> str:
    return "n/a" if verdict is None else verdict.value


A, R = Verdict.ACCEPT, Verdict.REJECT

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "phishing-relay", "Real-time phishing relay of the code for another transaction",
        "A fake bank page asks the victim for their code while the phisher, at the real bank, starts a large "
        "transfer of its own and passes the victim's code on within seconds. A one-time code says nothing about "
        "what it approves, so the bank accepts it for the phisher's transfer. With a tap, the card signs a number "
        "derived from the exact transaction; presented for the phisher's transfer it does not fit.",
        A, R, frozenset({TRANSACTION_BINDING, ARQC}),
        "the code carries no transaction, so it approves the phisher's", "the card signed the UN and amount of "
        "the victim's T, not the verifier's", run.phishing_relay,
    ),
    Scenario(
        "replay", "Replay of a captured assertion",
        "Someone who captured a tap's signed answer sends it again later. The verifier's challenge can be used "
        "once, and the card's counter must go up every time, so the copy is refused — even when malware re-signs "
        "it for a fresh challenge.",
        None, R, frozenset({CHALLENGE_UNUSED, ATC_INCREASING}),
        "", "the challenge was used, the card counter did not increase", run.replay,
    ),
    Scenario(
        "cloned-card", "Cloned card from read-only data (SDA-era copy)",
        "A copy of everything a card lets anyone read (card number, certificates, signed data) but not its secret "
        "keys. Old 'static' card authentication even checks out on such a copy; the cryptogram, computed with a "
        "key that never leaves the chip, cannot be forged.",
        None, R, frozenset({ARQC}),
        "", "the copy cannot compute the ARQC (a DDA copy fails ODA too)", run.cloned_card,
    ),
    Scenario(
        "malware-amount", "Malware changes the amount after the user confirmed",
        "The user confirms a 50,000 KRW payment; malware changes it to 5,000,000 before it goes through. A code "
        "typed from an app is the same for any amount, so the bank accepts the changed payment. The card's "
        "cryptogram covers the amount the verifier holds, so a changed amount does not verify.",
        A, R, frozenset({TRANSACTION_BINDING, ARQC}),
        "TOTP has no transaction data (CAP Sign would catch it if the user types the amount they meant)",
        "the cryptogram covers the verifier's T", run.malware_amount,
    ),
    Scenario(
        "expired-challenge", "Expired challenge",
        "An answer that arrives after its challenge expired (held back, or slowly relayed) is refused: every "
        "challenge lives 60 seconds.",
        None, R, frozenset({CHALLENGE_UNEXPIRED}),
        "", "the challenge expired before the assertion arrived", run.expired_challenge,
    ),
    Scenario(
        "other-device", "Assertion replayed from another device",
        "The attacker's phone presents the victim's card answers. Every assertion is signed by the phone that was "
        "enrolled with the card; another phone's signature does not verify.",
        None, R, frozenset({DEVICE_SIGNATURE}),
        "", "only the enrolled phone's key signs valid assertions", run.other_device,
    ),
    Scenario(
        "atc-rollback", "Card counter rolled back",
        "A card whose transaction counter was set back, as a card restored from an older copy of itself would "
        "be. The verifier remembers the last counter it accepted and refuses anything not above it.",
        None, R, frozenset({ATC_INCREASING}),
        "", "the ATC is not above the last one accepted", run.atc_rollback,
    ),
    Scenario(
        "aip-downgrade", "AIP downgrade to hide DDA/CDA",
        "The card's capability flags are altered on their way to the phone so that it looks like an old card "
        "without dynamic authentication. The card signed its real flags, and the verifier remembers which "
        "method the card used at enrolment.",
        None, R, frozenset({POLICY, OFFLINE_DATA_AUTHENTICATION}),
        "", "the card signed its real AIP and enrolled with CDA", run.aip_downgrade,
    ),
    Scenario(
        "sim-swap", "SIM swap",
        "The attacker talks the mobile operator into moving the victim's number to a new SIM. Codes sent by SMS "
        "now reach the attacker. Nothing of a tap travels by SMS: the attacker has neither the enrolled phone nor "
        "the card.",
        A, R, frozenset({DEVICE_SIGNATURE}),
        "the SMS code reaches the attacker and works", "unaffected: the attacker has no enrolled phone and no card",
        run.sim_swap, tap_cell="unaffected (attacker: {verdict})",
    ),
    Scenario(
        "nfc-relay", "NFC relay of the victim's own live tap (NGate-style)",
        "Relay malware has the victim tap their own card and forwards every card command over the internet to "
        "where the attacker runs the authentication. The card's answers are genuine, so every cryptographic "
        "check passes and the tap is ACCEPTED. Only a time bound on the relay-resistance exchange exposes the "
        "network's delay.",
        None, A, frozenset(),
        "", "genuine cryptograms: accepted by default", run.nfc_relay,
        countermeasure="relay-bound", countermeasure_checks=frozenset({POLICY}),
    ),
)  # fmt: skip


def scenario(scenario_id: str) -> Scenario:
    """The scenario called ``scenario_id`` (``KeyError`` naming the known ones)."""
    for item in SCENARIOS:
        if item.id == scenario_id:
            return item
    raise KeyError(f"unknown scenario {scenario_id!r}; known: {', '.join(s.id for s in SCENARIOS)}")


def run_all(
    config: LabConfig = LabConfig(), *, only: Sequence[str] = (), on_event: Callable[[Event], None] | None = None
) -> tuple[ScenarioResult, ...]:
    """Run every scenario (or those named in ``only``), each in its own fresh lab, in table order."""
    chosen = [scenario(name) for name in only] if only else list(SCENARIOS)
    return tuple(item.run(config, on_event) for item in chosen)
