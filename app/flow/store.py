"""The verifier's state in SQLite (docs/tap-model.md "Storage"; DESIGN.md §6 "State: SQLite").

Implements :class:`protocol.tap.verifier_store.VerifierStore` for
:class:`protocol.tap.verifier.Verifier`.

**File.** ``SqliteVerifierStore()`` uses ``<data dir>/verifier.sqlite3`` where the
data directory is :func:`card_emulation.keystore_files.data_dir` (the
``TRUSTONE_DATA_DIR`` environment variable, else
``platformdirs.user_data_dir("trustone")``); ``SqliteVerifierStore(":memory:")``
is a private in-memory database for tests.

**Durability and atomicity.** ``PRAGMA journal_mode=WAL`` and
``synchronous=FULL``: a committed transaction survives a crash or a kill, and a
kill at any point leaves either the old or the new state. The two decisions that
must never be taken twice are single conditional ``UPDATE``\\ s inside
``BEGIN IMMEDIATE`` transactions (which take the write lock first, so two
processes serialise on it):

* consuming a challenge: ``UPDATE challenges SET used_at = ? WHERE challenge_id = ?
  AND used_at IS NULL`` — exactly one attempt sees one row changed;
* raising a card's ATC with the audit record: ``UPDATE cards SET last_atc = ?
  WHERE card_ref = ? AND last_atc < ?`` then ``INSERT INTO audit``, or nothing.

The challenge is consumed in its own transaction *before* the checks run (so the
RSA work does not hold the write lock, and a verifier dying mid-check still
leaves the challenge used); the ATC and the audit record are written together at
the end. OTP counters/time steps advance the same way (``counter < ?``).

**Memory.** Each connection's page cache is bounded to :data:`PAGE_CACHE_KIB`
(SQLite's default is 2 MiB): a verification touches a handful of rows through
their indexes, and a long-running verifier should reach its steady memory early
(the soak benchmark measured the default cache filling for thousands of taps).

**Threads and processes.** A file database gets one connection per thread
(``threading.local``), each with a busy timeout (default 30 s) so concurrent
writers in other threads or processes wait for the lock instead of failing.
``:memory:`` has a single connection shared under a lock (an in-memory database
exists only inside its connection). Any number of processes may open the same
file.

**What is stored.** No PAN (only ``card_ref`` = SHA-256(salt ‖ PAN ‖ PSN) and the
masked PAN), no issuer key. TOTP/HOTP shared secrets are stored (a verifier needs
them to check a code); they never appear in the audit log.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from app.errors import AppError
from card_emulation.keystore_files import data_dir
from protocol.tap.challenge import Challenge
from protocol.tap.events import Outcome
from protocol.tap.transaction import Transaction
from protocol.tap.verifier_store import (
    AtcRaise,
    AuditKind,
    AuditRecord,
    CardState,
    ChallengePurpose,
    Consumption,
    EnrolmentRecord,
    IntegrityReport,
    OtpKind,
    OtpToken,
    StoredChallenge,
)

SCHEMA_VERSION = 1
DB_FILE = "verifier.sqlite3"
SALT_BYTES = 32
MEMORY = ":memory:"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS challenges (
    challenge_id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('transaction', 'enrolment')),
    nonce BLOB NOT NULL,
    transaction_json TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    user_id TEXT,
    device_public_key BLOB
);
CREATE TABLE IF NOT EXISTS enrolments (
    user_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    device_public_key BLOB NOT NULL,
    card_ref BLOB NOT NULL,
    masked_pan TEXT NOT NULL,
    aid BLOB NOT NULL,
    aip BLOB NOT NULL,
    oda_method TEXT NOT NULL,
    policy TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id, card_ref)
);
CREATE TABLE IF NOT EXISTS cards (
    card_ref BLOB PRIMARY KEY,
    last_atc INTEGER NOT NULL CHECK (last_atc BETWEEN 0 AND 65535),
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS otp (
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('totp', 'hotp', 'cap')),
    params_json TEXT NOT NULL,
    secret BLOB NOT NULL,
    counter INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE TABLE IF NOT EXISTS audit (
    audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reasons_json TEXT NOT NULL,
    checks_json TEXT NOT NULL,
    challenge_id TEXT,
    challenge_consumed INTEGER NOT NULL,
    user_id TEXT,
    device_id TEXT,
    card_ref BLOB,
    atc INTEGER,
    masked_pan TEXT
);
CREATE INDEX IF NOT EXISTS audit_card ON audit (card_ref, audit_id);
"""


#: Page cache per connection, KiB (``PRAGMA cache_size = -N``).
PAGE_CACHE_KIB = 512


class StoreError(AppError):
    """The verifier's database cannot be used (locked too long, corrupt, other schema, disk)."""


class SqliteVerifierStore:
    """:class:`~protocol.tap.verifier_store.VerifierStore` on SQLite (see the module docstring)."""

    def __init__(self, path: Path | str | None = None, *, busy_timeout_s: float = 30.0) -> None:
        if path is None:
            path = default_path()
        self.path = str(path)
        self._memory = self.path == MEMORY
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._timeout = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        self._memory_lock = threading.RLock()
        self._shared: sqlite3.Connection | None = self._open() if self._memory else None
        self._initialise()

    def __repr__(self) -> str:
        return f"SqliteVerifierStore({self.path!r})"

    # ------------------------------------------------------------------ connections

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            if not self._memory:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the verifier database {self.path}: {exc}") from exc
        with self._registry_lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def _guard(self) -> Any:
        return self._memory_lock if self._memory else nullcontext()

    def _atomic(self, work: Callable[[sqlite3.Connection], bool]) -> bool:
        """Run ``work`` in a ``BEGIN IMMEDIATE`` transaction: committed if it returns True, else rolled back."""
        with self._guard():
            conn = self._conn()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"the verifier database is unavailable: {exc}") from exc
            try:
                keep = work(conn)
            except BaseException as exc:
                conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"the verifier database refused a change: {exc}") from exc
                raise
            try:
                conn.execute("COMMIT" if keep else "ROLLBACK")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise StoreError(f"cannot commit to the verifier database: {exc}") from exc
            return keep

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._guard():
            try:
                return self._conn().execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the verifier database: {exc}") from exc

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        with self._registry_lock:
            connections, self._all = self._all, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
        self._shared = None

    def __enter__(self) -> SqliteVerifierStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _initialise(self) -> None:
        def work(conn: sqlite3.Connection) -> bool:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif str(row[0]) != str(SCHEMA_VERSION):
                raise StoreError(f"{self.path} has schema version {row[0]}, this program knows {SCHEMA_VERSION}")
            # The salt is made once, by whichever process initialises the file first.
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('server_salt', ?)", (secrets.token_bytes(SALT_BYTES),))
            return True

        self._atomic(work)
        self._salt = bytes(self._read("SELECT value FROM meta WHERE key = 'server_salt'")[0][0])

    # ------------------------------------------------------------------ VerifierStore: challenges

    def server_salt(self) -> bytes:
        return self._salt

    def schema_version(self) -> int:
        return int(self._read("SELECT value FROM meta WHERE key = 'schema_version'")[0][0])

    def save_challenge(self, record: StoredChallenge) -> None:
        c = record.challenge
        row = (c.challenge_id, record.purpose.value, c.nonce, json.dumps(c.transaction.to_dict()), c.issued_at,
               c.expires_at, record.used_at, record.user_id, record.device_public_key)  # fmt: skip
        self._atomic(lambda conn: bool(conn.execute("INSERT INTO challenges VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)))

    def consume_challenge(self, challenge_id: str, purpose: ChallengePurpose, now: int) -> Consumption:
        found: list[tuple[Any, ...]] = []

        def work(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT challenge_id, nonce, transaction_json, issued_at, expires_at, used_at, user_id, "
                "device_public_key FROM challenges WHERE challenge_id = ? AND purpose = ?",
                (challenge_id, purpose.value),
            ).fetchone()
            if row is None:
                return False
            changed = conn.execute(
                "UPDATE challenges SET used_at = ? WHERE challenge_id = ? AND used_at IS NULL", (now, challenge_id)
            ).rowcount
            found.append((*row, changed == 1))
            return True

        self._atomic(work)
        if not found:
            return Consumption(None, False)
        row = found[0]
        challenge = Challenge(row[0], bytes(row[1]), Transaction.from_dict(json.loads(row[2])), row[3], row[4])
        key = bytes(row[7]) if row[7] is not None else None
        return Consumption(StoredChallenge(challenge, purpose, row[6], key, row[5]), row[8])

    # ------------------------------------------------------------------ VerifierStore: enrolments, cards, audit

    def enrolments_for(self, user_id: str, device_id: str) -> tuple[EnrolmentRecord, ...]:
        rows = self._read(
            "SELECT user_id, device_id, device_public_key, card_ref, masked_pan, aid, aip, oda_method, enrolled_at, "
            "policy FROM enrolments WHERE user_id = ? AND device_id = ? ORDER BY enrolled_at",
            (user_id, device_id),
        )
        return tuple(
            EnrolmentRecord(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], bytes(r[5]), bytes(r[6]), r[7], r[8], r[9])
            for r in rows
        )

    def card_state(self, card_ref: bytes) -> CardState | None:
        rows = self._read("SELECT card_ref, last_atc, updated_at FROM cards WHERE card_ref = ?", (card_ref,))
        return CardState(bytes(rows[0][0]), rows[0][1], rows[0][2]) if rows else None

    @staticmethod
    def _raise_atc(conn: sqlite3.Connection, atc: AtcRaise, now: int) -> bool:
        changed = conn.execute(
            "UPDATE cards SET last_atc = ?, updated_at = ? WHERE card_ref = ? AND last_atc < ?",
            (atc.atc, now, atc.card_ref, atc.atc),
        ).rowcount
        if changed == 0 and atc.create:
            changed = conn.execute(
                "INSERT OR IGNORE INTO cards VALUES (?, ?, ?)", (atc.card_ref, atc.atc, now)
            ).rowcount
        return changed == 1

    @staticmethod
    def _insert_audit(conn: sqlite3.Connection, a: AuditRecord) -> None:
        conn.execute(
            "INSERT INTO audit (at, kind, outcome, reasons_json, checks_json, challenge_id, challenge_consumed, "
            "user_id, device_id, card_ref, atc, masked_pan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (a.at, a.kind.value, a.outcome.value, json.dumps(list(a.reasons)), json.dumps([list(c) for c in a.checks]),
             a.challenge_id, int(a.challenge_consumed), a.user_id, a.device_id, a.card_ref, a.atc, a.masked_pan),
        )  # fmt: skip

    def finish(self, audit: AuditRecord, atc: AtcRaise | None = None) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            if atc is not None and not self._raise_atc(conn, atc, audit.at):
                return False
            self._insert_audit(conn, audit)
            return True

        return self._atomic(work)

    def save_enrolment(self, record: EnrolmentRecord, audit: AuditRecord, atc: AtcRaise) -> bool:
        row = (record.user_id, record.device_id, record.device_public_key, record.card_ref, record.masked_pan,
               record.aid, record.aip, record.oda_method, record.policy, record.enrolled_at)  # fmt: skip

        def work(conn: sqlite3.Connection) -> bool:
            if not self._raise_atc(conn, atc, audit.at):
                return False
            conn.execute("INSERT OR REPLACE INTO enrolments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            self._insert_audit(conn, audit)
            return True

        return self._atomic(work)

    def audit_log(self, limit: int = 50) -> tuple[AuditRecord, ...]:
        rows = self._read(
            "SELECT at, kind, outcome, reasons_json, checks_json, challenge_id, challenge_consumed, user_id, "
            "device_id, card_ref, atc, masked_pan, audit_id FROM audit ORDER BY audit_id DESC LIMIT ?",
            (max(0, int(limit)),),
        )
        return tuple(
            AuditRecord(r[0], AuditKind(r[1]), Outcome(r[2]), tuple(json.loads(r[3])),
                        tuple((c[0], c[1]) for c in json.loads(r[4])), r[5], bool(r[6]), r[7], r[8],
                        bytes(r[9]) if r[9] is not None else None, r[10], r[11], r[12])
            for r in rows
        )  # fmt: skip

    # ------------------------------------------------------------------ VerifierStore: OTP

    def otp_token(self, user_id: str, kind: OtpKind) -> OtpToken | None:
        rows = self._read(
            "SELECT params_json, secret, counter, created_at FROM otp WHERE user_id = ? AND kind = ?",
            (user_id, kind.value),
        )
        if not rows:
            return None
        params, secret, counter, created = rows[0]
        return OtpToken(user_id, kind, json.loads(params), bytes(secret), counter, created)

    def save_otp_token(self, token: OtpToken, atc: AtcRaise | None = None, audit: AuditRecord | None = None) -> None:
        row = (token.user_id, token.kind.value, json.dumps(dict(token.params)), token.secret, token.counter,
               token.created_at)  # fmt: skip

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("INSERT OR REPLACE INTO otp VALUES (?, ?, ?, ?, ?, ?)", row)
            raised = atc is not None and self._raise_atc(conn, AtcRaise(atc.card_ref, atc.atc, create=True),
                                                         token.created_at)  # fmt: skip
            if audit is not None:  # the ATC in the audit log only when it was raised (the log's invariant)
                self._insert_audit(conn, audit if raised else dataclasses.replace(audit, atc=None))
            return True

        self._atomic(work)

    def advance_otp(self, user_id: str, kind: OtpKind, counter: int, audit: AuditRecord) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            changed = conn.execute(
                "UPDATE otp SET counter = ? WHERE user_id = ? AND kind = ? AND (counter IS NULL OR counter < ?)",
                (counter, user_id, kind.value, counter),
            ).rowcount
            if changed != 1:
                return False
            self._insert_audit(conn, audit)
            return True

        return self._atomic(work)

    # ------------------------------------------------------------------ integrity

    def integrity_report(self) -> IntegrityReport:
        """``PRAGMA integrity_check`` and the invariants of docs/tap-model.md (for tests and the soak benchmark)."""
        problems: list[str] = []
        result = [r[0] for r in self._read("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.append("integrity_check: " + "; ".join(str(r) for r in result[:5]))
        if self.schema_version() != SCHEMA_VERSION:
            problems.append(f"schema version {self.schema_version()} is not {SCHEMA_VERSION}")
        for cid, n in self._read(
            "SELECT challenge_id, COUNT(*) FROM audit WHERE challenge_consumed = 1 "
            "GROUP BY challenge_id HAVING COUNT(*) > 1"
        ):
            problems.append(f"challenge {cid} was consumed by {n} attempts")
        for cid, n in self._read(
            "SELECT challenge_id, COUNT(*) FROM audit WHERE challenge_id IS NOT NULL AND outcome != 'REJECT' "
            "GROUP BY challenge_id HAVING COUNT(*) > 1"
        ):
            problems.append(f"challenge {cid} led to {n} verdicts other than REJECT")
        for (cid,) in self._read(
            "SELECT a.challenge_id FROM audit a JOIN challenges c ON c.challenge_id = a.challenge_id "
            "WHERE a.challenge_consumed = 1 AND c.used_at IS NULL"
        ):
            problems.append(f"challenge {cid} is consumed in the audit log but not marked used")
        problems += self._atc_invariants()
        counts = {
            table: int(self._read(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608 - fixed table names
            for table in ("challenges", "enrolments", "cards", "otp", "audit")
        }
        return IntegrityReport(tuple(problems), counts)

    def _atc_invariants(self) -> list[str]:
        problems: list[str] = []
        last: dict[bytes, int] = {}
        for card_ref, atc, audit_id in self._read(
            "SELECT card_ref, atc, audit_id FROM audit WHERE outcome != 'REJECT' AND card_ref IS NOT NULL "
            "AND atc IS NOT NULL ORDER BY audit_id"
        ):
            ref = bytes(card_ref)
            if ref in last and atc <= last[ref]:
                problems.append(f"audit {audit_id}: ATC {atc} of card {ref.hex()[:12]}… is not above {last[ref]}")
            last[ref] = max(atc, last.get(ref, -1))
        for card_ref, last_atc in self._read("SELECT card_ref, last_atc FROM cards"):
            ref = bytes(card_ref)
            if ref in last and last_atc != last[ref]:
                problems.append(f"card {ref.hex()[:12]}…: last ATC {last_atc} is not the last accepted ({last[ref]})")
        return problems


def default_path(directory: Path | str | None = None) -> Path:
    """``<data dir>/verifier.sqlite3`` (``TRUSTONE_DATA_DIR`` or the platform's user data directory)."""
    return data_dir(directory) / DB_FILE

