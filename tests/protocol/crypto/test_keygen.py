"""Deterministic test keys: same (seed, label) -> same key, different label -> different key."""

from __future__ import annotations

import pytest

from protocol.crypto import keygen
from protocol.crypto.keygen import derive_aes_key, derive_bytes, derive_des_key, derive_ec_key, derive_rsa_key
from protocol.crypto.primitives import ec_public_bytes, rsa_private_raw, rsa_public_raw
from protocol.errors import UsageError

SEED = b"keygen tests"


def _is_prime(n: int) -> bool:
    return all(pow(a, n - 1, n) == 1 for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37))


@pytest.mark.parametrize(("bits", "exponent"), [(512, 3), (1024, 3), (1152, 65537), (1408, 3), (1984, 65537)])
def test_rsa_key_has_the_requested_size_and_exponent_and_works(bits: int, exponent: int) -> None:
    key = derive_rsa_key(SEED, f"rsa {bits}", bits, exponent)
    assert key.modulus.bit_length() == bits
    assert key.public_exponent == exponent
    assert key.p * key.q == key.modulus and key.p != key.q
    assert key.p.bit_length() == key.q.bit_length() == bits // 2
    assert _is_prime(key.p) and _is_prime(key.q)
    block = bytes([0x6A]) + bytes(range(256))[: bits // 8 - 2] + b"\xbc"
    assert rsa_public_raw(key.public_key, rsa_private_raw(key, block)) == block


def test_rsa_same_seed_and_label_give_the_same_key_even_without_the_cache() -> None:
    first = derive_rsa_key(SEED, "determinism", 1024)
    keygen._derive_rsa_key.cache_clear()
    second = derive_rsa_key(bytearray(SEED), "determinism", 1024)
    assert first is not second
    assert (first.p, first.q, first.private_exponent) == (second.p, second.q, second.private_exponent)


def test_rsa_different_label_seed_size_or_exponent_give_different_keys() -> None:
    base = derive_rsa_key(SEED, "a", 1024).modulus
    assert derive_rsa_key(SEED, "b", 1024).modulus != base
    assert derive_rsa_key(b"other seed", "a", 1024).modulus != base
    assert derive_rsa_key(SEED, "a", 1024, 65537).modulus != base
    assert derive_rsa_key(SEED, "a", 1152).modulus >> 128 != base


def test_rsa_known_answer_pins_the_derivation() -> None:
    # Changing the DRBG or the prime search changes every personalised test card:
    # it must come with a new DOMAIN string and a new value here.
    key = derive_rsa_key(b"TrustOne", "pinned", 512)
    assert key.modulus.to_bytes(64, "big")[:8].hex().upper() == PINNED_512_PREFIX


PINNED_512_PREFIX = "B5125E1F66AE0065"


@pytest.mark.parametrize(("bits", "exponent"), [(1020, 3), (504, 3), (2056, 3), (1024, 5), (1024, 1)])
def test_rsa_bad_parameters_are_usage_errors(bits: int, exponent: int) -> None:
    with pytest.raises(UsageError):
        derive_rsa_key(SEED, "bad", bits, exponent)


def test_empty_seed_is_refused() -> None:
    for derive in (derive_ec_key, derive_des_key, derive_aes_key):
        with pytest.raises(UsageError):
            derive(b"", "x")
    with pytest.raises(UsageError):
        derive_rsa_key(b"", "x", 1024)


def test_ec_key_is_deterministic_and_label_separated() -> None:
    a = derive_ec_key(SEED, "device")
    assert a.scalar == derive_ec_key(SEED, "device").scalar
    assert 1 <= a.scalar < keygen.P256_ORDER
    assert derive_ec_key(SEED, "device 2").scalar != a.scalar
    assert len(ec_public_bytes(a)) == 65


@pytest.mark.parametrize("length", [8, 16, 24])
def test_des_keys_have_odd_parity(length: int) -> None:
    key = derive_des_key(SEED, "imk ac", length)
    assert len(key) == length
    assert all(bin(b).count("1") % 2 == 1 for b in key)
    assert key == derive_des_key(SEED, "imk ac", length)
    assert key != derive_des_key(SEED, "imk smi", length)


def test_aes_keys_and_bytes() -> None:
    key = derive_aes_key(SEED, "aes")
    assert len(key) == 16 and key == derive_aes_key(SEED, "aes")
    assert key != derive_aes_key(SEED, "aes 2")
    assert len(derive_aes_key(SEED, "aes", 32)) == 32
    assert derive_bytes(SEED, "serial", 3) == derive_bytes(SEED, "serial", 3)
    assert derive_bytes(SEED, "serial", 40)[:3] == derive_bytes(SEED, "serial", 3)
    # Domain separation: the same label gives unrelated bytes for different kinds.
    assert derive_bytes(SEED, "aes", 16) != key
    with pytest.raises(UsageError):
        derive_des_key(SEED, "x", 12)
    with pytest.raises(UsageError):
        derive_aes_key(SEED, "x", 8)
