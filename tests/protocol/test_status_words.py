"""Status word meanings (ISO/IEC 7816-4 §5.6, EMV 4.4 Book 1 §11, Book 3 §6.5)."""

from __future__ import annotations

import pytest

from protocol import status_words
from protocol.errors import StatusWordError, UsageError
from protocol.status_words import SwCategory


@pytest.mark.parametrize(
    ("sw", "words"),
    [
        (0x9000, "Normal processing"),
        (0x6281, "may be corrupted"),
        (0x6283, "deactivated"),
        (0x6400, "Execution error"),
        (0x6581, "memory failure"),
        (0x6700, "Wrong length"),
        (0x6882, "secure messaging not supported"),
        (0x6983, "blocked"),
        (0x6984, "invalidated"),
        (0x6985, "conditions of use not satisfied"),
        (0x6A80, "incorrect parameters in the command data field"),
        (0x6A81, "function not supported"),
        (0x6A82, "file or application not found"),
        (0x6A83, "record not found"),
        (0x6A86, "incorrect parameters P1-P2"),
        (0x6A88, "referenced data"),
        (0x6B00, "Wrong parameters P1-P2"),
        (0x6D00, "Instruction code not supported"),
        (0x6E00, "Class not supported"),
        (0x6F00, "No precise diagnosis"),
    ],
)
def test_exact_meanings(sw: int, words: str) -> None:
    info = status_words.lookup(sw)
    assert words in info.meaning
    assert info.precise


def test_parameterised_patterns() -> None:
    assert "23 response bytes" in status_words.describe(0x6117)
    assert "256 response bytes" in status_words.describe(0x6100)
    assert "Le = 17" in status_words.describe(0x6117)
    assert "16 data bytes are available" in status_words.describe(0x6C10)
    assert "256 data bytes" in status_words.describe(0x6C00)
    assert "2 PIN tries left" in status_words.describe(0x63C2)
    assert "0 PIN tries left" in status_words.describe(0x63C0)


def test_unknown_values_fall_back_to_sw1_class() -> None:
    assert status_words.describe(0x6F12) == "6Fxx: checking error: no precise diagnosis"
    info = status_words.lookup(0x6A99)
    assert not info.precise and info.meaning.startswith("6Axx: ")
    assert status_words.describe(0x9F10).startswith("9Fxx: proprietary")
    assert "not an ISO/IEC 7816-4 status word" in status_words.describe(0x1234)
    assert status_words.lookup(0x6000).category is SwCategory.INVALID


@pytest.mark.parametrize(
    ("sw", "category"),
    [
        (0x9000, SwCategory.NORMAL), (0x6110, SwCategory.NORMAL), (0x6283, SwCategory.WARNING),
        (0x63C1, SwCategory.WARNING), (0x6581, SwCategory.EXECUTION_ERROR), (0x6600, SwCategory.EXECUTION_ERROR),
        (0x6700, SwCategory.CHECKING_ERROR), (0x6F00, SwCategory.CHECKING_ERROR),
        (0x9100, SwCategory.PROPRIETARY), (0x9001, SwCategory.PROPRIETARY), (0x7000, SwCategory.INVALID),
    ],
)
def test_categories(sw: int, category: SwCategory) -> None:
    assert status_words.category(sw) is category


def test_retries_left_matches_status_word_error() -> None:
    for sw in (0x63C0, 0x63C3, 0x63CF, 0x6300, 0x6983, 0x9000):
        assert status_words.retries_left(sw) == StatusWordError(sw).retries_left
        assert status_words.lookup(sw).retries_left == StatusWordError(sw).retries_left
    assert status_words.retries_left(0x63C3) == 3


def test_every_status_word_has_a_meaning() -> None:
    for sw in range(0x10000):
        text = status_words.describe(sw)
        assert text and text.strip() == text


def test_info_helpers() -> None:
    info = status_words.lookup(0x9000)
    assert info.ok and info.sw_hex == "9000"
    assert not status_words.lookup(0x6A82).ok


@pytest.mark.parametrize("bad", [-1, 0x10000, True, "9000", 1.5])
def test_bad_arguments(bad: object) -> None:
    with pytest.raises(UsageError):
        status_words.describe(bad)  # type: ignore[arg-type]
