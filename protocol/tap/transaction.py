"""The transaction T that a tap authenticates, and its canonical encoding.

DESIGN.md §3 step 1-2: a relying party asks the verifier to authenticate T (type,
amount, currency, payee, time); the verifier binds its challenge to
``H(T) = SHA-256(canonical encoding of T)``. The phone shows T to the user, and the
EMV terminal data the card signs (EMV 4.4 Book 3 Annex A: 9F02 Amount Authorised,
5F2A Transaction Currency Code, 9A Transaction Date, 9C Transaction Type) are
derived from T here, in one place, so that the phone and the verifier derive them
identically and the verifier never has to trust the phone's copy.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from protocol.crypto.primitives import sha256
from protocol.errors import UsageError

#: Domain separation for H(T): a hash of this encoding can never be confused with
#: a hash of anything else the simulator signs.
CANONICAL_PREFIX = b"TRUSTONE-TRANSACTION-v1\n"
MAX_PAYEE_LENGTH = 128
MAX_AMOUNT_MINOR = 999_999_999_999  # n12, EMV Book 3 Annex A (9F02)


class TransactionType(Enum):
    """What the user authorises, with the EMV Transaction Type (9C) it maps to.

    9C carries the first two digits of the ISO 8583 processing code
    (EMV 4.4 Book 3 Annex A). Login has no payment meaning; the model uses the
    "inquiry" code 30 so that a login tap can never be mistaken for a purchase.
    """

    PAYMENT = ("payment", 0x00)
    TRANSFER = ("transfer", 0x40)
    LOGIN = ("login", 0x30)

    def __init__(self, label: str, emv_code: int) -> None:
        self.label = label
        self.emv_code = emv_code

    @classmethod
    def parse(cls, text: str) -> TransactionType:
        for member in cls:
            if member.label == text.lower():
                return member
        raise UsageError(f"transaction type must be one of {', '.join(m.label for m in cls)}, got {text!r}")


def _bcd(digits: str) -> bytes:
    if len(digits) % 2:
        digits = "0" + digits
    return bytes.fromhex(digits)


@dataclass(frozen=True)
class Transaction:
    """A transaction to authenticate.

    ``amount_minor`` is in the currency's minor units (KRW has none: 50000 means
    ₩50,000); ``currency`` is the ISO 4217 numeric code as three digits ("410");
    ``timestamp`` is Unix seconds (UTC).
    """

    kind: TransactionType
    amount_minor: int
    currency: str
    payee: str
    timestamp: int

    def __post_init__(self) -> None:
        if not isinstance(self.kind, TransactionType):
            raise UsageError(f"kind must be a TransactionType, got {self.kind!r}")
        if not isinstance(self.amount_minor, int) or not 0 <= self.amount_minor <= MAX_AMOUNT_MINOR:
            raise UsageError(f"amount must be 0..{MAX_AMOUNT_MINOR} minor units, got {self.amount_minor!r}")
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isdigit()):
            raise UsageError(f"currency must be an ISO 4217 numeric code of 3 digits, got {self.currency!r}")
        if not isinstance(self.payee, str) or not self.payee.strip():
            raise UsageError("payee must be a non-empty string")
        if len(self.payee) > MAX_PAYEE_LENGTH:
            raise UsageError(f"payee longer than {MAX_PAYEE_LENGTH} characters")
        if not isinstance(self.timestamp, int) or self.timestamp < 0:
            raise UsageError(f"timestamp must be non-negative Unix seconds, got {self.timestamp!r}")
        # Normalise so that visually identical payees hash identically.
        object.__setattr__(self, "payee", unicodedata.normalize("NFC", self.payee.strip()))

    # ------------------------------------------------------------------ encoding

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.kind.label,
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "payee": self.payee,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: object) -> Transaction:
        """Inverse of :meth:`to_dict`; raises UsageError on anything malformed."""
        if not isinstance(data, dict):
            raise UsageError("transaction must be an object")
        try:
            return cls(
                kind=TransactionType.parse(str(data["type"])),
                amount_minor=data["amount_minor"],
                currency=data["currency"],
                payee=data["payee"],
                timestamp=data["timestamp"],
            )
        except KeyError as exc:
            raise UsageError(f"transaction lacks field {exc.args[0]!r}") from None

    def canonical_bytes(self) -> bytes:
        """Deterministic encoding: sorted-key compact JSON after a domain prefix."""
        body = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return CANONICAL_PREFIX + body.encode("utf-8")

    def digest(self) -> bytes:
        """H(T) = SHA-256 of the canonical encoding (DESIGN.md §3 step 2)."""
        return sha256(self.canonical_bytes())

    # ------------------------------------------------------------------ EMV terminal data

    @property
    def amount_authorised(self) -> bytes:
        """9F02 Amount, Authorised (n12, 6 bytes BCD)."""
        return _bcd(f"{self.amount_minor:012d}")

    @property
    def currency_code(self) -> bytes:
        """5F2A Transaction Currency Code (n3, 2 bytes BCD)."""
        return _bcd(self.currency.zfill(4))

    @property
    def transaction_date(self) -> bytes:
        """9A Transaction Date (n6 YYMMDD, 3 bytes BCD), in UTC."""
        return _bcd(datetime.fromtimestamp(self.timestamp, UTC).strftime("%y%m%d"))

    @property
    def transaction_type(self) -> bytes:
        """9C Transaction Type (n2, 1 byte)."""
        return bytes([self.kind.emv_code])  # already BCD: 0x40 is "40"

    def bound_terminal_data(self) -> dict[int, bytes]:
        """The EMV data elements bound to T, by tag (used by phone AND verifier)."""
        return {
            0x9F02: self.amount_authorised,
            0x5F2A: self.currency_code,
            0x9A: self.transaction_date,
            0x9C: self.transaction_type,
        }

    def describe(self) -> str:
        """One line for people: "payment of 50000 (410) to Coffee Shop"."""
        return f"{self.kind.label} of {self.amount_minor} ({self.currency}) to {self.payee}"
