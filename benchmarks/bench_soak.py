"""6. Soak: thousands of taps with random faults, across every profile.

What runs: :meth:`TapService.tap` exactly as the app and the CLI call it (card
images on disk, the verifier on a SQLite file, first-tap enrolment), on a copy of
the workspace's data directory, with a seeded RNG choosing for every tap the
profile, the amount and a fault plan from :mod:`benchmarks.soak_faults` (a third
of the taps are clean; some combine two faults).

What is checked (a failure of any of these makes the command exit 1 — they are
correctness properties, not performance goals):

* **no crash** — no exception out of ``tap()``;
* **no hang** — each tap has a timeout (a watchdog thread dumps every thread's
  stack and interrupts the tap);
* **no false accept** — see :mod:`benchmarks.soak_faults`;
* **database consistent** — ``SqliteVerifierStore.integrity_report()`` (``PRAGMA
  integrity_check`` and the verifier's invariants) is clean, and its row counts
  match what the soak did (one challenge per tap and per enrolment, one audit
  record per verdict); every card image still loads.

And one goal: resident memory growth < 5 % from after the warm-up to the end
(psutil RSS). Progress goes to stderr every ``progress_every`` taps.
"""

from __future__ import annotations

import _thread
import faulthandler
import random
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from app.flow.service import TapService, TapStatus
from app.flow.sources import CardSource
from benchmarks.core import Goal, Mode, Result, Stats, fmt_number, ms, progress
from benchmarks.soak_faults import ACCEPT_IF_ATC, ANY, CardFacts, Fault, draw, must_not_accept
from benchmarks.workspace import Workspace, commands_of, transaction
from card_emulation.image import load_image
from protocol.decoders.aip import Aip
from protocol.tap.enrolment import card_ref
from protocol.tap.events import CheckStatus, Outcome
from protocol.tap.transaction import Transaction, TransactionType

MEMORY_GOAL = Goal("<=", 5.0, " %")
TAP_TIMEOUT_S = 20.0


class Hang(Exception):
    pass


class Watchdog(threading.Thread):
    """Interrupts the main thread when a tap runs past its deadline (after dumping every stack)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(name="soak-watchdog", daemon=True)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._deadline: float | None = None
        self._stop = threading.Event()
        self.fired = False

    def arm(self) -> None:
        with self._lock:
            self._deadline = time.monotonic() + self.timeout_s

    def disarm(self) -> None:
        with self._lock:
            self._deadline = None

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.wait(0.25):
            with self._lock:
                late = self._deadline is not None and time.monotonic() > self._deadline
                if late:
                    self._deadline = None
                    self.fired = True
            if late:
                print(f"[soak] a tap ran past {self.timeout_s:g} s; stacks:", file=sys.stderr, flush=True)
                faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
                _thread.interrupt_main()


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def run(mode: Mode, workspace: Workspace, *, name: str = "soak", seed: int = 20260101) -> Result:
    result = Result(name, f"6. Soak: {mode.soak_taps:,} taps with random faults (seed {seed})".replace(",", " "))
    result.headers = ["property", "measured", "goal", "result"]
    try:
        import psutil  # noqa: F401
    except ImportError:
        return Result(name, result.title, status="skipped", message="psutil is not installed (the bench extra)")
    workspace.prepare_all()
    root = workspace.root / "soak"
    shutil.copytree(workspace.data_dir, root, ignore=shutil.ignore_patterns("*.sqlite3*", "phones"))
    facts = {p: _facts(workspace, p, root) for p in workspace.profiles()}
    rng = random.Random(seed)
    service = TapService(root)
    refs = {p: card_ref(service.store.server_salt(), *facts[p][1]) for p in facts}
    watchdog = Watchdog(TAP_TIMEOUT_S)
    watchdog.start()
    counts: Counter[str] = Counter()
    by_fault: dict[str, Counter[str]] = {}
    false_accepts: list[dict[str, Any]] = []
    crashes: list[dict[str, Any]] = []
    mismatches: Counter[str] = Counter()
    mismatch_examples: dict[str, str] = {}
    durations: list[float] = []
    rss_trend: list[tuple[int, int]] = []
    enrolments = verdicts = must_refuse = 0
    warmup = min(max(10, mode.soak_taps // 20), max(1, mode.soak_taps // 2))
    rss_start = 0
    for profile in sorted(facts):  # enrol every card first (clean taps, not counted)
        first = service.tap(transaction(), CardSource(profile=profile))
        if not first.accepted or first.enrolled is None:
            raise RuntimeError(f"{profile}: the soak's enrolment tap was not accepted: {first.message}")
        enrolments += 1
        verdicts += 1
    started = time.perf_counter()
    try:
        for i in range(mode.soak_taps):
            if i == warmup:
                rss_start = _rss()
                if not rss_trend or rss_trend[-1][0] != i:
                    rss_trend.append((i, rss_start))
            profile = rng.choice(sorted(facts))
            card, (pan, psn), aid = facts[profile][0], facts[profile][1], facts[profile][2]
            atc, last = _atc_state(service, refs[profile], card, aid)
            fault = draw(rng, card, max(0, atc - last))
            t = Transaction(TransactionType.PAYMENT, rng.randrange(100, 10_000_000), "410", "Soak Shop", int(time.time()))
            expected, atc_ok = _expected(atc, last, fault)
            source = CardSource(profile=profile, faults=fault.spec if fault else "")
            key = fault.kind if fault else "clean"
            tap_started = time.perf_counter()
            outcome = None
            watchdog.arm()
            try:
                outcome = service.tap(t, source)
            except KeyboardInterrupt:
                if not watchdog.fired:
                    raise
                watchdog.fired = False
                crashes.append({"tap": i, "profile": profile, "fault": source.faults, "error": "hang (timeout)"})
                service.close()
                service = TapService(root)  # the interrupted one may hold a half-done transaction
            except Exception as exc:  # noqa: BLE001 - a crash is what the soak looks for
                crashes.append({"tap": i, "profile": profile, "fault": source.faults,
                                "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
            finally:
                watchdog.disarm()
            durations.append(time.perf_counter() - tap_started)
            if outcome is None:
                counts["crash"] += 1
                continue
            got = _outcome(outcome)
            counts[got] += 1
            by_fault.setdefault(key, Counter())[got] += 1
            if outcome.enrolled is not None:
                enrolments += 1
            if outcome.verification is not None:
                verdicts += 1
            accepted = got in ("ACCEPT", "ODA ONLY")
            if must_not_accept(expected):
                must_refuse += 1
            problem = None
            if accepted and fault is not None and must_not_accept(fault.expected):
                problem = f"expected {fault.expected}: {fault.why}"
            elif accepted and not atc_ok:
                problem = "accepted although the card's ATC is not above the last accepted one"
            elif accepted and outcome.verification is not None:
                bad = [c.check for c in outcome.verification.checks if c.status is not CheckStatus.PASSED]
                if bad and got == "ACCEPT":
                    problem = f"accepted with checks not passed: {bad}"
            if problem:
                false_accepts.append({"tap": i, "profile": profile, "fault": source.faults, "problem": problem,
                                      "message": outcome.message[:300]})  # fmt: skip
            if not _matches(expected, got):
                mismatches[f"{key}: expected {expected}, got {got}"] += 1
                mismatch_examples.setdefault(f"{key}: expected {expected}, got {got}",
                                             f"{profile} [{source.faults}] {outcome.message[:200]}")  # fmt: skip
            if (i + 1) % mode.progress_every == 0 or i + 1 == mode.soak_taps:
                rss = _rss()
                rss_trend.append((i + 1, rss))
                elapsed = time.perf_counter() - started
                progress(f"[soak] {i + 1}/{mode.soak_taps} taps · {elapsed / (i + 1) * 1e3:.1f} ms/tap · "
                         f"accept {counts['ACCEPT']} · reject {counts['REJECT']} · failed {counts['FAILED']} · "
                         f"crash {len(crashes)} · false accepts {len(false_accepts)} · "
                         f"mismatches {sum(mismatches.values())} · RSS {rss / 2**20:.1f} MiB")  # fmt: skip
    finally:
        watchdog.stop()
    rss_end = _rss()
    report = service.store.integrity_report()
    total = mode.soak_taps
    db_problems = list(report.problems)
    if report.counts.get("challenges") != total - len(crashes) + enrolments + len(facts):
        db_problems.append(f"{report.counts.get('challenges')} challenges stored for {total - len(crashes)} taps, "
                           f"{len(facts)} enrolment taps and {enrolments} enrolments")  # fmt: skip
    if report.counts.get("audit") != verdicts + enrolments:
        db_problems.append(f"{report.counts.get('audit')} audit records for {verdicts} verdicts and {enrolments} "
                           "enrolments")  # fmt: skip
    for p in facts:
        try:
            load_image(facts[p][0].image)
        except Exception as exc:  # noqa: BLE001
            db_problems.append(f"card image of {p} no longer loads: {exc}")
    service.close()
    growth = (rss_end - rss_start) / rss_start * 100 if rss_start else float("nan")
    hangs = [c for c in crashes if c["error"].startswith("hang")]
    result.status = "ok"
    properties = [
        ("crashes (exceptions out of tap())", len(crashes) - len(hangs), "0"),
        (f"hangs (tap > {TAP_TIMEOUT_S:g} s)", len(hangs), "0"),
        (f"false accepts (of {must_refuse} taps that had to be refused)", len(false_accepts), "0"),
        ("database / image problems", len(db_problems), "0"),
    ]
    failed = False
    for label, value, goal in properties:
        ok = value == 0
        failed = failed or not ok
        result.rows.append([label, str(value), goal, "PASS" if ok else "FAIL"])
    verdict = result.check("resident memory growth after warm-up (%)", growth, MEMORY_GOAL, " %")
    result.rows.append([f"RSS growth (tap {warmup} → {total})", f"{fmt_number(growth)} % ({rss_start / 2**20:.1f} → "
                        f"{rss_end / 2**20:.1f} MiB)", f"< {MEMORY_GOAL.target:g} %", verdict])  # fmt: skip
    half = next((r for i, r in rss_trend if i >= (warmup + total) // 2), None)
    if half:
        late = (rss_end - half) / half * 100
        result.rows.append([f"RSS growth, second half (tap {(warmup + total) // 2} → {total})", f"{fmt_number(late)} %",
                            "—", "(context)"])  # fmt: skip
    tap_stats = Stats.of(durations)
    result.rows.append(["tap() time, median / p99", f"{ms(tap_stats.median)} / {ms(tap_stats.p99)}", "—", "(context)"])
    result.rows.append(["outcomes", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), "—", "(context)"])
    if mismatches:
        result.notes.append(f"{sum(mismatches.values())} taps ended otherwise than expected, none accepted wrongly "
                            "(details in the JSON file): " + "; ".join(f"{k} ×{v}" for k, v in
                                                                        mismatches.most_common(4)))  # fmt: skip
    for fa in false_accepts[:5]:
        result.notes.append(f"FALSE ACCEPT tap {fa['tap']} {fa['profile']} [{fa['fault']}]: {fa['problem']}")
    for c in crashes[:5]:
        result.notes.append(f"CRASH tap {c['tap']} {c['profile']} [{c['fault']}]: {c['error']}")
    for problem in db_problems[:5]:
        result.notes.append(f"DATABASE: {problem}")
    result.notes.append(f"integrity_report(): {'ok' if report.ok else 'PROBLEMS'}; rows "
                        + ", ".join(f"{k} {v}" for k, v in report.counts.items()))  # fmt: skip
    if failed:
        result.status = "failed"
        result.message = "the soak found a crash, a hang, a false accept or an inconsistent database"
    result.data = {
        "seed": seed,
        "taps": total,
        "timeout_s": TAP_TIMEOUT_S,
        "outcomes": dict(counts),
        "by_fault": {k: dict(v) for k, v in sorted(by_fault.items())},
        "false_accepts": false_accepts,
        "crashes": crashes,
        "mismatches": dict(mismatches),
        "mismatch_examples": mismatch_examples,
        "database": {"integrity_ok": report.ok, "problems": db_problems, "counts": dict(report.counts)},
        "rss_bytes": {"after_warmup": rss_start, "end": rss_end, "growth_percent": growth, "trend": rss_trend},
        "tap_ms": tap_stats.scaled(1e3),
        "enrolments": enrolments,
        "taps_that_had_to_be_refused": must_refuse,
        "card_facts": {p: {"oda": f[0].oda, "commands": f[0].commands, "aip_byte1": f[0].aip_byte1}
                       for p, f in facts.items()},  # fmt: skip
    }
    return result


def _facts(workspace: Workspace, profile: str, root: Path) -> tuple[CardFacts, tuple[str, str], bytes]:
    ref = workspace.reference(profile)
    f = ref.facts
    aip = Aip(f.aip)
    oda = "CDA" if aip.cda and f.cda_requested else "DDA" if aip.dda and f.internal_authenticate_sdad else "SDA"
    image = root / "cards" / workspace.image_path(profile).name
    return CardFacts(profile, oda, f.aip[0], len(commands_of(ref.outcome)), image), (f.pan, f.psn), f.aid


def _atc_state(service: TapService, ref: bytes, card: CardFacts, aid: bytes) -> tuple[int, int]:
    """The card's ATC (from its image file) and the last ATC the verifier accepted for it."""
    state = service.store.card_state(ref)
    if state is None:
        raise RuntimeError(f"{card.profile}: the card is not enrolled (no ATC on record)")
    return load_image(card.image).counters_for(aid).atc, state.last_atc


def _expected(atc: int, last: int, fault: Fault | None) -> tuple[str, bool]:
    """The expected outcome of this tap, and whether the card's next ATC will be above the last accepted."""
    if fault is not None and fault.rollback:
        atc = max(0, atc - fault.rollback)
    atc_ok = atc + 1 > last
    if fault is None or fault.expected == ACCEPT_IF_ATC:
        return ("ACCEPT" if atc_ok else "REJECT"), atc_ok
    return fault.expected, atc_ok


def _outcome(outcome: Any) -> str:
    if outcome.status is TapStatus.FAILED:
        return "FAILED"
    if outcome.status is TapStatus.CANCELLED:
        return "CANCELLED"
    v = outcome.verification
    if v is None:
        return "NO VERDICT"
    return {Outcome.ACCEPT: "ACCEPT", Outcome.REJECT: "REJECT"}.get(v.outcome, "ODA ONLY")


def _matches(expected: str, got: str) -> bool:
    if expected == ANY:
        return True
    if expected == "NOT ACCEPTED":
        return got in ("REJECT", "FAILED")
    return expected == got

