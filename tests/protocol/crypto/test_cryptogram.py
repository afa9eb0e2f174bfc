"""CVN profiles, cryptogram input, AC/ARPC per CVN and secure messaging (card and issuer sides)."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from protocol.crypto.cryptogram import (
    Cvn,
    ac_input,
    build_iad,
    build_terminal_data,
    compute_ac,
    compute_ac_from_icc_mk,
    compute_arpc,
    derive_icc_master_key,
    generate_ac,
    generate_ac_from_icc_mk,
    generate_arpc,
    iad_trailing_data,
    verify_ac,
    verify_ac_from_icc_mk,
    verify_arpc_from_icc_mk,
)
from protocol.crypto.cvn import TERMINAL_DATA_LENGTH, ArpcMethod, PinBlockFormat, SmEncryption
from protocol.crypto.keys import IssuerMasterKeys
from protocol.crypto.mac import pad_iso9797_1_method_1, pad_iso9797_1_method_2
from protocol.crypto.secure_messaging import (
    compute_pin_change_command,
    compute_script_mac_from_icc_mk,
    decrypt_command_data,
    derive_sm_session_key,
    encrypt_command_data,
    pin_block_iso9564_format2,
    pin_from_iso9564_format2,
    pin_from_vis,
    verify_script_mac_from_icc_mk,
)
from protocol.errors import MalformedDataError, UsageError, VerificationError

PAN, PSN = "5413330089020011", "01"
KEYS = IssuerMasterKeys(bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)))
TERMINAL = bytes.fromhex("000000001000" "000000000000" "0410" "0000008000" "0410" "260101" "00" "CAFEBABE")
AIP, ATC, UN = b"\x19\x80", b"\x00\x2a", bytes.fromhex("CAFEBABE")


def _iad(cvn: Cvn) -> bytes:
    if cvn.profile.trailing.name.startswith("MASTERCARD"):
        return build_iad(cvn, cvr=bytes.fromhex("A00003220000"), counters=bytes.fromhex("00000000000001FF"))
    if cvn is Cvn.INTERAC_133:
        return bytes.fromhex("1501850440B100000000B00000000000000000000000")
    return build_iad(cvn, cvr=bytes.fromhex("03A0B800"))


def _input(cvn: Cvn) -> bytes:
    return ac_input(cvn, terminal_data=TERMINAL, aip=AIP, atc=ATC, iad=_iad(cvn))


# --------------------------------------------------------------------------- CVN table and input


def test_parse() -> None:
    assert Cvn.parse(Cvn.VISA_18) is Cvn.VISA_18
    assert Cvn.parse("visa_cvn18") is Cvn.VISA_18
    assert Cvn.parse("mastercard_17") is Cvn.MASTERCARD_17
    assert Cvn.parse("AES_CMAC") is Cvn.AES_CMAC
    for bad in ("visa_cvn99", "", 18, None):
        with pytest.raises(UsageError, match="unknown cryptogram version.*known: VISA_10"):
            Cvn.parse(bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="unknown cryptogram version"):
        generate_ac("cvn42", KEYS.ac, PAN, PSN, atc=ATC, un=UN, ac_input=b"x")  # type: ignore[arg-type]


def test_profiles_are_complete_and_distinct() -> None:
    assert len({c.profile.iad_cvn for c in Cvn}) == len(Cvn)
    assert Cvn.AES_CMAC.profile.is_aes and not any(c.profile.is_aes for c in Cvn if c is not Cvn.AES_CMAC)


def test_trailing_data_per_cvn() -> None:
    assert iad_trailing_data(Cvn.VISA_10, bytes.fromhex("06010A03A06010")) == bytes.fromhex("03A06010")
    mc = bytes.fromhex("0110A00003220000BEEF1122334455667788")
    assert iad_trailing_data(Cvn.MASTERCARD_16, mc) == bytes.fromhex("A00003220000")
    assert iad_trailing_data(Cvn.MASTERCARD_21, mc) == bytes.fromhex("A000032200001122334455667788")
    assert iad_trailing_data(Cvn.VISA_22, mc) == mc
    assert build_iad(Cvn.MASTERCARD_17, cvr=bytes(6)).hex().upper() == "0111" + "00" * 6 + "0000" + "00000000000000FF"
    assert build_iad(Cvn.VISA_18, cvr=bytes.fromhex("03A0B800"), dki=2).hex().upper() == "06021203A0B800"
    data = _input(Cvn.VISA_10)
    assert data == TERMINAL + AIP + ATC + bytes.fromhex("03A0B800") and len(TERMINAL) == TERMINAL_DATA_LENGTH


def test_cryptogram_input_errors() -> None:
    with pytest.raises(MalformedDataError, match="needs at least 18 bytes"):
        iad_trailing_data(Cvn.MASTERCARD_17, bytes(10))
    with pytest.raises(MalformedDataError, match="empty"):
        iad_trailing_data(Cvn.VISA_22, b"")
    with pytest.raises(UsageError, match="terminal data must be 29 bytes, got 28"):
        ac_input(Cvn.VISA_18, terminal_data=TERMINAL[:-1], aip=AIP, atc=ATC, iad=bytes(7))
    with pytest.raises(UsageError, match="ATC must be 2 bytes"):
        ac_input(Cvn.VISA_18, terminal_data=TERMINAL, aip=AIP, atc=3, iad=bytes(7))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="4-byte CVR"):
        build_iad(Cvn.VISA_10, cvr=bytes(3))
    with pytest.raises(UsageError, match="6-byte CVR"):
        build_iad(Cvn.MASTERCARD_20, cvr=bytes(4))
    with pytest.raises(UsageError, match="lacks tag 9F37"):
        build_terminal_data({0x9F02: bytes(6), 0x9F03: bytes(6), 0x9F1A: bytes(2), 0x95: bytes(5),
                             0x5F2A: bytes(2), 0x9A: bytes(3), 0x9C: bytes(1)})


# --------------------------------------------------------------------------- cryptograms


@pytest.mark.parametrize("cvn", list(Cvn), ids=lambda c: c.name)
def test_card_and_verifier_agree_and_mismatch_raises(cvn: Cvn) -> None:
    data = _input(cvn)
    icc_mk = derive_icc_master_key(cvn, KEYS.ac, PAN, PSN)
    card = compute_ac_from_icc_mk(cvn, icc_mk, atc=ATC, un=UN, ac_input=data)
    verifier = compute_ac(cvn, KEYS.ac, PAN, PSN, atc=ATC, un=UN, ac_input=data)
    assert card.cryptogram == verifier.cryptogram == generate_ac(cvn, KEYS.ac, PAN, PSN, atc=ATC, un=UN, ac_input=data)
    assert generate_ac_from_icc_mk(cvn, icc_mk, atc=ATC, un=UN, ac_input=data) == card.cryptogram
    assert verifier.mac_input == data and verifier.icc_master_key == icc_mk
    verify_ac(cvn, KEYS.ac, PAN, PSN, atc=ATC, un=UN, ac_input=data, cryptogram=card.cryptogram)
    verify_ac_from_icc_mk(cvn, icc_mk, atc=ATC, un=UN, ac_input=data, cryptogram=card.cryptogram)
    # A changed amount (the malware attack) or a wrong cryptogram is rejected, by name.
    tampered = b"\x00\x00\x00\x09\x99\x99" + data[6:]
    with pytest.raises(VerificationError) as info:
        verify_ac(cvn, KEYS.ac, PAN, PSN, atc=ATC, un=UN, ac_input=tampered, cryptogram=card.cryptogram)
    assert info.value.check == "ARQC"
    # The message names the card's value but never the expected one (no oracle for forgers).
    assert card.cryptogram.hex().upper() in str(info.value)
    compute_tampered = compute_ac(cvn, KEYS.ac, PAN, PSN, atc=ATC, un=UN, ac_input=tampered)
    for secret in (KEYS.ac, icc_mk, verifier.session_key, compute_tampered.cryptogram):
        assert secret.hex().upper() not in str(info.value)
    with pytest.raises(VerificationError, match="TC: the card's cryptogram is not 8 bytes"):
        verifier.verify(card.cryptogram[:7], check="TC")
    text = repr(verifier)
    assert icc_mk.hex().upper() not in text and verifier.session_key.hex().upper() not in text
    assert verifier.session_key_kcv in text


def test_padding_and_session_key_shown_per_cvn() -> None:
    data = _input(Cvn.VISA_10)
    visa10 = compute_ac(Cvn.VISA_10, KEYS.ac, PAN, PSN, atc=ATC, ac_input=data)
    assert visa10.padded_input == pad_iso9797_1_method_1(data) and visa10.session_key_input is None
    assert visa10.session_key == visa10.icc_master_key
    mc = compute_ac(Cvn.MASTERCARD_16, KEYS.ac, PAN, PSN, atc=ATC, un=UN, ac_input=_input(Cvn.MASTERCARD_16))
    assert mc.session_key_input == ATC + b"\x00\x00" + UN
    assert mc.padded_input == pad_iso9797_1_method_2(mc.mac_input)
    with pytest.raises(UsageError, match="unpredictable number"):
        compute_ac(Cvn.MASTERCARD_17, KEYS.ac, PAN, PSN, atc=ATC, ac_input=_input(Cvn.MASTERCARD_17))
    with pytest.raises(UsageError, match="ICC master key AC must be 16 bytes"):
        compute_ac_from_icc_mk(Cvn.VISA_18, bytes(8), atc=ATC, ac_input=data)
    with pytest.raises(UsageError, match="cryptogram input is empty"):
        generate_ac(Cvn.VISA_18, KEYS.ac, PAN, PSN, atc=ATC, ac_input=b"")


def _aes(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def test_aes_model_variant_end_to_end_from_its_definition() -> None:
    r = random.Random(0xAE)
    for _ in range(30):
        imk, atc, arqc_csu = r.randbytes(16), r.randbytes(2), r.randbytes(4)
        data = _input(Cvn.AES_CMAC)
        mk = _aes(imk, bytes.fromhex((PAN + PSN).rjust(32, "0")))
        sk = _aes(mk, atc + bytes(14))
        comp = compute_ac(Cvn.AES_CMAC, imk, PAN, PSN, atc=atc, ac_input=data)
        assert comp.icc_master_key == mk and comp.session_key == sk
        assert comp.cryptogram == _cmac(sk, data)[:8] and comp.padded_input == data
        arpc = compute_arpc(Cvn.AES_CMAC, imk, PAN, PSN, arqc=comp.cryptogram, atc=atc, csu=arqc_csu)
        assert arpc.arpc == _cmac(sk, comp.cryptogram + arqc_csu)[:4]
        assert arpc.issuer_authentication_data == arpc.arpc + arqc_csu
        sk_smi = derive_sm_session_key(Cvn.AES_CMAC, mk, atc=atc, arqc=comp.cryptogram)
        assert sk_smi == _aes(mk, comp.cryptogram + bytes(8))


# --------------------------------------------------------------------------- ARPC


@pytest.mark.parametrize("cvn", list(Cvn), ids=lambda c: c.name)
def test_arpc_round_trip(cvn: Cvn) -> None:
    arqc, arc, csu = bytes.fromhex("1122334455667788"), b"00", b"\x00\x00\x00\x80"
    icc_mk = derive_icc_master_key(cvn, KEYS.ac, PAN, PSN)
    comp = compute_arpc(cvn, KEYS.ac, PAN, PSN, arqc=arqc, atc=ATC, un=UN, arc=arc, csu=csu)
    assert len(comp.arpc) == (8 if cvn.profile.arpc_method is ArpcMethod.METHOD_1 else 4)
    assert generate_arpc(cvn, KEYS.ac, PAN, PSN, arqc=arqc, atc=ATC, un=UN, arc=arc, csu=csu) == comp.arpc
    verify_arpc_from_icc_mk(cvn, icc_mk, arpc=comp.arpc, arqc=arqc, atc=ATC, un=UN, arc=arc, csu=csu)
    with pytest.raises(VerificationError) as info:
        verify_arpc_from_icc_mk(cvn, icc_mk, arpc=comp.arpc, arqc=arqc[::-1], atc=ATC, un=UN, arc=arc, csu=csu)
    assert info.value.check == "ARPC"
    assert comp.key.hex().upper() not in repr(comp)


def test_arpc_missing_or_bad_inputs() -> None:
    arqc = bytes(8)
    with pytest.raises(UsageError, match="authorisation response code"):
        generate_arpc(Cvn.MASTERCARD_16, KEYS.ac, PAN, PSN, arqc=arqc, atc=ATC)
    with pytest.raises(UsageError, match="card status update"):
        generate_arpc(Cvn.VISA_22, KEYS.ac, PAN, PSN, arqc=arqc, atc=ATC, arc=b"00")
    with pytest.raises(UsageError, match="0..8 bytes"):
        generate_arpc(Cvn.VISA_18, KEYS.ac, PAN, PSN, arqc=arqc, atc=ATC, csu=bytes(4), prop_auth_data=bytes(9))
    with pytest.raises(UsageError, match="ARQC must be 8 bytes"):
        generate_arpc(Cvn.VISA_10, KEYS.ac, PAN, PSN, arqc=bytes(7), atc=ATC, arc=b"00")


# --------------------------------------------------------------------------- secure messaging


@pytest.mark.parametrize("mode", list(SmEncryption), ids=lambda m: m.name)
def test_encryption_round_trip(mode: SmEncryption) -> None:
    r = random.Random(mode.name)
    for n in range(1, 40):
        key, data = r.randbytes(16), r.randbytes(n)
        plain = decrypt_command_data(key, encrypt_command_data(key, data, mode), mode)
        if mode is SmEncryption.MASTERCARD and n % 8:
            assert plain == pad_iso9797_1_method_2(data)  # the card cannot tell padding from data
        else:
            assert plain == data


def test_decryption_of_garbage_is_malformed() -> None:
    key = bytes(16)
    with pytest.raises(MalformedDataError, match="multiple of 8"):
        decrypt_command_data(key, bytes(12), SmEncryption.EMV)
    with pytest.raises(MalformedDataError):
        decrypt_command_data(key, bytes(16), SmEncryption.VISA)
    with pytest.raises(MalformedDataError, match="control or length"):
        pin_from_iso9564_format2(bytes.fromhex("241234FFFFFFFFFF")[::-1])


@pytest.mark.parametrize("cvn", list(Cvn), ids=lambda c: c.name)
@pytest.mark.parametrize("current_pin", [None, "4321"])
def test_pin_change_is_understood_by_the_card(cvn: Cvn, current_pin: str | None) -> None:
    arqc = generate_ac(cvn, KEYS.ac, PAN, PSN, atc=ATC, un=UN, ac_input=_input(cvn))
    if current_pin is not None and cvn.profile.pin_block not in (PinBlockFormat.VIS, PinBlockFormat.ISO2_OR_VIS):
        with pytest.raises(UsageError, match="cannot carry the current PIN"):
            compute_pin_change_command(cvn, KEYS, PAN, PSN, new_pin="9876", atc=ATC, arqc=arqc, current_pin="4321")
        return
    comp = compute_pin_change_command(cvn, KEYS, PAN, PSN, new_pin="987654", atc=ATC, arqc=arqc,
                                      current_pin=current_pin)
    command = comp.command
    assert command[:4] == bytes([0x84, 0x24, 0x00, 0x01 if current_pin else 0x02])
    assert command[4] == len(command) - 5
    assert "987654" not in repr(comp) and comp.pin_block.hex().upper() not in repr(comp)
    # The card: its own ICC master keys, MAC check, decryption, PIN recovery.
    mk_smi, mk_smc, mk_ac = (derive_icc_master_key(cvn, k, PAN, PSN) for k in (KEYS.smi, KEYS.smc, KEYS.ac))
    enciphered, mac = command[5:-8], command[-8:]
    verify_script_mac_from_icc_mk(cvn, mk_smi, mac=mac, command_header=command[:5], atc=ATC, arqc=arqc,
                                  command_data=enciphered)
    with pytest.raises(VerificationError, match="script MAC"):
        verify_script_mac_from_icc_mk(cvn, mk_smi, mac=mac, command_header=command[:5], atc=ATC, arqc=arqc[::-1],
                                      command_data=enciphered)
    sk_smc = derive_sm_session_key(cvn, mk_smc, atc=ATC, arqc=arqc)
    block = decrypt_command_data(sk_smc, enciphered, cvn.profile.sm_encryption)
    if comp.pin_block_format is PinBlockFormat.VIS:
        assert pin_from_vis(mk_ac, block, current_pin) == "987654"
    else:
        assert pin_from_iso9564_format2(block) == "987654"


def test_script_mac_shapes_and_pin_errors() -> None:
    mk = bytes(range(16))
    header, arqc = bytes.fromhex("84DA9F580D"), bytes(8)
    mc = compute_script_mac_from_icc_mk(Cvn.MASTERCARD_20, mk, command_header=header, atc=ATC, arqc=arqc,
                                        command_data=b"\x05")
    assert mc.mac_input == header + ATC + arqc + b"\x05"
    interac = compute_script_mac_from_icc_mk(Cvn.INTERAC_133, mk, command_header=header, atc=ATC, arqc=arqc,
                                             command_data=b"\x05")
    assert interac.mac_input == header + b"\x05" and mk.hex().upper() not in repr(interac)
    with pytest.raises(UsageError, match="command header"):
        compute_script_mac_from_icc_mk(Cvn.VISA_10, mk, command_header=header[:4], atc=ATC, arqc=arqc)
    for pin in ("123", "1234567890123", "12a4", 1234):
        with pytest.raises(UsageError, match="PIN must be 4 to 12 decimal digits") as info:
            pin_block_iso9564_format2(pin)  # type: ignore[arg-type]
        assert str(pin) not in str(info.value)
    with pytest.raises(UsageError, match="IssuerMasterKeys"):
        compute_pin_change_command(Cvn.VISA_10, KEYS.ac, PAN, PSN, new_pin="1234", atc=ATC,  # type: ignore[arg-type]
                                   arqc=bytes(8))
