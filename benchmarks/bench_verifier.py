"""4. Verifier throughput: ARQC verifications per second on one core, against pyemv computing the same ARQCs.

The data set: for each profile's application, ``arqc_dataset`` distinct ARQCs made
by the card's own key (ICC master key) over the profile's real cryptogram input
with a fresh ATC, amount and UN each. Then, interleaved in rounds, on one CPU
(``sched_setaffinity``):

* **ours** — :func:`protocol.crypto.cryptogram.verify_ac` for each ARQC: ICC master
  key from the issuer master key, session key, MAC, constant-time compare — what
  the verifier's ``ARQC`` check needs;
* **pyemv** — pyemv 1.5 computing the same ARQCs the same way
  (``kd.derive_icc_mk_a``/``_b``, ``kd.derive_common_sk`` per the CVN, ``ac.generate_ac``)
  and comparing them with ``hmac.compare_digest``; every pyemv result is checked
  equal to the card's ARQC.

Ratio = median rate of ours / median rate of pyemv over the CVNs pyemv knows,
mixed in one shuffled stream (the headline), and per CVN. Goal ≥ 2×. The AES
model CVN has no pyemv counterpart: its rate is reported alone.

For context: full :meth:`Verifier.verify` calls per second (every check of
docs/tap-model.md, in-memory store) on pre-made assertions of each profile.
"""

from __future__ import annotations

import hmac
import os
import random
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from app.flow.runner import run_authentication
from app.transports.emulated import EmulatedTransport
from benchmarks.core import Goal, Mode, Result, Stats, fmt_number, progress, ratio, times
from benchmarks.workspace import BENCH_USER, Workspace, transaction
from protocol.crypto.cryptogram import compute_ac_from_icc_mk, verify_ac
from protocol.crypto.cvn import AcMac, Cvn, MasterKeyOption, SessionKeyMethod, ac_input
from protocol.dol import split_dol_data
from protocol.tap.verifier_checks import terminal_data

GOAL = Goal(">=", 2.0)
SEED = 4242


@dataclass(frozen=True)
class Arqc:
    cvn: Cvn
    imk: bytes
    pan: str
    psn: str
    atc: bytes
    un: bytes
    data: bytes
    arqc: bytes


@contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process to one CPU for the measurement (restored afterwards)."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)


def dataset(workspace: Workspace, profile: str, count: int, rng: random.Random) -> list[Arqc]:
    ref = workspace.reference(profile)
    facts = ref.facts
    entry = workspace.keystore().issuer_keys_for(facts.aid, facts.pan)
    assert entry is not None
    cvn = Cvn.parse(entry.cryptogram)
    app = next(a for a in workspace.image(profile).applications if a.aid == facts.aid)
    base = terminal_data(split_dol_data(facts.cdol1, ref.assertion.evidence.cdol1_data))
    out = []
    for i in range(count):
        atc = (i + 2).to_bytes(2, "big")
        un = rng.randbytes(4)
        amount = rng.randrange(1, 10**8).to_bytes(6, "big")
        terminal = amount + base[6:-4] + un
        data = ac_input(cvn, terminal_data=terminal, aip=facts.aip, atc=atc, iad=facts.generate_ac.iad)
        arqc = compute_ac_from_icc_mk(cvn, app.keys.mk_ac, atc=atc, un=un, ac_input=data).cryptogram
        out.append(Arqc(cvn, entry.keys.ac, facts.pan, facts.psn_or_default, atc, un, data, arqc))
    return out


def ours(items: Sequence[Arqc]) -> None:
    for a in items:
        verify_ac(a.cvn, a.imk, a.pan, a.psn, atc=a.atc, un=a.un, ac_input=a.data, cryptogram=a.arqc)


def pyemv_supports(cvn: Cvn) -> bool:
    return cvn.profile.mk_option in (MasterKeyOption.A, MasterKeyOption.B) and cvn.profile.ac_mac is not AcMac.AES_CMAC


def pyemv_verifier() -> Callable[[Sequence[Arqc]], int]:
    """pyemv computing each ARQC from the issuer master key; returns how many did not match."""
    from pyemv import ac as pac
    from pyemv import kd

    def run(items: Sequence[Arqc]) -> int:
        mismatches = 0
        for a in items:
            profile = a.cvn.profile
            derive = kd.derive_icc_mk_a if profile.mk_option is MasterKeyOption.A else kd.derive_icc_mk_b
            mk = derive(a.imk, a.pan, a.psn)
            method = profile.ac_session_key
            if method is SessionKeyMethod.COMMON:
                sk = kd.derive_common_sk(mk, a.atc + bytes(6))
            elif method is SessionKeyMethod.MASTERCARD_SKD:
                sk = kd.derive_common_sk(mk, a.atc + b"\x00\x00" + a.un)
            else:
                sk = mk
            padding = pac.PaddingType.VISA if profile.ac_mac is AcMac.ALG3_METHOD_1 else pac.PaddingType.EMV
            if not hmac.compare_digest(pac.generate_ac(sk, a.data, padding), a.arqc):
                mismatches += 1
        return mismatches

    return run


def _rate(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def run(mode: Mode, workspace: Workspace) -> Result:
    result = Result("verifier", "4. Verifier throughput, ARQC verifications per second on one core")
    result.headers = ["CVN", "profile", "ours /s", "pyemv /s", "ratio", "goal", "result"]
    try:
        pyemv_run: Callable[[Sequence[Arqc]], int] | None = pyemv_verifier()
    except ImportError as exc:
        pyemv_run = None
        result.notes.append(f"pyemv is not installed ({exc}): install the bench extra")
    rng = random.Random(SEED)
    workspace.prepare_all()
    sets: dict[str, list[Arqc]] = {}
    names: dict[str, str] = {}
    for profile in workspace.profiles():
        items = dataset(workspace, profile, mode.arqc_dataset, rng)
        key = items[0].cvn.value
        if key in sets:  # two profiles with the same CVN: one stream per CVN
            sets[key] += items
            names[key] += f", {profile}"
        else:
            sets[key], names[key] = items, profile
    comparable = [a for key, items in sets.items() if pyemv_supports(items[0].cvn) for a in items]
    rng.shuffle(comparable)
    streams = {"mixed": comparable, **sets}
    rates: dict[str, dict[str, list[float]]] = {k: {"ours": [], "pyemv": []} for k in streams}
    mismatches = 0
    progress("[verifier] ARQC streams")
    with warnings.catch_warnings(), one_core() as cpu:
        warnings.simplefilter("ignore")  # pyemv 1.5 + cryptography: TripleDES deprecation warnings
        for r in range(mode.arqc_rounds):
            for key, items in streams.items():
                if not items:
                    continue
                order = ["ours", "pyemv"] if r % 2 == 0 else ["pyemv", "ours"]
                for who in order:
                    if who == "ours":
                        rates[key]["ours"].append(_rate(lambda: ours(items), len(items)))
                    elif pyemv_run is not None and pyemv_supports(items[0].cvn):
                        box: list[int] = []
                        rates[key]["pyemv"].append(_rate(lambda: box.append(pyemv_run(items)), len(items)))
                        mismatches += box[0]
        progress("[verifier] full verify() calls")
        verify_rates = {p: _verify_rate(mode, workspace, p) for p in workspace.profiles()}
    data: dict[str, Any] = {"cpu": cpu, "dataset_per_cvn": mode.arqc_dataset, "rounds": mode.arqc_rounds,
                            "pyemv_mismatches": mismatches, "streams": {}}  # fmt: skip
    for key, per in rates.items():
        mine = Stats.of(per["ours"]).median
        theirs = Stats.of(per["pyemv"]).median
        r = ratio(mine, theirs)
        label = "all (mixed)" if key == "mixed" else key
        profile = names.get(key, "pyemv-supported CVNs, shuffled")
        if per["pyemv"]:
            verdict, goal = result.check(f"{label}: ARQC verifications/s, ours / pyemv", r, GOAL), str(GOAL)
        else:
            verdict, goal = "(no pyemv)", "—"
        result.rows.append([label, profile, fmt_number(mine), fmt_number(theirs) if per["pyemv"] else "—",
                            times(r) if per["pyemv"] else "—", goal, verdict])  # fmt: skip
        data["streams"][key] = {"profiles": profile, "ours_per_s": mine, "pyemv_per_s": theirs, "ratio": r,
                                "ours_samples": per["ours"], "pyemv_samples": per["pyemv"]}  # fmt: skip
    data["verify_calls_per_s"] = verify_rates
    result.data = data
    if mismatches:
        result.notes.append(f"pyemv disagreed with the card on {mismatches} ARQCs: see the JSON file")
    result.notes.append("full Verifier.verify() calls/s (all checks, in-memory store): "
                        + ", ".join(f"{p} {fmt_number(v)}" for p, v in verify_rates.items()))  # fmt: skip
    result.notes.append(f"one core: pinned to CPU {cpu}" if cpu is not None else "could not pin to one core")
    return result


def _verify_rate(mode: Mode, workspace: Workspace, profile: str) -> float:
    """Median rate of full verify() calls over pre-made assertions (each challenge is single-use)."""
    service = workspace.service(":memory:")
    rounds = max(1, min(mode.arqc_rounds, 5))
    per_round = max(1, mode.verify_calls // rounds)
    try:
        with EmulatedTransport(workspace.card(profile)) as link:
            if service.enrol(BENCH_USER, link).enrolled is None:
                raise RuntimeError(f"{profile}: enrolment failed")
            t = transaction()
            rates = []
            for _ in range(rounds):
                blobs = []
                for _ in range(per_round):
                    challenge = service.verifier.issue_challenge(t)
                    outcome = run_authentication(service.session(challenge, BENCH_USER), link)
                    assert outcome.assertion is not None, outcome.failure
                    blobs.append(outcome.assertion.to_bytes())
                verify = service.verifier.verify
                start = time.perf_counter()
                for blob in blobs:
                    if not verify(blob).accepted:
                        raise RuntimeError(f"{profile}: a pre-made assertion was not accepted")
                rates.append(len(blobs) / (time.perf_counter() - start))
            return Stats.of(rates).median
    finally:
        service.close()
