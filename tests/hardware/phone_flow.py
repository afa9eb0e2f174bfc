"""The phone flow against a card in a reader, as the opt-in hardware tests run it.

:func:`run_phone_flow` is the whole DESIGN.md §3 story through one transport:

1. enrolment — the verifier registers the phone's device key, the phone taps
   the card (:class:`~protocol.tap.authenticator.AuthenticatorSession` pumped by
   :func:`app.flow.runner.run_authentication` through ``wrap(transport)``), and the
   verifier binds the card;
2. authentication — a fresh challenge for a transaction, a second tap, and the
   verifier's checks: offline data authentication against the CA keys it is given
   (for a real card: the public scheme keys of ``resources/capk.json``), and the
   ARQC, which without the issuer's keys is "not checkable", never "passed";
3. a masked JSON trace and a masked pcapng of the authentication tap in
   ``out_dir``, read back and checked for the PAN.

The same function runs against a real card (``tests/hardware/test_real_card.py``,
``--reader`` / ``--nfc-device``) and, in CI, against the emulated card behind the
private pcscd + vpcd and nfcpy's udp driver (``test_emulated_path.py``).
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from app.flow.pcapng import ClockOrigin, read_pcapng, records_from_exchanges, write_pcapng
from app.flow.runner import RunOutcome, run_authentication
from app.flow.store import SqliteVerifierStore
from app.transports.base import Transport
from app.transports.wrappers import Exchange, wrap
from protocol.crypto.capk import CapkStore
from protocol.crypto.primitives import EcPrivateKey, ec_generate, ec_public_bytes
from protocol.keystore import KeyStore
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.challenge import Challenge
from protocol.tap.events import CheckCompleted, CheckStatus, Outcome
from protocol.tap.trace import Trace, from_json, to_json
from protocol.tap.transaction import Transaction, TransactionType
from protocol.tap.verifier import Verifier
from protocol.tap.verifier_result import VerificationResult
from protocol.trace_masking import session_pans

USER = "hardware-test"


@dataclass(frozen=True)
class FlowReport:
    """What one run established, for assertions and the printed summary."""

    transport: str
    enrolment_outcome: Outcome
    outcome: Outcome
    checks: tuple[CheckCompleted, ...]
    phone_checks: tuple[CheckCompleted, ...]
    masked_pan: str
    trace_path: Path
    pcapng_path: Path
    apdus: int
    pans: frozenset[str]

    def check(self, name: str) -> CheckCompleted:
        return next(c for c in self.checks if c.check == name)

    def summary(self) -> str:
        lines = [f"Reader: {self.transport}", f"Card: {self.masked_pan}",
                 f"Enrolment: {self.enrolment_outcome.value}", f"Verdict: {self.outcome.value}", "Verifier checks:"]  # fmt: skip
        lines += [f"  {c.check}: {c.status.value} - {c.detail}" for c in self.checks]
        lines += ["Phone checks:"] + [f"  {c.check}: {c.status.value} - {c.detail}" for c in self.phone_checks]
        lines += [f"APDUs: {self.apdus}", f"Trace (masked): {self.trace_path}", f"pcapng (masked): {self.pcapng_path}"]
        return "\n".join(lines)


def _tool_version() -> str:
    try:
        return version("trustone-simulator")
    except PackageNotFoundError:
        return "unknown"


def _tap(
    transport: Transport, challenge: Challenge, key: EcPrivateKey, ca_store: CapkStore, log: list[Exchange]
) -> RunOutcome:
    session = AuthenticatorSession(challenge, user_id=USER, device_key=key, ca_store=ca_store,
                                   today=datetime.date.today())  # fmt: skip
    outcome = run_authentication(session, wrap(transport, trace=log))
    assert outcome.ok, f"the tap failed: {outcome.failure}"
    return outcome


def run_phone_flow(transport: Transport, out_dir: Path, *, keystore: KeyStore, ca_store: CapkStore) -> FlowReport:
    """Enrol, authenticate, save the masked trace and pcapng; see the module docstring."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key = ec_generate()
    with SqliteVerifierStore(out_dir / "verifier.sqlite") as store:
        verifier = Verifier(store, keystore=keystore, ca_store=ca_store,
                            now=lambda: int(time.time()), today=datetime.date.today)  # fmt: skip
        enrolment_challenge = verifier.begin_enrolment(USER, ec_public_bytes(key))
        enrolled = _tap(transport, enrolment_challenge, key, ca_store, [])
        assert enrolled.assertion is not None
        enrolment = verifier.complete_enrolment(enrolled.assertion.to_bytes())

        transaction = Transaction(TransactionType.LOGIN, 0, "410", "TrustOne hardware test", int(time.time()))
        challenge = verifier.issue_challenge(transaction)
        log: list[Exchange] = []
        origin = ClockOrigin.now()
        tapped = _tap(transport, challenge, key, ca_store, log)
        assert tapped.assertion is not None
        result: VerificationResult = verifier.verify(tapped.assertion.to_bytes())

    created = datetime.datetime.fromtimestamp(origin.wall_ns / 1e9, datetime.UTC)
    trace = Trace(created, _tool_version(), transport.description, result.masked_pan or "real card",
                  tapped.events + result.events, challenge, tapped.assertion)  # fmt: skip
    trace_path = out_dir / "authentication.trace.json"
    trace_path.write_text(to_json(trace), encoding="utf-8")
    pcapng_path = write_pcapng(out_dir / "authentication.pcapng", records_from_exchanges(log, tapped.events),
                               origin=origin, interface=transport.description)  # fmt: skip
    assert from_json(trace_path.read_text(encoding="utf-8")).masked
    assert len(read_pcapng(pcapng_path).exchanges) == len(log)
    phone = tuple(e for e in tapped.events if isinstance(e, CheckCompleted))
    return FlowReport(
        transport.description, enrolment.result.outcome, result.outcome, result.verdict.checks, phone,
        result.masked_pan or tapped.assertion.evidence.masked_pan, trace_path, pcapng_path, len(log),
        session_pans([(e.command, e.response) for e in log]),
    )  # fmt: skip


def assert_nothing_leaks(report: FlowReport) -> None:
    """The saved files carry no PAN (digits, BCD, or the digits hidden by masking)."""
    assert report.pans, "no PAN was read from the card"
    for path in (report.trace_path, report.pcapng_path):
        data = path.read_bytes()
        for pan in report.pans:
            for fragment in (pan, pan[:-4], pan[6:]):
                assert fragment.encode() not in data, (path.name, "digits")
                assert fragment.encode() not in data.hex().upper().encode(), (path.name, "hex")
            even = pan + "F" if len(pan) % 2 else pan
            assert bytes.fromhex(even) not in data, (path.name, "BCD")


def assert_real_card_report(report: FlowReport) -> None:
    """What holds for any card whose issuer keys the verifier lacks."""
    arqc = report.check("ARQC")
    assert arqc.status is CheckStatus.NOT_CHECKABLE, arqc
    assert report.check("offline data authentication").status in (
        CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_CHECKABLE,
    )  # fmt: skip
    assert report.outcome is not Outcome.ACCEPT  # never "accepted" without checking the cryptogram
    assert_nothing_leaks(report)
