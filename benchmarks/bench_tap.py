"""1. In-process tap: challenge → verdict on an enrolled emulated card, against the crypto floor.

Per profile, interleaved in rounds:

* ``memory`` — :meth:`TapService.authenticate` with the verifier on an in-memory
  SQLite store;
* ``file`` — the same with the verifier on a database file (WAL,
  ``synchronous=FULL``: every commit waits for the disk — three commits per tap:
  the challenge, its consumption, the ATC raise with the audit record);
* ``tap() call`` (context, no goal) — the whole :meth:`TapService.tap` as the app
  and the CLI call it: it also reloads the key store, re-reads the card image
  file (once) and the card persists its ATC to its image file with ``fsync``;
* ``floor`` — :mod:`benchmarks.floor` for the same profile.

The card is an :class:`EmvCard` in memory behind :class:`EmulatedTransport` for
``memory`` and ``file``. Ratio = median tap / median floor. Goal ≤ 1.5×.
"""

from __future__ import annotations

from app.flow.service import TapService
from app.flow.sources import CardSource
from app.transports.emulated import EmulatedTransport
from benchmarks.core import Goal, Mode, Result, Stats, interleave, ms, progress, ratio, times, timed
from benchmarks.floor import build_floor
from benchmarks.workspace import BENCH_USER, Workspace, transaction

GOAL = Goal("<=", 1.5)
WARMUP = 3


def run(mode: Mode, workspace: Workspace) -> Result:
    result = Result("tap", "1. In-process tap, challenge → verdict (emulated card)")
    result.headers = ["profile", "ODA", "store", "median", "p99", "floor", "ratio", "goal", "result"]
    data: dict[str, object] = {}
    workspace.prepare_all()
    for profile in workspace.profiles():
        progress(f"[tap] {profile}")
        floor = build_floor(workspace, profile)
        memory = workspace.service(":memory:")
        on_file = workspace.service(workspace.db_path(f"tap-{profile}"))
        whole = TapService(workspace.data_dir, store_path=workspace.db_path(f"tap-call-{profile}"))
        source = CardSource(profile=profile)
        link = EmulatedTransport(workspace.card(profile))
        t = transaction()
        try:
            for service in (memory, on_file):
                enrolled = service.enrol(BENCH_USER, link)
                if enrolled.enrolled is None:
                    raise RuntimeError(f"{profile}: enrolment failed: {enrolled.message}")

            def authenticate(service: TapService) -> None:
                outcome = service.authenticate(BENCH_USER, t, link)
                if not outcome.accepted:
                    raise RuntimeError(f"{profile}: a benchmark tap was not accepted: {outcome.message}")

            def tap_call() -> None:
                outcome = whole.tap(t, source)
                if not outcome.accepted:
                    raise RuntimeError(f"{profile}: TapService.tap() was not accepted: {outcome.message}")

            for _ in range(WARMUP):
                authenticate(memory)
                authenticate(on_file)
                tap_call()
                floor.total()
            n = mode.per_round
            samples = interleave(mode.rounds, {
                "memory": lambda: timed(lambda: authenticate(memory), n),
                "file": lambda: timed(lambda: authenticate(on_file), n),
                "tap() call": lambda: timed(tap_call, n),
                "floor": lambda: timed(floor.total, n),
            })  # fmt: skip
        finally:
            link.close()
            for service in (memory, on_file, whole):
                service.close()
        stats = {name: Stats.of(values) for name, values in samples.items()}
        f = stats["floor"].median
        parts = {name: Stats.of(timed(part, max(3, n))).median for name, part in floor.parts.items()}
        profile_data = {
            "oda": floor.oda,
            "floor_contents": floor.describe(),
            "floor_checks": floor.checks,
            "floor_parts_ms": {k: v * 1e3 for k, v in parts.items()},
            "stats_ms": {k: s.scaled(1e3) for k, s in stats.items()},
            "ratios": {},
        }
        for store in ("memory", "file", "tap() call"):
            s = stats[store]
            r = ratio(s.median, f)
            profile_data["ratios"][store] = r
            if store == "tap() call":
                verdict, goal = "(context)", "—"
            else:
                verdict, goal = result.check(f"{profile} {store} store: tap / floor", r, GOAL), str(GOAL)
            result.rows.append([profile if store == "memory" else "", floor.oda if store == "memory" else "", store,
                                ms(s.median), ms(s.p99), ms(f) if store == "memory" else "", times(r), goal, verdict])  # fmt: skip
        if not all(floor.checks.values()):
            result.notes.append(f"{profile}: a floor cross-check failed: {floor.checks}")
        data[profile] = profile_data
    result.data = {"profiles": data, "samples_per_figure": mode.rounds * mode.per_round}
    result.notes += [
        "floor = card RSA signature (DDA/CDA) + card AC MAC + phone RSA recoveries + verifier RSA recoveries, "
        "ICC MK/session key/ARQC/ARPC + device ECDSA sign and verify (benchmarks/floor.py)",
        "file vs memory: the file store commits three times per tap with synchronous=FULL (an fsync each)",
        "tap() call: the whole TapService.tap() (key store re-read, card image read once, ATC written with fsync)",
    ]
    return result
