"""``python -m benchmarks [--quick] [--only NAME] [--json PATH]``: run the benchmarks, print a table, write JSON.

Exit status: 0 whatever the goals say (they are informational); 1 when a
benchmark crashed (an exception) or the soak failed one of its correctness
properties (a crash or hang of a tap, a false accept, an inconsistent database);
2 for a usage error. A benchmark whose components are missing is SKIPPED (exit 0).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from benchmarks.core import MODES, ROOT, Result, environment, progress, render, write_json
from benchmarks.workspace import Workspace

#: name → (module, one line for --help)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "tap": ("benchmarks.bench_tap", "in-process tap per profile vs the crypto floor (goal ≤ 1.5×)"),
    "pcsc": ("benchmarks.bench_link", "through a private pcscd + vpcd vs a bare pyscard loop + floor (goal ≤ 1.2×)"),
    "nfc": ("benchmarks.bench_link", "through nfcpy's udp driver vs a bare nfcpy loop + floor (no goal)"),
    "verifier": ("benchmarks.bench_verifier", "ARQC verifications/s on one core vs pyemv (goal ≥ 2×)"),
    "app": ("benchmarks.bench_app", "app start to first window (≤ 1.0 s) and UI-thread stalls during taps (≤ 16 ms)"),
    "soak": ("benchmarks.bench_soak", "10 000 taps with random faults: no crash, hang, false accept or leak"),
}
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "latest.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the TrustOne Tap Simulator benchmarks (medians and same-run ratios; goals are informational).",
        epilog="Benchmarks: " + "; ".join(f"{k}: {v[1]}" for k, v in BENCHMARKS.items()),
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer samples, a 500-tap soak (about a minute)")
    size.add_argument("--tiny", action="store_true", help="a few iterations of everything: proves the command works")
    parser.add_argument("--only", action="append", metavar="NAME", default=[],
                        help=f"run only these benchmarks (repeat or comma-separate): {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH",
                        help=f"where to write the results (default {DEFAULT_JSON.relative_to(ROOT)})")
    parser.add_argument("--soak-taps", type=int, metavar="N", help="override the number of soak taps")
    parser.add_argument("--seed", type=int, default=20260101, help="seed of the soak's fault choices")
    args = parser.parse_args(argv)
    names: list[str] = []
    for item in args.only:
        names += [n.strip() for n in item.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    args.names = [n for n in BENCHMARKS if not names or n in names]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    mode = MODES["tiny" if args.tiny else "quick" if args.quick else "full"]
    if args.soak_taps is not None:
        mode = dataclasses.replace(mode, soak_taps=max(1, args.soak_taps))
    if "pcsc" in args.names:
        # The PC/SC client library reads PCSCLITE_CSOCK_NAME once, at the process's first
        # PC/SC call: choose the private daemon's socket before anything can make one.
        from card_emulation.private_pcscd import client_socket_path

        client_socket_path()
    env = environment()
    progress(f"[benchmarks] mode {mode.name}: {', '.join(args.names)} — progress on stderr, table on stdout")
    results: list[Result] = []
    workspace = Workspace()
    crashed = False
    try:
        for name in args.names:
            module_name, _ = BENCHMARKS[name]
            started = time.perf_counter()
            try:
                module = importlib.import_module(module_name)
                result = module.run(mode, workspace, name=name, seed=args.seed) if name in ("pcsc", "nfc", "soak") \
                    else module.run(mode, workspace)  # fmt: skip
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - one benchmark's crash must not hide the others
                result = Result(name, f"{name}: crashed", status="crashed", message=f"{type(exc).__name__}: {exc}")
                result.data["traceback"] = traceback.format_exc()
                progress(result.data["traceback"])
            result.seconds = time.perf_counter() - started
            crashed = crashed or result.status in ("crashed", "failed")
            results.append(result)
            print(render(result), flush=True)
            print(flush=True)
    finally:
        workspace.close()
        from card_emulation.private_pcscd import stop_private_pcscd

        stop_private_pcscd()
    print(summary(results), flush=True)
    load = env.get("loadavg_at_start") or []
    print(f"machine: {env.get('cpus_usable')} usable CPUs, load average at start "
          f"{', '.join(f'{x:.2f}' for x in load)} (a shared machine: compare ratios, not times)", flush=True)
    write_json(args.json, mode, results, env)
    print(f"results: {args.json}", flush=True)
    return 1 if crashed else 0


def summary(results: Sequence[Result]) -> str:
    goals = [g for r in results for g in r.goals]
    passed = sum(g["result"] == "PASS" for g in goals)
    missed = [g for g in goals if g["result"] == "MISS"]
    parts = [f"goals: {passed} PASS, {len(missed)} MISS (informational: the exit status ignores them)"]
    for r in results:
        if r.status != "ok":
            parts.append(f"{r.name}: {r.status.upper()} — {r.message}")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
