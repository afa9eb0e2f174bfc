"""The verifier's challenge and the unpredictable number derived from it.

DESIGN.md §3 step 2: a random 16-byte nonce, an expiry (default 60 s) and
``UN = first 4 bytes of SHA-256(nonce ‖ H(T))``. The UN goes to the card as
9F37 (Unpredictable Number, EMV 4.4 Book 3 Annex A) inside the PDOL/CDOL1 data,
so the card's cryptogram is bound to this transaction and this challenge: a code
captured for one transaction is useless for another.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from protocol.crypto.primitives import sha256
from protocol.errors import UsageError
from protocol.tap.transaction import Transaction

NONCE_LENGTH = 16
UN_LENGTH = 4
DEFAULT_LIFETIME_S = 60


def unpredictable_number(nonce: bytes, transaction: Transaction) -> bytes:
    """UN = SHA-256(nonce ‖ H(T))[:4]."""
    if len(nonce) != NONCE_LENGTH:
        raise UsageError(f"nonce must be {NONCE_LENGTH} bytes, got {len(nonce)}")
    return sha256(nonce + transaction.digest())[:UN_LENGTH]


@dataclass(frozen=True)
class Challenge:
    """What the verifier sends to the phone, and keeps (as unused) until verification."""

    challenge_id: str
    nonce: bytes
    transaction: Transaction
    issued_at: int
    expires_at: int

    @property
    def un(self) -> bytes:
        return unpredictable_number(self.nonce, self.transaction)

    @classmethod
    def new(
        cls, transaction: Transaction, now: int, lifetime_s: int = DEFAULT_LIFETIME_S, *, nonce: bytes | None = None
    ) -> Challenge:
        """A fresh challenge; ``nonce`` may be given for reproducible tests only."""
        if lifetime_s <= 0:
            raise UsageError("challenge lifetime must be positive")
        nonce = secrets.token_bytes(NONCE_LENGTH) if nonce is None else nonce
        if len(nonce) != NONCE_LENGTH:
            raise UsageError(f"nonce must be {NONCE_LENGTH} bytes")
        return cls(secrets.token_hex(16), nonce, transaction, now, now + lifetime_s)

    def to_dict(self) -> dict[str, object]:
        """What travels to the phone: ``{challenge_id, nonce, T}`` plus the expiry."""
        return {
            "challenge_id": self.challenge_id,
            "nonce": self.nonce.hex().upper(),
            "transaction": self.transaction.to_dict(),
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: object) -> Challenge:
        if not isinstance(data, dict):
            raise UsageError("challenge must be an object")
        try:
            nonce = bytes.fromhex(str(data["nonce"]))
            challenge = cls(
                str(data["challenge_id"]), nonce, Transaction.from_dict(data["transaction"]),
                int(data["issued_at"]), int(data["expires_at"]),
            )
        except KeyError as exc:
            raise UsageError(f"challenge lacks field {exc.args[0]!r}") from None
        except ValueError as exc:
            raise UsageError(f"challenge is malformed: {exc}") from None
        if len(nonce) != NONCE_LENGTH:
            raise UsageError(f"nonce must be {NONCE_LENGTH} bytes")
        return challenge
