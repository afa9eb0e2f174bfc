"""Offline plaintext PIN: VERIFY, the PIN Try Counter and blocking (EMV 4.4 Book 3 §6.5.12)."""

from __future__ import annotations

import pytest

from card_emulation.applet import EmvCard
from card_emulation.applet.cardholder import parse_pin_block
from card_emulation.image import ImageFile
from tests.card_emulation.reader import apdu

CAP = bytes.fromhex("A0000000038002")


def pin_block(pin: str) -> bytes:
    return bytes.fromhex(f"2{len(pin):X}{pin}".ljust(16, "F"))


def sw(card: EmvCard, command: bytes) -> int:
    return int.from_bytes(card.process(command)[-2:], "big")


def cap_card(make_card, **kwargs) -> EmvCard:
    card = make_card("cap-visa-dpa", **kwargs)
    assert sw(card, apdu(0x00, 0xA4, 0x04, 0x00, CAP)) == 0x9000
    return card


def test_right_pin(make_card) -> None:
    card = cap_card(make_card)
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("1234"))) == 0x9000


def test_wrong_pins_count_down_then_block(make_card) -> None:
    card = cap_card(make_card)
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("9999"))) == 0x63C2
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, le=None)) == 0x63C2  # query tries left
    assert card.process(apdu(0x80, 0xCA, 0x9F, 0x17)) == bytes.fromhex("9F1701029000")
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("9998"))) == 0x63C1
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("9997"))) == 0x63C0
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("1234"))) == 0x6983  # blocked: even the right PIN
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, le=None)) == 0x6983
    card.power_on()
    assert sw(card, apdu(0x00, 0xA4, 0x04, 0x00, CAP)) == 0x9000
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("1234"))) == 0x6983  # blocked for good


def test_right_pin_resets_the_counter(make_card) -> None:
    card = cap_card(make_card)
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("0000"))) == 0x63C2
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("1234"))) == 0x9000
    assert card.process(apdu(0x80, 0xCA, 0x9F, 0x17)) == bytes.fromhex("9F1701039000")


def test_pin_counter_persists(image_file) -> None:
    path = image_file("cap-visa-dpa")
    card = EmvCard.from_file(path)
    card.power_on()
    assert sw(card, apdu(0x00, 0xA4, 0x04, 0x00, CAP)) == 0x9000
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("1111"))) == 0x63C2
    assert ImageFile(path).load().counters_for(CAP).pin_tries_left == 2


@pytest.mark.parametrize("block", ["1412 34FF FFFF FFFF", "2312 3FFF FFFF FFFF", "2412 3AFF FFFF FFFF", "2412 34FF FFFF FF0F"])
def test_malformed_pin_block(make_card, block: str) -> None:
    card = cap_card(make_card)
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, bytes.fromhex(block.replace(" ", "")))) == 0x6A80
    assert card.process(apdu(0x80, 0xCA, 0x9F, 0x17)) == bytes.fromhex("9F1701039000")  # no try used


def test_verify_needs_a_selected_application(make_card) -> None:
    assert sw(make_card("cap-visa-dpa"), apdu(0x00, 0x20, 0x00, 0x80, pin_block("1234"))) == 0x6985


def test_pin_block_parser() -> None:
    assert parse_pin_block(pin_block("123456789012")) == "123456789012"
    assert parse_pin_block(bytes.fromhex("2D1234FFFFFFFFFF")) is None
    assert parse_pin_block(bytes(8)) is None


def test_offline_pin_is_reported_in_the_cvr(make_card) -> None:
    card = cap_card(make_card)
    assert sw(card, apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8300"))) == 0x9000
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("1234"))) == 0x9000
    response = card.process(apdu(0x80, 0xAE, 0x80, 0x00, bytes(29)))
    iad = response[2 + 11 : -2]
    assert iad[:3] == bytes.fromhex("060A0A") and iad[3] == 0x03  # Visa IAD: CVN 10, CVR
    assert iad[4] & 0x04  # offline PIN performed
    assert iad[4] & 0xF0 == 0xA0  # 2nd GENERATE AC not requested, 1st ARQC


def test_cap_flow_with_protocol_cap(make_card, keystore) -> None:
    """A CAP reader (protocol.cap) against the CAP card: PIN, ARQC, OTP, then the AAC."""
    from protocol import cap, tlv
    from protocol.crypto.cryptogram import verify_ac
    from protocol.crypto.cvn import Cvn, ac_input, build_terminal_data

    card = cap_card(make_card)
    assert sw(card, apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8300"))) == 0x9000
    records = [card.process(apdu(0x00, 0xB2, n, (1 << 3) | 4))[:-2] for n in (1, 2)]
    data = cap.CapCardData.from_records(records)
    assert sw(card, apdu(0x00, 0x20, 0x00, 0x80, pin_block("1234"))) == 0x9000
    request = cap.CapRequest(cap.CapMode.RESPOND, challenge="12345678")
    command = cap.build_cap_generate_ac(data.cdol1, request)
    response = cap.parse_generate_ac_rapdu(card.process(command.apdu.encode()))
    otp = cap.compute_cap_otp(response, data.ipb, iaf=data.iaf, psn=data.psn)
    assert response.cid == 0x80 and otp is not None
    # the ARQC behind the code verifies with the issuer key
    values = {f.tag: f.value for f in command.fields}
    entry = keystore.issuer_keys_for(CAP, "4999990048002015")
    cvn = Cvn.parse(entry.cryptogram)
    source = ac_input(cvn, terminal_data=build_terminal_data(values), aip=bytes.fromhex("5800"), atc=response.atc,
                      iad=response.iad)  # fmt: skip
    verify_ac(cvn, entry.keys.ac, "4999990048002015", "00", atc=response.atc, ac_input=source, cryptogram=response.ac)
    second = cap.build_cap_second_generate_ac(data.cdol2, request)
    assert tlv.decode_one(card.process(second.apdu.encode())[:-2]).value[0] == 0x00  # AAC
