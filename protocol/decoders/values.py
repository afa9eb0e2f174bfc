"""Scalar values: dates, times, numbers and amounts (EMV 4.4 Book 3 §4.3, Annex A).

* Dates are n 6 ``YYMMDD`` (5F24, 5F25, 9A). Book 3 §10.4.3: years 00-49 are
  2000-2049 and 50-99 are 1950-1999.
* Times are n 6 ``HHMMSS`` (9F21).
* Amounts are n 12 (9F02, 9F03: 6 BCD bytes) or binary (81, 9F04), counted in
  the minor unit of the transaction currency; the number of decimals comes from
  ISO 4217 (or the currency exponent, 5F36 / 9F44).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from protocol.decoders.base import DecodeError, bcd_digits, require_length
from protocol.decoders.codes import Currency, currency


def parse_date(value: bytes, what: str = "date") -> datetime.date:
    """Decode an n 6 ``YYMMDD`` date."""
    require_length(value, 3, what)
    digits = bcd_digits(value, what)
    year, month, day = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    year += 2000 if year < 50 else 1900
    try:
        return datetime.date(year, month, day)
    except ValueError as exc:
        raise DecodeError(f"{digits} is not a calendar date ({exc})", 0, what=what) from None


def parse_time(value: bytes, what: str = "time") -> datetime.time:
    """Decode an n 6 ``HHMMSS`` time."""
    require_length(value, 3, what)
    digits = bcd_digits(value, what)
    try:
        return datetime.time(int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError as exc:
        raise DecodeError(f"{digits} is not a time of day ({exc})", 0, what=what) from None


def parse_numeric(value: bytes, what: str = "numeric value") -> int:
    """Decode an ``n`` value of any length (empty is 0)."""
    digits = bcd_digits(value, what)
    return int(digits) if digits else 0


def parse_binary(value: bytes) -> int:
    """Unsigned big-endian integer of a binary counter or amount."""
    return int.from_bytes(value, "big")


@dataclass(frozen=True)
class Amount:
    """An amount in minor units of ``currency`` (``None`` when not known)."""

    minor: int
    currency: Currency | None = None

    def describe(self) -> str:
        if self.currency is None:
            return f"{self.minor} (minor units; currency not known)"
        units = self.currency.minor_units
        if units is None:
            return f"{self.minor} {self.currency.alpha}"
        return f"{format_minor(self.minor, units)} {self.currency.alpha}"


def format_minor(minor: int, exponent: int) -> str:
    """``1234`` with exponent 2 -> ``'12.34'``; exponent 0 -> ``'1234'``."""
    if exponent <= 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}"


def parse_amount(value: bytes, currency_code: int | None = None) -> Amount:
    """Decode an n 12 amount (6 bytes); ``currency_code`` picks the decimals."""
    require_length(value, 6, "amount")
    minor = parse_numeric(value, "amount")
    return Amount(minor, currency(currency_code) if currency_code is not None else None)


_TRANSACTION_TYPES = {
    0x00: "goods and services", 0x01: "cash", 0x09: "purchase with cashback", 0x20: "refund",
    0x30: "available funds inquiry", 0x31: "balance inquiry", 0x40: "transfer", 0x50: "payment",
}


def describe_transaction_type(value: bytes) -> str:
    """Transaction Type, 9C (n 2, the first two digits of the ISO 8583 processing code)."""
    require_length(value, 1, "transaction type")
    digits = bcd_digits(value, "transaction type")
    return f"{digits} ({_TRANSACTION_TYPES.get(value[0], 'other')})"
