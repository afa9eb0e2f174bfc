"""A one-page HTML report of a tap: transaction, verdict, checks, steps, APDUs and timings.

:func:`html_report` turns a :class:`~protocol.tap.trace.Trace` into one
self-contained HTML document (inline CSS, no script, no external resource) that
a browser prints on a page or two. Card data is always masked: the trace is
passed through :func:`~protocol.tap.trace.masked_trace` first (PAN first 6 /
last 4, track data, certificates carrying the PAN), whatever the caller holds.
Every text is HTML-escaped. Used by the desktop app's File ▸ Export and usable
from scripts::

    Path("tap.html").write_text(html_report(trace), encoding="utf-8")
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Iterable, Sequence

from protocol.tap import events as ev
from protocol.tap.trace import Trace, masked_trace

TITLE = "TrustOne Tap Simulator — run report"
DISCLAIMER = "An EMV-based model of TrustOne; no public APDU-level specification exists."
_MARKS = {ev.CheckStatus.PASSED: "✓", ev.CheckStatus.FAILED: "✗", ev.CheckStatus.NOT_CHECKABLE: "?",
          ev.CheckStatus.SKIPPED: "–"}  # fmt: skip
_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:#1d2630;margin:24px auto;
max-width:1000px;font-size:13px;line-height:1.4}
h1{font-size:20px;margin:0 0 2px}h2{font-size:15px;margin:22px 0 6px;border-bottom:1px solid #d5dbe3;padding-bottom:3px}
.note{color:#5b6673;font-size:12px}.meta{display:grid;grid-template-columns:160px 1fr;gap:2px 12px;margin-top:10px}
.meta b{color:#5b6673;font-weight:600}.verdict{padding:10px 14px;border-radius:6px;color:#fff;font-size:17px;
font-weight:700;margin-top:14px}.verdict small{display:block;font-size:12px;font-weight:400;margin-top:3px}
.accept{background:#1b7f3b}.reject,.failed{background:#c62828}.oda{background:#b26a00}.none{background:#5b6673}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e5e9ef;
vertical-align:top}th{background:#eef2f7;font-weight:600}td.num{text-align:right;white-space:nowrap}
.mono{font-family:"DejaVu Sans Mono",Consolas,monospace;font-size:11.5px;word-break:break-all}
.passed{color:#1b7f3b;font-weight:700}.failedc{color:#c62828;font-weight:700}.other{color:#8a5a00;font-weight:700}
@media print{body{margin:0}h2{break-after:avoid}}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _ms(ns: int | None) -> str:
    return "—" if ns is None else f"{ns / 1e6:.2f} ms"


def _amount(transaction: object) -> str:
    amount = getattr(transaction, "amount_minor", 0)
    currency = getattr(transaction, "currency", "")
    return f"{amount} (minor units, ISO 4217 {currency})"


def _meta(trace: Trace) -> str:
    rows: list[tuple[str, str]] = [
        ("Created", trace.created.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("Card", trace.card), ("Transport", trace.transport), ("Tool version", trace.tool_version),
    ]  # fmt: skip
    if trace.challenge is not None:
        t = trace.challenge.transaction
        when = datetime.datetime.fromtimestamp(t.timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        rows[1:1] = [("Transaction", f"{t.kind.label} of {_amount(t)} to {t.payee}"), ("Transaction time", when),
                     ("Challenge", f"{trace.challenge.challenge_id} (UN {trace.challenge.un.hex().upper()})")]  # fmt: skip
    cells = "".join(f"<b>{_e(k)}</b><span>{_e(v)}</span>" for k, v in rows)
    return f'<div class="meta">{cells}</div>'


def _verdict(events: Sequence[ev.Event]) -> str:
    verdict = next((e for e in reversed(events) if isinstance(e, ev.VerdictReached)), None)
    failure = next((e for e in events if isinstance(e, ev.SessionFailed)), None)
    if verdict is not None:
        css = {ev.Outcome.ACCEPT: "accept", ev.Outcome.REJECT: "reject"}.get(verdict.outcome, "oda")
        mark = {"accept": "✓", "reject": "✗"}.get(css, "!")
        detail = "; ".join(verdict.reasons) or f"All {len(verdict.checks)} verifier checks passed."
        return f'<div class="verdict {css}">{mark} {_e(verdict.outcome.value)}<small>{_e(detail)}</small></div>'
    if failure is not None:
        return (f'<div class="verdict failed">✗ TAP FAILED<small>During “{_e(failure.step.title)}”: '
                f"{_e(failure.reason)}</small></div>")  # fmt: skip
    return '<div class="verdict none">No verdict<small>The run ended before the verifier decided.</small></div>'


def _checks(events: Sequence[ev.Event]) -> str:
    verdict = next((e for e in reversed(events) if isinstance(e, ev.VerdictReached)), None)
    checks = verdict.checks if verdict is not None and verdict.checks else tuple(
        e for e in events if isinstance(e, ev.CheckCompleted))
    if not checks:
        return '<p class="note">No checks were reported.</p>'
    css = {ev.CheckStatus.PASSED: "passed", ev.CheckStatus.FAILED: "failedc"}
    rows = "".join(
        f'<tr><td class="{css.get(c.status, "other")}">{_MARKS[c.status]}</td><td>{_e(c.check)}</td>'
        f"<td>{_e(c.status.value)}</td><td>{_e(c.detail)}</td></tr>"
        for c in checks
    )
    return f"<table><tr><th></th><th>Check</th><th>Status</th><th>Why</th></tr>{rows}</table>"


def _steps(events: Sequence[ev.Event]) -> str:
    durations: dict[ev.Step, int] = {}
    counts: dict[ev.Step, int] = {}
    for e in events:
        if isinstance(e, ev.ApduExchanged):
            durations[e.step] = durations.get(e.step, 0) + (e.elapsed_ns or 0)
            counts[e.step] = counts.get(e.step, 0) + 1
    rows = []
    for n, e in enumerate((e for e in events if isinstance(e, ev.StepStarted)), 1):
        apdus = counts.get(e.step, 0)
        timing = f"{apdus} APDU · {_ms(durations.get(e.step))}" if apdus else ""
        ref = f'<div class="note">{_e(e.reference)}</div>' if e.reference else ""
        rows.append(f"<tr><td class=num>{n}</td><td><b>{_e(e.step.title)}</b><div class=note>{_e(e.actor.value)}"
                    f"</div></td><td>{_e(e.explanation)}{ref}</td><td class=num>{_e(timing)}</td></tr>")  # fmt: skip
    return ("<table><tr><th>#</th><th>Step</th><th>What happens</th><th>Card time</th></tr>" + "".join(rows)
            + "</table>")  # fmt: skip


def _apdus(apdus: Iterable[ev.ApduExchanged]) -> str:
    rows = "".join(
        f"<tr><td class=num>{n}</td><td>{_e(a.command_name)}</td><td class=mono>{_e(a.command.hex().upper())}</td>"
        f"<td class=mono>{a.sw:04X}</td><td>{_e(a.sw_meaning)}</td><td class=num>{_ms(a.elapsed_ns)}</td></tr>"
        for n, a in enumerate(apdus, 1)
    )
    return ("<table><tr><th>#</th><th>Command</th><th>C-APDU</th><th>SW</th><th>Meaning</th><th>Time</th></tr>"
            f"{rows}</table>")  # fmt: skip


def html_report(trace: Trace) -> str:
    """The report of ``trace`` as one self-contained HTML document (card data masked)."""
    shown = trace if trace.masked else masked_trace(trace)
    events = shown.events
    apdus = shown.apdu_exchanges()
    total = sum(a.elapsed_ns or 0 for a in apdus)
    timing = (f"{len(apdus)} APDU exchanges, {total / 1e6:.2f} ms with the card in total "
              f"(slowest: {max(apdus, key=lambda a: a.elapsed_ns or 0).command_name}, "
              f"{_ms(max(a.elapsed_ns or 0 for a in apdus))})." if apdus else "No APDU was exchanged.")  # fmt: skip
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(TITLE)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{_e(TITLE)}</h1>
<div class="note">{_e(DISCLAIMER)} Card numbers are masked (first 6 / last 4); certificates carrying the PAN are
removed.</div>
{_meta(shown)}
{_verdict(events)}
<h2>Verifier's checks</h2>
{_checks(events)}
<h2>Timings</h2>
<p>{_e(timing)}</p>
<h2>Steps</h2>
{_steps(events)}
<h2>APDU exchanges</h2>
{_apdus(apdus)}
<p class="note">Generated by the TrustOne Tap Simulator from a trace of {len(events)} events.</p>
</body></html>
"""
