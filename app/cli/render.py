"""Shared rendering for the tap commands (``run``, ``enrol``, ``otp``, ``scenarios``, ``trace``).

* :class:`Printer` — writes lines to a stream, falling back to ASCII symbols (and
  replacing what the stream cannot encode) instead of crashing;
* :func:`shown_events` / :func:`events_json` — events as people may see them:
  card data masked (PAN first 6 / last 4, track data, certificates, PIN blocks)
  by the trace module's rules unless the user asked to reveal it (DESIGN.md §7);
* :func:`render_events` — the readable step list: numbered steps with their
  actor, APDUs with names and status words, checks with ✓/✗ and the reason;
* :class:`Progress` — a spinner on stderr, only when stderr is a terminal, shown
  only once something has taken more than a second.
"""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TextIO

from protocol.tap import events as ev
from protocol.tap.trace import Trace, masked_trace, to_json

WIDTH = 110
INDENT = "      "
_UTF = {"passed": "✓", "failed": "✗", "not checkable": "?", "skipped": "–", "send": "→", "recv": "←", "msg": "⇢",
        "dot": "•", "sep": "·"}  # fmt: skip
_ASCII = {"passed": "+", "failed": "x", "not checkable": "?", "skipped": "-", "send": ">", "recv": "<", "msg": "~",
          "dot": "*", "sep": "|"}  # fmt: skip
_FRAMES_UTF, _FRAMES_ASCII = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏", "|/-\\"


def tool_version() -> str:
    try:
        return version("trustone-simulator")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "unknown"


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


class Printer:
    """Lines to ``stream``; ``sym`` holds ✓/✗/→ or their ASCII stand-ins when the stream cannot show them."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.sym = _UTF if _can_encode(self.stream, "".join(_UTF.values())) else _ASCII

    def line(self, text: str = "") -> None:
        try:
            self.stream.write(text + "\n")
        except UnicodeEncodeError:
            encoding = getattr(self.stream, "encoding", None) or "ascii"
            self.stream.write(text.encode(encoding, "replace").decode(encoding) + "\n")

    def wrapped(self, text: str, indent: str = INDENT, first: str | None = None) -> None:
        """``text`` wrapped to :data:`WIDTH`, the first line prefixed by ``first`` (default ``indent``)."""
        lead = indent if first is None else first
        for line in textwrap.wrap(text, WIDTH, initial_indent=lead, subsequent_indent=indent + "  ") or [lead]:
            self.line(line)

    def json(self, value: Any) -> None:
        self.stream.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- masking


def _trace(events: Sequence[ev.Event]) -> Trace:
    return Trace(datetime.now(UTC), tool_version(), "", "", tuple(events))


def shown_events(events: Iterable[ev.Event], *, reveal: bool = False) -> tuple[ev.Event, ...]:
    """``events`` with card data masked (unless ``reveal``): safe to print."""
    items = tuple(events)
    return items if reveal or not items else masked_trace(_trace(items)).events


def events_json(events: Iterable[ev.Event], *, reveal: bool = False) -> list[Any]:
    """``events`` as JSON values, encoded as in a trace file (docs/traces.md), masked unless ``reveal``."""
    items = tuple(events)
    return json.loads(to_json(_trace(items), reveal=reveal))["events"] if items else []


def check_json(check: ev.CheckCompleted) -> dict[str, str]:
    return {"check": check.check, "status": check.status.value, "detail": check.detail}


# --------------------------------------------------------------------------- the step list


def _hex(data: bytes, full: bool, limit: int = 48) -> str:
    text = data.hex().upper()
    return text if full or len(text) <= limit else text[:limit] + "…"


def render_events(p: Printer, events: Iterable[ev.Event], *, verbose: bool = False, first: int = 1) -> int:
    """Print ``events`` (already masked) as a numbered step list; returns the next step number."""
    n, s = first - 1, p.sym
    for e in events:
        if isinstance(e, ev.StepStarted):
            n += 1
            p.line(f"{n:>3}. {e.step.title}  [{e.actor.value}]")
            if verbose:
                p.wrapped(e.explanation + (f" ({e.reference})" if e.reference else ""))
        elif isinstance(e, ev.ApduExchanged):
            data = max(0, len(e.response) - 2)
            timing = f", {e.elapsed_ns / 1e6:.2f} ms" if e.elapsed_ns is not None else ""
            p.line(f"{INDENT}{s['send']} {e.command_name:<34} {_hex(e.command, verbose)}")
            p.line(f"{INDENT}{s['recv']} {e.sw:04X} {e.sw_meaning} ({data} bytes{timing})")
            if verbose and data:
                p.wrapped(_hex(e.response, True), INDENT + "    ")
        elif isinstance(e, ev.CheckCompleted):
            p.wrapped(f"{e.check}: {e.detail}", INDENT, f"{INDENT}{s[e.status.value]} ")
        elif isinstance(e, ev.MessageSent):
            p.wrapped(f"{e.sender.value} → {e.receiver.value}: {e.label}", INDENT, f"{INDENT}{s['msg']} ")
        elif isinstance(e, ev.VerdictReached):
            p.line(f"{INDENT}Verdict: {e.outcome.value}")
        elif isinstance(e, ev.SessionFailed):
            p.wrapped(f"the session failed: {e.reason}", INDENT, f"{INDENT}{s['failed']} ")
        elif verbose and isinstance(e, ev.CryptoComputed):
            values = "; ".join(f"{k} {v}" for k, v in e.outputs)
            p.wrapped(f"{e.operation}{': ' + values if values else ''}", INDENT, f"{INDENT}{s['dot']} ")
        elif verbose and isinstance(e, ev.DataDecoded):
            p.line(f"{INDENT}{s['dot']} {e.label}")
            for node in e.nodes:
                _node(p, node, INDENT + "    ")
    return n + 1


def _node(p: Printer, node: ev.DecodedNode, indent: str) -> None:
    shown = node.meaning or node.value_hex
    p.wrapped(f"{node.tag} {node.name}: {shown}" if not node.children else f"{node.tag} {node.name}", indent + "  ",
              indent)  # fmt: skip
    for child in node.children:
        _node(p, child, indent + "  ")


def render_verdict(p: Printer, verdict: ev.VerdictReached | None, fallback: str) -> None:
    """The closing lines: the verdict and, when not accepted, the reasons."""
    if verdict is None:
        p.line(f"Verdict: none — {fallback}")
        return
    arpc = f" (ARPC {verdict.arpc.hex().upper()})" if verdict.arpc else ""
    p.line(f"Verdict: {verdict.outcome.value}{arpc}")
    for reason in verdict.reasons:
        p.wrapped(reason, "  ", f"  {p.sym['failed']} ")


def split_taps(events: Sequence[ev.Event]) -> tuple[tuple[ev.Event, ...], tuple[ev.Event, ...]]:
    """``(enrolment events, last tap's events)``: a tap starts where the verifier issues its challenge."""
    starts = [i for i, e in enumerate(events) if isinstance(e, ev.StepStarted) and e.step is ev.Step.CHALLENGE]
    cut = starts[-1] if starts else 0
    return tuple(events[:cut]), tuple(events[cut:])


# --------------------------------------------------------------------------- progress


class Progress:
    """A spinner on ``stream`` (stderr) while a slow step runs; silent unless it is a terminal.

    It appears only after ``delay`` seconds, so quick runs print nothing, and it
    clears its line when done. ``update(text)`` changes the message (e.g. "Waiting
    for a card on …").
    """

    def __init__(self, text: str, stream: TextIO | None = None, *, delay: float = 1.0, interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.text, self.delay, self.interval = text, delay, interval
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.frames = _FRAMES_UTF if _can_encode(self.stream, _FRAMES_UTF) else _FRAMES_ASCII
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drawn = False

    def update(self, text: str) -> None:
        self.text = text

    def _spin(self) -> None:
        if self._stop.wait(self.delay):
            return
        i = 0
        while not self._stop.is_set():
            self.stream.write(f"\r{self.frames[i % len(self.frames)]} {self.text[:100]}\033[K")
            self.stream.flush()
            self._drawn = True
            i += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._spin, name="trustone-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            if self._drawn:
                self.stream.write("\r\033[K")
                self.stream.flush()
