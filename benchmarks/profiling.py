"""Profile what a benchmark measures: ``python -m benchmarks.profiling tap|link|gui [options]``.

How the findings in ``benchmarks/README.md`` were made, reproducible:

* ``tap PROFILE`` — pyinstrument over ``TapService.authenticate`` (in-memory store,
  in-memory card) for N taps; prints the inclusive share of the tap time of the
  heaviest functions (each counted once per stack, so recursion is not counted
  twice) and, with ``--tree``, pyinstrument's call tree;
* ``pacing`` — the PC/SC per-APDU figure explained: the median round trip of a
  bare pyscard loop when the caller busy-waits (or sleeps) between APDUs, as a
  tap's phone computes between them, next to the tap's own per-APDU median;
* ``gui`` — py-spy (``--threads``) over ``benchmarks.app_probe --taps N`` under a
  private Xvfb, and the UI (main) thread's samples grouped by the slot the event
  loop called and by the deepest project frame.

pyinstrument and py-spy are not in the ``bench`` extra yet:
``.venv/bin/pip install pyinstrument py-spy``.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.core import ROOT


def profile_tap(profile: str, taps: int, top: int, tree: bool) -> None:
    from pyinstrument import Profiler

    from app.transports.emulated import EmulatedTransport
    from benchmarks.workspace import BENCH_USER, Workspace, transaction

    workspace = Workspace()
    try:
        service = workspace.service(":memory:")
        link = EmulatedTransport(workspace.card(profile))
        service.enrol(BENCH_USER, link)
        t = transaction()
        for _ in range(20):
            service.authenticate(BENCH_USER, t, link)
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(taps):
            service.authenticate(BENCH_USER, t, link)
        session = profiler.stop()
        root = profiler.last_session.root_frame() if hasattr(profiler, "last_session") else session.root_frame()
        total = root.time
        inclusive: collections.Counter[str] = collections.Counter()

        def walk(frame, seen: frozenset[str]) -> None:  # type: ignore[no-untyped-def]
            key = f"{frame.function}  {_short(frame.file_path)}:{frame.line_no}"
            if key not in seen and frame.file_path:
                inclusive[key] += frame.time
                seen = seen | {key}
            for child in frame.children:
                walk(child, seen)

        walk(root, frozenset())
        print(f"{profile}: {taps} taps, {total / taps * 1e3:.2f} ms per tap under the profiler")
        for key, value in inclusive.most_common(top):
            print(f"{value / total * 100:5.1f} %  {key}")
        if tree:
            print(profiler.output_text(unicode=False, color=False))
    finally:
        workspace.close()


def _short(path: str | None) -> str:
    if not path:
        return "?"
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return path.rsplit("site-packages/", 1)[-1]


def profile_gui(taps: int, top: int) -> None:
    from benchmarks.bench_app import _env, display
    from benchmarks.workspace import Workspace

    workspace = Workspace()
    workspace.prepare_all()
    config = Path(tempfile.mkdtemp(prefix="trustone-profile-config-"))
    raw = config / "gui.raw"
    try:
        with display() as base:
            env = _env(base, workspace, config)
            pyspy = Path(sys.executable).with_name("py-spy")
            command = [str(pyspy), "record", "-o", str(raw), "--format", "raw", "--threads", "--rate", "2000",
                       "--", sys.executable, "-m", "benchmarks.app_probe", "--taps", str(taps), "--idle-ms", "200"]
            subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        slots: collections.Counter[str] = collections.Counter()
        deepest: collections.Counter[str] = collections.Counter()
        inclusive: collections.Counter[str] = collections.Counter()
        busy = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            if "MainThread" not in frames[0]:
                continue
            loop = [i for i, f in enumerate(frames) if "app/gui/main.py" in f and "main (" in f]
            if not loop:
                continue
            below = frames[loop[-1] + 1:]
            below = [f for f in below if "benchmarks/app_probe" not in f] or below
            if not below or "__init__" in below[0] or "create_application" in below[0]:
                continue  # idle in the event loop, or building the window at start-up
            n = int(count)
            busy += n
            slots[re.sub(r":\d+\)", ")", below[0])] += n
            ours = [f for f in below if "(app/" in f or "(protocol/" in f or "(card_emulation/" in f]
            deepest[ours[-1] if ours else below[-1]] += n
            for name in {re.sub(r":\d+\)", ")", f) for f in ours}:
                inclusive[name] += n
        print(f"UI thread busy samples after start-up ({taps} taps + 1 warm-up tap, at 2 kHz): {busy}")
        print("by slot called from the event loop:")
        for key, value in slots.most_common(top):
            print(f"{value / busy * 100:5.1f} %  {key}")
        print("inclusive, by project function (each counted once per sample):")
        for key, value in inclusive.most_common(top):
            print(f"{value / busy * 100:5.1f} %  {key}")
        print("by deepest project frame:")
        for key, value in deepest.most_common(top):
            print(f"{value / busy * 100:5.1f} %  {key}")
    finally:
        workspace.close()
        shutil.rmtree(config, ignore_errors=True)


def profile_pacing(profile: str, loops: int) -> None:
    from card_emulation.private_pcscd import client_socket_path, stop_private_pcscd

    client_socket_path()  # before the first PC/SC call of this process
    import statistics

    from benchmarks.bench_link import PcscLink
    from benchmarks.workspace import BENCH_USER, Workspace, apdu_times, commands_of, transaction

    workspace = Workspace()
    try:
        link = PcscLink()
        service = workspace.service(":memory:")
        with link.card_inserted(workspace.card(profile)):
            transport = link.transport()
            service.enrol(BENCH_USER, transport)
            t = transaction()
            commands = commands_of(service.authenticate(BENCH_USER, t, transport))
            in_tap: list[float] = []
            for _ in range(loops):
                in_tap += apdu_times(service.authenticate(BENCH_USER, t, transport))
            transport.close()
            print(f"{profile}: median APDU round trip inside a tap: {statistics.median(in_tap) * 1e6:.0f} µs")
            with link.bare() as loop:
                for pause_us in (0, 100, 300, 600, 1000):
                    for how in ("busy-wait", "sleep"):
                        if pause_us == 0 and how == "sleep":
                            continue
                        per: list[float] = []
                        for _ in range(loops):
                            for apdu in commands:
                                if how == "sleep":
                                    time.sleep(pause_us / 1e6)
                                else:
                                    end = time.perf_counter() + pause_us / 1e6
                                    while time.perf_counter() < end:
                                        pass
                                per += loop((apdu,))[0]
                        print(f"bare pyscard loop, {pause_us:4d} µs {how:9s} between APDUs: median "
                              f"{statistics.median(per) * 1e6:.0f} µs per APDU")
    finally:
        workspace.close()
        stop_private_pcscd()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling")
    sub = parser.add_subparsers(dest="what", required=True)
    tap = sub.add_parser("tap", help="pyinstrument over in-process taps of one profile")
    tap.add_argument("profile", nargs="?", default="mastercard-cvn16-cda")
    tap.add_argument("--taps", type=int, default=300)
    tap.add_argument("--top", type=int, default=30)
    tap.add_argument("--tree", action="store_true")
    pacing = sub.add_parser("pacing", help="PC/SC: APDU round trips of a bare loop paced like a tap")
    pacing.add_argument("profile", nargs="?", default="legacy-sda")
    pacing.add_argument("--loops", type=int, default=60)
    gui = sub.add_parser("gui", help="py-spy over the app while it runs taps; the UI thread's hot spots")
    gui.add_argument("--taps", type=int, default=12)
    gui.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    if args.what == "tap":
        profile_tap(args.profile, args.taps, args.top, args.tree)
    elif args.what == "pacing":
        profile_pacing(args.profile, args.loops)
    else:
        profile_gui(args.taps, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
