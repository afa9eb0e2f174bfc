"""Byte-level masking of exported APDUs (protocol.trace_masking, DESIGN.md §7)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import tlv
from protocol.masking import mask_value
from protocol.trace_masking import (
    mask_command,
    mask_exchanges,
    mask_response,
    mask_response_apdu,
    pans_in,
    redact_pans,
    session_pans,
)
from tests.trace.support import pan_of, tap

PAN = "4761739001010010"
PAN_BCD = bytes.fromhex(PAN)


def record(*objects: bytes) -> bytes:
    return tlv.constructed(0x70, *objects)


# --------------------------------------------------------------------------- commands


def test_verify_pin_data_is_zeroed_and_nothing_else_changes() -> None:
    verify = bytes.fromhex("0020008008241234FFFFFFFFFF")
    assert mask_command(verify) == bytes.fromhex("00200080080000000000000000")
    enciphered = bytes.fromhex("0020008880") + bytes(range(0x80))
    assert mask_command(enciphered) == bytes.fromhex("0020008880") + bytes(0x80)
    extended = bytes.fromhex("00200080000008") + bytes.fromhex("241234FFFFFFFFFF") + b"\x00\x00"
    assert mask_command(extended) == bytes.fromhex("00200080000008") + bytes(8) + b"\x00\x00"
    pin_change = bytes.fromhex("8424000210") + bytes(range(1, 17))
    assert mask_command(pin_change)[5:] == bytes(16)


def test_other_commands_are_unchanged() -> None:
    for command in (
        bytes.fromhex("00A404000E325041592E5359532E444446303100"),
        bytes.fromhex("80A8000002830000"),
        bytes.fromhex("80AE80001D") + bytes(29) + b"\x00",
        bytes.fromhex("00B2010C00"),
        bytes.fromhex("00200080"),  # VERIFY without data: nothing to hide
    ):
        assert mask_command(command) == command


def test_a_verify_whose_body_is_inconsistent_is_zeroed_after_p3() -> None:
    broken = bytes.fromhex("002000800824123456")  # Lc says 8, only 4 data bytes
    assert mask_command(broken) == bytes.fromhex("0020008008") + bytes(4)


# --------------------------------------------------------------------------- responses


def test_pan_keeps_first_six_and_last_four_and_masks_with_f_nibbles() -> None:
    masked = mask_response(record(tlv.encode(0x5A, PAN_BCD)))
    value = tlv.decode(masked)[0].find(0x5A).value  # type: ignore[union-attr]
    assert value.hex().upper() == "476173FFFFFF0010"
    assert mask_value(0x5A, value) == "8 bytes, masked (not a valid PAN)"  # never shown as digits


def test_odd_length_pan_keeps_its_padding() -> None:
    pan19 = bytes.fromhex("4761739001010010123F")
    value = mask_response(tlv.encode(0x5A, pan19))[2:]
    assert value.hex().upper() == "476173FFFFFFFFF0123F"  # 19 digits: last four are 0123


def test_track2_keeps_expiry_and_service_code_and_hides_discretionary_data() -> None:
    track2 = bytes.fromhex("4761739001010010D25122011234567890FF")
    for tag in (0x57, 0x9F6B):
        masked = tlv.decode(mask_response(tlv.encode(tag, track2)))[0].value
        assert masked.hex().upper() == "476173FFFFFF0010D2512201FFFFFFFFFFFF"


def test_track1_name_and_certificates() -> None:
    track1 = b"B4761739001010010^SMITH/JOHN^2512201123456789"
    cert = bytes(range(1, 129))
    data = record(
        tlv.encode(0x56, track1), tlv.encode(0x5F20, b"SMITH/JOHN"), tlv.encode(0x9F46, cert),
        tlv.encode(0x9F2D, cert), tlv.encode(0x9F1F, b"123456"), tlv.encode(0x9F20, bytes.fromhex("1234")),
        tlv.encode(0x9F47, b"\x03"),
    )  # fmt: skip
    values = {node.tag: node.value for node in tlv.iter_all(tlv.decode(mask_response(data)))}
    assert values[0x56] == b"B476173******0010^S****/J***^2512201*********"
    assert values[0x5F20] == b"S****/J***"
    assert values[0x9F46] == bytes(128) and values[0x9F2D] == bytes(128)
    assert values[0x9F1F] == b"******" and values[0x9F20] == b"\xff\xff"
    assert values[0x9F47] == b"\x03"  # not sensitive: unchanged


def test_structure_is_unchanged_and_still_decodes() -> None:
    data = tap().exchanges[3].response[:-2]  # READ RECORD SFI 1: 57 and 5F20
    masked = mask_response(data)
    assert len(masked) == len(data) and masked != data
    before, after = tlv.decode(data), tlv.decode(masked)
    assert [(n.tag, len(n.value), n.offset) for n in tlv.iter_all(before)] == [
        (n.tag, len(n.value), n.offset) for n in tlv.iter_all(after)
    ]


def test_non_tlv_data_and_status_words_are_unchanged() -> None:
    for data in (b"", b"\x6a\x82", b"hello, world", bytes.fromhex("9F")):
        assert mask_response(data) == data
    assert mask_response_apdu(bytes.fromhex("6A82")) == bytes.fromhex("6A82")
    assert mask_response_apdu(b"\x90") == b"\x90"


def test_a_truncated_pan_is_masked_whole_and_parsing_stops_at_a_fault() -> None:
    truncated = bytes.fromhex("5A08476173900101")  # 6 of 8 value bytes
    assert mask_response(truncated) == bytes.fromhex("5A08") + b"\xff" * 6
    after_fault = tlv.encode(0x5A, PAN_BCD) + bytes.fromhex("9F")  # a tag cut short
    assert mask_response(after_fault)[2:10].hex().upper() == "476173FFFFFF0010"


def test_a_pan_split_by_get_response_is_still_masked() -> None:
    data = record(tlv.encode(0x9F08, b"\x00\x02"), tlv.encode(0x5A, PAN_BCD))
    cut = len(data) - 6  # inside the PAN's value
    exchanges = [
        (bytes.fromhex("00B2011400"), data[:cut] + bytes([0x61, len(data) - cut])),
        (bytes([0x00, 0xC0, 0x00, 0x00, len(data) - cut]), data[cut:] + b"\x90\x00"),
    ]
    masked = mask_exchanges(exchanges)
    joined = masked[0][1][:-2] + masked[1][1][:-2]
    assert joined == mask_response(data)
    assert [m[1][-2:] for m in masked] == [e[1][-2:] for e in exchanges]


def test_a_pan_repeated_in_a_proprietary_template_is_scrubbed() -> None:
    exchanges = [
        (bytes.fromhex("00B2010C00"), record(tlv.encode(0x5A, PAN_BCD)) + b"\x90\x00"),
        (bytes.fromhex("80CA9F7F00"), tlv.encode(0xDF7F, b"\x01" + PAN_BCD + b"\x02") + b"\x90\x00"),
        (bytes.fromhex("80EE000010") + PAN.encode(), b"\x90\x00"),
    ]
    masked = mask_exchanges(exchanges)
    blob = b"".join(c + r for c, r in masked)
    assert PAN_BCD not in blob and PAN.encode() not in blob
    assert bytes.fromhex("476173FFFFFF0010") in masked[1][1]
    assert masked[2][0].endswith(b"476173******0010")


def test_pans_are_found_in_every_pan_bearing_element() -> None:
    data = record(tlv.encode(0x57, bytes.fromhex("5555444433332222D2512201FF")), tlv.encode(0x56, b"B4111111111111^X^25"))
    assert pans_in(data) == {"5555444433332222", "4111111111111"}
    assert redact_pans(b"xx" + PAN_BCD, ["123"]) == b"xx" + PAN_BCD  # too short to be a PAN


def test_a_real_emulated_session_leaks_no_pan_digits() -> None:
    session = tap()
    pan = pan_of(session.profile)
    pairs = [(e.command, e.response) for e in session.exchanges]
    masked = mask_exchanges(pairs)
    blob = b"".join(c + r for c, r in masked).hex().upper()
    assert pan not in blob and pan[:-4] not in blob and pan[6:] not in blob
    assert session_pans(masked) == frozenset()
    assert mask_exchanges(masked) == masked


# --------------------------------------------------------------------------- properties

PROPERTY = settings(max_examples=300, deadline=None)


@PROPERTY
@given(st.binary(max_size=300))
def test_any_bytes_same_length_idempotent(data: bytes) -> None:
    for function in (mask_command, mask_response, mask_response_apdu):
        once = function(data)
        assert len(once) == len(data)
        assert function(once) == once


@PROPERTY
@given(st.lists(st.tuples(st.binary(max_size=40), st.binary(max_size=60)), max_size=6))
def test_any_session_same_lengths_idempotent(pairs: list[tuple[bytes, bytes]]) -> None:
    once = mask_exchanges(pairs)
    assert [(len(c), len(r)) for c, r in once] == [(len(c), len(r)) for c, r in pairs]
    assert mask_exchanges(once) == once


def _bcd(pan: str) -> bytes:
    return bytes.fromhex(pan + "F" if len(pan) % 2 else pan)


pans = st.text("0123456789", min_size=13, max_size=19)
other_objects = st.lists(
    st.sampled_from([0x9F08, 0x5F24, 0x8C, 0x9F4A, 0x5F28]).flatmap(
        lambda tag: st.binary(max_size=12).map(lambda value: tlv.encode(tag, value))
    ),
    max_size=4,
)


@PROPERTY
@given(pans, other_objects, st.sampled_from(["5A", "57", "9F6B", "56"]), st.sampled_from([0x70, 0x77, 0xA5]))
def test_the_middle_digits_of_the_pan_never_survive(pan: str, others: list[bytes], tag: str, template: int) -> None:
    if tag == "5A":
        element = tlv.encode(0x5A, _bcd(pan))
    elif tag in ("57", "9F6B"):
        element = tlv.encode(int(tag, 16), bytes.fromhex(pan + "D2512201" + "1234" + ("F" if len(pan) % 2 else "")))
    else:
        element = tlv.encode(0x56, f"B{pan}^DOE/JANE^2512201999".encode())
    data = tlv.constructed(template, *others, element, *others)
    masked = mask_response(data)
    node = tlv.find(tlv.decode(masked), int(tag, 16))
    assert node is not None
    text = node.value.decode("latin-1") if tag == "56" else node.value.hex().upper()
    digits = text[1 : 1 + len(pan)] if tag == "56" else text[: len(pan)]
    hidden = digits[6:-4]
    assert set(hidden) <= {"F", "*"}, (pan, text)
    assert digits[:6] == pan[:6] and digits[-4:] == pan[-4:]
    assert pan not in masked.hex().upper() and pan.encode() not in masked
