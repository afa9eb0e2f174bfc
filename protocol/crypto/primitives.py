"""The only module of the project that imports ``cryptography``.

Everything else calls the EMV-named functions of :mod:`protocol.crypto` which are
built on the block-cipher, MAC, signature and OTP primitives here. Keeping the
import in one place makes the dependency reviewable and checkable (import-linter
contract "Only protocol.crypto.primitives imports cryptography").

Key and block sizes are checked here and raise :class:`~protocol.errors.UsageError`:
a wrong length is always the caller's mistake, never the card's.

RSA in EMV (Book 2) is raw "textbook" RSA over a formatted block with no PKCS#1
padding, which ``cryptography`` deliberately does not expose; the modular
exponentiations are therefore done with Python's ``pow`` on the key's numbers
(with the CRT for private operations), see :class:`RsaPrivateKey`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.hazmat.primitives.twofactor.hotp import HOTP
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from protocol.errors import UsageError, VerificationError

ZERO_IV8 = bytes(8)
ZERO_IV16 = bytes(16)

# --------------------------------------------------------------------------- DES / 3DES


def _check(name: str, value: bytes, *lengths: int) -> None:
    if not isinstance(value, bytes | bytearray):
        raise UsageError(f"{name} must be bytes, got {type(value).__name__}")
    if len(value) not in lengths:
        allowed = " or ".join(str(n) for n in lengths)
        raise UsageError(f"{name} must be {allowed} bytes, got {len(value)}")


def _check_blocks(data: bytes, block: int) -> None:
    if len(data) % block:
        raise UsageError(f"data length {len(data)} is not a multiple of the {block}-byte block")


def _tdes(key: bytes) -> TripleDES:
    # An 8-byte key makes TripleDES single DES (K1 = K2 = K3), as EMV's MAC needs;
    # a 16-byte key is two-key 3DES (K3 = K1). Expanded to 24 bytes here because
    # cryptography deprecates the short forms.
    _check("DES key", key, 8, 16, 24)
    return TripleDES(tdes_key24(bytes(key)))


def tdes_key24(key: bytes) -> bytes:
    """The 24-byte K1‖K2‖K3 form of an 8-, 16- or 24-byte (3)DES key (length unchecked)."""
    return key * 3 if len(key) == 8 else key + key[:8] if len(key) == 16 else key


def tdes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """(3)DES-ECB encrypt; ``key`` of 8 (single DES), 16 or 24 bytes."""
    _check_blocks(data, 8)
    enc = Cipher(_tdes(key), modes.ECB()).encryptor()
    return enc.update(bytes(data)) + enc.finalize()


def tdes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    """(3)DES-ECB decrypt; ``key`` of 8 (single DES), 16 or 24 bytes."""
    _check_blocks(data, 8)
    dec = Cipher(_tdes(key), modes.ECB()).decryptor()
    return dec.update(bytes(data)) + dec.finalize()


def tdes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV8) -> bytes:
    """(3)DES-CBC encrypt, no padding (the caller pads per ISO 9797-1)."""
    _check("IV", iv, 8)
    _check_blocks(data, 8)
    enc = Cipher(_tdes(key), modes.CBC(bytes(iv))).encryptor()
    return enc.update(bytes(data)) + enc.finalize()


def tdes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV8) -> bytes:
    """(3)DES-CBC decrypt, no padding removed."""
    _check("IV", iv, 8)
    _check_blocks(data, 8)
    dec = Cipher(_tdes(key), modes.CBC(bytes(iv))).decryptor()
    return dec.update(bytes(data)) + dec.finalize()


# --------------------------------------------------------------------------- AES


def aes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """AES-ECB encrypt (128/192/256-bit key), no padding."""
    _check("AES key", key, 16, 24, 32)
    _check_blocks(data, 16)
    enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
    return enc.update(bytes(data)) + enc.finalize()


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV16) -> bytes:
    """AES-CBC encrypt, no padding."""
    _check("AES key", key, 16, 24, 32)
    _check("IV", iv, 16)
    _check_blocks(data, 16)
    enc = Cipher(algorithms.AES(bytes(key)), modes.CBC(bytes(iv))).encryptor()
    return enc.update(bytes(data)) + enc.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B), full 16-byte tag."""
    _check("AES key", key, 16, 24, 32)
    mac = CMAC(algorithms.AES(bytes(key)))
    mac.update(bytes(data))
    return mac.finalize()


# --------------------------------------------------------------------------- hashes


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(bytes(data)).digest()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(bytes(data)).digest()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare MACs and cryptograms without leaking where they differ."""
    return hmac.compare_digest(bytes(a), bytes(b))


# --------------------------------------------------------------------------- RSA (raw, EMV Book 2)


@dataclass(frozen=True)
class RsaPublicKey:
    """An RSA public key as EMV carries it: modulus and (small) public exponent."""

    modulus: int
    exponent: int

    @property
    def size_bytes(self) -> int:
        """N, the modulus length in bytes (Book 2 calls it N_CA, N_I, N_IC)."""
        return (self.modulus.bit_length() + 7) // 8

    @property
    def modulus_bytes(self) -> bytes:
        return self.modulus.to_bytes(self.size_bytes, "big")

    @property
    def exponent_bytes(self) -> bytes:
        return self.exponent.to_bytes(max(1, (self.exponent.bit_length() + 7) // 8), "big")


@dataclass(frozen=True, repr=False)
class RsaPrivateKey:
    """An RSA private key with its CRT parameters. ``repr`` never shows secrets."""

    modulus: int
    public_exponent: int
    private_exponent: int
    p: int
    q: int

    @property
    def public_key(self) -> RsaPublicKey:
        return RsaPublicKey(self.modulus, self.public_exponent)

    @functools.cached_property
    def _crt(self) -> tuple[int, int, int]:
        # d mod (p-1), d mod (q-1), q^-1 mod p: computed on the first signature, then
        # kept with the key (not a field: equality, hash, repr and the image format
        # are those of the five numbers above).
        d, p, q = self.private_exponent, self.p, self.q
        return d % (p - 1), d % (q - 1), pow(q, -1, p)

    def __repr__(self) -> str:
        return f"RsaPrivateKey({self.modulus.bit_length()} bits, e={self.public_exponent}, <secret>)"


def rsa_generate(bits: int, exponent: int = 3) -> RsaPrivateKey:
    """A fresh random RSA key from the OS random source (EMV allows e = 3 or 65537)."""
    if exponent not in (3, 65537):
        raise UsageError(f"EMV allows public exponents 3 and 65537, got {exponent}")
    if bits < 512 or bits > 2048 or bits % 8:
        raise UsageError(f"RSA modulus must be 512..2048 bits in whole bytes, got {bits}")
    key = rsa.generate_private_key(public_exponent=exponent, key_size=bits)
    numbers = key.private_numbers()
    return RsaPrivateKey(
        numbers.public_numbers.n, numbers.public_numbers.e, numbers.d, numbers.p, numbers.q
    )


def rsa_private_from_primes(p: int, q: int, exponent: int) -> RsaPrivateKey:
    """Build a private key from two primes (used by deterministic test-key generation).

    ``cryptography`` checks the key's consistency; a bad pair raises UsageError.
    """
    try:
        d = pow(exponent, -1, (p - 1) * (q - 1))
    except ValueError as exc:
        raise UsageError(f"exponent {exponent} is not invertible for these primes") from exc
    n = p * q
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q), iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(exponent, n),
    )
    try:
        numbers.private_key(unsafe_skip_rsa_key_validation=False)
    except ValueError as exc:
        raise UsageError(f"not a valid RSA key: {exc}") from exc
    return RsaPrivateKey(n, exponent, d, p, q)


def rsa_public_raw(key: RsaPublicKey, block: bytes) -> bytes:
    """Raw RSA public operation (recovery), output left-padded to the modulus length.

    Raises :class:`VerificationError` when the input is not below the modulus, since
    the input comes from the card (Book 2 §5.3 step 1: length must equal N).
    """
    if len(block) != key.size_bytes:
        raise VerificationError(
            "RSA recovery", f"input is {len(block)} bytes but the key modulus is {key.size_bytes} bytes"
        )
    value = int.from_bytes(block, "big")
    if value >= key.modulus:
        raise VerificationError("RSA recovery", "input is not smaller than the modulus")
    return pow(value, key.exponent, key.modulus).to_bytes(key.size_bytes, "big")


def rsa_private_raw(key: RsaPrivateKey, block: bytes) -> bytes:
    """Raw RSA private operation (signing a formatted EMV block), using the CRT."""
    size = (key.modulus.bit_length() + 7) // 8
    if len(block) != size:
        raise UsageError(f"block is {len(block)} bytes but the modulus is {size} bytes")
    m = int.from_bytes(block, "big")
    if m >= key.modulus:
        raise UsageError("block is not smaller than the modulus")
    dp, dq, q_inv = key._crt
    m1, m2 = pow(m, dp, key.p), pow(m, dq, key.q)
    h = (q_inv * (m1 - m2)) % key.p
    return (m2 + h * key.q).to_bytes(size, "big")


# --------------------------------------------------------------------------- ECDSA P-256 (device key)

#: How many P-256 key objects :func:`ec_sign` keeps set up (one per phone in use).
EC_KEY_CACHE_SIZE = 8
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())  # an immutable algorithm description


@dataclass(frozen=True, repr=False)
class EcPrivateKey:
    """A P-256 private key (the phone's device key). ``repr`` hides the scalar."""

    scalar: int

    def __repr__(self) -> str:
        return "EcPrivateKey(P-256, <secret>)"


def ec_generate() -> EcPrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    return EcPrivateKey(key.private_numbers().private_value)


def ec_from_scalar(scalar: int) -> EcPrivateKey:
    """A P-256 key from a given scalar (deterministic test keys); 1 <= scalar < n."""
    try:
        _ec_private(scalar)  # validates, and sets the key up for signing
    except ValueError as exc:
        raise UsageError(f"not a valid P-256 private scalar: {exc}") from exc
    return EcPrivateKey(scalar)


@functools.lru_cache(maxsize=EC_KEY_CACHE_SIZE)
def _ec_private(scalar: int) -> ec.EllipticCurvePrivateKey:
    # Deriving the key object is a P-256 scalar multiplication (the public point):
    # a phone's device key is long-lived, so it is set up once, like a key in a
    # secure element. cryptography's key objects never show the scalar in a repr.
    return ec.derive_private_key(scalar, ec.SECP256R1())


def clear_ec_keys() -> None:
    """Forget the P-256 key objects set up for signing and verifying."""
    _ec_private.cache_clear()
    _ec_public_point.cache_clear()
    _ec_public_key.cache_clear()


@functools.lru_cache(maxsize=EC_KEY_CACHE_SIZE)
def _ec_public_point(scalar: int) -> bytes:
    return _ec_private(scalar).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def ec_public_bytes(key: EcPrivateKey) -> bytes:
    """Uncompressed SEC1 point (65 bytes, ``04 || X || Y``) of the key's public half."""
    return _ec_public_point(key.scalar)


def ec_sign(key: EcPrivateKey, message: bytes) -> bytes:
    """ECDSA-SHA256 signature as 64 bytes ``r || s`` (fixed length, easy to carry)."""
    der = _ec_private(key.scalar).sign(bytes(message), _ECDSA_SHA256)
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@functools.lru_cache(maxsize=64)
def _ec_public_key(point: bytes) -> ec.EllipticCurvePublicKey:
    # Decoding checks the point is on the curve; a verifier sees the same enrolled
    # devices again and again (public data; a bad point raises and is not kept).
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def ec_verify(public_point: bytes, signature: bytes, message: bytes) -> None:
    """Verify an ECDSA-SHA256 ``r || s`` signature; raise VerificationError if bad."""
    try:
        public = _ec_public_key(bytes(public_point))
    except (ValueError, TypeError) as exc:
        raise VerificationError("device signature", f"device public key is not a P-256 point: {exc}") from exc
    if len(signature) != 64:
        raise VerificationError("device signature", f"signature must be 64 bytes, got {len(signature)}")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public.verify(der, bytes(message), _ECDSA_SHA256)
    except InvalidSignature as exc:
        raise VerificationError("device signature", "signature does not match the device key") from exc


# --------------------------------------------------------------------------- HOTP / TOTP (RFC 4226 / 6238)

_OTP_HASHES = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256, "SHA512": hashes.SHA512}


def _otp_hash(name: str) -> hashes.HashAlgorithm:
    try:
        return _OTP_HASHES[name.upper()]()
    except KeyError:
        raise UsageError(f"OTP hash must be one of {', '.join(_OTP_HASHES)}, got {name!r}") from None


def _check_otp(secret: bytes, digits: int) -> None:
    if len(secret) < 16:
        # RFC 4226 §4 R6 requires at least 128 bits; cryptography enforces it too.
        raise UsageError(f"OTP secret must be at least 16 bytes, got {len(secret)}")
    if digits not in (6, 7, 8):
        raise UsageError(f"OTP length must be 6, 7 or 8 digits, got {digits}")


def hotp(secret: bytes, counter: int, digits: int = 6, algorithm: str = "SHA1") -> str:
    """RFC 4226 HOTP value for ``counter`` as a zero-padded decimal string."""
    _check_otp(secret, digits)
    return HOTP(bytes(secret), digits, _otp_hash(algorithm), enforce_key_length=False).generate(counter).decode()


def totp(secret: bytes, unix_time: int, digits: int = 8, algorithm: str = "SHA1", step: int = 30) -> str:
    """RFC 6238 TOTP value at ``unix_time`` (T0 = 0) as a zero-padded decimal string."""
    _check_otp(secret, digits)
    if step <= 0:
        raise UsageError("TOTP time step must be positive")
    totp_ = TOTP(bytes(secret), digits, _otp_hash(algorithm), step, enforce_key_length=False)
    return totp_.generate(int(unix_time)).decode()


# --------------------------------------------------------------------------- AES-CBC decryption (secure messaging)


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV16) -> bytes:
    """AES-CBC decrypt, no padding removed (the card side of AES secure messaging)."""
    _check("AES key", key, 16, 24, 32)
    _check("IV", iv, 16)
    _check_blocks(data, 16)
    dec = Cipher(algorithms.AES(bytes(key)), modes.CBC(bytes(iv))).decryptor()
    return dec.update(bytes(data)) + dec.finalize()


# --------------------------------------------------------------------------- prepared ECB keys (issuer master keys)


class EcbEncryptor:
    """A block-cipher key set up once for many ECB encryptions, like a key loaded in an HSM.

    For a long-lived key used for many derivations (an issuer master key deriving ICC
    master keys): each call then costs the block operations, not a cipher set-up.
    ECB keeps no state between blocks, so one context serves every call (calls are
    serialised by the GIL). ``repr`` never shows the key. Build with :meth:`tdes`
    (8/16/24-byte key) or :meth:`aes`.
    """

    __slots__ = ("_block", "_ctx")

    def __init__(self, algorithm: TripleDES | algorithms.AES, block: int) -> None:
        self._ctx = Cipher(algorithm, modes.ECB()).encryptor()
        self._block = block

    @classmethod
    def tdes(cls, key: bytes) -> EcbEncryptor:
        _check("DES key", key, 8, 16, 24)
        return cls(TripleDES(tdes_key24(bytes(key))), 8)

    @classmethod
    def aes(cls, key: bytes) -> EcbEncryptor:
        _check("AES key", key, 16, 24, 32)
        return cls(algorithms.AES(bytes(key)), 16)

    def encrypt(self, data: bytes) -> bytes:
        if type(data) is not bytes:
            if not isinstance(data, bytearray | memoryview):
                raise UsageError(f"data must be bytes, got {type(data).__name__}")
            data = bytes(data)
        _check_blocks(data, self._block)
        return self._ctx.update(data)

    def __repr__(self) -> str:
        return f"EcbEncryptor({self._block * 8}-bit block, <key hidden>)"


# --------------------------------------------------------------------------- ISO/IEC 9797-1 MAC algorithm 3 (EMV MAC)


_CBC_ZERO_IV8 = modes.CBC(ZERO_IV8)  # mode objects are immutable: built once
_ECB = modes.ECB()


def des_mac_alg3(k: bytes, k_prime: bytes, padded: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with single-DES keys K, K' over padded data (8 bytes).

    Two cipher set-ups whatever the length (EMV Book 2 Annex A1.2.1): single-DES CBC
    under K over every block but the last, then DES_K(DES^-1_K'(DES_K(Xn xor Hn-1))),
    which is EDE triple DES under K || K' || K. Padding is the caller's (see
    protocol.crypto.mac). This is the hot path of ARQC checking, hence the terse code.
    """
    if not (type(k) is bytes and type(k_prime) is bytes and type(padded) is bytes):
        for name, value in (("MAC key K", k), ("MAC key K'", k_prime), ("MAC input", padded)):
            if not isinstance(value, bytes | bytearray | memoryview):
                raise UsageError(f"{name} must be bytes, got {type(value).__name__}")
        k, k_prime, padded = bytes(k), bytes(k_prime), bytes(padded)
    if len(k) != 8 or len(k_prime) != 8:
        raise UsageError(f"MAC keys K and K' must be 8 bytes each, got {len(k)} and {len(k_prime)}")
    n = len(padded)
    if n == 0 or n % 8:
        raise UsageError(f"MAC input must be a positive number of 8-byte blocks, got {n} bytes")
    last = padded[-8:]
    if n > 8:
        chain = Cipher(TripleDES(k * 3), _CBC_ZERO_IV8).encryptor().update(padded[:-8])[-8:]
        last = (int.from_bytes(chain, "big") ^ int.from_bytes(last, "big")).to_bytes(8, "big")
    return Cipher(TripleDES(k + k_prime + k), _ECB).encryptor().update(last)
