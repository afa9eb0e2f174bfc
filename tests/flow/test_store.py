"""The SQLite verifier store: schema, salt, atomic conditional updates, integrity report, threads."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.flow.store import SCHEMA_VERSION, SqliteVerifierStore, StoreError, default_path
from protocol.crypto import otp
from protocol.tap.challenge import Challenge
from protocol.tap.events import Outcome
from protocol.tap.verifier_store import AtcRaise, AuditKind, AuditRecord, ChallengePurpose, OtpKind, StoredChallenge
from tests.flow.support import NOW, TRANSACTION, Clock, enrol, make_card, make_verifier, tap


def _challenge(cid: str = "c1") -> StoredChallenge:
    return StoredChallenge(Challenge(cid, bytes(16), TRANSACTION, NOW, NOW + 60), ChallengePurpose.TRANSACTION)


def _audit(**kwargs: object) -> AuditRecord:
    values: dict[str, object] = {"at": NOW, "kind": AuditKind.TAP, "outcome": Outcome.ACCEPT}
    values.update(kwargs)
    return AuditRecord(**values)  # type: ignore[arg-type]


def test_file_settings_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "verifier.sqlite3"
    store = SqliteVerifierStore(path)
    assert path.exists() and store.schema_version() == SCHEMA_VERSION
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meta", "challenges", "enrolments", "cards", "otp", "audit"} <= tables
    conn.close()
    assert store._conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_default_path_follows_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTONE_DATA_DIR", str(tmp_path / "data"))
    assert default_path() == tmp_path / "data" / "verifier.sqlite3"
    store = SqliteVerifierStore()
    assert Path(store.path) == tmp_path / "data" / "verifier.sqlite3"
    store.close()


def test_salt_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    first = SqliteVerifierStore(path)
    salt = first.server_salt()
    first.close()
    assert len(salt) == 32 and SqliteVerifierStore(path).server_salt() == salt
    assert SqliteVerifierStore(":memory:").server_salt() != SqliteVerifierStore(":memory:").server_salt()


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    SqliteVerifierStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteVerifierStore(path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError):
        SqliteVerifierStore(path)


def test_challenge_is_consumed_once() -> None:
    store = SqliteVerifierStore(":memory:")
    store.save_challenge(_challenge())
    first = store.consume_challenge("c1", ChallengePurpose.TRANSACTION, NOW + 1)
    second = store.consume_challenge("c1", ChallengePurpose.TRANSACTION, NOW + 2)
    assert first.consumed and first.stored is not None and first.stored.used_at is None
    assert not second.consumed and second.stored is not None and second.stored.used_at == NOW + 1
    assert store.consume_challenge("c1", ChallengePurpose.ENROLMENT, NOW).stored is None
    assert store.consume_challenge("nope", ChallengePurpose.TRANSACTION, NOW) == type(first)(None, False)
    with pytest.raises(StoreError):
        store.save_challenge(_challenge())  # the same id twice


def test_atc_only_goes_up_with_its_audit_record() -> None:
    store = SqliteVerifierStore(":memory:")
    ref = b"\x01" * 32
    assert not store.finish(_audit(card_ref=ref, atc=5), AtcRaise(ref, 5))  # unknown card, no create
    assert store.finish(_audit(card_ref=ref, atc=5), AtcRaise(ref, 5, create=True))
    assert not store.finish(_audit(card_ref=ref, atc=5), AtcRaise(ref, 5))
    assert not store.finish(_audit(card_ref=ref, atc=4), AtcRaise(ref, 4))
    assert store.finish(_audit(card_ref=ref, atc=9), AtcRaise(ref, 9))
    assert store.card_state(ref).last_atc == 9  # type: ignore[union-attr]
    assert [a.atc for a in store.audit_log()] == [9, 5]  # nothing written for the refused raises
    assert store.integrity_report().ok


def test_integrity_report_finds_broken_invariants(tmp_path: Path) -> None:
    store = SqliteVerifierStore(tmp_path / "v.sqlite3")
    ref = b"\x02" * 32
    store.save_challenge(_challenge())
    store.save_challenge(_challenge("c2"))
    assert store.consume_challenge("c1", ChallengePurpose.TRANSACTION, NOW).consumed
    assert store.finish(_audit(card_ref=ref, atc=5, challenge_id="c1", challenge_consumed=True), AtcRaise(ref, 5, True))
    assert store.integrity_report().ok
    # what a buggy verifier would write: a second consumption, a lower ATC accepted, an unmarked challenge
    store.finish(_audit(card_ref=ref, atc=3, challenge_id="c1", challenge_consumed=True))
    store.finish(_audit(outcome=Outcome.REJECT, challenge_id="c2", challenge_consumed=True))
    problems = store.integrity_report().problems
    assert any("consumed by 2 attempts" in p for p in problems)
    assert any("led to 2 verdicts" in p for p in problems)
    assert any("is not above 5" in p for p in problems)
    assert any("not marked used" in p for p in problems)


def test_audit_log_newest_first_and_limited() -> None:
    store = SqliteVerifierStore(":memory:")
    for i in range(5):
        store.finish(_audit(reasons=(f"r{i}",), checks=(("ARQC", "failed"),), outcome=Outcome.REJECT))
    log = store.audit_log(3)
    assert [a.reasons for a in log] == [("r4",), ("r3",), ("r2",)]
    assert log[0].checks == (("ARQC", "failed"),) and log[0].audit_id == 5
    assert store.audit_log(0) == ()


def test_otp_counter_advances_conditionally() -> None:
    clock = Clock()
    verifier = make_verifier(clock=clock)
    key = otp.TotpKey(verifier.enrol_totp("alice").secret)
    store = verifier.store
    otp_kind = OtpKind.TOTP
    assert store.advance_otp("alice", otp_kind, 10, _audit(kind=AuditKind.TOTP))
    assert not store.advance_otp("alice", otp_kind, 10, _audit(kind=AuditKind.TOTP))
    assert not store.advance_otp("alice", otp_kind, 9, _audit(kind=AuditKind.TOTP))
    assert store.otp_token("alice", otp_kind).counter == 10  # type: ignore[union-attr]
    assert "secret=<hidden>" in repr(store.otp_token("alice", otp_kind))
    assert verifier.verify_totp("alice", otp.totp(key, clock.t)).accepted


def test_threads_share_one_store(tmp_path: Path) -> None:
    """One store object used from many threads (one connection per thread): exactly one ACCEPT."""
    store = SqliteVerifierStore(tmp_path / "v.sqlite3")
    verifier = make_verifier(store)
    card = make_card("visa-cvn18-dda")
    enrol(verifier, card)
    assertion = tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes()
    barrier = threading.Barrier(8)

    def attempt(_: int) -> Outcome:
        barrier.wait()
        return verifier.verify(assertion).outcome

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count(Outcome.ACCEPT) == 1 and outcomes.count(Outcome.REJECT) == 7
    assert store.integrity_report().ok
    assert len(store.audit_log(100)) == 1 + 8  # the enrolment and every attempt
    store.close()


def test_threads_with_their_own_stores_and_different_challenges(tmp_path: Path) -> None:
    """Several taps of one card verified concurrently: the ATC only goes up; at most one ACCEPT per challenge."""
    path = tmp_path / "v.sqlite3"
    verifier = make_verifier(SqliteVerifierStore(path))
    card = make_card("mastercard-cvn16-cda")
    enrol(verifier, card)
    assertions = [tap(card, verifier.issue_challenge(TRANSACTION)).to_bytes() for _ in range(6)]
    barrier = threading.Barrier(12)

    def attempt(i: int) -> Outcome:
        own = make_verifier(SqliteVerifierStore(path))
        barrier.wait()
        return own.verify(assertions[i % 6]).outcome

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    accepted = outcomes.count(Outcome.ACCEPT)
    assert 1 <= accepted <= 6  # an older ATC loses to a newer one that committed first
    report = SqliteVerifierStore(path).integrity_report()
    assert report.ok, report.problems


def test_page_cache_is_bounded(tmp_path) -> None:
    """A long-running verifier keeps a small, fixed page cache per connection."""
    from app.flow.store import PAGE_CACHE_KIB, SqliteVerifierStore

    store = SqliteVerifierStore(tmp_path / "verifier.sqlite3")
    try:
        assert store._conn().execute("PRAGMA cache_size").fetchone()[0] == -PAGE_CACHE_KIB
    finally:
        store.close()
