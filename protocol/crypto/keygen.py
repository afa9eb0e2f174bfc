"""Deterministic **test** keys derived from a seed — never for real cards or issuers.

The simulator personalises emulated cards, its own test certification authority
(CA) and the phone's device key from a short seed, so that a scenario, a test or a
screenshot gives the same certificates, cryptograms and signatures every run. Each
key is derived from ``(seed, label)``: the same pair always gives the same key, a
different label gives an unrelated key.

Why it is written here: ``cryptography`` (and OpenSSL beneath it) only generates
RSA keys from the operating system's random source and offers no way to feed it a
seed; EC and symmetric keys are easy to derive, RSA primes are not. So this module
has its own small deterministic random bit generator and Miller–Rabin prime search,
and hands the primes to :func:`protocol.crypto.primitives.rsa_private_from_primes`,
which builds the key and has ``cryptography`` check its consistency.

* **DRBG**: HMAC-SHA256 in counter mode, in the style of the NIST SP 800-108 KDF:
  block *i* = HMAC-SHA256(seed, i (4 bytes) ‖ domain ‖ 00 ‖ purpose ‖ 00 ‖ label).
  The domain string versions the derivation; changing this module's algorithm
  must change it, or every personalised test card would silently change.
* **Primes** (EMV 4.4 Book 2 §5.1 / Annex B2.1 want RSA moduli of whole bytes and
  e = 3 or 2^16 + 1): each prime has its two top bits set, so ``n = p·q`` has
  exactly the requested length; ``gcd(e, p − 1) = 1``; candidates are sieved in a
  window by the odd primes below 2^15 (table built once) and then take 10
  Miller–Rabin rounds with bases from the same DRBG (FIPS 186-4 Table C.2 asks
  for 5–7 rounds at these sizes for random candidates); ``|p − q|`` is large.

These keys are **predictable to anyone who knows the seed**; that is the point.
They are test keys, as are the symmetric ones (DES keys with odd parity, AES).
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache, lru_cache

from protocol.crypto.primitives import EcPrivateKey, RsaPrivateKey, ec_from_scalar, rsa_private_from_primes
from protocol.errors import UsageError

#: Versioned domain-separation string of the derivation (see the module docstring).
DOMAIN = b"TrustOne Tap Simulator deterministic test keys v1"

#: Order n of the NIST P-256 base point (FIPS 186-4 D.1.2.3), a public constant.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

_SIEVE_LIMIT = 1 << 15
_SIEVE_WINDOW = 4096  # candidates x, x+2, ..., x+2·(window−1)
_MILLER_RABIN_ROUNDS = 10


class _Drbg:
    """HMAC-SHA256 counter-mode byte stream for one ``(seed, purpose, label)``."""

    def __init__(self, seed: bytes, purpose: str, label: str) -> None:
        self._key = bytes(seed)
        self._info = DOMAIN + b"\x00" + purpose.encode() + b"\x00" + label.encode()
        self._counter = 0
        self._buffer = b""

    def read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._counter += 1
            block = hmac.new(self._key, self._counter.to_bytes(4, "big") + self._info, hashlib.sha256)
            self._buffer += block.digest()
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        return out

    def integer(self, bits: int) -> int:
        """A uniformly distributed integer of at most ``bits`` bits."""
        value = int.from_bytes(self.read((bits + 7) // 8), "big")
        return value >> (-bits % 8)

    def below(self, bound: int) -> int:
        """An integer in ``[0, bound)`` (64 extra bits make the modulo bias negligible)."""
        return self.integer(bound.bit_length() + 64) % bound


def _check_seed(seed: bytes, label: str) -> None:
    if not isinstance(seed, bytes | bytearray) or not seed:
        raise UsageError("the seed must be non-empty bytes")
    if not isinstance(label, str):
        raise UsageError(f"the label must be a str, got {type(label).__name__}")


# --------------------------------------------------------------------------- primes


@cache
def _sieve_table() -> tuple[tuple[int, int], ...]:
    """``(p, inverse of 2 mod p)`` for the odd primes below the sieve limit (built once)."""
    flags = bytearray([1]) * _SIEVE_LIMIT
    flags[0:2] = b"\x00\x00"
    for i in range(2, int(_SIEVE_LIMIT**0.5) + 1):
        if flags[i]:
            flags[i * i :: i] = bytes(len(range(i * i, _SIEVE_LIMIT, i)))
    return tuple((p, (p + 1) // 2) for p in range(3, _SIEVE_LIMIT) if flags[p])


def _is_probable_prime(candidate: int, drbg: _Drbg) -> bool:
    """Miller–Rabin with DRBG-chosen bases (the caller has already sieved)."""
    d, s = candidate - 1, 0
    while not d & 1:
        d >>= 1
        s += 1
    for _ in range(_MILLER_RABIN_ROUNDS):
        a = 2 + drbg.below(candidate - 3)
        x = pow(a, d, candidate)
        if x in (1, candidate - 1):
            continue
        for _ in range(s - 1):
            x = x * x % candidate
            if x == candidate - 1:
                break
        else:
            return False
    return True


def _prime(drbg: _Drbg, bits: int, exponent: int) -> int:
    """A prime of exactly ``bits`` bits, top two bits set, with gcd(e, p − 1) = 1."""
    table = _sieve_table()
    while True:
        start = drbg.integer(bits) | (0b11 << (bits - 2)) | 1
        alive = bytearray([1]) * _SIEVE_WINDOW
        for p, half in table:
            first = (-(start % p) * half) % p  # smallest k with start + 2k ≡ 0 (mod p)
            alive[first::p] = bytes(len(range(first, _SIEVE_WINDOW, p)))
        for k in range(_SIEVE_WINDOW):
            if not alive[k]:
                continue
            candidate = start + 2 * k
            if candidate.bit_length() != bits:
                break
            # e is prime (3 or 65537), so gcd(e, p - 1) = 1 iff p mod e != 1.
            if candidate % exponent == 1:
                continue
            if _is_probable_prime(candidate, drbg):
                return candidate


def derive_rsa_key(seed: bytes, label: str, bits: int, exponent: int = 3) -> RsaPrivateKey:
    """A deterministic RSA test key of ``bits`` bits and public exponent 3 or 65537.

    ``bits`` must be a multiple of 8 between 512 and 2048 (EMV moduli are whole
    bytes, Book 2 Annex B2.1; EMV's largest is 1984 bits). Results are cached, so a
    test suite asking for the same key twice pays once.
    """
    _check_seed(seed, label)
    if exponent not in (3, 65537):
        raise UsageError(f"EMV allows public exponents 3 and 65537, got {exponent}")
    if not isinstance(bits, int) or bits < 512 or bits > 2048 or bits % 8:
        raise UsageError(f"RSA modulus must be 512..2048 bits in whole bytes, got {bits}")
    return _derive_rsa_key(bytes(seed), label, bits, exponent)


@lru_cache(maxsize=128)
def _derive_rsa_key(seed: bytes, label: str, bits: int, exponent: int) -> RsaPrivateKey:
    drbg = _Drbg(seed, f"rsa/{bits}/{exponent}", label)
    half = bits // 2
    p = _prime(drbg, half, exponent)
    while True:
        q = _prime(drbg, half, exponent)
        # FIPS 186-4 B.3.1 asks for |p - q| > 2^(nlen/2 - 100).
        if abs(p - q) > 1 << (half - 100):
            break
    if q > p:
        p, q = q, p
    return rsa_private_from_primes(p, q, exponent)


def derive_ec_key(seed: bytes, label: str) -> EcPrivateKey:
    """A deterministic P-256 test key: a scalar in ``[1, n − 1]`` from the DRBG."""
    _check_seed(seed, label)
    scalar = 1 + _Drbg(bytes(seed), "ec/p256", label).below(P256_ORDER - 1)
    return ec_from_scalar(scalar)


def _odd_parity(key: bytes) -> bytes:
    """Set the low bit of each byte so that every byte has an odd number of 1 bits."""
    return bytes((b & 0xFE) | ((bin(b >> 1).count("1") + 1) & 1) for b in key)


def derive_des_key(seed: bytes, label: str, length: int = 16) -> bytes:
    """A deterministic (3)DES test key of 8, 16 or 24 bytes with odd parity."""
    _check_seed(seed, label)
    if length not in (8, 16, 24):
        raise UsageError(f"a DES key is 8, 16 or 24 bytes, got {length}")
    return _odd_parity(_Drbg(bytes(seed), f"des/{length}", label).read(length))


def derive_aes_key(seed: bytes, label: str, length: int = 16) -> bytes:
    """A deterministic AES test key of 16, 24 or 32 bytes (AES-128 by default)."""
    _check_seed(seed, label)
    if length not in (16, 24, 32):
        raise UsageError(f"an AES key is 16, 24 or 32 bytes, got {length}")
    return _Drbg(bytes(seed), f"aes/{length}", label).read(length)


def derive_bytes(seed: bytes, label: str, length: int) -> bytes:
    """``length`` deterministic bytes (serial numbers, ICC dynamic numbers in tests)."""
    _check_seed(seed, label)
    if length < 0:
        raise UsageError("length must not be negative")
    return _Drbg(bytes(seed), "bytes", label).read(length)
