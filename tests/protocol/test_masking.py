"""Masking of PAN, track data and names (DESIGN.md §7)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import masking
from protocol.decoders.track import parse_track2


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


TRACK2 = h("4761739001010010D22122011143878089")


@pytest.mark.parametrize(
    ("pan", "masked"),
    [
        ("4761739001010010", "476173******0010"),
        ("4761739001010010FFF", "476173******0010"),
        ("4761 7390 0101 0010", "476173******0010"),
        ("5413330089010012345", "541333*********2345"),  # 19 digits
        ("374245455400126", "374245*****0126"),  # 15 digits
        ("4000000000006", "400000***0006"),  # 13 digits
        ("476173900101", "********0101"),  # too short for 6 + 4: only the last quarter
        ("12345678", "******78"),
        ("123", "**3"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_pan(pan: str, masked: str) -> None:
    assert masking.mask_pan(pan) == masked


@given(st.text("0123456789", min_size=0, max_size=19))
def test_mask_pan_hides_the_middle(pan: str) -> None:
    masked = masking.mask_pan(pan)
    assert len(masked) == len(pan)
    shown = sum(c != "*" for c in masked)
    assert shown <= 10
    assert shown <= len(pan) // 3 or len(pan) >= 13
    if len(pan) >= 13:
        assert masked[:6] == pan[:6] and masked[-4:] == pan[-4:]
        assert set(masked[6:-4]) == {"*"}


def test_mask_track2_inputs() -> None:
    expected = "476173******0010D2212201**********"
    assert masking.mask_track2(TRACK2) == expected
    assert masking.mask_track2(bytearray(TRACK2)) == expected
    assert masking.mask_track2(TRACK2.hex()) == expected
    assert masking.mask_track2(parse_track2(TRACK2)) == expected
    assert masking.mask_track2(h("4761739001010010D22122011F")) == "476173******0010D2212201*"
    assert masking.mask_track2(h("4761739001010010D2212201")) == "476173******0010D2212201"


def test_mask_track2_malformed_reveals_nothing() -> None:
    text = masking.mask_track2(h("4761739001010010"))
    assert text == "8 bytes, masked (no field separator D)"
    assert "masked" in masking.mask_track2("zz")


def test_mask_track1_and_name() -> None:
    raw = b"B4761739001010010^SMITH/JOHN^2212201000000000000"
    assert masking.mask_track1(raw) == "B476173******0010^S****/J***^2212201************"
    assert "masked" in masking.mask_track1(b"%B47^X")
    assert masking.mask_name("SMITH/JOHN MR") == "S****/J*** M*"
    assert masking.mask_name(" ") == " "


def test_mask_value_by_tag() -> None:
    assert masking.mask_value(0x5A, h("4761739001010010")) == "476173******0010"
    assert masking.mask_value(0x5A, h("476173900101001F")) == "476173*****1001"
    assert "not a valid PAN" in masking.mask_value(0x5A, h("4761ABCD"))
    assert masking.mask_value(0x57, TRACK2).startswith("476173******0010D")
    assert masking.mask_value(0x9F6B, TRACK2) == masking.mask_value(0x57, TRACK2)
    assert masking.mask_value(0x5F20, b"SMITH/JOHN") == "S****/J***"
    assert masking.mask_value(0x9F1F, b"123456") == "6 bytes of discretionary data, masked"
    assert "never shown" in masking.mask_value(0x99, h("1234"))
    assert masking.mask_value(0x9F36, h("0001")) == "0001"
    assert masking.is_sensitive(0x57) and not masking.is_sensitive(0x9F26)


@given(st.sampled_from(sorted(masking.SENSITIVE_TAGS)), st.binary(max_size=40))
@settings(max_examples=600)
def test_mask_value_never_raises_and_never_leaks_the_middle(tag: int, value: bytes) -> None:
    text = masking.mask_value(tag, value)
    assert isinstance(text, str)
    digits = value.hex().upper()
    if len(digits) >= 16 and digits[:16].isdigit():
        assert digits[6:12] not in text  # the hidden middle of a 16-digit PAN never shows


def test_redact_pan_in_hex_dumps() -> None:
    text = "R-APDU 70 12 5A 08 47 61 73 90 01 01 00 10 / 4761739001010010 / 4761739001010010"
    out = masking.redact_pan(text, "4761739001010010")
    assert "4761739001010010" not in out and "73 90 01 01" not in out
    assert out.count("476173******0010") == 2
    assert "47 61 73 ** ** ** 00 10" in out
    odd = masking.redact_pan("5A 08 37 42 45 45 54 00 12 6F", "374245455400126")
    assert "45 54 00" not in odd
    assert masking.redact_pan("abc", "123") == "abc"


def _redact_pan_reference(text: str, pan: str) -> str:
    """redact_pan as it was before its fast path: the two substitutions, always."""
    import re

    digits = "".join(pan.split()).rstrip("Ff")
    if len(digits) < 6:
        return text
    masked = masking.mask_pan(digits)
    padded = digits + "F" if len(digits) % 2 else digits
    spaced = " ".join(padded[i : i + 2] for i in range(0, len(padded), 2))
    masked_padded = masked + "F" if len(digits) % 2 else masked
    masked_spaced = " ".join(masked_padded[i : i + 2] for i in range(0, len(masked_padded), 2))
    text = re.sub(re.escape(spaced), masked_spaced, text, flags=re.IGNORECASE)
    return re.sub(re.escape(digits), masked, text, flags=re.IGNORECASE)


_PANS = ("4761739001010010", "374245455400126", "5413330089020011", "6011000990139424123", "12 34 56 78 90 12 3")


@pytest.mark.parametrize("pan", _PANS)
def test_redact_pan_fast_path_matches_the_substitutions(pan: str) -> None:
    digits = "".join(pan.split())
    padded = digits + "F" if len(digits) % 2 else digits
    spaced = " ".join(padded[i : i + 2] for i in range(0, len(padded), 2))
    samples = [
        "", "no digits here", "1234", "9F26 08 1122334455667788", digits, digits.lower() + "f", spaced,
        spaced.lower(), spaced[:-1], f"70 12 5A 08 {spaced} / {digits} / x{digits}y", digits[:-1], digits[1:],
        spaced.replace(" ", ""), f"{digits}{digits}", f"{spaced} {spaced}", digits[:6] + "*" * 6 + digits[-4:],
        "A" * 300 + digits + "B" * 300,
    ]
    prepared = masking.PanRedactor(pan)
    for text in samples:
        expected = _redact_pan_reference(text, pan)
        assert masking.redact_pan(text, pan) == expected, text
        assert prepared(text) == expected, text


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_PANS + ("ABCDEF123456", "4761 7390 0101 0010", "12345", "4761739001010010FF")),
    st.lists(st.sampled_from(["47", "61", "73", "90", "01", "00", "10", " ", "F", "f", "3", "12", "x", "5A08"]),
             max_size=40),
)  # fmt: skip
def test_redact_pan_equals_the_reference_on_random_text(pan: str, parts: list[str]) -> None:
    text = "".join(parts)
    assert masking.redact_pan(text, pan) == _redact_pan_reference(text, pan) == masking.PanRedactor(pan)(text)


def test_pan_redactor_repr_hides_the_pan() -> None:
    prepared = masking.PanRedactor("4761739001010010")
    assert "4761" not in repr(prepared) and "0010" not in repr(prepared)
    assert prepared("x 4761739001010010 y") == "x 476173******0010 y"
