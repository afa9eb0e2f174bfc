"""ICC master key and session key derivation (protocol.crypto.keys), AES model included."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from protocol.crypto.keys import (
    IssuerMasterKeys,
    check_pan,
    clear_prepared_keys,
    derive_icc_mk_a,
    derive_icc_mk_aes,
    derive_icc_mk_b,
    kcv,
    session_key_aes,
    session_key_common,
    session_key_emv2000_tree,
    session_key_mastercard,
    session_key_visa_sm,
)
from protocol.crypto.mac import adjust_des_parity, has_odd_parity
from protocol.errors import UsageError

IMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def _ecb(key: bytes, data: bytes, aes: bool = False) -> bytes:
    algorithm = algorithms.AES(key) if aes else TripleDES(key + key[:8])
    enc = Cipher(algorithm, modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def test_option_a_pads_short_pan_and_takes_rightmost_16_digits() -> None:
    # 12-digit PAN + PSN = 14 digits: left-padded with zeros to 16.
    y = bytes.fromhex("00" + "123456789012" + "07")
    expected = adjust_des_parity(_ecb(IMK, y + bytes(b ^ 0xFF for b in y)))
    assert derive_icc_mk_a(IMK, "123456789012", "07") == expected
    # 18-digit PAN + PSN = 20 digits: the rightmost 16.
    y = bytes.fromhex("5678901234567801")
    expected = adjust_des_parity(_ecb(IMK, y + bytes(b ^ 0xFF for b in y)))
    assert derive_icc_mk_a(IMK, "123456789012345678", "01") == expected


def test_psn_absent_means_00_and_option_b_falls_back_for_short_pans() -> None:
    assert derive_icc_mk_a(IMK, "5413330089020011", None) == derive_icc_mk_a(IMK, "5413330089020011", "00")
    assert derive_icc_mk_b(IMK, "5413330089020011", "01") == derive_icc_mk_a(IMK, "5413330089020011", "01")
    assert derive_icc_mk_b(IMK, "54133300890200111", "01") != derive_icc_mk_a(IMK, "54133300890200111", "01")
    assert has_odd_parity(derive_icc_mk_b(IMK, "5413330089020011123", "01"))


def test_prepared_issuer_keys_can_be_cleared() -> None:
    before = derive_icc_mk_a(IMK, "5413330089020011", "01")
    clear_prepared_keys()
    assert derive_icc_mk_a(IMK, "5413330089020011", "01") == before


@pytest.mark.parametrize("pan", ["5413 3300 8902 0011", "541333008902001F", "５４１３３３００８９", "", "1234567",
                                 "12345678901234567890"])
def test_bad_pan_is_a_usage_error_that_does_not_echo_it(pan: str) -> None:
    with pytest.raises(UsageError, match="PAN") as info:
        derive_icc_mk_a(IMK, pan, "00")
    if len(pan) > 4:
        assert pan not in str(info.value)


def test_bad_types_and_lengths() -> None:
    with pytest.raises(UsageError, match="PAN must be a str"):
        check_pan(5413330089020011)  # type: ignore[arg-type]
    for psn in ("1", "AB", "001"):
        with pytest.raises(UsageError, match="PAN sequence number"):
            derive_icc_mk_a(IMK, "5413330089020011", psn)
    for key in (IMK[:8], IMK + IMK[:8], IMK[:15]):
        with pytest.raises(UsageError, match="issuer master key must be 16 bytes") as info:
            derive_icc_mk_b(key, "5413330089020011", "00")
        assert key.hex() not in str(info.value).lower()
    with pytest.raises(UsageError, match="issuer master key must be bytes"):
        derive_icc_mk_a(IMK.hex(), "5413330089020011")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="diversification value R must be 8 bytes"):
        session_key_common(IMK, bytes(7))
    with pytest.raises(UsageError, match="unpredictable number must be 4 bytes"):
        session_key_mastercard(IMK, b"\x00\x01", bytes(3))
    with pytest.raises(UsageError, match="ATC must be 2 bytes"):
        session_key_visa_sm(IMK, b"\x01")


def test_session_keys() -> None:
    mk, atc, un = bytes(range(16)), b"\x12\x34", b"\xde\xad\xbe\xef"
    r = atc + b"\x00\x00" + un
    assert session_key_mastercard(mk, atc, un) == session_key_common(mk, r)
    expected = adjust_des_parity(_ecb(mk, atc + b"\xf0" + r[3:] + atc + b"\x0f" + r[3:]))
    assert session_key_common(mk, r) == expected
    sm = session_key_visa_sm(mk, atc)
    assert sm == adjust_des_parity(mk[:6] + bytes([0x06 ^ 0x12, 0x07 ^ 0x34]) + mk[8:14]
                                   + bytes([0x0E ^ 0xED, 0x0F ^ 0xCB]))


def test_emv2000_tree_parameters() -> None:
    assert session_key_emv2000_tree(IMK, b"\x00\x01") == session_key_emv2000_tree(
        IMK, b"\x00\x01", height=8, branch_factor=4, iv=bytes(16))
    with pytest.raises(UsageError, match="fewer session keys than ATC values"):
        session_key_emv2000_tree(IMK, b"\x00\x01", height=8, branch_factor=2)
    with pytest.raises(UsageError, match="IV must be 16 bytes"):
        session_key_emv2000_tree(IMK, b"\x00\x01", iv=bytes(8))
    with pytest.raises(UsageError, match=">= 2"):
        session_key_emv2000_tree(IMK, b"\x00\x01", height=1, branch_factor=65536)


def test_aes_model_variant_from_its_definition() -> None:
    r = random.Random(128)
    for _ in range(50):
        imk = r.randbytes(16)
        pan = "".join(r.choice("0123456789") for _ in range(r.randint(12, 19)))
        mk = derive_icc_mk_aes(imk, pan, "03")
        assert mk == _ecb(imk, bytes.fromhex((pan + "03").rjust(32, "0")), aes=True)
        assert mk != derive_icc_mk_aes(imk, pan, "04")
        atc = r.randbytes(2)
        assert session_key_aes(mk, atc) == _ecb(mk, atc + bytes(14), aes=True)
    with pytest.raises(UsageError, match="AES issuer master key must be 16 bytes"):
        derive_icc_mk_aes(bytes(32), "5413330089020011")
    with pytest.raises(UsageError, match="2..16 bytes"):
        session_key_aes(bytes(16), bytes(17))


def test_issuer_master_keys_never_show_keys() -> None:
    keys = IssuerMasterKeys(IMK, bytes(range(16)), bytes(16))
    text = repr(keys) + str(keys)
    for key in (keys.ac, keys.smi, keys.smc):
        assert key.hex() not in text.lower() and key.hex().upper() not in text
    assert kcv(IMK) in text
    with pytest.raises(UsageError, match="SMC must be 16 bytes"):
        IssuerMasterKeys(IMK, IMK, bytes(8))
