"""What every benchmark shares: run sizes, statistics, results, the printed table, the JSON file.

Conventions (the issue "Benchmarks"):

* every figure is a **median** (with the p99 where tail latency matters) of many
  samples, and every goal is a **ratio** to a baseline timed *in the same run*,
  interleaved with the measured code in rounds so that a noisy machine slows
  both alike;
* a goal is shown with PASS or MISS beside it and never changes the exit status.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- run sizes


@dataclass(frozen=True)
class Mode:
    """How much to run. ``full`` is the default; ``quick`` for a developer; ``tiny`` proves the command works."""

    name: str
    tap_samples: int  # in-process taps per profile and store
    rounds: int  # interleaving rounds those samples are split into
    link_samples: int  # taps through pcscd/vpcd or nfcpy per profile
    arqc_dataset: int  # distinct ARQCs per CVN for the verifier throughput
    arqc_rounds: int
    verify_calls: int  # full Verifier.verify() calls per profile
    app_starts: int  # app launches timed (after one warm-up launch)
    app_taps: int  # taps run in the app while the UI-thread probe runs
    soak_taps: int
    progress_every: int

    @property
    def per_round(self) -> int:
        return max(1, math.ceil(self.tap_samples / self.rounds))


MODES = {
    "full": Mode("full", 300, 6, 120, 2000, 7, 200, 5, 12, 10_000, 500),
    "quick": Mode("quick", 60, 3, 30, 500, 3, 50, 2, 4, 500, 100),
    "tiny": Mode("tiny", 3, 1, 3, 20, 1, 3, 1, 1, 30, 10),
}


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Stats:
    """Summary of samples (seconds, or any unit the caller keeps consistent)."""

    n: int
    median: float
    p99: float
    mean: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        ordered = sorted(samples)
        return cls(len(ordered), statistics.median(ordered), percentile(ordered, 99), statistics.fmean(ordered),
                   ordered[0], ordered[-1])  # fmt: skip

    def scaled(self, factor: float) -> dict[str, float]:
        """As a JSON-ready dict with every value multiplied by ``factor`` (e.g. 1e3 for ms)."""
        return {"n": self.n, **{k: getattr(self, k) * factor for k in ("median", "p99", "mean", "minimum", "maximum")}}


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted samples (p99 of 300 samples = the 297th)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def interleave(rounds: int, jobs: dict[str, Callable[[], list[float]]]) -> dict[str, list[float]]:
    """Run each job once per round, rotating their order, and pool the samples of each.

    Interleaving is what makes a ratio meaningful on a shared machine: a burst of
    load from a neighbour lands on every job of that round, not on one of them.
    """
    pooled: dict[str, list[float]] = {name: [] for name in jobs}
    names = list(jobs)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            pooled[name] += jobs[name]()
    return pooled


def timed(fn: Callable[[], object], n: int) -> list[float]:
    """``n`` samples of one call of ``fn`` each, in seconds (perf_counter)."""
    out = []
    clock = time.perf_counter
    for _ in range(n):
        start = clock()
        fn()
        out.append(clock() - start)
    return out


# --------------------------------------------------------------------------- results


@dataclass
class Goal:
    """A goal such as ``≤ 1.5×``: ``op`` is ``"<="`` or ``">="``."""

    op: str
    target: float
    unit: str = "×"

    def met(self, value: float) -> bool | None:
        if value is None or math.isnan(value):
            return None
        return value <= self.target if self.op == "<=" else value >= self.target

    def __str__(self) -> str:
        return f"{'≤' if self.op == '<=' else '≥'} {self.target:g}{self.unit}"


@dataclass
class Result:
    """One benchmark's outcome: its printed table, its goals and everything for the JSON file."""

    name: str
    title: str
    status: str = "ok"  # ok | skipped | crashed
    message: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    goals: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def check(self, label: str, value: float, goal: Goal, unit: str = "×") -> str:
        """Record a goal; returns ``"PASS"``, ``"MISS"`` or ``"n/a"`` for the table."""
        met = goal.met(value)
        verdict = "n/a" if met is None else "PASS" if met else "MISS"
        self.goals.append({"figure": label, "value": None if math.isnan(value) else value, "unit": unit,
                           "goal": str(goal), "result": verdict})  # fmt: skip
        return verdict


def fmt_number(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:.{decimals}f}"


def ms(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{fmt_number(seconds * 1e3)} ms"


def us(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{fmt_number(seconds * 1e6)} µs"


def times(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.2f}×"


def render_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(map(str, r)) for r in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        cells = [cell.rjust(w) if _numeric(cell) else cell.ljust(w) for cell, w in zip(row, widths)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _numeric(cell: str) -> bool:
    head = cell[:1]
    return head.isdigit() or (head in "-+" and cell[1:2].isdigit())


def render(result: Result) -> str:
    out = [f"== {result.title} ==" + (f"  [{result.status.upper()}]" if result.status != "ok" else "")]
    if result.message:
        out.append(result.message)
    if result.rows:
        out.append(render_table(result.headers, result.rows))
    out += [f"  · {note}" for note in result.notes]
    return "\n".join(out)


# --------------------------------------------------------------------------- environment and JSON


def environment() -> dict[str, Any]:
    """Where the figures come from (they mean little without it)."""
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5).stdout.strip()  # fmt: skip
        dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True,
                                    text=True, timeout=10).stdout.strip())  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan,) * 3
    return {
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "loadavg_at_start": list(load),
        "git_commit": commit,
        "git_dirty": dirty,
        "packages": _versions(["cryptography", "pyemv", "pyscard", "nfcpy", "PySide6-Essentials", "psutil"]),
    }


def _versions(names: Sequence[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_json(path: Path, mode: Mode, results: Sequence[Result], env: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "schema": "trustone-benchmarks/1",
        "mode": dataclasses.asdict(mode),
        "environment": env,
        "benchmarks": [_clean(dataclasses.asdict(r)) for r in results],
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN becomes null, tuples lists, bytes hex."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, Path):
        return str(value)
    return value


def progress(text: str) -> None:
    """Progress lines go to stderr, so stdout stays the table."""
    print(text, file=sys.stderr, flush=True)
