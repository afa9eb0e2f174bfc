"""Meanings of status words for display (ISO/IEC 7816-4 §5.6; EMV 4.4 Book 1 §11, Book 3 §6.5).

The table itself is data, in ``resources/emv/status_words.toml``: exact values
(``6A82``), patterns with a parameter in SW2 (``61xx``, ``6Cxx``, ``63Cx``) and the
meaning of each SW1 class. :func:`describe` always answers something, so a display
never shows a bare number: an unknown ``6F12`` reads "6Fxx: no precise diagnosis".

ISO/IEC 7816-4 groups status words into processing *categories*: normal (``9000``,
``61xx``), warnings (``62xx``, ``63xx``), execution errors (``64xx``-``66xx``) and
checking errors (``67xx``-``6Fxx``); ``91xx``-``9Fxx`` are left to applications.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache

from protocol.errors import UsageError
from protocol.resources import load_toml


class SwCategory(enum.Enum):
    """ISO/IEC 7816-4 §5.6 processing category of a status word."""

    NORMAL = "normal processing"
    WARNING = "warning"
    EXECUTION_ERROR = "execution error"
    CHECKING_ERROR = "checking error"
    PROPRIETARY = "proprietary"
    INVALID = "not a valid status word"


@dataclass(frozen=True)
class StatusWordInfo:
    """What a status word means.

    ``precise`` is false when only the SW1 class was known; ``retries_left`` is the
    counter of a ``63Cx`` answer (PIN tries left for EMV VERIFY), else ``None``.
    """

    sw: int
    meaning: str
    category: SwCategory
    precise: bool
    retries_left: int | None = None

    @property
    def sw_hex(self) -> str:
        return f"{self.sw:04X}"

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000


@dataclass(frozen=True)
class _Table:
    exact: dict[int, str]
    patterns: dict[str, str]
    classes: dict[int, str]


@cache
def _table() -> _Table:
    raw = load_toml("emv", "status_words.toml")
    return _Table(
        exact={int(key, 16): text for key, text in raw["exact"].items()},
        patterns={key.upper(): text for key, text in raw["pattern"].items()},
        classes={int(key, 16): text for key, text in raw["class"].items()},
    )


def category(sw: int) -> SwCategory:
    """ISO/IEC 7816-4 category of ``sw`` (``INVALID`` when SW1 is not 61-6F or 90-9F)."""
    _check(sw)
    sw1 = sw >> 8
    if sw == 0x9000 or sw1 == 0x61:
        return SwCategory.NORMAL
    if sw1 in (0x62, 0x63):
        return SwCategory.WARNING
    if 0x64 <= sw1 <= 0x66:
        return SwCategory.EXECUTION_ERROR
    if 0x67 <= sw1 <= 0x6F:
        return SwCategory.CHECKING_ERROR
    if 0x90 <= sw1 <= 0x9F:
        return SwCategory.PROPRIETARY
    return SwCategory.INVALID


def retries_left(sw: int) -> int | None:
    """The counter ``x`` of a ``63Cx`` status word, else ``None``."""
    _check(sw)
    return sw & 0x0F if sw & 0xFFF0 == 0x63C0 else None


def lookup(sw: int) -> StatusWordInfo:
    """Meaning, category and precision of ``sw``; never fails for a 16-bit value."""
    _check(sw)
    table = _table()
    sw1, sw2 = sw >> 8, sw & 0xFF
    cat = category(sw)
    counter = retries_left(sw)
    if sw in table.exact:
        return StatusWordInfo(sw, table.exact[sw], cat, True, counter)
    pattern = _pattern_text(table, sw1, sw2)
    if pattern is not None:
        return StatusWordInfo(sw, pattern, cat, True, counter)
    if sw1 in table.classes:
        return StatusWordInfo(sw, f"{sw1:02X}xx: {_lower_first(table.classes[sw1])}", cat, False, counter)
    return StatusWordInfo(
        sw,
        f"{sw1:02X}xx: not an ISO/IEC 7816-4 status word (SW1 must be 61-6F or 90-9F)",
        SwCategory.INVALID,
        False,
    )


def describe(sw: int) -> str:
    """Human-readable meaning of ``sw`` (always a non-empty string)."""
    return lookup(sw).meaning


def _pattern_text(table: _Table, sw1: int, sw2: int) -> str | None:
    candidates = (f"{sw1:02X}XX", f"{sw1:02X}{sw2 >> 4:X}X")
    for key in candidates:
        text = table.patterns.get(key)
        if text is not None:
            count = sw2
            if key.endswith("XX") and sw2 == 0:
                count = 256  # 61 00 / 6C 00: Ne = 256 (ISO/IEC 7816-4 §5.1)
            return text.format(sw2=count, sw2_hex=f"{sw2:02X}", x=sw2 & 0x0F)
    return None


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _check(sw: int) -> None:
    if isinstance(sw, bool) or not isinstance(sw, int) or not 0 <= sw <= 0xFFFF:
        raise UsageError(f"a status word is an int 0x0000..0xFFFF, got {sw!r}")
