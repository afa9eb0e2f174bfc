"""Human-readable decoders for EMV data element values.

Each module parses one kind of value into a frozen dataclass and raises
:class:`~protocol.decoders.base.DecodeError` (a ``MalformedDataError``) when the
bytes do not match the definition. :data:`DECODERS` maps the ``decoder`` names
used in ``resources/emv/tags.toml`` to functions ``(value, context) -> str``;
``context`` holds other data elements of the same transaction by tag (the
currency code that gives an amount its decimals, for instance).

Values that carry the PAN (``pan``, ``track1``, ``track2``) are decoded in full
here; displays go through :mod:`protocol.masking` first (see
:func:`protocol.dictionary.describe_value`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from protocol.decoders.afl import describe_afl
from protocol.decoders.aip import parse_aip
from protocol.decoders.base import DecodeError, Format, bcd_digits, cn_digits, hex_upper, printable
from protocol.decoders.capabilities import (
    describe_auc,
    describe_priority,
    describe_terminal_capabilities,
    describe_terminal_type,
)
from protocol.decoders.cid import parse_cid
from protocol.decoders.codes import currency, describe_country, describe_currency, parse_code
from protocol.decoders.contactless import parse_ctq, parse_ttq
from protocol.decoders.cvm import parse_cvm_list, parse_cvm_results
from protocol.decoders.iad import parse_iad
from protocol.decoders.track import parse_track1, parse_track2
from protocol.decoders.tvr import parse_tsi, parse_tvr
from protocol.decoders.values import (
    Amount,
    describe_transaction_type,
    parse_amount,
    parse_binary,
    parse_date,
    parse_time,
)

Context = Mapping[int, bytes]
Decoder = Callable[[bytes, Context], str]

TRANSACTION_CURRENCY = 0x5F2A
APPLICATION_CURRENCY = 0x9F42

__all__ = ["DECODERS", "Context", "DecodeError", "Decoder", "Format", "decode"]


def _currency_code(context: Context, *tags: int) -> int | None:
    for tag in tags:
        value = context.get(tag)
        if value is not None:
            try:
                return parse_code(value)
            except DecodeError:
                continue
    return None


def _amount(value: bytes, context: Context) -> str:
    return parse_amount(value, _currency_code(context, TRANSACTION_CURRENCY, APPLICATION_CURRENCY)).describe()


def _cvm_list(value: bytes, context: Context) -> str:
    code = _currency_code(context, APPLICATION_CURRENCY)
    found = currency(code) if code is not None else None
    return parse_cvm_list(value).describe(amount=lambda minor: Amount(minor, found).describe())


def _track2(value: bytes, _context: Context) -> str:
    track = parse_track2(value)
    return f"PAN {track.pan}, expiry {track.expiry}, service code {track.service_code}, " \
        f"discretionary data {track.discretionary or '(none)'}"


def _track1(value: bytes, _context: Context) -> str:
    track = parse_track1(value)
    return f"PAN {track.pan}, name {track.name.strip()!r}, expiry {track.expiry}, service code {track.service_code}"


def _discretionary(value: bytes, _context: Context) -> str:
    if all(0x20 <= byte < 0x7F for byte in value):
        return printable(value)
    return hex_upper(value)


DECODERS: Mapping[str, Decoder] = {
    "aip": lambda v, c: parse_aip(v).describe(),
    "afl": lambda v, c: describe_afl(v),
    "amount": _amount,
    "auc": lambda v, c: describe_auc(v),
    "cid": lambda v, c: parse_cid(v).describe(),
    "counter": lambda v, c: str(parse_binary(v)),
    "country": lambda v, c: describe_country(v),
    "ctq": lambda v, c: parse_ctq(v).describe(),
    "currency": lambda v, c: describe_currency(v),
    "cvm_list": _cvm_list,
    "cvm_results": lambda v, c: parse_cvm_results(v).describe(),
    "date": lambda v, c: parse_date(v).isoformat(),
    "discretionary": _discretionary,
    "iad": lambda v, c: parse_iad(v).describe(),
    "name": lambda v, c: printable(v).strip(),
    "numeric": lambda v, c: bcd_digits(v),
    "pan": lambda v, c: cn_digits(v, "PAN"),
    "priority": lambda v, c: describe_priority(v),
    "terminal_capabilities": lambda v, c: describe_terminal_capabilities(v),
    "terminal_type": lambda v, c: describe_terminal_type(v),
    "text": lambda v, c: printable(v),
    "time": lambda v, c: parse_time(v).isoformat(),
    "track1": _track1,
    "track2": _track2,
    "transaction_type": lambda v, c: describe_transaction_type(v),
    "tsi": lambda v, c: parse_tsi(v).describe(),
    "ttq": lambda v, c: parse_ttq(v).describe(),
    "tvr": lambda v, c: parse_tvr(v).describe(),
}


def decode(name: str, value: bytes, context: Context | None = None) -> str:
    """Run decoder ``name``; raises ``KeyError`` for an unknown name, ``DecodeError`` for bad bytes."""
    return DECODERS[name](bytes(value), context or {})
