"""``trustone scenarios``: the attack table of DESIGN.md §3, run for real.

Every attack runs in its own isolated lab (temporary directory, in-memory
verifier, fixed clock): the honest flow first, then the attack, on the OTP side
and on the card tap. The table shows both verdicts and why — the verifier's own
failed checks. Exit code 0 when every verdict equals DESIGN.md's table, 1 when
one differs, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
from typing import Any

from app.cli._common import EXIT_NEGATIVE, EXIT_OK, CliInputError, add_json_option
from app.cli.render import Printer, Progress, events_json, render_events, shown_events
from app.flow.attack_lab import SCENARIOS, LabConfig, Scenario, run_all, scenario
from app.flow.attack_results import Attempt, ScenarioResult, SideResult
from app.flow.attack_support import DEFAULT_RELAY_LATENCY_MS, MAX_RELAY_LATENCY_MS

EXAMPLES = """\
examples:
  trustone scenarios                        # the whole table
  trustone scenarios --only nfc-relay --verbose
  trustone scenarios --json | jq '.scenarios[] | {id, otp: .otp.verdict, tap: .tap.verdict}'

scenario ids: """ + ", ".join(s.id for s in SCENARIOS)

HEADERS = ("attack", "OTP", "card tap", "why")


def _tap_cell(result: ScenarioResult, item: Scenario) -> str:
    text = item.tap_cell.format(verdict=result.tap.verdict.value)
    if item.countermeasure is not None:
        bounded = next((v for v in result.tap.variants if v.policy == item.countermeasure), None)
        if bounded is not None:
            text += f" ({bounded.verdict.value} under {item.countermeasure})"
    return text


def _otp_cell(result: ScenarioResult) -> str:
    return "n/a" if result.otp is None else result.otp.verdict.value


def table(results: tuple[ScenarioResult, ...], width: int) -> list[str]:
    """The results as an ASCII table fitting ``width`` columns."""
    rows = [(r.title, _otp_cell(r), _tap_cell(r, scenario(r.scenario_id)), r.why) for r in results]
    widths = [30, 8, 18, 0]
    widths[3] = max(30, width - sum(widths[:3]) - 13)
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [rule, *_row(HEADERS, widths), rule]
    for row in rows:
        out.extend(_row(row, widths))
        out.append(rule)
    return out


def _row(cells: tuple[str, ...], widths: list[int]) -> list[str]:
    wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
    lines = []
    for i in range(max(len(w) for w in wrapped)):
        parts = [(w[i] if i < len(w) else "").ljust(width) for w, width in zip(wrapped, widths, strict=True)]
        lines.append("| " + " | ".join(parts) + " |")
    return lines


# --------------------------------------------------------------------------- JSON


def _attempt_json(a: Attempt, verbose: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": a.label, "verdict": a.verdict.value, "policy": a.policy, "failed_checks": list(a.failed_checks),
        "reasons": [{"check": r.check, "status": r.status, "detail": r.detail} for r in a.reasons],
        "notes": [{"check": r.check, "status": r.status, "detail": r.detail} for r in a.notes],
    }  # fmt: skip
    if verbose:
        out["events"] = events_json(a.events)
    return out


def _side_json(side: SideResult | None, verbose: bool) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "verdict": side.verdict.value, "failed_checks": list(side.failed_checks),
        "reasons": [{"check": r.check, "status": r.status, "detail": r.detail} for r in side.reasons],
        "note": side.note, "honest": _attempt_json(side.honest, verbose), "attack": _attempt_json(side.attack, verbose),
        "variants": [_attempt_json(v, verbose) for v in side.variants],
    }  # fmt: skip


def result_json(result: ScenarioResult, verbose: bool) -> dict[str, Any]:
    item = scenario(result.scenario_id)
    return {
        "id": result.scenario_id, "title": result.title, "description": item.description,
        "expected": {"otp": None if result.expected_otp is None else result.expected_otp.value,
                     "tap": result.expected_tap.value, "tap_failed_checks": sorted(item.expected_checks),
                     "countermeasure": item.countermeasure},
        "otp": _side_json(result.otp, verbose), "tap": _side_json(result.tap, verbose), "why": result.why,
        "as_expected": result.as_expected, "mismatches": list(result.mismatches),
    }  # fmt: skip


# --------------------------------------------------------------------------- verbose text


def _attempt_text(p: Printer, role: str, a: Attempt) -> None:
    policy = f" [policy {a.policy}]" if a.policy else ""
    p.wrapped(f"{role}: {a.label}{policy} → {a.verdict.value}", "    ", "  ")
    for r in a.reasons:
        p.wrapped(f"{r.check}: {r.detail}", "      ", f"    {p.sym['failed']} ")
    for r in a.notes:
        p.wrapped(f"{r.check}: {r.detail}", "      ", f"    {p.sym['not checkable']} ")


def _details(p: Printer, result: ScenarioResult) -> None:
    item = scenario(result.scenario_id)
    p.line()
    p.line(f"== {result.title} [{result.scenario_id}]")
    p.wrapped(item.description, "", "")
    for name, side in (("OTP", result.otp), ("Card tap", result.tap)):
        p.line()
        if side is None:
            p.line(f"{name}: not applicable")
            continue
        p.line(f"{name}: {side.verdict.value}")
        for role, attempt in (("honest", side.honest), ("attack", side.attack)):
            _attempt_text(p, role, attempt)
        for variant in side.variants:
            _attempt_text(p, "variant", variant)
        if side.note:
            p.wrapped(side.note, "    ", "  note: ")
        for role, attempt in (("honest", side.honest), ("attack", side.attack), *(("variant", v) for v in side.variants)):
            p.line(f"  -- events of the {role} run: {attempt.label}")
            render_events(p, shown_events(attempt.events))


def _scenarios(args: argparse.Namespace) -> int:
    known = {s.id for s in SCENARIOS}
    unknown = [name for name in args.only or () if name not in known]
    if unknown:
        raise CliInputError(f"unknown scenario {unknown[0]!r}; known: {', '.join(s.id for s in SCENARIOS)}")
    if not 0 <= args.relay_latency <= MAX_RELAY_LATENCY_MS:
        raise CliInputError(f"--relay-latency must be 0..{MAX_RELAY_LATENCY_MS:g} ms")
    with Progress("Running the attack scenarios…"):
        results = run_all(LabConfig(relay_latency_ms=args.relay_latency), only=tuple(args.only or ()))
    ok = all(r.as_expected for r in results)
    p = Printer()
    if args.json:
        p.json({"scenarios": [result_json(r, args.verbose) for r in results], "all_as_expected": ok,
                "relay_latency_ms": args.relay_latency})  # fmt: skip
        return EXIT_OK if ok else EXIT_NEGATIVE
    p.line("Attacks of DESIGN.md §3, run against the OTP flow and the card tap (an EMV-based model of TrustOne).")
    for line in table(results, args.width or shutil.get_terminal_size((120, 24)).columns):
        p.line(line)
    if ok:
        which = f"All {len(results)} scenarios end" if len(results) > 1 else "The scenario ends"
        p.line(f"{which} as DESIGN.md §3 expects (honest runs accepted).")
    for r in results:
        for problem in r.mismatches:
            p.line(f"{p.sym['failed']} {r.scenario_id}: {problem}")
    if args.verbose:
        for r in results:
            _details(p, r)
    return EXIT_OK if ok else EXIT_NEGATIVE


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``scenarios``."""
    p = groups.add_parser(
        "scenarios", help="the attack table: OTP vs card tap, run for real", description=__doc__.split("\n\n")[1],
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("--only", action="append", metavar="ID", help="run only this scenario (repeatable)")
    p.add_argument("--verbose", "-v", action="store_true", help="each scenario's runs, reasons and events")
    p.add_argument("--relay-latency", type=float, default=DEFAULT_RELAY_LATENCY_MS, metavar="MS",
                   help=f"network latency the NFC relay adds per exchange (default {DEFAULT_RELAY_LATENCY_MS:g})")
    p.add_argument("--width", type=int, metavar="N", help="table width in columns (default: the terminal's)")
    add_json_option(p)
    p.set_defaults(handler=_scenarios)

