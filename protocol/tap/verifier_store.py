"""What the verifier keeps, and the storage interface it needs (docs/tap-model.md "Storage").

The verifier logic is sans-I/O (DESIGN.md §5): it never opens a database. It is
given an object implementing :class:`VerifierStore`; the application's is the
SQLite store in ``app/flow/store.py``. Every method that changes state is
**atomic**, and the two that decide security are *conditional*:

* :meth:`VerifierStore.consume_challenge` marks a challenge used only if it is
  still unused (one conditional ``UPDATE``), so concurrent attempts with the same
  challenge consume it at most once (DESIGN.md §3 step 7 "marked used atomically");
* :meth:`VerifierStore.finish` raises a card's last ATC only if the new ATC is
  strictly higher, **together with** writing the audit record, so the ATC never
  goes down and an accepted verification is never without its audit record.

The values below are frozen dataclasses. They hold no PAN (only ``card_ref`` and
a masked PAN) and no issuer key; OTP secrets, which a verifier must keep to check
a code, live only in :class:`OtpToken` whose ``repr`` hides them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from protocol.tap.challenge import Challenge
from protocol.tap.events import Outcome


class ChallengePurpose(enum.StrEnum):
    """What a challenge may be used for."""

    TRANSACTION = "transaction"  # one verification of T: card tap, TOTP, HOTP or CAP
    ENROLMENT = "enrolment"  # the enrolment tap of one (user, device)


class AuditKind(enum.StrEnum):
    TAP = "tap"
    ENROLMENT = "enrolment"
    TOTP = "totp"
    HOTP = "hotp"
    CAP = "cap"


class OtpKind(enum.StrEnum):
    TOTP = "totp"
    HOTP = "hotp"
    CAP = "cap"


@dataclass(frozen=True)
class StoredChallenge:
    """A challenge as stored: purpose, and for enrolment the user and device key."""

    challenge: Challenge
    purpose: ChallengePurpose
    user_id: str | None = None
    device_public_key: bytes | None = None
    used_at: int | None = None


@dataclass(frozen=True)
class Consumption:
    """The result of :meth:`VerifierStore.consume_challenge`.

    ``stored`` is the challenge as it was *before* this attempt (``None`` when
    there is no challenge of that id and purpose); ``consumed`` is True only for
    the one attempt that marked it used.
    """

    stored: StoredChallenge | None
    consumed: bool


@dataclass(frozen=True)
class EnrolmentRecord:
    """One enrolled (user, device, card): DESIGN.md §3 "Enrolment".

    ``oda_method`` is the offline data authentication method performed at
    enrolment and ``aip`` the card's AIP then, so that a later downgrade shows.
    """

    user_id: str
    device_id: str
    device_public_key: bytes
    card_ref: bytes
    masked_pan: str
    aid: bytes
    aip: bytes
    oda_method: str
    enrolled_at: int
    policy: str = "default"


@dataclass(frozen=True)
class CardState:
    card_ref: bytes
    last_atc: int
    updated_at: int


@dataclass(frozen=True)
class AtcRaise:
    """Raise ``card_ref``'s last ATC to ``atc`` if (and only if) it is below ``atc``.

    ``create`` allows inserting the card's first state (enrolment, CAP enrolment).
    """

    card_ref: bytes
    atc: int
    create: bool = False


@dataclass(frozen=True)
class AuditRecord:
    """One line of the audit log. No PAN (masked only), no key, no OTP secret."""

    at: int
    kind: AuditKind
    outcome: Outcome
    reasons: tuple[str, ...] = ()
    checks: tuple[tuple[str, str], ...] = ()  # (check name, status value), in order
    challenge_id: str | None = None
    challenge_consumed: bool = False
    user_id: str | None = None
    device_id: str | None = None
    card_ref: bytes | None = None
    atc: int | None = None
    masked_pan: str | None = None
    audit_id: int | None = None  # assigned by the store


@dataclass(frozen=True, repr=False)
class OtpToken:
    """An OTP credential of a user. ``secret`` is empty for CAP (the issuer keys are in the key store).

    ``counter``: HOTP — the next counter expected; TOTP — the last time step
    accepted (``None`` before the first); CAP — unused (the card's ATC lives in
    the ``cards`` state of ``params["card_ref"]``).
    """

    user_id: str
    kind: OtpKind
    params: Mapping[str, object]
    secret: bytes = b""
    counter: int | None = None
    created_at: int = 0

    def __repr__(self) -> str:
        return f"OtpToken({self.user_id!r}, {self.kind.value}, counter={self.counter}, secret=<hidden>)"


@dataclass(frozen=True)
class IntegrityReport:
    """What :meth:`VerifierStore.integrity_report` found; ``ok`` when ``problems`` is empty."""

    problems: tuple[str, ...]
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class VerifierStore(Protocol):
    """Persistent verifier state. Implementations must make every method atomic."""

    def server_salt(self) -> bytes:
        """The server's secret salt for ``card_ref`` (generated once, never changes)."""
        ...

    def save_challenge(self, record: StoredChallenge) -> None: ...

    def consume_challenge(self, challenge_id: str, purpose: ChallengePurpose, now: int) -> Consumption:
        """Atomically mark the challenge used if unused (see :class:`Consumption`)."""
        ...

    def enrolments_for(self, user_id: str, device_id: str) -> tuple[EnrolmentRecord, ...]: ...

    def card_state(self, card_ref: bytes) -> CardState | None: ...

    def finish(self, audit: AuditRecord, atc: AtcRaise | None = None) -> bool:
        """Atomically apply ``atc`` (if given) and append ``audit``.

        Returns False, writing nothing, when the ATC raise does not apply (the
        card's last ATC is already at or above it, or the card is unknown and
        ``create`` is not set); the caller then records a rejection instead.
        """
        ...

    def save_enrolment(self, record: EnrolmentRecord, audit: AuditRecord, atc: AtcRaise) -> bool:
        """Atomically apply ``atc`` (``create`` allowed), store ``record`` and append ``audit``.

        Returns False, writing nothing, when the ATC raise does not apply.
        """
        ...

    def otp_token(self, user_id: str, kind: OtpKind) -> OtpToken | None: ...

    def save_otp_token(self, token: OtpToken, atc: AtcRaise | None = None, audit: AuditRecord | None = None) -> None:
        """Atomically store (or replace) a token and append ``audit``; for CAP also raise (or create) the card's
        ATC state — the audit record keeps its ATC only if the raise applied."""
        ...

    def advance_otp(self, user_id: str, kind: OtpKind, counter: int, audit: AuditRecord) -> bool:
        """Atomically set the token's counter to ``counter`` if it is below it (or unset) and append ``audit``.

        Returns False, writing nothing, when another verification got there first.
        """
        ...

    def audit_log(self, limit: int = 50) -> tuple[AuditRecord, ...]:
        """The latest ``limit`` audit records, newest first."""
        ...

    def integrity_report(self) -> IntegrityReport: ...
