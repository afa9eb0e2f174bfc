"""Shared pieces of the ``trustone`` command line: input parsing, output, errors.

Conventions every command follows (see :mod:`app.cli.main`):

* exit code 0 on success, 1 on a negative verdict (a verification failed),
  2 on a usage or input error, with one line ``trustone: error: ...`` on stderr;
* hex input is accepted with or without spaces, in upper or lower case; hex
  output is upper case without spaces;
* ``--json`` prints one JSON object on stdout instead of ``name: value`` lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from app.errors import ConfigurationError

#: Exit codes.
EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_USAGE = 2

_SEPARATORS = " \t\r\n"


class CliInputError(ConfigurationError):
    """Something the user typed cannot be used (bad hex, wrong length, unknown name)."""


def parse_hex(
    text: str,
    name: str = "value",
    *,
    lengths: tuple[int, ...] = (),
    min_length: int = 0,
    max_length: int | None = None,
) -> bytes:
    """Hex text (spaces allowed, any case) as bytes; checks the byte length.

    ``lengths`` lists the allowed exact lengths; ``min_length``/``max_length``
    bound it otherwise. Raises :class:`CliInputError` with a one-line reason.
    """
    cleaned = "".join(ch for ch in text if ch not in _SEPARATORS)
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    if len(cleaned) % 2:
        raise CliInputError(f"{name}: odd number of hex digits ({len(cleaned)})")
    try:
        value = bytes.fromhex(cleaned)
    except ValueError:
        bad = next((i for i, ch in enumerate(cleaned) if ch not in "0123456789abcdefABCDEF"), 0)
        raise CliInputError(f"{name}: not hex (character {bad + 1} is not 0-9 or A-F)") from None
    if lengths and len(value) not in lengths:
        allowed = " or ".join(str(n) for n in lengths)
        raise CliInputError(f"{name}: must be {allowed} bytes, got {len(value)}")
    if len(value) < min_length:
        raise CliInputError(f"{name}: must be at least {min_length} bytes, got {len(value)}")
    if max_length is not None and len(value) > max_length:
        raise CliInputError(f"{name}: must be at most {max_length} bytes, got {len(value)}")
    return value


def hex_type(
    name: str,
    *,
    lengths: tuple[int, ...] = (),
    min_length: int = 0,
    max_length: int | None = None,
) -> Callable[[str], bytes]:
    """An argparse ``type=`` that parses hex with :func:`parse_hex`."""

    def convert(text: str) -> bytes:
        try:
            return parse_hex(text, name, lengths=lengths, min_length=min_length, max_length=max_length)
        except CliInputError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{name}: ")) from None

    convert.__name__ = f"hex {name}"
    return convert


def int_type(name: str, *, minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type=`` for a decimal integer (or ``0x`` hex) within bounds."""

    def convert(text: str) -> int:
        try:
            value = int(text.strip(), 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if minimum is not None and value < minimum or maximum is not None and value > maximum:
            low = "" if minimum is None else f"{minimum}"
            high = "" if maximum is None else f"{maximum}"
            raise argparse.ArgumentTypeError(f"must be in {low}..{high}, got {value}")
        return value

    convert.__name__ = name
    return convert


def digits_type(name: str, *, max_digits: int) -> Callable[[str], str]:
    """An argparse ``type=`` for a string of 1..``max_digits`` decimal digits."""

    def convert(text: str) -> str:
        value = text.strip()
        if not value or not value.isascii() or not value.isdigit():
            raise argparse.ArgumentTypeError("must be decimal digits")
        if len(value) > max_digits:
            raise argparse.ArgumentTypeError(f"at most {max_digits} digits, got {len(value)}")
        return value

    convert.__name__ = name
    return convert


def amount_minor_units(text: str, exponent: int = 2) -> int:
    """``"1234.56"`` -> ``123456`` (minor units, ``exponent`` decimals at most)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CliInputError(f"amount: not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise CliInputError(f"amount: must be a non-negative number, got {text!r}")
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise CliInputError(f"amount: at most {exponent} decimals, got {text!r}")
    return int(minor)


def hexstr(data: bytes | None) -> str | None:
    """Upper-case hex without spaces (``None`` stays ``None``)."""
    return None if data is None else data.hex().upper()


@dataclass
class Output:
    """Where a command writes its result: ``name: value`` lines or one JSON object."""

    json_mode: bool
    stream: TextIO

    def result(self, values: Mapping[str, Any], title: str | None = None) -> None:
        """Print ``values`` (``None`` values are left out of the text form)."""
        if self.json_mode:
            self.stream.write(json.dumps(_jsonable(values), indent=2) + "\n")
            return
        if title:
            self.stream.write(title + "\n")
        width = max((len(k) for k, v in values.items() if v is not None), default=0)
        for key, value in values.items():
            if value is None:
                continue
            if isinstance(value, bytes):
                value = value.hex().upper()
            elif isinstance(value, list | tuple):
                value = ", ".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            self.stream.write(f"{key + ':':<{width + 1}} {value}\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """The ``--json`` switch every leaf command has."""
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def output_for(args: argparse.Namespace, stream: TextIO | None = None) -> Output:
    return Output(bool(getattr(args, "json", False)), stream or sys.stdout)
