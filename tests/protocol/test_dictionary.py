"""The EMV data dictionary and the currency/country tables (resources/emv/*.toml)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import dictionary, tlv
from protocol.decoders import DECODERS
from protocol.decoders.codes import countries, country_by_alpha, currencies, currency, currency_by_alpha
from protocol.dictionary import Format, Source

TAGS = dictionary.all_tags()


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def test_size_and_well_formed_entries() -> None:
    assert len(TAGS) >= 200
    for tag, info in TAGS.items():
        tlv.check_tag(tag)
        assert info.tag == tag and info.name
        assert 0 <= info.min_length <= info.max_length <= 261, info
        assert info.decoder is None or info.decoder in DECODERS or info.decoder in ("dol", "tag_list"), info
        assert all(tlv.is_constructed(t) or t == 0x80 for t in info.templates), info
        if info.constructed:
            assert info.format is Format.VAR, info


def test_known_entries() -> None:
    amount = dictionary.lookup(0x9F02)
    assert amount is not None
    assert (amount.source, amount.format, amount.min_length, amount.max_length) == (Source.TERMINAL, Format.N, 6, 6)
    assert amount.fixed_length and amount.length_text == "6" and amount.tag_hex == "9F02"
    pan = dictionary.lookup(0x5A)
    assert pan is not None and pan.format is Format.CN and pan.templates == (0x70, 0x77)
    assert dictionary.lookup(0x82).decoder == "aip"  # type: ignore[union-attr]
    assert dictionary.name(0x9F66) == "Terminal Transaction Qualifiers (TTQ)"
    assert dictionary.name(0x9F6C) == "Card Transaction Qualifiers (CTQ)"
    assert "UDOL" in dictionary.lookup(0x9F69).also  # type: ignore[union-attr]
    assert dictionary.lookup(0xDF8117).spec == "C-2"  # type: ignore[union-attr]
    assert dictionary.lookup(0x9F56).name.startswith("Issuer Proprietary Bitmap")  # type: ignore[union-attr]
    assert dictionary.lookup(0x70).constructed  # type: ignore[union-attr]
    assert dictionary.format_of(0x9F37) is Format.B and dictionary.format_of(0x9FEE) is None


def test_unknown_tags() -> None:
    assert dictionary.lookup(0x9FEE) is None
    assert dictionary.name(0x9FEE) == "Unknown tag 9FEE"
    assert dictionary.name(0) == "Unknown tag 00"
    assert dictionary.describe_value(0x9FEE, h("0102")) == "0102"


@pytest.mark.parametrize(
    ("tag", "value", "expected"),
    [
        (0x9F02, "000000001050", "10.50 EUR"),
        (0x9F36, "0101", "257"),
        (0x5F2A, "0410", "410 KRW (Won)"),
        (0x9F1A, "0410", "410 KR/KOR (Korea, Republic of)"),
        (0x9A, "250101", "2025-01-01"),
        (0x5F24, "991231", "1999-12-31"),
        (0x9F21, "235959", "23:59:59"),
        (0x50, "5649534120435245444954", "VISA CREDIT"),
        (0x5F34, "01", "01"),
        (0x9F27, "80", "ARQC (online authorisation requested)"),
        (0x9F37, "CAFEBABE", "CAFEBABE"),
        (0x9F38, "9F3704", "9F37 (Unpredictable Number): 4"),
        (0x9F4A, "82", "82 (Application Interchange Profile (AIP))"),
        (0x5A, "4761739001010010", "476173******0010"),
        (0x57, "4761739001010010D22122011143878089", "476173******0010D2212201**********"),
        (0x9F37, "", "(empty) [length 0, expected 4]"),
        (0x94, "", "(empty)"),
    ],
)
def test_describe_value(tag: int, value: str, expected: str) -> None:
    assert dictionary.describe_value(tag, h(value), context={0x5F2A: h("0978")}) == expected


def test_reveal_shows_pan_on_request_only() -> None:
    assert dictionary.describe_value(0x5A, h("4761739001010010"), reveal=True) == "4761739001010010"
    revealed = dictionary.describe_value(0x57, h("4761739001010010D22122011143878089"), reveal=True)
    assert "PAN 4761739001010010" in revealed and "service code 201" in revealed


def test_bad_values_fall_back_to_hex_and_reason() -> None:
    assert dictionary.describe_value(0x9A, h("241301")) == (
        "241301 [241301 is not a calendar date (month must be in 1..12)]"
    )
    assert dictionary.describe_value(0x82, h("19")) == "19 [expected 2 bytes, got 1]"
    assert dictionary.describe_value(0x94, h("0801")) == "0801 [length 2 is not a multiple of 4]"
    assert "not a BCD digit" in dictionary.describe_value(0x9F02, h("00000000105A"))
    assert dictionary.describe_value(0x9F12, b"x" * 17).endswith("[length 17, expected 1-16]")


def test_amount_without_currency_context() -> None:
    assert dictionary.describe_value(0x9F02, h("000000001050")) == "1050 (minor units; currency not known)"
    assert dictionary.describe_value(0x9F02, h("000000001050"), context={0x5F2A: h("0392")}) == "1050 JPY"
    assert dictionary.describe_value(0x9F02, h("000000001050"), context={0x5F2A: h("0048")}) == "1.050 BHD"


def test_templates_list_their_children() -> None:
    text = dictionary.describe_value(0x77, h("9F2701 80 9F3602 0001"))
    assert text == "template with 2 data object(s): 9F27 Cryptogram Information Data (CID), " \
        "9F36 Application Transaction Counter (ATC)"
    assert "[" in dictionary.describe_value(0x70, h("5A05"))


@given(
    st.sampled_from(sorted(TAGS)) | st.integers(1, 0xFFFFFF).filter(lambda t: t not in TAGS),
    st.binary(max_size=80),
    st.booleans(),
)
@settings(max_examples=3000)
def test_describe_value_never_raises(tag: int, value: bytes, reveal: bool) -> None:
    context = {0x5F2A: value[:2], 0x9F42: value[-2:]}
    text = dictionary.describe_value(tag, value, context=context, reveal=reveal)
    assert isinstance(text, str) and text


@given(st.sampled_from(sorted(TAGS)))
def test_every_decoder_handles_every_length(tag: int) -> None:
    for length in range(0, 40):
        assert dictionary.describe_value(tag, bytes([0x99]) * length, reveal=True)


# --- currencies and countries ---------------------------------------------------------

def test_currencies() -> None:
    table = currencies()
    assert len(table) >= 170
    assert currency(978) == table[978] and table[978].alpha == "EUR" and table[978].minor_units == 2
    assert currency(392).minor_units == 0  # type: ignore[union-attr]
    assert currency(48).alpha == "BHD" and currency(48).minor_units == 3  # type: ignore[union-attr]
    assert currency(410).alpha == "KRW" and currency(410).minor_units == 0  # type: ignore[union-attr]
    assert currency(959).minor_units is None  # type: ignore[union-attr]  # gold: "N.A."
    assert currency(924).alpha == "ZWG"  # type: ignore[union-attr]
    assert currency(191) is None  # HRK was withdrawn in 2023
    assert currency_by_alpha("usd").numeric == 840  # type: ignore[union-attr]
    assert len({c.alpha for c in table.values()}) == len(table)


def test_countries() -> None:
    table = countries()
    assert len(table) == 249
    kr = table[410]
    assert (kr.alpha2, kr.alpha3) == ("KR", "KOR")
    assert country_by_alpha("gb").numeric == 826  # type: ignore[union-attr]
    assert country_by_alpha("FRA").numeric == 250  # type: ignore[union-attr]
    assert len({c.alpha2 for c in table.values()}) == 249
    assert len({c.alpha3 for c in table.values()}) == 249
