"""Persistence and multi-process safety of the verifier on one SQLite file.

* A verifier process that accepted an assertion is killed with SIGKILL and a new
  one is started on the same file: the replayed assertion is rejected.
* A verifier killed at an arbitrary moment in a stream of verifications leaves a
  consistent database (``integrity_report`` clean, each challenge used at most once).
* Many processes verifying the same assertion at once: exactly one ACCEPT.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.flow.store import SqliteVerifierStore
from protocol import keystore as keystore_json
from protocol.tap.events import Outcome
from tests.flow.support import NOW, TRANSACTION, enrol, keystore, make_card, make_verifier, tap

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def _prepare(tmp_path: Path, count: int = 1, name: str = "visa-cvn18-dda") -> tuple[Path, Path, list[Path]]:
    db = tmp_path / "verifier.sqlite3"
    keys = tmp_path / "keystore.json"
    keys.write_text(keystore_json.dumps(keystore()))
    store = SqliteVerifierStore(db)
    verifier = make_verifier(store)
    card = make_card(name)
    assert enrol(verifier, card).accepted
    files = []
    for i in range(count):
        path = tmp_path / f"assertion-{i}.json"
        path.write_bytes(tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes())
        files.append(path)
    store.close()
    return db, keys, files


def _worker(mode: str, db: Path, keys: Path, *args: Path | str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.flow.worker", mode, str(db), str(keys), str(NOW), *map(str, args)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lines(process: subprocess.Popen[str], timeout: float = 120) -> list[dict[str, str]]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_replay_after_the_verifier_process_is_killed(tmp_path: Path) -> None:
    db, keys, (assertion,) = _prepare(tmp_path)
    first = _worker("verify-then-hang", db, keys, assertion)
    assert first.stdout is not None
    line = json.loads(first.stdout.readline())
    assert line["outcome"] == "ACCEPT"
    assert first.stdout.readline().strip() == "HANGING"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL

    (again,) = _lines(_worker("verify", db, keys, assertion))
    assert again["outcome"] == "REJECT" and again["unused"] == "failed"
    report = SqliteVerifierStore(db).integrity_report()
    assert report.ok, report.problems


def test_killed_at_any_moment_leaves_a_consistent_database(tmp_path: Path) -> None:
    db, keys, files = _prepare(tmp_path, count=30)
    process = _worker("loop", db, keys, *files)
    assert process.stdout is not None
    done = [json.loads(process.stdout.readline()) for _ in range(5)]  # let it get going, then kill mid-stream
    time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert all(d["outcome"] == "ACCEPT" for d in done)

    store = SqliteVerifierStore(db)
    report = store.integrity_report()
    assert report.ok, report.problems
    log = store.audit_log(1000)
    accepted_before = {a.challenge_id for a in log if a.outcome is Outcome.ACCEPT and a.kind.value == "tap"}
    verifier = make_verifier(store)
    accepted_after = [verifier.verify(path.read_bytes()).outcome is Outcome.ACCEPT for path in files]
    # every challenge is accepted at most once over both processes, and none of the first five again
    assert not any(accepted_after[:5])
    audit = store.audit_log(1000)
    for path in files:
        cid = json.loads(path.read_text())["challenge_id"]
        assert sum(1 for a in audit if a.challenge_id == cid and a.outcome is Outcome.ACCEPT) <= 1
    assert len(accepted_before) >= 5
    assert store.integrity_report().ok


def test_many_processes_verifying_one_assertion(tmp_path: Path) -> None:
    db, keys, (assertion,) = _prepare(tmp_path, name="mastercard-cvn16-cda")
    go = tmp_path / "go"
    processes = [_worker("race", db, keys, go, assertion) for _ in range(6)]
    time.sleep(1.5)  # let them start and open the database
    go.write_text("go")
    outcomes = [line["outcome"] for p in processes for line in _lines(p)]
    assert len(outcomes) == 6
    assert outcomes.count("ACCEPT") == 1 and outcomes.count("REJECT") == 5
    report = SqliteVerifierStore(db).integrity_report()
    assert report.ok, report.problems
