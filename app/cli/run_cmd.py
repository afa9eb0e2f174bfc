"""``trustone run``: one card-tap authentication, end to end, shown step by step.

The verifier issues a challenge for the transaction, the phone taps the card (an
emulated card, a card in a PC/SC reader, or a card on an nfcpy device), the
verifier checks the signed assertion and decides. The first tap of a card with
this phone enrols it (summarised; ``--verbose`` shows its steps).

Exit codes: 0 ACCEPT; 1 REJECT, a tap that failed mid-way, or OFFLINE DATA
AUTHENTICATION ONLY (a real card whose issuer keys the verifier lacks: its
cryptogram was *not* checked) unless ``--accept-oda-only``; 2 a usage or set-up
error (one line). The argument helpers here are shared by ``enrol``, ``otp`` and
``trace save``.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.cli._common import EXIT_NEGATIVE, EXIT_OK, CliInputError, add_json_option, amount_minor_units
from app.cli.render import (
    Printer, Progress, check_json, events_json, render_events, render_verdict, shown_events, split_taps, tool_version,
)  # fmt: skip
from app.flow.attack_support import relay_wrapper
from app.flow.service import DEFAULT_PHONE, TapOptions, TapOutcome, TapService, TapStatus
from app.card_source import DEFAULT_PROFILE, CardSource, SourceKind
from app.transports.base import Transport
from app.transports.wrappers import Exchange, TracingTransport
from card_emulation.personalise import DEFAULT_SEED
from card_emulation.profile import list_profiles
from protocol.decoders.codes import currency, currency_by_alpha
from protocol.tap.events import Outcome
from protocol.tap.policy import NAMED_POLICIES, policy_named
from protocol.tap.trace import Trace, to_json
from protocol.tap.transaction import Transaction, TransactionType

EXAMPLES = """\
examples:
  trustone run                                   # emulated Mastercard (CDA), 50000 KRW to Coffee Shop Seoul
  trustone run --profile visa-cvn18-dda --amount 12.50 --currency USD --payee "Book Store"
  trustone run --fault genac:corrupt-ac          # a corrupted cryptogram: REJECT, exit 1
  trustone run --relay-latency 40 --policy relay-bound   # an NGate-style relay, caught by the time bound
  trustone run --transport pcsc --reader "ACS ACR1252" --save-trace tap.json --pcapng tap.pcapng
  trustone run --transport nfc --device usb --json
"""


# --------------------------------------------------------------------------- shared arguments


def add_source_arguments(p: argparse.ArgumentParser, *, faults: bool = True) -> None:
    """Where the card is: ``--transport`` and what each transport needs; who taps: ``--user``, ``--phone``."""
    card = p.add_argument_group("card")
    card.add_argument("--transport", choices=[k.value for k in SourceKind], default="emulated",
                      help="emulated card, PC/SC reader or nfcpy device (default emulated)")
    card.add_argument("--profile", choices=list_profiles(), default=DEFAULT_PROFILE, metavar="NAME",
                      help=f"emulated card profile (trustone card list; default {DEFAULT_PROFILE})")
    card.add_argument("--seed", default=DEFAULT_SEED, help="personalisation seed of the emulated card")
    if faults:
        card.add_argument("--fault", action="append", metavar="SPEC",
                          help="emulated card fault, e.g. 'genac:corrupt-ac' (repeatable; docs/faults.md)")
        card.add_argument("--timing", action="store_true", help="pace the emulated card like a real one")
    card.add_argument("--reader", metavar="NAME", help="PC/SC reader name (trustone readers lists them)")
    card.add_argument("--device", default="usb", metavar="PATH", help="nfcpy device: usb, usb:VID:PID, udp:HOST:PORT")
    card.add_argument("--wait", type=float, default=30.0, metavar="S", help="seconds to wait for a card (default 30)")
    who = p.add_argument_group("who")
    who.add_argument("--user", help="user id (default: one demo user per emulated profile)")
    who.add_argument("--phone", default=DEFAULT_PHONE, help=f"simulated phone name (default {DEFAULT_PHONE})")
    who.add_argument("--data-dir", metavar="DIR", help="data directory: key store, card images, verifier database")


def add_transaction_arguments(p: argparse.ArgumentParser) -> None:
    """The transaction T: ``--amount``, ``--currency``, ``--payee``, ``--type``."""
    t = p.add_argument_group("transaction")
    t.add_argument("--amount", default="50000", help="amount in major units, e.g. 50000 (KRW) or 12.50 (USD)")
    t.add_argument("--currency", default="KRW", help="ISO 4217 alpha (KRW) or numeric (410) code (default KRW)")
    t.add_argument("--payee", default="Coffee Shop Seoul", help="who is paid (default 'Coffee Shop Seoul')")
    t.add_argument("--type", dest="kind", choices=[k.label for k in TransactionType], default="payment",
                   help="transaction type (default payment)")


def currency_of(text: str) -> tuple[str, str, int]:
    """``(numeric code, alpha code, decimals)`` of a currency given as ``KRW`` or ``410``."""
    value = text.strip()
    found = currency(int(value)) if value.isdigit() and len(value) <= 3 else currency_by_alpha(value)
    if found is None:
        raise CliInputError(f"currency: unknown ISO 4217 code {text!r} (use e.g. KRW, USD, 410)")
    return f"{found.numeric:03d}", found.alpha, found.minor_units or 0


def transaction_from_args(args: argparse.Namespace, now: int | None = None) -> Transaction:
    numeric, _, decimals = currency_of(args.currency)
    amount = amount_minor_units(args.amount, decimals)
    return Transaction(TransactionType.parse(args.kind), amount, numeric, args.payee,
                       int(time.time()) if now is None else now)  # fmt: skip


def describe_transaction(t: Transaction) -> str:
    _, alpha, decimals = currency_of(t.currency)
    amount = f"{t.amount_minor / 10**decimals:,.{decimals}f}"
    return f"{t.kind.label} of {amount} {alpha} to {t.payee}"


def source_from_args(args: argparse.Namespace) -> CardSource:
    kind = SourceKind.parse(args.transport)
    if kind is SourceKind.PCSC and not args.reader:
        raise CliInputError("--transport pcsc needs --reader NAME (trustone readers lists them)")
    faults = "; ".join(getattr(args, "fault", None) or ())
    return CardSource(kind, args.profile, args.seed, faults, bool(getattr(args, "timing", False)), args.reader or "",
                      args.device)  # fmt: skip


# --------------------------------------------------------------------------- the tap


class _Capture:
    """The transport wrapper of the authentication tap: records its description and exchanges."""

    def __init__(self, relay_ms: float | None) -> None:
        self.description = ""
        self.exchanges: list[Exchange] = []
        self.relay = relay_wrapper(relay_ms) if relay_ms else None
        self.clock = (time.time_ns(), time.perf_counter_ns())  # wall and monotonic clocks read together

    def __call__(self, transport: Transport) -> Transport:
        self.description = transport.description
        self.clock = (time.time_ns(), time.perf_counter_ns())
        inner = self.relay(transport) if self.relay else transport
        return TracingTransport(inner, self.exchanges)


def perform(args: argparse.Namespace, capture: _Capture) -> tuple[TapOutcome, Transaction, CardSource, float]:
    """Run the tap the arguments describe; returns the outcome, T, the card source and the wall clock at the start."""
    source = source_from_args(args)
    transaction = transaction_from_args(args)
    policy = policy_named(args.policy)
    options = TapOptions(policy=policy, transport_wrapper=capture)
    started = time.time()
    with Progress("Preparing the card and the verifier…") as progress, TapService(args.data_dir, phone=args.phone) as service:
        outcome = service.tap(transaction, source, user_id=args.user, options=options, wait_s=args.wait,
                              waiting=progress.update)  # fmt: skip
    return outcome, transaction, source, started


def exit_code(outcome: TapOutcome, accept_oda_only: bool) -> int:
    if outcome.verification is None:
        return EXIT_NEGATIVE
    if outcome.verification.outcome is Outcome.ACCEPT:
        return EXIT_OK
    if outcome.verification.outcome is Outcome.ODA_ONLY and accept_oda_only:
        return EXIT_OK
    return EXIT_NEGATIVE


def save_files(args: argparse.Namespace, outcome: TapOutcome, capture: _Capture, source: CardSource,
               started: float) -> dict[str, str]:  # fmt: skip
    """Write ``--save-trace`` / ``--pcapng`` of the authentication tap (masked unless ``--reveal-pan``)."""
    written: dict[str, str] = {}
    _, events = split_taps(outcome.events)
    if args.save_trace:
        card = outcome.verification.masked_pan if outcome.verification and outcome.verification.masked_pan else (
            source.describe())
        trace = Trace(datetime.fromtimestamp(started, UTC), tool_version(), capture.description or source.describe(),
                      card or source.describe(), events, outcome.challenge, outcome.assertion)  # fmt: skip
        Path(args.save_trace).write_text(to_json(trace, reveal=args.reveal_pan), encoding="utf-8")
        written["trace"] = str(args.save_trace)
    if args.pcapng:
        from app.flow import pcapng

        records = pcapng.records_from_exchanges(capture.exchanges, events)
        origin = pcapng.ClockOrigin(*capture.clock)
        pcapng.write_pcapng(args.pcapng, records, origin=origin, interface=capture.description or source.describe(),
                            reveal=args.reveal_pan)  # fmt: skip
        written["pcapng"] = str(args.pcapng)
    return written


def _run(args: argparse.Namespace) -> int:
    capture = _Capture(args.relay_latency)
    try:
        outcome, transaction, source, started = perform(args, capture)
    except OSError as exc:
        raise CliInputError(f"cannot use the data directory: {exc}") from None
    try:
        written = save_files(args, outcome, capture, source, started)
    except OSError as exc:
        raise CliInputError(f"cannot write {exc.filename or 'the output file'}: {exc.strerror or exc}") from None
    code = exit_code(outcome, args.accept_oda_only)
    if args.json:
        Printer().json(result_json(args, outcome, transaction, source, code, written))
    else:
        report(Printer(), args, outcome, transaction, source, written)
    return code


def result_json(args: argparse.Namespace, outcome: TapOutcome, transaction: Transaction, source: CardSource,
                code: int, written: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    v = outcome.verification
    enrolled = outcome.enrolled
    return {
        "verdict": v.outcome.value if v else None, "status": outcome.status.value, "exit_code": code,
        "message": outcome.message,
        "transaction": transaction.to_dict(), "card": source.describe(), "policy": args.policy,
        "user": v.user_id if v else args.user, "phone": args.phone, "masked_pan": v.masked_pan if v else None,
        "atc": v.atc if v else None, "arpc": v.arpc.hex().upper() if v and v.arpc else None,
        "enrolled": None if enrolled is None else {"masked_pan": enrolled.masked_pan, "card_ref": (
            enrolled.card_ref.hex() if enrolled.card_ref else None)},
        "checks": [check_json(c) for c in v.checks] if v else [], "reasons": list(v.reasons) if v else [],
        "files": written, "events": events_json(outcome.events, reveal=args.reveal_pan),
    }  # fmt: skip


def report(p: Printer, args: argparse.Namespace, outcome: TapOutcome, transaction: Transaction, source: CardSource,
           written: dict[str, str]) -> None:  # fmt: skip
    """The readable step list of the tap, then the verdict."""
    events = shown_events(outcome.events, reveal=args.reveal_pan)
    enrolment, tap = split_taps(events)
    p.line(f"TrustOne tap — {source.describe()} · policy {args.policy}")
    p.line("An EMV-based model of TrustOne: no public TrustOne APDU specification exists.")
    p.line(f"Transaction: {describe_transaction(transaction)}")
    if outcome.enrolled is not None:
        p.line(f"First tap of this card with phone {args.phone!r}: card {outcome.enrolled.masked_pan} enrolled "
               f"({len(enrolment)} events; --verbose shows them).")  # fmt: skip
        if args.verbose:
            p.line()
            render_events(p, enrolment, verbose=True)
    p.line()
    render_events(p, tap, verbose=args.verbose)
    p.line()
    if outcome.status is not TapStatus.VERDICT:
        p.line(f"Verdict: none — {outcome.message}")
    else:
        render_verdict(p, outcome.verification.verdict if outcome.verification else None, outcome.message)
        if outcome.verification and outcome.verification.outcome is Outcome.ODA_ONLY:
            p.line("  (the card's cryptogram was not checked: the verifier lacks its issuer keys; exit code 1 "
                   "unless --accept-oda-only)")  # fmt: skip
    for kind, path in written.items():
        masked = "unmasked" if args.reveal_pan else "card data masked"
        p.line(f"{kind} written to {path} ({masked})")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Every option of ``run`` (also used by ``trace save``)."""
    add_source_arguments(p)
    add_transaction_arguments(p)
    v = p.add_argument_group("verifier and output")
    v.add_argument("--policy", choices=list(NAMED_POLICIES), default="default",
                   help="verifier policy for this tap (default: default)")
    v.add_argument("--relay-latency", type=float, metavar="MS",
                   help="put an NGate-style relay adding MS milliseconds per exchange in the card link (demo)")
    v.add_argument("--accept-oda-only", action="store_true",
                   help="exit 0 for OFFLINE DATA AUTHENTICATION ONLY (a real card whose issuer keys are unknown)")
    v.add_argument("--pcapng", metavar="FILE", help="write the tap's APDUs as a pcapng capture (Wireshark)")
    v.add_argument("--reveal-pan", action="store_true", help="show and export the full PAN and track data")
    v.add_argument("--verbose", "-v", action="store_true", help="explanations, decoded data, crypto, full APDUs")
    add_json_option(p)


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``run``."""
    p = groups.add_parser(
        "run", help="one card-tap authentication, step by step", description=__doc__.split("\n\n")[1],
        epilog=EXAMPLES + "\nexit codes: 0 ACCEPT; 1 REJECT, a failed tap, or ODA ONLY (see --accept-oda-only); "
        "2 usage or set-up error", formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add_run_arguments(p)
    p.add_argument("--save-trace", metavar="FILE", help="write the tap as a JSON trace (trustone trace show FILE)")
    p.set_defaults(handler=_run)



#: The ``run`` handler, for ``trace save``.
run_handler = _run
