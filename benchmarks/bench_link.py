"""2./3. A tap through a real link — pcscd + vpcd (pyscard), or nfcpy's udp driver — against a bare loop.

For each profile the emulated card (in memory) sits behind the real bridge — the
vpcd bridge of a private pcscd, or the ISO-DEP bridge on nfcpy's udp driver — and,
interleaved in rounds:

* ``tap`` — :meth:`TapService.authenticate` (memory store) through
  :class:`~app.transports.pcsc.PcscTransport` / :class:`~app.transports.nfc.NfcTransport`;
  per tap, and per APDU as the runner timed each ``transmit``;
* ``bare`` — the *same command APDUs* (recorded from a tap of that profile) sent to
  the same virtual card by the driver alone: a loop of ``SCardTransmit`` on one
  pyscard connection, or of nfcpy's ``Type4Tag.transceive`` after its own
  activation; per loop, and per APDU;
* ``floor`` — the crypto floor *without the card's part* (the card's signing and
  MAC already run inside the bare loop): phone and verifier RSA recoveries,
  verifier ARQC/ARPC, device ECDSA sign and verify.

Per-tap ratio = median tap / (median bare loop + median floor beyond the card).
Per-APDU ratio = median APDU round trip in the tap / median APDU in the bare loop.
Goal ≤ 1.2× for PC/SC; none is given for NFC (the ratios are reported).

Each round opens the link's transport, times its taps, closes it, then opens the
bare connection (nfcpy allows one reader session at a time; connection set-up is
never timed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from app.transports.base import Transport
from benchmarks.core import Goal, Mode, Result, Stats, ms, progress, ratio, times, timed, us
from benchmarks.floor import build_floor
from benchmarks.workspace import BENCH_USER, Workspace, apdu_times, commands_of, transaction
from card_emulation.applet import EmvCard
from protocol.tap.events import ApduExchanged

PCSC_GOAL = Goal("<=", 1.2)
CARD_TIMEOUT_S = 10.0
WARMUP = 3


class Skip(Exception):
    """The link cannot run on this machine (missing daemon, driver or privileges)."""


# --------------------------------------------------------------------------- PC/SC


class PcscLink:
    name = "pcsc"
    title = "2. Through pcscd + vpcd (pyscard), challenge → verdict"
    bare_name = "pyscard SCardTransmit loop"

    def __init__(self) -> None:
        from card_emulation.private_pcscd import PcscdUnavailable, ensure_private_pcscd

        try:
            self.daemon = ensure_private_pcscd()
        except PcscdUnavailable as exc:
            raise Skip(str(exc)) from None
        from app.errors import DriverMissingError
        from app.transports import pcsc

        self.pcsc = pcsc
        try:
            pcsc.list_readers()
        except DriverMissingError as exc:
            raise Skip(str(exc)) from None

    @contextmanager
    def card_inserted(self, card: EmvCard) -> Iterator[None]:
        from card_emulation.vpcd import VpcdBridge

        bridge = VpcdBridge(card, port=self.daemon.port)
        bridge.start()
        try:
            self.pcsc.wait_for_card(self.daemon.reader_name, CARD_TIMEOUT_S)
            yield
        finally:
            bridge.stop()
            try:
                self.pcsc.wait_for_removal(self.daemon.reader_name, CARD_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - best effort: the next card waits for itself
                pass

    def transport(self) -> Transport:
        return self.pcsc.PcscTransport(self.daemon.reader_name)

    @contextmanager
    def bare(self) -> Iterator[Callable[[tuple[bytes, ...]], tuple[list[float], list[int]]]]:
        """A plain pyscard connection; yields ``loop(commands) -> (per-APDU seconds, status words)``."""
        from smartcard import scard

        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise RuntimeError(f"SCardEstablishContext: {scard.SCardGetErrorMessage(hresult)}")
        hresult, card, protocol = scard.SCardConnect(context, self.daemon.reader_name, scard.SCARD_SHARE_SHARED,
                                                     scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)  # fmt: skip
        if hresult != scard.SCARD_S_SUCCESS:
            scard.SCardReleaseContext(context)
            raise RuntimeError(f"SCardConnect: {scard.SCardGetErrorMessage(hresult)}")
        transmit, clock = scard.SCardTransmit, time.perf_counter

        def loop(commands: tuple[bytes, ...]) -> tuple[list[float], list[int]]:
            elapsed, sws = [], []
            for apdu in commands:
                start = clock()
                hresult, response = transmit(card, protocol, list(apdu))
                elapsed.append(clock() - start)
                sws.append((response[-2] << 8 | response[-1]) if hresult == 0 and len(response) >= 2 else -1)
            return elapsed, sws

        try:
            yield loop
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
            scard.SCardReleaseContext(context)

    def close(self) -> None:
        pass  # the daemon is stopped by __main__ at the end of the run


# --------------------------------------------------------------------------- NFC


class NfcLink:
    name = "nfc"
    title = "3. Through nfcpy's udp driver (ISO-DEP), challenge → verdict"
    bare_name = "nfcpy Type4Tag.transceive loop"

    def __init__(self) -> None:
        try:
            import nfc  # noqa: F401
        except Exception as exc:  # noqa: BLE001
            raise Skip(f"nfcpy is not importable: {exc}") from None
        self.bridge: Any = None

    @contextmanager
    def card_inserted(self, card: EmvCard) -> Iterator[None]:
        from card_emulation.nfc_bridge import NfcBridge

        self.bridge = NfcBridge(card, "127.0.0.1", 0)
        self.bridge.start()
        try:
            if not self.bridge.wait_ready(CARD_TIMEOUT_S):
                raise RuntimeError("the NFC bridge did not come up")
            yield
        finally:
            self.bridge.stop()
            self.bridge = None

    def transport(self) -> Transport:
        from app.transports.nfc import NfcTransport

        return NfcTransport(self.bridge.device_path, timeout_s=CARD_TIMEOUT_S)

    @contextmanager
    def bare(self) -> Iterator[Callable[[tuple[bytes, ...]], tuple[list[float], list[int]]]]:
        """nfcpy alone: its udp frontend, sense, Type 4 activation, ``transceive``."""
        import nfc
        import nfc.clf

        clf = nfc.ContactlessFrontend(self.bridge.device_path)
        try:
            deadline = time.monotonic() + CARD_TIMEOUT_S
            target = None
            while target is None and time.monotonic() < deadline:
                target = clf.sense(nfc.clf.RemoteTarget("106A"), iterations=1)
            if target is None:
                raise RuntimeError("nfcpy found no card on the udp bridge")
            tag = nfc.tag.activate(clf, target)
            if tag is None:
                raise RuntimeError("nfcpy could not activate the card as a Type 4 tag")
            transceive, clock = tag.transceive, time.perf_counter

            def loop(commands: tuple[bytes, ...]) -> tuple[list[float], list[int]]:
                elapsed, sws = [], []
                for apdu in commands:
                    start = clock()
                    response = transceive(bytearray(apdu))
                    elapsed.append(clock() - start)
                    sws.append(response[-2] << 8 | response[-1] if response and len(response) >= 2 else -1)
                return elapsed, sws

            yield loop
        finally:
            clf.close()

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- the benchmark


def run(mode: Mode, workspace: Workspace, *, name: str, seed: int = 0) -> Result:
    del seed
    try:
        link = PcscLink() if name == "pcsc" else NfcLink()
    except Skip as exc:
        title = PcscLink.title if name == "pcsc" else NfcLink.title
        return Result(name, title, status="skipped", message=str(exc))
    result = Result(name, link.title)
    result.headers = ["profile", "APDUs", "tap", "bare loop", "floor*", "ratio", "per APDU", "bare APDU", "ratio",
                      "goal", "result"]  # fmt: skip
    goal = PCSC_GOAL if name == "pcsc" else None
    data: dict[str, Any] = {}
    workspace.prepare_all()
    for profile in workspace.profiles():
        progress(f"[{name}] {profile}")
        data[profile] = _profile(mode, workspace, link, profile, result, goal)
    link.close()
    result.data = {"profiles": data, "bare": link.bare_name}
    result.notes += [
        f"bare loop = the tap's own command APDUs sent to the same virtual card by {link.bare_name}",
        "floor* = crypto floor without the card's part (phone + verifier RSA, verifier ARQC/ARPC, device ECDSA): "
        "the card's signing and MAC already run inside the bare loop",
        "tap ratio = tap / (bare loop + floor*); APDU ratio = median APDU in the tap / median APDU in the bare loop",
    ]
    if goal is None:
        result.notes.append("no goal is set for NFC: the ratios are reported for comparison with PC/SC")
    return result


def _profile(mode: Mode, workspace: Workspace, link: Any, profile: str, result: Result, goal: Goal | None) -> dict:
    floor = build_floor(workspace, profile)
    service = workspace.service(":memory:")
    t = transaction()
    n = max(1, -(-mode.link_samples // mode.rounds))
    samples: dict[str, list[float]] = {"tap": [], "tap_apdu": [], "bare": [], "bare_apdu": [], "floor": []}
    try:
        with link.card_inserted(workspace.card(profile)):
            transport = link.transport()
            try:
                enrolled = service.enrol(BENCH_USER, transport)
                if enrolled.enrolled is None:
                    raise RuntimeError(f"{profile}: enrolment over {link.name} failed: {enrolled.message}")
                reference = service.authenticate(BENCH_USER, t, transport)
                if not reference.accepted:
                    raise RuntimeError(f"{profile}: a tap over {link.name} was not accepted: {reference.message}")
            finally:
                transport.close()
            commands = commands_of(reference)
            expected_sws = [e.sw for e in reference.events if isinstance(e, ApduExchanged)]

            def taps() -> None:
                transport = link.transport()
                try:
                    for _ in range(WARMUP):
                        service.authenticate(BENCH_USER, t, transport)
                    clock = time.perf_counter
                    for _ in range(n):
                        start = clock()
                        outcome = service.authenticate(BENCH_USER, t, transport)
                        samples["tap"].append(clock() - start)
                        if not outcome.accepted:
                            raise RuntimeError(f"{profile}: a tap over {link.name} was not accepted: {outcome.message}")
                        samples["tap_apdu"] += apdu_times(outcome)
                finally:
                    transport.close()

            def bare() -> None:
                with link.bare() as loop:
                    for _ in range(WARMUP):
                        _, sws = loop(commands)
                        if sws != expected_sws:
                            raise RuntimeError(f"{profile}: the bare loop got status words {sws}, the tap "
                                               f"{expected_sws}")  # fmt: skip
                    clock = time.perf_counter
                    for _ in range(n):
                        start = clock()
                        per_apdu, _ = loop(commands)
                        samples["bare"].append(clock() - start)
                        samples["bare_apdu"] += per_apdu

            def floor_job() -> None:
                samples["floor"] += timed(floor.beyond_card, n)

            jobs = [taps, bare, floor_job]
            for r in range(mode.rounds):
                for job in jobs[r % 3:] + jobs[: r % 3]:
                    job()
    finally:
        service.close()
    stats = {k: Stats.of(v) for k, v in samples.items()}
    denominator = stats["bare"].median + stats["floor"].median
    tap_ratio = ratio(stats["tap"].median, denominator)
    apdu_ratio = ratio(stats["tap_apdu"].median, stats["bare_apdu"].median)
    if goal is not None:
        verdict = result.check(f"{profile}: tap / (bare loop + floor beyond the card)", tap_ratio, goal)
        apdu_verdict = result.check(f"{profile}: APDU in the tap / bare APDU", apdu_ratio, goal)
        goal_text, verdict_text = str(goal), f"{verdict} / {apdu_verdict}"
    else:
        goal_text, verdict_text = "—", "(report)"
    result.rows.append([profile, str(len(commands)), ms(stats["tap"].median), ms(stats["bare"].median),
                        ms(stats["floor"].median), times(tap_ratio), us(stats["tap_apdu"].median),
                        us(stats["bare_apdu"].median), times(apdu_ratio), goal_text, verdict_text])  # fmt: skip
    return {
        "apdus_per_tap": len(commands),
        "stats_ms": {k: s.scaled(1e3) for k, s in stats.items()},
        "tap_ratio": tap_ratio,
        "apdu_ratio": apdu_ratio,
        "floor_beyond_card": {k: v for k, v in floor.describe().items() if k != "card"},
    }
