"""ISO/IEC 9797-1 padding and MAC algorithm 3, DES parity, KCVs (protocol.crypto.mac)."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from protocol.crypto import primitives
from protocol.crypto.mac import (
    Padding,
    adjust_des_parity,
    aes_key_check_value,
    des_keys_equal,
    emv_mac,
    has_odd_parity,
    key_check_value,
    mac_iso9797_1_alg3,
    pad,
    pad_iso9797_1_method_1,
    pad_iso9797_1_method_2,
    tdes_key24,
)
from protocol.errors import UsageError


def _des(key: bytes, block: bytes, decrypt: bool = False) -> bytes:
    """One block of (3)DES straight from ``cryptography``: an independent reference."""
    key24 = key * 3 if len(key) == 8 else key + key[:8]
    cipher = Cipher(TripleDES(key24), modes.ECB())
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(block) + ctx.finalize()


def reference_alg3(k1: bytes, k2: bytes, padded: bytes) -> bytes:
    """MAC algorithm 3 block by block, exactly as ISO/IEC 9797-1 §7.3 writes it."""
    h = bytes(8)
    for i in range(0, len(padded), 8):
        h = _des(k1, bytes(a ^ b for a, b in zip(h, padded[i:i + 8])))
    return _des(k1, _des(k2, h, decrypt=True))


@pytest.mark.parametrize("n", range(0, 18))
def test_padding_boundaries(n: int) -> None:
    data = bytes(range(1, n + 1))
    m1, m2 = pad_iso9797_1_method_1(data), pad_iso9797_1_method_2(data)
    assert m1[:n] == data and m2[:n] == data
    assert len(m1) == max(8, -(-n // 8) * 8)  # method 1: nothing added when aligned, one block for empty
    assert len(m2) == (n // 8 + 1) * 8  # method 2: always at least the 80 byte
    assert m2[n] == 0x80 and set(m2[n + 1:]) <= {0}
    assert pad(data, Padding.METHOD_2, 16) == data + b"\x80" + bytes(-(n + 1) % 16)


def test_alg3_fast_path_matches_the_block_by_block_definition() -> None:
    r = random.Random(9797)
    for _ in range(200):
        key_len = r.choice((8, 16))
        k1, k2, data = r.randbytes(key_len), r.randbytes(key_len), r.randbytes(r.randint(0, 64))
        for padding in (Padding.METHOD_1, Padding.METHOD_2):
            padded = pad(data, padding)
            assert mac_iso9797_1_alg3(k1, k2, data, padding) == reference_alg3(k1, k2, padded)
        key = r.randbytes(16)
        assert emv_mac(key, data) == reference_alg3(key[:8], key[8:], pad_iso9797_1_method_2(data))
        assert emv_mac(key, data, length=4) == emv_mac(key, data)[:4]


def test_alg3_accepts_int_padding_and_bytearray() -> None:
    k = bytes(range(16))
    assert mac_iso9797_1_alg3(k[:8], k[8:], bytearray(b"abc"), 1) == mac_iso9797_1_alg3(
        k[:8], k[8:], b"abc", Padding.METHOD_1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mac_iso9797_1_alg3(bytes(7), bytes(8), b"x"), "8 or both be 16 bytes"),
        (lambda: mac_iso9797_1_alg3(bytes(8), bytes(16), b"x"), "8 or both be 16 bytes"),
        (lambda: mac_iso9797_1_alg3(bytes(8), bytes(8), b"x", 3), "padding method must be 1 or 2"),
        (lambda: mac_iso9797_1_alg3(bytes(8), bytes(8), b"x", 2, 9), "MAC length"),
        (lambda: mac_iso9797_1_alg3(bytes(8), bytes(8), "text"), "data must be bytes"),  # type: ignore[arg-type]
        (lambda: emv_mac(bytes(8), b"x"), "must be 16 bytes"),
        (lambda: emv_mac(bytes(16), b"x", length=3), "MAC length"),
        (lambda: pad(b"x", 2), "Padding member"),  # type: ignore[arg-type]
        (lambda: pad_iso9797_1_method_2(b"x", 12), "block size"),
        (lambda: tdes_key24(bytes(15)), "8, 16 or 24 bytes"),
        (lambda: primitives.des_mac_alg3(8, bytes(8), bytes(8)), "must be bytes"),  # type: ignore[arg-type]
        (lambda: primitives.des_mac_alg3(bytes(8), bytes(8), b""), "positive number of 8-byte blocks"),
        (lambda: key_check_value(bytes(16), 0), "KCV length"),
    ],
)
def test_usage_errors(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message):
        call()


def test_errors_never_show_keys() -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA98765432")  # 15 bytes
    with pytest.raises(UsageError) as info:
        emv_mac(key, b"data")
    assert key.hex() not in str(info.value).lower()


def test_parity() -> None:
    r = random.Random(46)
    for _ in range(100):
        key = r.randbytes(16)
        fixed = adjust_des_parity(key)
        assert has_odd_parity(fixed)
        assert all(bin(b).count("1") % 2 == 1 for b in fixed)
        assert bytes(a & 0xFE for a in fixed) == bytes(a & 0xFE for a in key)  # only parity bits change
        assert des_keys_equal(key, fixed)
        assert _des(key, bytes(8)) == _des(fixed, bytes(8))  # DES ignores parity bits
    assert not des_keys_equal(bytes(16), b"\x02" + bytes(15))


def test_key_check_values() -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert key_check_value(key).hex().upper() == "08D7B4"  # 3 bytes by default
    assert key_check_value(key, 2).hex().upper() == "08D7"
    aes_key = bytes(range(16))
    enc = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    assert aes_key_check_value(aes_key) == (enc.update(bytes(16)) + enc.finalize())[:3]
