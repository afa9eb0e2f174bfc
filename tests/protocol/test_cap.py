"""EMV CAP behaviour beyond the vectors: modes, PSN, IPB edge cases, hostile responses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import cap, tlv
from protocol.errors import CardError, MalformedDataError, ProtocolError, StatusWordError, UsageError

CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")
# Not a vector response: CID 80, ATC 1234, an arbitrary AC, IAD of 4 bytes.
RESPONSE = cap.GenerateAcResponse(1, 0x80, b"\x12\x34", bytes.fromhex("0102030405060708"), b"\xaa\xbb\xcc\xdd")


def _format1(cid: int, atc: bytes, ac: bytes, iad: bytes) -> bytes:
    return tlv.encode(0x80, bytes([cid]) + atc + ac + iad)


def _format2(*objects: tuple[int, bytes]) -> bytes:
    return tlv.constructed(0x77, *(tlv.encode(t, v) for t, v in objects))


# --------------------------------------------------------------------------- requests


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": cap.CapMode.RESPOND}, "needs a challenge"),
        ({"mode": cap.CapMode.IDENTIFY, "challenge": "1"}, "takes no challenge"),
        ({"mode": cap.CapMode.RESPOND, "challenge": "1", "amount_minor": 5}, "amount"),
        ({"mode": cap.CapMode.SIGN, "challenge": "1"}, "amount"),
        ({"mode": cap.CapMode.SIGN, "challenge": "12a", "amount_minor": 1}, "decimal digits"),
        ({"mode": cap.CapMode.SIGN, "challenge": "1", "amount_minor": -1}, "non-negative"),
        ({"mode": cap.CapMode.SIGN_TDS}, "transaction data"),
        ({"mode": cap.CapMode.SIGN_TDS, "tds_fields": ("1",) * 11}, "at most 10"),
        ({"mode": cap.CapMode.SIGN_TDS, "tds_fields": ("12345678901",)}, "at most 10"),
    ],
)
def test_request_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        cap.CapRequest(**kwargs)  # type: ignore[arg-type]


def test_sign_mode_fills_amount_and_challenge_left_padded() -> None:
    command = cap.build_cap_generate_ac(CDOL1, cap.CapRequest(cap.CapMode.SIGN, "42", 7))
    fields = {f.tag: f.value for f in command.fields}
    assert fields[0x9F02] == bytes.fromhex("000000000007")
    assert fields[0x9F37] == bytes.fromhex("00000042")
    assert fields[0x9F03] == bytes(6) and fields[0x5F2A] == bytes(2) and fields[0x9C] == b"\x00"
    assert command.dol_data == b"".join(f.value for f in command.fields)


def test_challenge_too_long_for_the_dol() -> None:
    with pytest.raises(UsageError, match="digits"):
        cap.build_cap_generate_ac(CDOL1, cap.CapRequest(cap.CapMode.RESPOND, "123456789"))


def test_amount_too_large_for_9f02() -> None:
    with pytest.raises(UsageError, match="digits"):
        cap.build_cap_generate_ac(CDOL1, cap.CapRequest(cap.CapMode.SIGN, "1", 10**12))


def test_challenge_needs_9f37_in_the_cdol() -> None:
    with pytest.raises(CardError, match="9F37"):
        cap.build_cap_generate_ac(bytes.fromhex("9F0206"), cap.CapRequest(cap.CapMode.RESPOND, "1"))


def test_second_generate_ac_asks_for_an_aac_with_z3() -> None:
    cdol2 = bytes.fromhex("8A029F02069F03069F1A0295055F2A029A039C019F3704")
    command = cap.build_cap_second_generate_ac(cdol2, cap.CapRequest(cap.CapMode.RESPOND, "1234"))
    assert command.apdu.p1 == 0x00
    assert command.fields[0] == cap.DolField(0x8A, 2, b"Z3")
    assert command.fields[-1].value == bytes.fromhex("00001234")


def test_bcd() -> None:
    assert cap.bcd("78901234", 4) == bytes.fromhex("78901234")
    assert cap.bcd(1500, 6) == bytes.fromhex("000000001500")
    assert cap.bcd("0001", 1) == b"\x01"
    with pytest.raises(UsageError):
        cap.bcd("123", 1)
    with pytest.raises(UsageError):
        cap.bcd(True, 1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- responses


def test_format2_with_extra_objects_and_no_iad() -> None:
    data = _format2((0x9F27, b"\x40"), (0x9F36, b"\x00\x10"), (0x9F26, bytes(8)), (0x9F4B, b"\x01\x02"))
    response = cap.parse_generate_ac_response(data)
    assert (response.cid, response.atc_value, response.iad, response.cryptogram_type) == (0x40, 16, b"", "TC")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "exactly one"),
        (bytes.fromhex("80058000010203"), "11-43 bytes"),
        (_format1(0x80, b"\x00\x01", bytes(8), bytes(33)), "11-43 bytes"),
        (_format2((0x9F36, b"\x00\x01"), (0x9F26, bytes(8))), "no CID"),
        (_format2((0x9F27, b"\x80"), (0x9F36, b"\x01"), (0x9F26, bytes(8))), "ATC .* must be 2 bytes"),
        (_format2((0x9F27, b"\x80"), (0x9F27, b"\x80"), (0x9F36, b"\x00\x01"), (0x9F26, bytes(8))), "twice"),
        (_format2((0x9F27, b"\x80"), (0x9F36, b"\x00\x01"), (0x9F26, bytes(8)), (0x9F10, bytes(33))), "32 bytes"),
        (tlv.encode(0x9F26, bytes(8)), "template 80 or 77"),
        (_format1(0x80, b"\x00\x01", bytes(8), b"") + b"\x90\x00", "exactly one"),
    ],
)
def test_malformed_responses_raise_typed_errors(data: bytes, message: str) -> None:
    with pytest.raises(MalformedDataError, match=message):
        cap.parse_generate_ac_response(data)


def test_rapdu_with_an_error_status_word() -> None:
    with pytest.raises(StatusWordError) as info:
        cap.parse_generate_ac_rapdu(bytes.fromhex("6985"))
    assert info.value.sw == 0x6985


@given(st.binary(max_size=64))
def test_arbitrary_bytes_as_a_response_never_crash(data: bytes) -> None:
    for parse in (cap.parse_generate_ac_response, cap.parse_generate_ac_rapdu):
        try:
            response = parse(data)
        except ProtocolError:
            continue
        assert len(response.atc) == 2 and len(response.ac) == 8 and len(response.iad) <= 32


@given(st.binary(min_size=0, max_size=40), st.binary(min_size=0, max_size=20))
def test_arbitrary_responses_and_ipbs_give_an_otp_or_a_typed_error(tail: bytes, ipb: bytes) -> None:
    for data in (tlv.encode(0x80, tail), tail):
        try:
            response = cap.parse_generate_ac_response(data)
            result = cap.compute_cap_otp(response, ipb)
        except ProtocolError:
            continue
        assert result.otp < 1 << len(result.selected)


@given(st.binary(min_size=11, max_size=43))
def test_well_formed_format1_always_parses(value: bytes) -> None:
    response = cap.parse_generate_ac_response(tlv.encode(0x80, value))
    assert bytes([response.cid]) + response.atc + response.ac + response.iad == value


# --------------------------------------------------------------------------- OTP


def test_psn_is_prepended_when_the_iaf_says_so() -> None:
    ipb = b"\xff" + bytes(3)  # select the first source byte only
    with_psn = cap.compute_cap_otp(RESPONSE, ipb, iaf=0x40, psn=b"\x07")
    without = cap.compute_cap_otp(RESPONSE, ipb, iaf=0x80, psn=b"\x07")
    assert (with_psn.otp, with_psn.psn_included, with_psn.segments[0].name) == (7, True, "PSN")
    assert (without.otp, without.psn_included) == (0x80, False)
    with pytest.raises(CardError, match="5F34"):
        cap.compute_cap_otp(RESPONSE, ipb, iaf=0x40)


def test_ipb_selecting_past_the_data_is_a_card_error() -> None:
    ipb = bytes(15) + b"\x01"  # source is 1 + 2 + 8 + 4 = 15 bytes
    with pytest.raises(CardError, match="beyond the 15 bytes"):
        cap.compute_cap_otp(RESPONSE, ipb)
    # Zero bits past the data are fine, and data past the IPB is ignored.
    assert cap.compute_cap_otp(RESPONSE, b"\x00\xff\xff" + bytes(20)).otp == 0x1234
    assert cap.compute_cap_otp(RESPONSE, b"\x00\xff").otp == 0x12


@pytest.mark.parametrize("ipb", [b"", bytes(5)])
def test_ipb_selecting_nothing_is_a_card_error(ipb: bytes) -> None:
    with pytest.raises(CardError, match="selects no bits"):
        cap.compute_cap_otp(RESPONSE, ipb)


def test_selected_bits_name_their_source() -> None:
    result = cap.compute_cap_otp(RESPONSE, bytes(14) + b"\x81")
    assert result.selected == (cap.SelectedBit("IAD", 3, 8, 1), cap.SelectedBit("IAD", 3, 1, 1))
    assert (result.otp, result.selected_bits, result.text, result.max_digits) == (3, "11", "3", 1)


def test_tds_replaces_the_ac_with_a_mac_keyed_by_it() -> None:
    ipb = bytes(3) + b"\xff" * 8
    plain = cap.compute_cap_otp(RESPONSE, ipb)
    signed = cap.compute_cap_otp(RESPONSE, ipb, tds_fields=("1000", "3101234567"))
    assert signed.tds_mac == cap.tds_mac(RESPONSE.ac, ["1000", "3101234567"])
    assert signed.segments[2].name == "TDS MAC" and signed.segments[2].value == signed.tds_mac
    assert signed.otp == int.from_bytes(signed.tds_mac, "big") != plain.otp
    # The MAC depends on every field and on the AC (the key).
    assert cap.tds_mac(RESPONSE.ac, ["1000", "3101234568"]) != signed.tds_mac
    assert cap.tds_mac(bytes(8), ["1000", "3101234567"]) != signed.tds_mac
    with pytest.raises(UsageError):
        cap.tds_mac(RESPONSE.ac, [])
