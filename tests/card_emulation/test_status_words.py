"""Every status-word path of the card (EMV 4.4 Book 3 §6.3.5, ISO/IEC 7816-4 Table 6)."""

from __future__ import annotations

import dataclasses

import pytest

from card_emulation.applet import EmvCard

from card_emulation.image import ApplicationCounters
from protocol import tlv
from tests.card_emulation.reader import Reader, Transaction, apdu

VISA = bytes.fromhex("A0000000031010")
MC = bytes.fromhex("A0000000041010")
MAESTRO = bytes.fromhex("A0000000043060")
PPSE = b"2PAY.SYS.DDF01"
PSE = b"1PAY.SYS.DDF01"
VISA_PDOL_DATA = tlv.encode(0x83, bytes(4 + 6 + 4 + 2))
VISA_CDOL1_DATA = bytes(29)


def sw_of(card, command: bytes) -> int:
    response = card.process(command)
    return int.from_bytes(response[-2:], "big")


def data_of(card, command: bytes) -> bytes:
    response = card.process(command)
    assert response[-2:] == b"\x90\x00", response.hex()
    return response[:-2]


def selected(make_card, name: str = "visa-cvn18-dda", aid: bytes = VISA):
    card = make_card(name)
    data_of(card, apdu(0x00, 0xA4, 0x04, 0x00, aid))
    return card


def initiated(make_card):
    card = selected(make_card)
    data_of(card, apdu(0x80, 0xA8, 0x00, 0x00, VISA_PDOL_DATA))
    return card


# ------------------------------------------------------------------ order of commands


def test_gpo_before_select(make_card) -> None:
    assert sw_of(make_card("visa-cvn18-dda"), apdu(0x80, 0xA8, 0x00, 0x00, VISA_PDOL_DATA)) == 0x6985


def test_gpo_after_ppse_only(make_card) -> None:
    card = make_card("visa-cvn18-dda")
    data_of(card, apdu(0x00, 0xA4, 0x04, 0x00, PPSE))
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, VISA_PDOL_DATA)) == 0x6985


def test_gpo_twice(make_card) -> None:
    assert sw_of(initiated(make_card), apdu(0x80, 0xA8, 0x00, 0x00, VISA_PDOL_DATA)) == 0x6985


def test_generate_ac_before_gpo(make_card) -> None:
    assert sw_of(selected(make_card), apdu(0x80, 0xAE, 0x80, 0x00, VISA_CDOL1_DATA)) == 0x6985
    assert sw_of(make_card("visa-cvn18-dda"), apdu(0x80, 0xAE, 0x80, 0x00, VISA_CDOL1_DATA)) == 0x6985


def test_read_record_before_gpo(make_card) -> None:
    assert sw_of(selected(make_card), apdu(0x00, 0xB2, 0x01, 0x0C)) == 0x6985
    assert sw_of(make_card("visa-cvn18-dda"), apdu(0x00, 0xB2, 0x01, 0x0C)) == 0x6985


@pytest.mark.parametrize(("record", "sfi"), [(3, 2), (1, 4), (9, 1), (1, 30)])
def test_read_record_not_in_afl(make_card, record: int, sfi: int) -> None:
    assert sw_of(initiated(make_card), apdu(0x00, 0xB2, record, (sfi << 3) | 4)) == 0x6A83


def test_internal_authenticate_on_sda_card(make_card) -> None:
    card = selected(make_card, "legacy-sda")
    data_of(card, apdu(0x80, 0xA8, 0x00, 0x00, tlv.encode(0x83, b"")))
    assert sw_of(card, apdu(0x00, 0x88, 0x00, 0x00, bytes(4))) == 0x6D00


def test_internal_authenticate_before_gpo(make_card) -> None:
    assert sw_of(selected(make_card), apdu(0x00, 0x88, 0x00, 0x00, bytes(4))) == 0x6985
    assert sw_of(make_card("visa-cvn18-dda"), apdu(0x00, 0x88, 0x00, 0x00, bytes(4))) == 0x6985


def test_power_on_clears_the_session(make_card) -> None:
    card = initiated(make_card)
    card.power_on()
    assert sw_of(card, apdu(0x80, 0xAE, 0x80, 0x00, VISA_CDOL1_DATA)) == 0x6985


def test_generate_ac_after_aac_and_arqc_in_second(make_card) -> None:
    card = initiated(make_card)
    assert data_of(card, apdu(0x80, 0xAE, 0x00, 0x00, VISA_CDOL1_DATA))[2] == 0x00  # AAC (format 1: 80 L CID)
    assert sw_of(card, apdu(0x80, 0xAE, 0x80, 0x00, VISA_CDOL1_DATA)) == 0x6985
    card = initiated(make_card)
    assert data_of(card, apdu(0x80, 0xAE, 0x40, 0x00, VISA_CDOL1_DATA))[2] == 0x80  # TC asked: ARQC
    cdol2 = bytes(2 + 29)
    assert sw_of(card, apdu(0x80, 0xAE, 0x80, 0x00, cdol2)) == 0x6A86  # no ARQC in the second
    assert data_of(card, apdu(0x80, 0xAE, 0x00, 0x00, cdol2))[2] == 0x00  # AAC


def test_get_data_needs_an_application(make_card) -> None:
    assert sw_of(make_card("visa-cvn18-dda"), apdu(0x80, 0xCA, 0x9F, 0x36)) == 0x6985


# ------------------------------------------------------------------ CLA / INS


@pytest.mark.parametrize("command", ["84A4040000", "FFCA000000", "0CB2010C00", "01A4040000"])
def test_wrong_class(make_card, command: str) -> None:
    assert sw_of(make_card("visa-cvn18-dda"), bytes.fromhex(command)) == 0x6E00


@pytest.mark.parametrize("command", ["80A404000E" + PPSE.hex(), "00A8000002830000", "00AE800000", "80B2010C00"])
def test_known_ins_with_wrong_class(make_card, command: str) -> None:
    assert sw_of(make_card("visa-cvn18-dda"), bytes.fromhex(command)) == 0x6E00


@pytest.mark.parametrize("command", ["00D6000000", "80E2000000", "00C0000000", "0082000000", "8024000000"])
def test_unknown_instruction(make_card, command: str) -> None:
    assert sw_of(make_card("visa-cvn18-dda"), bytes.fromhex(command)) == 0x6D00


# ------------------------------------------------------------------ P1/P2


def test_wrong_p1_p2(make_card) -> None:
    card = make_card("visa-cvn18-dda")
    assert sw_of(card, apdu(0x00, 0xA4, 0x00, 0x00, b"\x3f\x00")) == 0x6A86
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x0C, PPSE)) == 0x6A86
    assert sw_of(card, apdu(0x00, 0x84, 0x01, 0x00)) == 0x6A86
    card = selected(make_card)
    assert sw_of(card, apdu(0x80, 0xA8, 0x01, 0x00, VISA_PDOL_DATA)) == 0x6A86
    assert sw_of(card, apdu(0x00, 0x20, 0x00, 0x88, bytes(8))) == 0x6A86
    assert sw_of(card, apdu(0x00, 0x20, 0x01, 0x80, bytes(8))) == 0x6A86
    card = initiated(make_card)
    for p2 in (0x0D, 0x08, 0x04, 0x0F):
        assert sw_of(card, apdu(0x00, 0xB2, 0x01, p2)) == 0x6A86
    assert sw_of(card, apdu(0x00, 0xB2, 0x00, 0x0C)) == 0x6A86
    assert sw_of(card, apdu(0x00, 0x88, 0x01, 0x00, bytes(4))) == 0x6A86
    assert sw_of(card, apdu(0x80, 0xAE, 0xC0, 0x00, VISA_CDOL1_DATA)) == 0x6A86
    assert sw_of(card, apdu(0x80, 0xAE, 0x81, 0x00, VISA_CDOL1_DATA)) == 0x6A86
    assert sw_of(card, apdu(0x80, 0xAE, 0x80, 0x01, VISA_CDOL1_DATA)) == 0x6A86


# ------------------------------------------------------------------ lengths


@pytest.mark.parametrize("raw", ["", "00", "00A404", "00A404000E", "00A4040005A000", "00A40400FF00"])
def test_malformed_apdu(make_card, raw: str) -> None:
    assert sw_of(make_card("visa-cvn18-dda"), bytes.fromhex(raw)) == 0x6700


def test_wrong_lengths(make_card) -> None:
    card = make_card("visa-cvn18-dda")
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x00)) == 0x6700  # no name
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x00, bytes(17))) == 0x6700
    assert sw_of(card, apdu(0x00, 0x84, 0x00, 0x00, le=4)) == 0x6700
    card = selected(make_card)
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, tlv.encode(0x83, bytes(3)))) == 0x6700
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, le=0)) == 0x6700
    assert sw_of(card, apdu(0x00, 0x20, 0x00, 0x80, bytes(7))) == 0x6700
    card = initiated(make_card)
    assert sw_of(card, apdu(0x80, 0xAE, 0x80, 0x00, bytes(28))) == 0x6700
    assert sw_of(card, apdu(0x80, 0xAE, 0x80, 0x00, le=0)) == 0x6700
    assert sw_of(card, apdu(0x00, 0x88, 0x00, 0x00)) == 0x6700
    assert sw_of(card, apdu(0x00, 0xB2, 0x01, 0x0C, b"\x00")) == 0x6700
    assert sw_of(card, apdu(0x80, 0xCA, 0x9F, 0x36, b"\x00")) == 0x6700


def test_wrong_le_gets_exact_length(make_card) -> None:
    card = initiated(make_card)
    record = data_of(card, apdu(0x00, 0xB2, 0x01, 0x0C))
    assert sw_of(card, apdu(0x00, 0xB2, 0x01, 0x0C, le=5)) == 0x6C00 | len(record)
    assert data_of(card, apdu(0x00, 0xB2, 0x01, 0x0C, le=len(record))) == record
    assert data_of(card, apdu(0x00, 0xB2, 0x01, 0x0C, le=None)) == record


def test_gpo_data_not_a_command_template(make_card) -> None:
    card = selected(make_card)
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, tlv.encode(0x84, bytes(16)))) == 0x6A80
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8310"))) == 0x6A80


# ------------------------------------------------------------------ selection


def test_application_not_found(make_card) -> None:
    card = make_card("visa-cvn18-dda")
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A0000000999999"))) == 0x6A82
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x02, VISA)) == 0x6A82  # next, with nothing selected


def test_no_pse_on_a_contactless_only_card(personalised) -> None:
    image = personalised["trustone-aes"].image
    contactless_only = dataclasses.replace(image, profile=dataclasses.replace(image.profile, pse=False))
    card = EmvCard(contactless_only)
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x00, PSE)) == 0x6A82
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x00, PPSE)) == 0x9000


def test_gpo_with_empty_pdol_data_from_a_contact_terminal(make_card) -> None:
    """Contact-era terminals (python-emv's emvtool) send "83 00" even when a PDOL exists."""
    card = selected(make_card)
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8300"))) == 0x9000
    card = selected(make_card)
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, tlv.encode(0x83, bytes(3)))) == 0x6700  # wrong, not empty


def test_failed_select_keeps_the_selection(make_card) -> None:
    card = selected(make_card)
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A0000000999999"))) == 0x6A82
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, VISA_PDOL_DATA)) == 0x9000


def test_partial_aid_and_next_occurrence(make_card) -> None:
    card = make_card("dual-mastercard-maestro")
    first = tlv.decode_one(data_of(card, apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A000000004"))))
    assert first.find(0x84).value == MC
    second = tlv.decode_one(data_of(card, apdu(0x00, 0xA4, 0x04, 0x02, bytes.fromhex("A000000004"))))
    assert second.find(0x84).value == MAESTRO
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x02, bytes.fromhex("A000000004"))) == 0x6A82


def test_ppse_lists_both_applications_with_priorities(make_card) -> None:
    card = make_card("dual-mastercard-maestro")
    assert Reader(card).applications() == [(1, MC), (2, MAESTRO)]


def test_pse_and_its_directory(make_card) -> None:
    card = make_card("dual-mastercard-maestro")
    fci = tlv.decode_one(data_of(card, apdu(0x00, 0xA4, 0x04, 0x00, PSE)))
    sfi = fci.find(0x88).value[0]
    record = tlv.decode_one(data_of(card, apdu(0x00, 0xB2, 0x01, (sfi << 3) | 4)))
    assert [e.find(0x4F).value for e in record.children if e.tag == 0x61] == [MC, MAESTRO]
    assert sw_of(card, apdu(0x00, 0xB2, 0x02, (sfi << 3) | 4)) == 0x6A83
    assert sw_of(card, apdu(0x00, 0xB2, 0x01, (2 << 3) | 4)) == 0x6A83


def test_get_data(make_card) -> None:
    card = selected(make_card)
    assert data_of(card, apdu(0x80, 0xCA, 0x9F, 0x36)) == bytes.fromhex("9F36020000")
    assert data_of(card, apdu(0x80, 0xCA, 0x9F, 0x13)) == bytes.fromhex("9F13020000")
    assert data_of(card, apdu(0x80, 0xCA, 0x9F, 0x17)) == bytes.fromhex("9F170103")
    assert data_of(card, apdu(0x80, 0xCA, 0x9F, 0x4F)).startswith(bytes.fromhex("9F4F"))
    assert sw_of(card, apdu(0x80, 0xCA, 0x9F, 0x99)) == 0x6A88
    card = selected(make_card, "trustone-aes", bytes.fromhex("F054525553544F4E4501"))
    assert sw_of(card, apdu(0x80, 0xCA, 0x9F, 0x17)) == 0x6A88  # no PIN on this card
    assert sw_of(card, apdu(0x00, 0x20, 0x00, 0x80, bytes.fromhex("241234FFFFFFFFFF"))) == 0x6A88


def test_get_challenge(make_card) -> None:
    card = make_card("visa-cvn18-dda")
    one = data_of(card, apdu(0x00, 0x84, 0x00, 0x00))
    two = data_of(card, apdu(0x00, 0x84, 0x00, 0x00, le=8))
    assert len(one) == len(two) == 8 and one != two


# ------------------------------------------------------------------ ATC exhaustion


def _with_atc(personalised, name: str, aid: bytes, atc: int):
    image = personalised[name].image
    c = image.counters_for(aid)
    return image.with_counters(aid, ApplicationCounters(atc, c.last_online_atc, c.pin_tries_left))


def test_atc_exhaustion(personalised, keystore) -> None:
    from card_emulation.applet import EmvCard

    card = EmvCard(_with_atc(personalised, "visa-cvn18-dda", VISA, 0xFFFE))
    card.power_on()
    assert Reader(card).tap(VISA, Transaction(), keystore).atc == 0xFFFF
    card.power_on()
    assert sw_of(card, apdu(0x00, 0xA4, 0x04, 0x00, VISA)) == 0x6283  # blocked, FCI still returned
    assert sw_of(card, apdu(0x80, 0xA8, 0x00, 0x00, VISA_PDOL_DATA)) == 0x6985
    assert card.image.counters_for(VISA).atc == 0xFFFF


# ------------------------------------------------------------------ relay resistance (Book C-2 §5.3)


def test_exchange_relay_resistance_data(make_card) -> None:
    errd = apdu(0x80, 0xEA, 0x00, 0x00, bytes.fromhex("01020304"))
    card = selected(make_card, "mastercard-cvn16-cda", MC)
    assert sw_of(card, errd) == 0x6985  # before GET PROCESSING OPTIONS
    data_of(card, apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8300")))
    assert sw_of(card, apdu(0x80, 0xEA, 0x00, 0x00, bytes(3))) == 0x6700
    assert sw_of(card, apdu(0x80, 0xEA, 0x01, 0x00, bytes(4))) == 0x6A86
    answer = tlv.decode_one(data_of(card, errd))
    assert answer.tag == 0x80 and len(answer.value) == 10
    assert answer.value[4:] == bytes.fromhex("0000000F0004")  # 0 / 1500 / 400 µs in units of 100 µs
    assert sw_of(initiated(make_card), errd) == 0x6D00  # the Visa-like card does not offer it
