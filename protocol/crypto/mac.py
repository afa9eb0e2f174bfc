"""ISO/IEC 9797-1 padding and MAC algorithm 3, DES key parity and key check values.

EMV 4.4 Book 2 Annex A1.2 ("Message Authentication Code") computes every MAC of the
symmetric EMV world (application cryptograms, ARPC method 2, secure-messaging MACs)
with ISO/IEC 9797-1 MAC algorithm 3 over data padded with ISO/IEC 9797-1 padding
method 2, using a 16-byte (two-key) block-cipher key split into K = key[0:8] and
K' = key[8:16]:

    H1 = DES_K(X1),  Hi = DES_K(Xi xor Hi-1)  for i = 2..n   (single-DES CBC, IV 0)
    MAC = DES_K(DES^-1_K'(Hn))                                   (output transformation 3)

Padding (ISO/IEC 9797-1 §6.1): method 1 appends 00 bytes up to a block boundary
(nothing when the data already ends on one; Visa CVN 10 uses it), method 2 always
appends 80 then 00 bytes.

Efficiency (:func:`protocol.crypto.primitives.des_mac_alg3`): the n-1 single-DES CBC
steps are one CBC call over the first n-1 blocks, and since DES_K(DES^-1_K'(DES_K(y)))
is EDE triple DES under K || K' || K, the last step is one triple-DES call on
Xn xor Hn-1. Two cipher set-ups per MAC whatever the data length, no Python loop
over the blocks.

Keys handed to :mod:`protocol.crypto.primitives` are expanded to 24 bytes
(K1||K2||K1, or K||K||K for single DES): the same algorithm, without the deprecated
8- and 16-byte TripleDES key forms of ``cryptography``.
"""

from __future__ import annotations

from enum import Enum

from protocol.crypto import primitives
from protocol.errors import UsageError

__all__ = [
    "BLOCK",
    "Padding",
    "adjust_des_parity",
    "aes_key_check_value",
    "des_keys_equal",
    "emv_mac",
    "has_odd_parity",
    "key_check_value",
    "mac_iso9797_1_alg3",
    "pad",
    "pad_iso9797_1_method_1",
    "pad_iso9797_1_method_2",
    "tdes_key24",
]

BLOCK = 8
"""DES block size in bytes."""


class Padding(Enum):
    """ISO/IEC 9797-1 §6.1 padding methods (EMV Book 2 Annex A1.2.1)."""

    METHOD_1 = 1
    """Zero bytes up to a block boundary; none when already aligned ("Visa" padding)."""
    METHOD_2 = 2
    """80 then zero bytes, always added ("EMV" padding)."""


def _as_bytes(name: str, value: bytes) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise UsageError(f"{name} must be bytes, got {type(value).__name__}")
    return bytes(value)


def _check_block_size(block_size: int) -> None:
    if block_size not in (8, 16):
        raise UsageError(f"block size must be 8 (DES) or 16 (AES) bytes, got {block_size}")


def pad_iso9797_1_method_1(data: bytes, block_size: int = BLOCK) -> bytes:
    """ISO/IEC 9797-1 padding method 1: append 00 bytes up to a multiple of the block.

    Empty data becomes one block of zeros (ISO/IEC 9797-1 §6.1.1: at least one block).
    """
    data = _as_bytes("data", data)
    _check_block_size(block_size)
    if not data:
        return bytes(block_size)
    return data + bytes(-len(data) % block_size)


def pad_iso9797_1_method_2(data: bytes, block_size: int = BLOCK) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append 80 then 00 bytes up to the block boundary."""
    data = _as_bytes("data", data)
    _check_block_size(block_size)
    data += b"\x80"
    return data + bytes(-len(data) % block_size)


def pad(data: bytes, padding: Padding, block_size: int = BLOCK) -> bytes:
    """Pad ``data`` with the given ISO/IEC 9797-1 method."""
    if padding is Padding.METHOD_1:
        return pad_iso9797_1_method_1(data, block_size)
    if padding is Padding.METHOD_2:
        return pad_iso9797_1_method_2(data, block_size)
    raise UsageError(f"padding must be a Padding member, got {padding!r}")


def _padding(padding: Padding | int) -> Padding:
    if isinstance(padding, Padding):
        return padding
    try:
        return Padding(padding)
    except ValueError:
        raise UsageError(f"ISO/IEC 9797-1 padding method must be 1 or 2, got {padding!r}") from None


def tdes_key24(key: bytes) -> bytes:
    """Expand an 8- or 16-byte (triple-)DES key to the equivalent 24-byte form."""
    if len(key) not in (8, 16, 24):
        raise UsageError(f"DES key must be 8, 16 or 24 bytes, got {len(key)}")
    return primitives.tdes_key24(bytes(key))


def _check_mac_length(length: int, maximum: int = BLOCK) -> None:
    if not 4 <= length <= maximum:
        raise UsageError(f"MAC length must be 4..{maximum} bytes, got {length}")


def mac_iso9797_1_alg3(
    key1: bytes, key2: bytes, data: bytes, padding: Padding | int = Padding.METHOD_2, length: int = BLOCK
) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (initial transformation 1, output transformation 3).

    With 8-byte ``key1`` = K and ``key2`` = K' this is the textbook algorithm of EMV
    Book 2 Annex A1.2.1: single-DES CBC under K, then DES_K(DES^-1_K'(last)).

    With 16-byte ``key1``/``key2`` the block cipher is two-key triple DES in both
    stages (CBC under 3DES(key1), then 3DES_key1(3DES^-1_key2(last))): the general
    form some HSM interfaces (and pyemv's ``mac_iso9797_3``) accept. ``length`` is
    the number of leftmost bytes kept (4..8).
    """
    key1, key2 = _as_bytes("MAC key 1", key1), _as_bytes("MAC key 2", key2)
    if len(key1) != len(key2) or len(key1) not in (8, 16):
        raise UsageError(
            f"MAC algorithm 3 keys must both be 8 or both be 16 bytes, got {len(key1)} and {len(key2)}"
        )
    _check_mac_length(length)
    padded = pad(data, _padding(padding))
    if len(key1) == 8:
        return _alg3_des(key1, key2, padded)[:length]
    k1, k2 = tdes_key24(key1), tdes_key24(key2)
    h = primitives.tdes_cbc_encrypt(k1, padded)[-BLOCK:]
    return primitives.tdes_ecb_encrypt(k1, primitives.tdes_ecb_decrypt(k2, h))[:length]


def _alg3_des(k: bytes, k_prime: bytes, padded: bytes) -> bytes:
    """MAC algorithm 3 with single-DES K, K' over already padded data: two cipher calls."""
    return primitives.des_mac_alg3(k, k_prime, padded)


def emv_mac(key: bytes, data: bytes, padding: Padding = Padding.METHOD_2, length: int = BLOCK) -> bytes:
    """EMV MAC (Book 2 Annex A1.2.1): MAC algorithm 3 with K = key[0:8], K' = key[8:16].

    ``key`` is a 16-byte session key (or ICC master key for Visa CVN 10).
    """
    if not isinstance(key, bytes | bytearray) or len(key) != 16:
        got = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise UsageError(f"EMV MAC key must be 16 bytes (double-length DES), got {got}")
    if length != BLOCK:
        _check_mac_length(length)
    if padding is Padding.METHOD_2:
        if not isinstance(data, bytes):
            data = _as_bytes("data", data)
        data += b"\x80"
        padded = data + bytes(-len(data) % BLOCK)
    else:
        padded = pad(data, padding)
    return primitives.des_mac_alg3(key[:8], key[8:], padded)[:length]


# --------------------------------------------------------------------------- DES key parity


_ODD_PARITY = bytes((b & 0xFE) | (((b & 0xFE).bit_count() & 1) ^ 1) for b in range(256))


def adjust_des_parity(key: bytes) -> bytes:
    """Set the least significant bit of each byte so it has odd parity (FIPS 46-3;
    EMV Book 2 Annex A1.4 does this to every derived ICC master key)."""
    if type(key) is not bytes:
        key = _as_bytes("key", key)
    return key.translate(_ODD_PARITY)


def has_odd_parity(key: bytes) -> bool:
    """Whether every byte of ``key`` has an odd number of one bits."""
    key = _as_bytes("key", key)
    return key.translate(_ODD_PARITY) == key


def des_keys_equal(a: bytes, b: bytes) -> bool:
    """Compare two DES keys ignoring parity bits (which DES never uses), in constant time."""
    a, b = _as_bytes("key", a), _as_bytes("key", b)
    return primitives.constant_time_equal(a.translate(_ODD_PARITY), b.translate(_ODD_PARITY))


def key_check_value(key: bytes, length: int = 3) -> bytes:
    """Key check value: leftmost ``length`` bytes of 3DES-ECB(key, 00 x 8).

    Safe to show: it identifies a key without revealing it (2 or 3 bytes by custom).
    """
    key = _as_bytes("key", key)
    if not 1 <= length <= BLOCK:
        raise UsageError(f"KCV length must be 1..8 bytes, got {length}")
    return primitives.tdes_ecb_encrypt(tdes_key24(key), bytes(BLOCK))[:length]


def aes_key_check_value(key: bytes, length: int = 3) -> bytes:
    """AES key check value: leftmost ``length`` bytes of AES-ECB(key, 00 x 16)."""
    key = _as_bytes("key", key)
    if not 1 <= length <= 16:
        raise UsageError(f"KCV length must be 1..16 bytes, got {length}")
    return primitives.aes_ecb_encrypt(key, bytes(16))[:length]
