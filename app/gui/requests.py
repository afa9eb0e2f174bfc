"""What the user asked for, as plain values: the card source and the transaction.

The panels produce these frozen dataclasses; the card source is the engine's own
:class:`app.card_source.CardSource` (a light module: no card emulation, drivers
or crypto), and the worker turns :class:`TransactionInput` into a
:class:`~protocol.tap.transaction.Transaction`. Nothing here imports crypto,
drivers or ``app.flow``, so widgets may use it freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.card_source import DEFAULT_NFC_DEVICE, DEFAULT_PROFILE, CardSource, SourceKind


DEFAULT_NFC_PATH = DEFAULT_NFC_DEVICE
#: The CAP-capable emulated card of the OTP vs tap page (PINsentry-style reader).
CAP_PROFILE = "cap-visa-dpa"


#: (value for TransactionType.parse, label for people)
TRANSACTION_KINDS: tuple[tuple[str, str], ...] = (
    ("payment", "Payment"),
    ("transfer", "Transfer"),
    ("login", "Login"),
)

#: Common ISO 4217 codes offered first in the currency combo: (alpha, numeric, minor units).
COMMON_CURRENCIES: tuple[tuple[str, str, int], ...] = (
    ("KRW", "410", 0),
    ("USD", "840", 2),
    ("EUR", "978", 2),
    ("JPY", "392", 0),
    ("CNY", "156", 2),
    ("GBP", "826", 2),
    ("SGD", "702", 2),
    ("HKD", "344", 2),
    ("AUD", "036", 2),
    ("CAD", "124", 2),
    ("CHF", "756", 2),
)
DEFAULT_CURRENCY = "KRW"


class InputError(ValueError):
    """A field the user typed cannot be used; the message says which and why."""


def currency_info(alpha: str) -> tuple[str, int]:
    """(numeric code, minor units) of a currency offered in the combo."""
    for code, numeric, exponent in COMMON_CURRENCIES:
        if code == alpha:
            return numeric, exponent
    raise InputError(f"unknown currency {alpha!r}")


def amount_minor_units(text: str, currency: str) -> int:
    """``"12.50"`` USD -> ``1250``; ``"50000"`` KRW -> ``50000``; :class:`InputError` if not valid."""
    _, exponent = currency_info(currency)
    cleaned = text.replace(",", "").replace(" ", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InputError(f"The amount “{text}” is not a number") from None
    if not value.is_finite() or value < 0:
        raise InputError("The amount must be zero or more")
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise InputError(f"{currency} has {exponent} decimal place(s): “{text}” has more")
    if minor > 999_999_999_999:
        raise InputError("The amount is too large for EMV (12 digits at most)")
    return int(minor)


@dataclass(frozen=True)
class TransactionInput:
    """The transaction fields as typed: kind (``payment``…), amount text, currency alpha code, payee."""

    kind: str = "payment"
    amount: str = "50000"
    currency: str = DEFAULT_CURRENCY
    payee: str = "Coffee Shop Seoul"

    def validate(self) -> None:
        """Raise :class:`InputError` naming the first unusable field."""
        if self.kind not in {k for k, _ in TRANSACTION_KINDS}:
            raise InputError(f"unknown transaction type {self.kind!r}")
        amount_minor_units(self.amount, self.currency)
        if not self.payee.strip():
            raise InputError("Enter a payee (who is paid, or which service you log in to)")
        if len(self.payee.strip()) > 128:
            raise InputError("The payee is longer than 128 characters")

    def describe(self) -> str:
        label = dict(TRANSACTION_KINDS).get(self.kind, self.kind)
        return f"{label} of {self.amount} {self.currency} to {self.payee.strip()}"


@dataclass(frozen=True)
class TapRequest:
    """One tap: which card, which transaction."""

    source: CardSource
    transaction: TransactionInput
