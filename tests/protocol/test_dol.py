"""Data object lists (EMV 4.4 Book 3 §5.4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import dol, tlv
from protocol.dictionary import format_of
from protocol.dol import DolEntry, DolError
from protocol.decoders.base import Format
from protocol.errors import MalformedDataError, UsageError


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


PDOL = h("9F66 04 9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04")


def test_parse_typical_pdol() -> None:
    entries = dol.parse_dol(PDOL)
    assert entries[0] == DolEntry(0x9F66, 4)
    assert [e.tag for e in entries] == [0x9F66, 0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37]
    assert dol.data_length(entries) == 33
    assert dol.encode_dol(entries) == PDOL
    assert dol.parse_dol(b"") == ()


@pytest.mark.parametrize(
    ("data", "offset", "words"),
    [
        ("9F02", 2, "expected a length"),
        ("9F02 06 9F", 3, "past end"),
        ("9F02 82 0100", 0, "more than 255"),
        ("00 04", 0, "00 is not a tag"),
        ("9F02 80", 2, "indefinite"),
    ],
)
def test_parse_errors(data: str, offset: int, words: str) -> None:
    with pytest.raises(DolError) as info:
        dol.parse_dol(h(data))
    assert info.value.offset == offset
    assert words in info.value.reason
    assert isinstance(info.value, MalformedDataError)


def test_entry_validation() -> None:
    with pytest.raises(UsageError):
        DolEntry(0, 1)
    with pytest.raises(UsageError):
        DolEntry(0x9F02, 256)
    assert DolEntry(0x9F02, 6).encode() == h("9F0206")


@pytest.mark.parametrize(
    ("value", "length", "fmt", "expected"),
    [
        ("000000001050", 4, Format.N, "00001050"),  # n loses its leftmost bytes
        ("4761739001010010", 6, Format.CN, "476173900101"),  # cn loses its rightmost bytes
        ("A0000000031010", 5, Format.B, "A000000003"),
        ("414243", 2, Format.ANS, "4142"),
        ("1050", 6, Format.N, "000000001050"),  # n padded with leading zeros
        ("47617390", 6, Format.CN, "47617390FFFF"),  # cn padded with trailing FF
        ("0102", 4, Format.B, "01020000"),  # others padded with trailing zeros
        ("4142", 4, Format.AN, "41420000"),
        ("0102", 4, None, "01020000"),  # unknown format is treated as binary
        ("0102", 2, Format.N, "0102"),
    ],
)
def test_fit_value_rules(value: str, length: int, fmt: Format | None, expected: str) -> None:
    assert dol.fit_value(h(value), length, fmt) == h(expected)


def test_build_with_dictionary_formats() -> None:
    entries = dol.parse_dol(h("9F02 04 5A 0A 9F37 02 70 03 9F7F 02 8E 03"))
    source = {
        0x9F02: h("000000001050"),  # n: keep the rightmost 4 bytes
        0x5A: h("4761739001010010"),  # cn: pad with FF
        0x9F37: h("CAFEBABE"),  # b: keep the leftmost 2 bytes
        0x70: h("5A0112"),  # constructed: always zeros
        0x8E: h("00"),  # b shorter than asked: trailing zeros
    }
    data = dol.build_dol_data(entries, source)
    assert data == h("00001050 4761739001010010FFFF CAFE 000000 0000 000000")


def test_build_with_explicit_formats_mapping_and_callable() -> None:
    entries = (DolEntry(0xDF01, 3),)
    source = {0xDF01: h("12")}
    assert dol.build_dol_data(entries, source, {0xDF01: Format.N}) == h("000012")
    assert dol.build_dol_data(entries, source, lambda tag: Format.CN) == h("12FFFF")
    assert dol.build_dol_data(entries, source, {}) == h("120000")
    assert dol.build_dol_data(entries, {}) == h("000000")


def test_split() -> None:
    entries = dol.parse_dol(h("9F02 06 9F37 04 9F02 01"))
    values = dol.split_dol_data(entries, h("000000001050 01020304 FF"))
    assert values == {0x9F02: h("000000001050"), 0x9F37: h("01020304")}
    with pytest.raises(DolError) as info:
        dol.split_dol_data(entries, h("0000"))
    assert "asks for 11 bytes but 2" in info.value.reason
    with pytest.raises(DolError):
        dol.split_dol_data(entries, bytes(12))


# --- property tests -------------------------------------------------------------------

tags = st.sampled_from([0x9F02, 0x9F03, 0x9F37, 0x5A, 0x95, 0x9A, 0x9C, 0x5F2A, 0x9F66, 0x70, 0xDF8117, 0x9F4E, 0x57])
entry_lists = st.lists(st.builds(DolEntry, tags, st.integers(0, 40)), max_size=10, unique_by=lambda e: e.tag)


@given(entry_lists)
def test_parse_encode_round_trip(entries: list[DolEntry]) -> None:
    assert dol.parse_dol(dol.encode_dol(entries)) == tuple(entries)


@given(entry_lists, st.dictionaries(tags, st.binary(max_size=50)))
@settings(max_examples=300)
def test_build_then_split(entries: list[DolEntry], source: dict[int, bytes]) -> None:
    data = dol.build_dol_data(entries, source)
    assert len(data) == dol.data_length(entries)
    values = dol.split_dol_data(entries, data)
    for entry in entries:
        value = values[entry.tag]
        assert len(value) == entry.length
        if entry.tag not in source or tlv.is_constructed(entry.tag):
            assert value == bytes(entry.length)
        else:
            original, n, fmt = source[entry.tag], entry.length, format_of(entry.tag)
            if fmt is Format.N:
                expected = original[-n:] if len(original) >= n else bytes(n - len(original)) + original
                assert value == (expected if n else b"")
            elif fmt is Format.CN:
                assert value == (original + b"\xff" * n)[:n]
            else:
                assert value == (original + bytes(n))[:n]


@given(st.binary(max_size=200))
@settings(max_examples=1000)
def test_arbitrary_dol_bytes(data: bytes) -> None:
    try:
        entries = dol.parse_dol(data)
    except DolError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(data)
        return
    assert all(0 <= e.length <= 255 for e in entries)
    assert len(dol.build_dol_data(entries, {})) == dol.data_length(entries)
