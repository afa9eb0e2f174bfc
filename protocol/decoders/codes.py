"""ISO 4217 currencies and ISO 3166-1 countries by numeric code.

EMV codes currencies (5F2A, 9F42, 9F3C) and countries (5F28, 9F1A, 9F57) as the
3-digit ISO numeric code in format n 3, i.e. 2 BCD bytes with a leading zero
nibble (EMV 4.4 Book 3 Annex A). The tables are data in
``resources/emv/currencies.toml`` and ``resources/emv/countries.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from protocol.decoders.base import DecodeError, bcd_digits, require_length
from protocol.resources import load_toml


@dataclass(frozen=True)
class Currency:
    """An ISO 4217 currency; ``minor_units`` is ``None`` where ISO says "N.A."."""

    numeric: int
    alpha: str
    name: str
    minor_units: int | None


@dataclass(frozen=True)
class Country:
    """An ISO 3166-1 country."""

    numeric: int
    alpha2: str
    alpha3: str
    name: str


@cache
def currencies() -> dict[int, Currency]:
    """All currencies by numeric code."""
    raw = load_toml("emv", "currencies.toml")
    return {
        int(code): Currency(int(code), entry["alpha"], entry["name"], entry.get("minor_units"))
        for code, entry in raw.items()
    }


@cache
def countries() -> dict[int, Country]:
    """All countries by numeric code."""
    raw = load_toml("emv", "countries.toml")
    return {
        int(code): Country(int(code), entry["alpha2"], entry["alpha3"], entry["name"]) for code, entry in raw.items()
    }


def currency(code: int) -> Currency | None:
    return currencies().get(code)


def country(code: int) -> Country | None:
    return countries().get(code)


def currency_by_alpha(alpha: str) -> Currency | None:
    alpha = alpha.upper()
    return next((c for c in currencies().values() if c.alpha == alpha), None)


def country_by_alpha(alpha: str) -> Country | None:
    alpha = alpha.upper()
    return next((c for c in countries().values() if alpha in (c.alpha2, c.alpha3)), None)


def parse_code(value: bytes, what: str = "code") -> int:
    """The 3-digit numeric code in an n 3 value (2 bytes, leading nibble 0)."""
    require_length(value, 2, what)
    digits = bcd_digits(value, what)
    if digits[0] != "0":
        raise DecodeError(f"n 3 value has a non-zero padding nibble {digits[0]}", 0, what=what)
    return int(digits)


def describe_currency(value: bytes) -> str:
    code = parse_code(value, "currency code")
    found = currency(code)
    if found is None:
        return f"{code:03d} (not an ISO 4217 currency in force)"
    return f"{code:03d} {found.alpha} ({found.name})"


def describe_country(value: bytes) -> str:
    code = parse_code(value, "country code")
    found = country(code)
    if found is None:
        return f"{code:03d} (not an ISO 3166-1 country)"
    return f"{code:03d} {found.alpha2}/{found.alpha3} ({found.name})"
