"""``trustone trace``: show, replay and save traces of a tap (docs/traces.md).

* ``trace show FILE`` — a JSON trace (``run --save-trace``) as the same step list
  as ``trustone run``; a pcapng capture (``run --pcapng``) as its APDU list. Card
  data is masked on screen unless ``--reveal-pan`` (and a masked file stays masked).
* ``trace replay FILE`` — a regression tool for the phone: a fresh
  :class:`~protocol.tap.authenticator.AuthenticatorSession` with the trace's
  challenge is fed the card's recorded answers, one per command, with the
  recorded round-trip times (and the recorded relay-resistance entropy). It
  reports whether the phone sends the same commands, reaches the same check
  results and builds the same card evidence for its assertion. The device
  signature is not compared (a replay has no device key). Use the data directory
  the trace was made with (its CA keys) and an unmasked trace (``--reveal-pan``):
  a masked trace hides the PAN and zeroes the certificates the phone checks, so
  it is refused.
* ``trace save FILE [run options]`` — ``trustone run --save-trace FILE``.

Exit codes: 0 shown / identical, 1 the replay differs, 2 unreadable file or usage error.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import Any

from app.cli._common import EXIT_NEGATIVE, EXIT_OK, CliInputError, add_json_option
from app.cli.render import Printer, check_json, events_json, render_events, render_verdict
from app.cli.run_cmd import add_run_arguments, run_handler
from app.flow import pcapng
from app.flow.service import TapService
from protocol import status_words
from protocol.crypto.primitives import ec_from_scalar
from protocol.tap import events as ev
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.trace import Trace, from_json, masked_trace
from protocol.trace_masking import mask_exchanges

EXAMPLES = """\
examples:
  trustone trace save tap.json --profile visa-cvn18-dda
  trustone trace show tap.json
  trustone trace show tap.pcapng
  trustone trace replay tap.json --data-dir DIR
"""
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
REPLAY_KEY = ec_from_scalar(0x7E7A)  # the replay's stand-in device key: signatures are not compared


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliInputError(f"cannot read {path}: {exc.strerror or exc}") from None


def load_trace(path: str) -> Trace:
    data = _read(path)
    if data.startswith(PCAPNG_MAGIC):
        raise CliInputError(f"{path} is a pcapng capture: 'trace replay' needs a JSON trace (run --save-trace)")
    return from_json(data)


# --------------------------------------------------------------------------- show


def _show(args: argparse.Namespace) -> int:
    data = _read(args.file)
    p = Printer()
    if data.startswith(PCAPNG_MAGIC):
        capture = pcapng.parse_pcapng(data)
        pairs = [(x.command, x.response) for x in capture.exchanges]
        shown = pairs if args.reveal_pan else mask_exchanges(pairs)
        rows = [{"name": x.name, "command": c.hex().upper(), "response": r.hex().upper(),
                 "sw": r[-2:].hex().upper() if len(r) >= 2 else None, "elapsed_ns": x.elapsed_ns}
                for x, (c, r) in zip(capture.exchanges, shown, strict=True)]  # fmt: skip
        if args.json:
            p.json({"format": "pcapng", "application": capture.application, "interface": capture.interface,
                    "comment": capture.comment, "exchanges": rows})  # fmt: skip
            return EXIT_OK
        p.line(f"pcapng capture {args.file} — {capture.application} · {capture.interface}")
        p.wrapped(capture.comment, "  ", "  ")
        for n, row in enumerate(rows, 1):
            sw = int(row["sw"], 16) if row["sw"] else None
            meaning = status_words.describe(sw) if sw is not None else "no status word"
            p.line(f"{n:>3}. {p.sym['send']} {row['name']:<34} {row['command'][:48]}")
            p.line(f"     {p.sym['recv']} {row['sw'] or '----'} {meaning} ({len(row['response']) // 2 - 2} bytes, "
                   f"{row['elapsed_ns'] / 1e6:.2f} ms)")  # fmt: skip
        return EXIT_OK
    trace = from_json(data)
    shown_trace = trace if args.reveal_pan or trace.masked else masked_trace(trace)
    verdicts = [e for e in shown_trace.events if isinstance(e, ev.VerdictReached)]
    if args.json:
        p.json({"format": "trace", "created": trace.created.isoformat(), "tool_version": trace.tool_version,
                "masked": shown_trace.masked, "transport": shown_trace.transport, "card": shown_trace.card,
                "transaction": trace.challenge.transaction.to_dict() if trace.challenge else None,
                "verdict": verdicts[-1].outcome.value if verdicts else None,
                "checks": [check_json(c) for c in verdicts[-1].checks] if verdicts else [],
                "events": events_json(shown_trace.events, reveal=True)})  # fmt: skip
        return EXIT_OK
    p.line(f"Trace {args.file} — made {trace.created:%Y-%m-%d %H:%M:%S} UTC by TrustOne {trace.tool_version}; "
           f"{'card data masked' if shown_trace.masked else 'UNMASKED card data'}")  # fmt: skip
    p.line(f"Transport: {shown_trace.transport} · card: {shown_trace.card}")
    if trace.challenge is not None:
        p.line(f"Transaction: {trace.challenge.transaction.describe()} (challenge {trace.challenge.challenge_id})")
    p.line()
    render_events(p, shown_trace.events, verbose=args.verbose)
    p.line()
    render_verdict(p, verdicts[-1] if verdicts else None, "the trace holds no verdict")
    return EXIT_OK


# --------------------------------------------------------------------------- replay


def _phone_checks(events: list[ev.Event] | tuple[ev.Event, ...]) -> list[tuple[str, str]]:
    return [(e.check, e.status.value) for e in events if isinstance(e, ev.CheckCompleted) and e.actor is ev.Lane.PHONE]


def replay(trace: Trace, data_dir: str | None) -> dict[str, Any]:
    """Feed the trace's card answers to a fresh phone session; what differs (see the module docstring)."""
    if trace.challenge is None:
        raise CliInputError("the trace has no challenge: nothing to replay")
    if trace.masked:
        raise CliInputError("trace replay needs an unmasked trace (run --save-trace FILE --reveal-pan): a masked "
                            "trace hides the PAN and zeroes the certificates the phone checks")  # fmt: skip
    recorded = list(trace.apdu_exchanges())
    entropy = next((e.command[5:9] for e in recorded if e.command[:2] == b"\x80\xea" and len(e.command) >= 9), b"")
    with TapService(data_dir, store_path=":memory:") as service:
        ca_store = service.ca_store
    today = datetime.datetime.fromtimestamp(trace.challenge.issued_at, datetime.UTC).date()
    user = trace.assertion.user_id if trace.assertion is not None else "replay"
    session = AuthenticatorSession(trace.challenge, user_id=user, device_key=REPLAY_KEY, ca_store=ca_store,
                                   today=today, random_bytes=lambda n: entropy if len(entropy) == n else bytes(n))
    differences: list[str] = []
    sent = 0
    while not session.done and not differences:
        if session.pending_choice is not None:
            differences.append("the phone asks which application to use; the trace does not say")
            break
        command = session.next_command()
        if command is None:
            break
        if sent >= len(recorded):
            differences.append(f"command {sent + 1}: the phone sends {command.hex().upper()[:40]} but the trace ends")
            break
        answer = recorded[sent]
        if command != answer.command:
            differences.append(f"command {sent + 1} ({answer.command_name}): recorded {answer.command.hex().upper()}, "
                               f"the phone now sends {command.hex().upper()}")  # fmt: skip
            break
        session.receive(answer.response, answer.elapsed_ns)
        sent += 1
    if not differences and sent < len(recorded):
        why = f" ({session.failure.reason})" if session.failure is not None else ""
        differences.append(f"the phone stopped after {sent} commands; the trace has {len(recorded)}{why}")
    events = session.drain_events()
    before, after = _phone_checks(trace.events), _phone_checks(events)
    if not differences and before != after:
        changed = next((f"{a[0]}: recorded {a[1]}, now {b[1]}" for a, b in zip(before, after) if a != b),
                       f"{len(before)} checks recorded, {len(after)} now")  # fmt: skip
        differences.append(f"the phone's checks differ — {changed}")
    evidence = "not compared"
    if not differences and trace.assertion is not None:
        same = session.assertion is not None and session.assertion.evidence == trace.assertion.evidence
        evidence = "identical" if same else "different"
        if not same:
            differences.append("the card evidence of the assertion differs")
    return {"identical": not differences, "commands_recorded": len(recorded), "commands_replayed": sent,
            "phone_checks": len(after), "evidence": evidence, "differences": differences}  # fmt: skip


def _replay(args: argparse.Namespace) -> int:
    trace = load_trace(args.file)
    report = replay(trace, args.data_dir)
    code = EXIT_OK if report["identical"] else EXIT_NEGATIVE
    p = Printer()
    if args.json:
        p.json({**report, "file": args.file, "exit_code": code})
        return code
    p.line(f"Replay of {args.file}: {report['commands_recorded']} recorded card answers fed to a fresh phone session")
    p.line(f"  commands identical: {report['commands_replayed']} of {report['commands_recorded']}")
    p.line(f"  phone checks reached: {report['phone_checks']}; assertion card evidence: {report['evidence']}")
    for difference in report["differences"]:
        p.wrapped(difference, "    ", f"  {p.sym['failed']} ")
    p.line("Result: " + ("IDENTICAL — the phone behaves as when the trace was made" if report["identical"]
                         else "DIFFERENT"))  # fmt: skip
    return code


def _save(args: argparse.Namespace) -> int:
    args.save_trace = args.file
    return run_handler(args)


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``trace`` group."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = groups.add_parser("trace", help="show, replay and save tap traces (JSON, pcapng)",
                               description=__doc__.split("\n\n", 1)[1], epilog=EXAMPLES, formatter_class=raw)
    commands = parser.add_subparsers(title="commands", dest="trace_command", metavar="<command>")
    commands.required = True
    p = commands.add_parser("show", help="a JSON trace or a pcapng capture as a step list",
                            epilog="example:\n  trustone trace show tap.json --verbose", formatter_class=raw)
    p.add_argument("file", metavar="FILE", help="JSON trace or pcapng capture")
    p.add_argument("--reveal-pan", action="store_true", help="show an unmasked file's PAN and track data")
    p.add_argument("--verbose", "-v", action="store_true", help="explanations, decoded data, crypto, full APDUs")
    add_json_option(p)
    p.set_defaults(handler=_show)
    p = commands.add_parser("replay", help="re-feed a trace's card answers to a fresh phone session",
                            epilog="example:\n  trustone trace replay tap.json --data-dir DIR", formatter_class=raw)
    p.add_argument("file", metavar="FILE", help="JSON trace (trustone run --save-trace)")
    p.add_argument("--data-dir", metavar="DIR", help="data directory the trace was made with (its CA keys)")
    add_json_option(p)
    p.set_defaults(handler=_replay)
    p = commands.add_parser("save", help="run a tap and save its trace (= run --save-trace FILE)",
                            epilog="example:\n  trustone trace save tap.json --profile legacy-sda --reveal-pan",
                            formatter_class=raw)  # fmt: skip
    p.add_argument("file", metavar="FILE", help="where to write the JSON trace")
    add_run_arguments(p)
    p.set_defaults(handler=_save)
