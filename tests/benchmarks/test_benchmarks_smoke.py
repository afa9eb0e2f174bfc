"""The benchmark command works: every benchmark runs in its tiny mode and writes its JSON.

No timing is asserted here (speed stays out of pass/fail tests): only that
``python -m benchmarks --tiny`` runs each benchmark to the end, prints its table,
exits 0 and writes a well-formed results file; that its usage errors exit 2; and
that the soak's false-accept oracle does catch a verifier that stops checking the
cryptogram. A benchmark whose real components are missing reports SKIPPED: that
skips here on a developer machine and fails under ``CI=true``.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.require import missing

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("tap", "pcsc", "nfc", "verifier", "app", "soak")

pytestmark = pytest.mark.slow


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``--tiny`` run of all six benchmarks (a few iterations each)."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = _run("--tiny", "--json", str(out))
    assert done.returncode == 0, (
        f"exit {done.returncode}\nstdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    )
    document = json.loads(out.read_text(encoding="utf-8"))
    return {"stdout": done.stdout, "stderr": done.stderr, "json": document}


def test_results_file_is_well_formed(tiny_run: dict[str, Any]) -> None:
    document = tiny_run["json"]
    assert document["schema"] == "trustone-benchmarks/1"
    assert document["mode"]["name"] == "tiny"
    assert [b["name"] for b in document["benchmarks"]] == list(NAMES)
    assert document["environment"]["python"]
    assert "goals:" in tiny_run["stdout"] and "results:" in tiny_run["stdout"]


@pytest.mark.parametrize("name", NAMES)
def test_each_benchmark_ran(tiny_run: dict[str, Any], name: str) -> None:
    bench = next(b for b in tiny_run["json"]["benchmarks"] if b["name"] == name)
    if bench["status"] == "skipped":
        missing(f"benchmark {name}: {bench['message']}")
    assert bench["status"] == "ok", bench["message"]
    assert bench["rows"], "the benchmark printed no table"
    assert f"== {bench['title']} ==" in tiny_run["stdout"]
    for goal in bench["goals"]:  # a goal is shown as PASS or MISS, never asserted
        assert goal["result"] in ("PASS", "MISS", "n/a")


def test_soak_checked_its_properties(tiny_run: dict[str, Any]) -> None:
    soak = next(b for b in tiny_run["json"]["benchmarks"] if b["name"] == "soak")
    data = soak["data"]
    assert data["false_accepts"] == [] and data["crashes"] == []
    assert data["database"]["integrity_ok"]
    assert sum(data["outcomes"].values()) == data["taps"]
    assert "[soak]" in tiny_run["stderr"]  # progress feedback


def test_usage_errors_exit_2() -> None:
    assert _run("--only", "no-such-benchmark", timeout=60).returncode == 2
    assert _run("--quick", "--tiny", timeout=60).returncode == 2


def test_the_soak_catches_a_verifier_that_skips_the_arqc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation check of the oracle: with the ARQC check forced to pass, corrupted cryptograms get through."""
    from benchmarks import bench_soak
    from benchmarks.core import MODES
    from benchmarks.workspace import Workspace
    from protocol.tap import verifier as verifier_module
    from protocol.tap.events import CheckStatus
    from protocol.tap.verifier_checks import ArqcResult
    from protocol.tap.verifier_result import ARQC

    def always_passes(facts, rec, keystore, cdol1, cda):  # type: ignore[no-untyped-def]
        rec.passed(ARQC, "(test mutation: not checked)")
        return ArqcResult(CheckStatus.PASSED)

    monkeypatch.setattr(verifier_module, "check_arqc", always_passes)
    workspace = Workspace()
    try:
        mode = dataclasses.replace(MODES["tiny"], soak_taps=120, progress_every=1000)
        result = bench_soak.run(mode, workspace, seed=7)
    finally:
        workspace.close()
    assert result.status == "failed"
    assert result.data["false_accepts"], "the soak did not notice accepted corrupt cryptograms"
    faults = " ".join(f["fault"] for f in result.data["false_accepts"])
    assert "corrupt-ac" in faults or "clone-keyless" in faults
