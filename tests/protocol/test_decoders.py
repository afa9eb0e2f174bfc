"""Value decoders (EMV 4.4 Book 3 Annex C, Book 4 Annex A, contactless Books A and C-3)."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.decoders import DECODERS, decode
from protocol.decoders.afl import AflEntry, AflError, parse_afl
from protocol.decoders.aip import parse_aip
from protocol.decoders.base import DecodeError
from protocol.decoders.cid import CryptogramType, parse_cid
from protocol.decoders.codes import parse_code
from protocol.decoders.contactless import parse_ctq, parse_ttq
from protocol.decoders.cvm import parse_cvm_list, parse_cvm_results
from protocol.decoders.iad import IadFormat, parse_iad
from protocol.decoders.track import parse_track1, parse_track2
from protocol.decoders.tvr import parse_tsi, parse_tvr
from protocol.decoders.values import format_minor, parse_amount, parse_date, parse_time


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- AIP ------------------------------------------------------------------------------

def test_aip_contactless_card_with_cda() -> None:
    aip = parse_aip(h("1980"))
    assert aip.cda and aip.cardholder_verification and aip.terminal_risk_management and aip.emv_mode
    assert not aip.dda and not aip.sda and not aip.relay_resistance
    assert "CDA supported" in aip.flags


def test_aip_dda_and_rfu_bits() -> None:
    aip = parse_aip(h("2001"))
    assert aip.dda and aip.relay_resistance and not aip.cda
    assert parse_aip(h("0002")).flags == ("byte 2 bit 2 set (RFU)",)
    assert parse_aip(h("0000")).describe() == "no capability bits set"
    with pytest.raises(DecodeError):
        parse_aip(h("19"))


# --- AFL ------------------------------------------------------------------------------

def test_afl_entries() -> None:
    entries = parse_afl(h("08 01 01 00  10 01 03 02  18 02 02 01"))
    assert entries == (AflEntry(1, 1, 1, 0), AflEntry(2, 1, 3, 2), AflEntry(3, 2, 2, 1))
    assert list(entries[1].records) == [1, 2, 3]
    assert entries[1].oda_record_numbers == (1, 2)
    assert entries[2].oda_record_numbers == (2,)
    assert entries[1].describe() == "SFI 2, records 1-3, 2 for ODA"
    assert b"".join(e.encode() for e in entries) == h("080101001001030218020201")
    assert parse_afl(b"") == ()


@pytest.mark.parametrize(
    ("afl", "offset", "words"),
    [
        ("08 01 01", 0, "not a multiple of 4"),
        ("08010100 100103", 4, "not a multiple of 4"),
        ("00 01 01 00", 0, "SFI 0"),
        ("F8 01 01 00", 0, "SFI 31"),
        ("09 01 01 00", 0, "bits 3-1"),
        ("08 00 01 00", 1, "first record number is 0"),
        ("08010100 10 03 02 00", 6, "last record 2 is before first record 3"),
        ("10 01 02 03", 3, "3 ODA records but the entry has only 2"),
    ],
)
def test_afl_errors(afl: str, offset: int, words: str) -> None:
    with pytest.raises(AflError) as info:
        parse_afl(h(afl))
    assert info.value.offset == offset
    assert words in info.value.reason


@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 255), st.integers(0, 254), st.integers(0, 255)),
                max_size=10))
def test_afl_round_trip(raw_entries: list[tuple[int, int, int, int]]) -> None:
    entries = []
    for sfi, first, extra, oda in raw_entries:
        last = min(255, first + extra)
        entries.append(AflEntry(sfi, first, last, min(oda, last - first + 1)))
    assert parse_afl(b"".join(e.encode() for e in entries)) == tuple(entries)


# --- CVM list and results ---------------------------------------------------------------

def test_cvm_list() -> None:
    cvm = parse_cvm_list(h("000003E8 00001388 4203 1E03 0206 1F00"))
    assert (cvm.x, cvm.y) == (1000, 5000)
    first, second, third, fourth = cvm.rules
    assert first.method == 0x02 and first.apply_next_if_unsuccessful
    assert first.method_name == "Enciphered PIN verified online"
    assert first.condition_name == "if terminal supports the CVM"
    assert second.method_name == "Signature (paper)" and not second.apply_next_if_unsuccessful
    assert "under X value" in third.condition_name
    assert fourth.method_name == "No CVM required" and fourth.condition_name == "always"
    text = cvm.describe(amount=lambda minor: f"{minor / 100:.2f}")
    assert text.startswith("X = 10.00, Y = 50.00; rule 1: Enciphered PIN verified online")
    assert "apply next rule if unsuccessful" in text


def test_cvm_codes_outside_the_table() -> None:
    cvm = parse_cvm_list(h("0000000000000000 2080 3F0A 1001"))
    assert "payment systems" in cvm.rules[0].method_name and "payment systems" in cvm.rules[0].condition_name
    assert "not available" in cvm.rules[1].method_name and "RFU" in cvm.rules[1].condition_name
    assert "RFU" in cvm.rules[2].method_name
    assert parse_cvm_list(bytes(8)).describe().endswith("no CV rules")


@pytest.mark.parametrize("bad", ["", "00000000000000", "0000000000000000 42"])
def test_cvm_list_errors(bad: str) -> None:
    with pytest.raises(DecodeError):
        parse_cvm_list(h(bad))


def test_cvm_results() -> None:
    assert parse_cvm_results(h("1F0002")).describe() == "No CVM required, always, result successful"
    assert parse_cvm_results(h("3F0000")).describe().startswith("no CVM performed")
    assert "failed" in parse_cvm_results(h("420301")).describe()
    with pytest.raises(DecodeError):
        parse_cvm_results(h("1F00"))


# --- TVR, TSI, TTQ, CTQ, CID ----------------------------------------------------------------

def test_tvr() -> None:
    tvr = parse_tvr(h("8000048000"))
    assert tvr.flags == ("Offline data authentication was not performed", "Online CVM captured",
                         "Transaction exceeds floor limit")
    assert parse_tvr(bytes(5)).describe() == "no bits set"
    assert "RFU" in parse_tvr(h("0004000000")).describe()
    with pytest.raises(DecodeError):
        parse_tvr(bytes(4))


def test_tsi() -> None:
    assert parse_tsi(h("E800")).flags == (
        "Offline data authentication was performed", "Cardholder verification was performed",
        "Card risk management was performed", "Terminal risk management was performed",
    )
    assert parse_tsi(h("0001")).flags == ("byte 2 bit 1 set (RFU)",)


def test_ttq_and_ctq() -> None:
    ttq = parse_ttq(h("B6 C0 40 00"))
    assert ttq.has("Online cryptogram required") and ttq.has("CVM required")
    assert ttq.has("Mag-stripe mode supported") and ttq.has("Consumer device CVM supported")
    assert not ttq.has("Offline-only reader")
    ctq = parse_ctq(h("8080"))
    assert ctq.flags == ("Online PIN required", "Consumer device CVM performed")
    with pytest.raises(DecodeError):
        parse_ctq(h("80"))


@pytest.mark.parametrize(
    ("value", "kind", "advice", "text"),
    [(0x80, CryptogramType.ARQC, False, "ARQC"), (0x40, CryptogramType.TC, False, "TC"),
     (0x00, CryptogramType.AAC, False, "AAC"), (0x0A, CryptogramType.AAC, True, "PIN Try Limit exceeded"),
     (0xC0, CryptogramType.RFU, False, "RFU"), (0x17, CryptogramType.AAC, False, "reason 7 (RFU)")],
)
def test_cid(value: int, kind: CryptogramType, advice: bool, text: str) -> None:
    cid = parse_cid(bytes([value]))
    assert cid.cryptogram_type is kind and cid.advice_required is advice
    assert text in cid.describe()


# --- IAD and CVR ------------------------------------------------------------------------------

def test_iad_visa_cvn10_and_18() -> None:
    iad = parse_iad(h("06 01 0A 03 A0 00 00"))
    assert iad.format is IadFormat.VISA_0_1_3 and iad.cvn == 0x0A and iad.cvn_name == "CVN 10" and iad.key_index == 1
    assert iad.cvr is not None and iad.cvr.findings[:2] == ("second GENERATE AC: not requested",
                                                            "first GENERATE AC: ARQC")
    iad18 = parse_iad(h("06 01 12 03 A0 20 12 0F 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"))
    assert iad18.cvn_name == "CVN 18" and iad18.extra[0][0] == "issuer discretionary data"
    assert iad18.cvr is not None
    assert "Exceeded velocity checking counters" in iad18.cvr.findings
    assert "1 issuer script commands" in iad18.cvr.findings
    assert "Offline dynamic data authentication performed" in iad18.cvr.findings


def test_iad_visa_cvn22() -> None:
    iad = parse_iad(h("1F 22 01") + h("00 A0 00 00 00") + bytes(24))
    assert iad.format is IadFormat.VISA_2 and iad.cvn_name == "CVN '22'"
    assert "first GENERATE AC: ARQC" in iad.describe()


def test_iad_mastercard() -> None:
    iad = parse_iad(h("01 10 A0 00 00 24 00 00 0000 0000000000000000"))
    assert iad.format is IadFormat.MCHIP and iad.cvn_name == "CVN 16" and iad.key_index == 1
    assert iad.cvr is not None
    assert "first GENERATE AC: ARQC" in iad.cvr.findings
    assert "International transaction" in iad.cvr.findings
    iad21 = parse_iad(h("01 15 A0 00 00 00 00 00 0000 0000000000000000 1234"))
    assert iad21.cvn_name == "CVN 21" and ("additional data", "1234") in iad21.extra


def test_iad_ccd_and_unknown() -> None:
    ccd = parse_iad(h("0F A5 01 A0 00 00 00 00") + bytes(8) + h("0F") + bytes(15))
    assert ccd.format is IadFormat.CCD and ccd.cvn == 5
    assert "first GENERATE AC: ARQC" in ccd.describe()
    unknown = parse_iad(h("0102030405"))
    assert unknown.format is IadFormat.UNKNOWN and unknown.describe() == "unrecognised format: 0102030405"


# --- dates, times, amounts, codes -------------------------------------------------------------

def test_dates_and_times() -> None:
    assert parse_date(h("491231")) == datetime.date(2049, 12, 31)
    assert parse_date(h("500101")) == datetime.date(1950, 1, 1)
    assert parse_date(h("240229")) == datetime.date(2024, 2, 29)
    for bad in ("230229", "241301", "240100", "2401", "24A101"):
        with pytest.raises(DecodeError):
            parse_date(h(bad))
    assert parse_time(h("093005")) == datetime.time(9, 30, 5)
    with pytest.raises(DecodeError):
        parse_time(h("240000"))


def test_amounts_use_minor_units() -> None:
    assert parse_amount(h("000000001050"), 978).describe() == "10.50 EUR"
    assert parse_amount(h("000000001050"), 410).describe() == "1050 KRW"
    assert parse_amount(h("000000001050"), 48).describe() == "1.050 BHD"
    assert parse_amount(h("000000000005"), 990).describe() == "0.0005 CLF"
    assert parse_amount(h("000000000007"), 959).describe() == "7 XAU"
    assert parse_amount(h("999999999999")).minor == 999_999_999_999
    assert format_minor(-5, 2) == "-0.05"
    with pytest.raises(DecodeError):
        parse_amount(h("0000000010"))


def test_numeric_codes() -> None:
    assert parse_code(h("0978")) == 978
    with pytest.raises(DecodeError):
        parse_code(h("1978"))
    with pytest.raises(DecodeError):
        parse_code(h("09"))
    assert decode("currency", h("0999")).startswith("999 XXX (The codes assigned for transactions where no currency")
    assert decode("currency", h("0001")) == "001 (not an ISO 4217 currency in force)"
    assert decode("country", h("0000")) == "000 (not an ISO 3166-1 country)"


# --- track data ---------------------------------------------------------------------------------

def test_track2() -> None:
    track = parse_track2(h("4761739001010010D22122011143878089"))
    assert (track.pan, track.expiry, track.service_code, track.discretionary) == (
        "4761739001010010", "2212", "201", "1143878089")
    assert track.expiry_year_month == (2022, 12)
    odd = parse_track2(h("374245455400126D2512201F"))
    assert odd.pan == "374245455400126" and odd.discretionary == ""


@pytest.mark.parametrize("bad", ["4761739001010010", "D2212201", "4761A39001010010D2212201",
                                 "4761739001010010D221", "4761739001010010D2213201", "12" * 10 + "D2212201"])
def test_track2_errors(bad: str) -> None:
    with pytest.raises(DecodeError):
        parse_track2(h(bad))


def test_track1() -> None:
    track = parse_track1(b"B4761739001010010^SMITH/JOHN^2212201000000000000")
    assert (track.pan, track.name) == ("4761739001010010", "SMITH/JOHN")
    assert (track.expiry, track.service_code, track.discretionary) == ("2212", "201", "000000000000")
    for bad in (b"A4761^X^2212201", b"B4761^X", b"B47X1^X^2212201", b"B4761^X^22", b"B4761\x00^X^2212201"):
        with pytest.raises(DecodeError):
            parse_track1(bad)


# --- every decoder on arbitrary bytes -----------------------------------------------------------

PARSERS: list[Callable[[bytes], object]] = [
    parse_aip, parse_afl, parse_cvm_list, parse_cvm_results, parse_tvr, parse_tsi, parse_ttq, parse_ctq,
    parse_cid, parse_iad, parse_date, parse_time, parse_amount, parse_code, parse_track2, parse_track1,
]


@given(st.sampled_from(PARSERS), st.binary(max_size=40))
@settings(max_examples=3000)
def test_parsers_return_or_raise_decode_error(parser: Callable[[bytes], object], value: bytes) -> None:
    try:
        parser(value)
    except DecodeError:
        pass


@given(st.sampled_from(sorted(DECODERS)), st.binary(max_size=40), st.binary(max_size=3))
@settings(max_examples=3000)
def test_registry_decoders_return_text_or_raise_decode_error(name: str, value: bytes, code: bytes) -> None:
    try:
        text = decode(name, value, {0x5F2A: code, 0x9F42: code})
    except DecodeError:
        return
    assert isinstance(text, str)
