"""Enrolment: binding a card to a user and a phone (DESIGN.md §3 "Enrolment").

1. The phone creates a device key pair (ECDSA P-256) and registers the public
   key: :meth:`~protocol.tap.verifier.Verifier.begin_enrolment` stores it with an
   enrolment challenge for a fixed "enrolment" transaction.
2. The user taps the card; the verifier checks the tap as a verification (ODA,
   ARQC when it holds the issuer's keys, …) with the *pending* device key, and on
   ``ACCEPT`` (or ``OFFLINE DATA AUTHENTICATION ONLY`` for a real card whose keys
   it lacks) binds ``card_ref = SHA-256(server salt ‖ PAN ‖ PSN)`` to the user,
   the device id and key, the ODA method performed and the AIP (so that a later
   AIP downgrade is visible), and stores the card's ATC as its first.

The PAN itself is never stored: only ``card_ref`` and the masked PAN.
``card_ref`` encodes the PAN as its ASCII digits followed by the two ASCII digits
of the PSN (``00`` when the card has no 5F34, Book 2 Annex A1.4.1): the PSN has a
fixed width, so the concatenation is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.crypto.primitives import sha256
from protocol.errors import UsageError
from protocol.tap.assertion import MAX_ID_LENGTH
from protocol.tap.transaction import Transaction, TransactionType
from protocol.tap.verifier_result import VerificationResult
from protocol.tap.verifier_store import EnrolmentRecord

ENROLMENT_PAYEE = "TrustOne card enrolment"
ENROLMENT_CURRENCY = "410"  # KRW: the enrolment "transaction" moves no money
P256_POINT_LENGTH = 65  # uncompressed SEC1 point 04 ‖ X ‖ Y


def card_ref(salt: bytes, pan: str, psn: str | None) -> bytes:
    """``SHA-256(server salt ‖ PAN ‖ PSN)`` (DESIGN.md §3): the card's identity without its PAN."""
    if not (isinstance(pan, str) and pan.isascii() and pan.isdigit() and 1 <= len(pan) <= 19):
        raise UsageError("a PAN is 1..19 decimal digits")
    psn = "00" if psn is None else psn
    if not (isinstance(psn, str) and len(psn) == 2 and psn.isascii() and psn.isdigit()):
        raise UsageError("a PAN sequence number is 2 decimal digits")
    return sha256(bytes(salt) + pan.encode("ascii") + psn.encode("ascii"))


def enrolment_transaction(now: int) -> Transaction:
    """The "transaction" an enrolment tap authenticates: a login-type T of amount 0."""
    return Transaction(TransactionType.LOGIN, 0, ENROLMENT_CURRENCY, ENROLMENT_PAYEE, now)


def check_user_id(user_id: object) -> str:
    if not isinstance(user_id, str) or not user_id or len(user_id) > MAX_ID_LENGTH:
        raise UsageError(f"a user id is a non-empty string of at most {MAX_ID_LENGTH} characters")
    return user_id


def check_device_key(device_public_key: object) -> bytes:
    """An uncompressed P-256 point; whether it is *on* the curve shows when the signature is checked."""
    if not isinstance(device_public_key, bytes) or len(device_public_key) != P256_POINT_LENGTH or (
        device_public_key[0] != 0x04
    ):
        raise UsageError("the device public key must be an uncompressed P-256 point (65 bytes starting with 04)")
    return device_public_key


@dataclass(frozen=True)
class Enrolment:
    """The outcome of :meth:`~protocol.tap.verifier.Verifier.complete_enrolment`.

    ``result`` has the checks of the enrolment tap (rendered like a verification);
    ``record`` is what was bound, or ``None`` when the tap was rejected.
    """

    result: VerificationResult
    record: EnrolmentRecord | None

    @property
    def accepted(self) -> bool:
        return self.record is not None

    @property
    def card_ref(self) -> bytes | None:
        return self.record.card_ref if self.record else None

    @property
    def masked_pan(self) -> str | None:
        return self.result.masked_pan
