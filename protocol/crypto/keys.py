"""ICC master key and session key derivation (EMV 4.4 Book 2 Annex A1.3, A1.4).

Triple-DES (two-key, 16-byte) keys throughout, except the simulator's AES model
variant at the end of this module.

* **ICC master key, option A** (Annex A1.4.1): X = PAN || PSN (PSN '00' when absent),
  Y = the rightmost 16 digits of X, left-padded with '0' when shorter, packed BCD
  (8 bytes). MK = 3DES(IMK)[Y] || 3DES(IMK)[Y xor FF..FF], with odd DES parity.
* **ICC master key, option B** (Annex A1.4.2), for PANs longer than 16 digits
  (option A otherwise): SHA-1 of BCD(PAN || PSN, '0'-prefixed to an even length);
  of its 40 hex digits take the decimal ones left to right, then if fewer than 16
  the letters a..f left to right mapped to 0..5; the first 16 form Y; then as option A.
* **Common session key derivation** (Annex A1.3.1): for an 8-byte diversification
  value R, SK = 3DES(MK)[R with byte 3 := F0] || 3DES(MK)[R with byte 3 := 0F].
  R = ATC || 00 x 6 for application cryptograms, R = ARQC for secure messaging.
* **Mastercard session key derivation (SKD)** used by M/Chip CVN 16/17 and Interac
  CVN 133: the common derivation with R = ATC || 00 00 || UN.
* **Visa secure-messaging session key** (VIS): SK_L = MK_L with its last two bytes
  xor ATC, SK_R = MK_R with its last two bytes xor (ATC xor FFFF).
* **EMV2000 tree derivation** (EMV 4.0 / 4.1 Book 2 Annex A1.3, replaced by the
  common derivation by EMVCo bulletin SU-46; kept because old cards and the public
  vectors use it). See :func:`session_key_emv2000_tree`.

All derived triple-DES keys have odd parity applied (parity bits never change a DES
result, but a VIS PIN block uses ICC master key bytes as data, so it matters there).

Issuer master keys are set up once per process for ECB (a small LRU cache of
:class:`~protocol.crypto.primitives.EcbEncryptor`, like keys loaded in an HSM), so a
verifier's ICC master key derivation costs block operations, not a cipher set-up;
:func:`clear_prepared_keys` drops them.

AES model variant (this simulator's own design, not a payment scheme's)
-----------------------------------------------------------------------
In the style of EMV Book 2 Annex A1 for a 16-byte block cipher (one block
encryption per derived key, MAC = CMAC, i.e. ISO/IEC 9797-1 MAC algorithm 5, with an
8-byte result); the exact choices below are this simulator's, so cards and verifiers
of the model interoperate only with each other. AES-128 keys throughout:

* ICC master key: Y = PAN || PSN digits, left-padded with '0' to 32 digits, packed
  BCD (16 bytes; no truncation needed for a 19-digit PAN), MK = AES-128(IMK)[Y].
* Session key: R = diversification value right-padded with zeros to 16 bytes,
  SK = AES-128(MK)[R]; R = ATC for cryptograms (ATC || 00 x 14), R = ARQC for
  secure messaging (ARQC || 00 x 8).
* Cryptogram, ARPC and script MACs: AES-CMAC (NIST SP 800-38B) truncated to 8 bytes
  (ARPC: 4 bytes), see :mod:`protocol.crypto.cryptogram`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from protocol.crypto import primitives
from protocol.crypto.mac import adjust_des_parity, aes_key_check_value, key_check_value, tdes_key24
from protocol.errors import UsageError

__all__ = [
    "IssuerMasterKeys",
    "check_pan",
    "check_psn",
    "clear_prepared_keys",
    "derive_icc_mk_a",
    "derive_icc_mk_aes",
    "derive_icc_mk_b",
    "kcv",
    "session_key_aes",
    "session_key_common",
    "session_key_emv2000_tree",
    "session_key_mastercard",
    "session_key_visa_sm",
]

_ALL_ONES = (1 << 64) - 1


@functools.lru_cache(maxsize=32)
def _prepared(imk: bytes, aes: bool) -> primitives.EcbEncryptor:
    # Issuer master keys are few and long-lived: set each one up once (as an HSM holds
    # a loaded key) so that an ICC master key derivation costs block operations only.
    return primitives.EcbEncryptor.aes(imk) if aes else primitives.EcbEncryptor.tdes(imk)


def clear_prepared_keys() -> None:
    """Forget the issuer master keys prepared for derivation (e.g. when a profile is unloaded)."""
    _prepared.cache_clear()


def _key(name: str, key: bytes, length: int = 16) -> bytes:
    if type(key) is bytes and len(key) == length:  # the common case, checked cheaply
        return key
    if not isinstance(key, bytes | bytearray):
        raise UsageError(f"{name} must be bytes, got {type(key).__name__}")
    if len(key) != length:
        raise UsageError(f"{name} must be {length} bytes, got {len(key)}")
    return bytes(key)


def _fixed(name: str, value: bytes, length: int) -> bytes:
    if type(value) is bytes and len(value) == length:
        return value
    if not isinstance(value, bytes | bytearray):
        raise UsageError(f"{name} must be bytes, got {type(value).__name__}")
    if len(value) != length:
        raise UsageError(f"{name} must be {length} bytes, got {len(value)}")
    return bytes(value)


def check_pan(pan: str) -> str:
    """Return ``pan`` if it is 8..19 decimal digits (ISO/IEC 7812-1), else raise UsageError.

    The message never echoes the PAN (DESIGN.md §7: PANs are masked everywhere).
    """
    if not isinstance(pan, str):
        raise UsageError(f"PAN must be a str of decimal digits, got {type(pan).__name__}")
    if not (pan.isascii() and pan.isdigit()):
        raise UsageError("PAN must contain decimal digits only (strip any 'F' padding from tag 5A)")
    if not 8 <= len(pan) <= 19:
        raise UsageError(f"PAN must be 8 to 19 digits, got {len(pan)}")
    return pan


def check_psn(psn: str | None) -> str:
    """Return the 2-digit PAN sequence number, '00' when absent (Book 2 Annex A1.4.1)."""
    if psn is None:
        return "00"
    if not isinstance(psn, str) or len(psn) != 2 or not (psn.isascii() and psn.isdigit()):
        raise UsageError(f"PAN sequence number must be 2 decimal digits, got {psn!r}")
    return psn


def _option_a_from_digits(imk: bytes, digits16: str) -> bytes:
    y = int(digits16, 16)
    block = ((y << 64) | (y ^ _ALL_ONES)).to_bytes(16, "big")  # Y || (Y xor FF..FF)
    return adjust_des_parity(_prepared(imk, False).encrypt(block))


def derive_icc_mk_a(imk: bytes, pan: str, psn: str | None = "00") -> bytes:
    """ICC master key derivation option A (EMV 4.4 Book 2 Annex A1.4.1).

    ``imk`` is the 16-byte issuer master key; ``pan`` the decimal PAN digits;
    ``psn`` the 2-digit PAN sequence number (None when the card has none: '00').
    """
    imk = _key("issuer master key", imk)
    x = check_pan(pan) + check_psn(psn)
    return _option_a_from_digits(imk, x[-16:].rjust(16, "0"))


def derive_icc_mk_b(imk: bytes, pan: str, psn: str | None = "00") -> bytes:
    """ICC master key derivation option B (EMV 4.4 Book 2 Annex A1.4.2).

    For a PAN of 16 digits or fewer this is option A, as the book requires.
    """
    imk = _key("issuer master key", imk)
    pan, psn = check_pan(pan), check_psn(psn)
    if len(pan) <= 16:
        return derive_icc_mk_a(imk, pan, psn)
    x = pan + psn
    if len(x) % 2:
        x = "0" + x
    digest = primitives.sha1(bytes.fromhex(x)).hex()
    decimal = "".join(c for c in digest if c.isdigit())
    if len(decimal) < 16:
        decimal += "".join(str(int(c, 16) - 10) for c in digest if not c.isdigit())
    return _option_a_from_digits(imk, decimal[:16])


def session_key_common(mk: bytes, r: bytes) -> bytes:
    """Common session key derivation (EMV 4.4 Book 2 Annex A1.3.1) for a 16-byte 3DES MK.

    SK = 3DES(MK)[R0 R1 F0 R3..R7] || 3DES(MK)[R0 R1 0F R3..R7], odd parity.
    ``r`` is 8 bytes (ATC || 00 x 6, ATC || 0000 || UN, or the ARQC).
    """
    mk = _key("ICC master key", mk)
    r = _fixed("diversification value R", r, 8)
    head, tail = r[:2], r[3:]
    block = head + b"\xf0" + tail + head + b"\x0f" + tail
    return adjust_des_parity(primitives.tdes_ecb_encrypt(mk + mk[:8], block))


def session_key_mastercard(mk: bytes, atc: bytes, un: bytes) -> bytes:
    """Mastercard proprietary SKD (M/Chip CVN 16/17, Interac CVN 133).

    The common derivation with R = ATC (2) || 00 00 || UN (4 bytes, tag 9F37).
    """
    return session_key_common(mk, _fixed("ATC", atc, 2) + b"\x00\x00" + _fixed("unpredictable number", un, 4))


def session_key_visa_sm(mk: bytes, atc: bytes) -> bytes:
    """Visa secure-messaging session key (VIS): ATC-modified ICC master key.

    SK = (MK_L xor 00..00 || ATC) || (MK_R xor 00..00 || (ATC xor FFFF)), odd parity.
    """
    mk = _key("ICC master key", mk)
    atc_v = int.from_bytes(_fixed("ATC", atc, 2), "big")
    left = int.from_bytes(mk[:8], "big") ^ atc_v
    right = int.from_bytes(mk[8:], "big") ^ (atc_v ^ 0xFFFF)
    return adjust_des_parity(left.to_bytes(8, "big") + right.to_bytes(8, "big"))


def session_key_emv2000_tree(
    mk: bytes, atc: bytes, *, height: int = 8, branch_factor: int = 4, iv: bytes = bytes(16)
) -> bytes:
    """EMV2000 tree session key derivation (EMV 4.0/4.1 Book 2 Annex A1.3).

    With b = ``branch_factor`` and H = ``height`` (b^H must cover every ATC value;
    the book recommends b = 4, H = 8 or b = 2, H = 16) and the function

        F(X, Y, j) = 3DES(X)[Y_L xor (j mod b)] || 3DES(X)[Y_R xor (j mod b) xor 'F0']

    (j mod b and 'F0' as 8-byte numbers), the intermediate keys are IK(-1) = IV,
    IK(0) = MK and, walking down the branch of the ATC, IK(i) = F(IK(i-1), IK(i-2),
    ATC div b^(H-i)) for i = 1..H. The session key is IK(H) xor IK(H-2) with odd
    parity applied; the intermediate keys are used as computed (no parity
    adjustment: they enter the next level as data, where it would matter).
    """
    mk = _key("ICC master key", mk)
    atc_v = int.from_bytes(_fixed("ATC", atc, 2), "big")
    iv = _fixed("IV", iv, 16)
    if not isinstance(height, int) or not isinstance(branch_factor, int) or height < 2 or branch_factor < 2:
        raise UsageError(f"tree height and branch factor must be integers >= 2, got {height} and {branch_factor}")
    if branch_factor**height < 0x10000:
        raise UsageError(
            f"branch factor {branch_factor} and height {height} give fewer session keys than ATC values (65536)"
        )
    ik = [iv, mk]  # ik[i + 1] is IK(i)
    for i in range(1, height + 1):
        j = (atc_v // branch_factor ** (height - i)) % branch_factor
        grandparent, parent = ik[i - 1], ik[i]
        yl = int.from_bytes(grandparent[:8], "big") ^ j
        yr = int.from_bytes(grandparent[8:], "big") ^ j ^ 0xF0
        data = yl.to_bytes(8, "big") + yr.to_bytes(8, "big")
        ik.append(primitives.tdes_ecb_encrypt(tdes_key24(parent), data))
    sk = int.from_bytes(ik[height + 1], "big") ^ int.from_bytes(ik[height - 1], "big")
    return adjust_des_parity(sk.to_bytes(16, "big"))


@dataclass(frozen=True, repr=False)
class IssuerMasterKeys:
    """The three issuer master keys of one card profile (AC, SMI, SMC).

    ``repr`` shows key check values only, never the keys.
    """

    ac: bytes
    smi: bytes
    smc: bytes

    def __post_init__(self) -> None:
        for name in ("ac", "smi", "smc"):
            _key(f"issuer master key {name.upper()}", getattr(self, name))

    def __repr__(self) -> str:
        kcv = {n: key_check_value(getattr(self, n)).hex().upper() for n in ("ac", "smi", "smc")}
        return f"IssuerMasterKeys(AC KCV {kcv['ac']}, SMI KCV {kcv['smi']}, SMC KCV {kcv['smc']})"


# --------------------------------------------------------------------------- AES model variant


def derive_icc_mk_aes(imk: bytes, pan: str, psn: str | None = "00") -> bytes:
    """AES model variant: MK = AES-128(IMK)[BCD(PAN || PSN) left-padded to 16 bytes].

    The simulator's own choice (see the module docstring), in the spirit of EMV Book 2
    Annex A1.4 for a 16-byte block cipher. ``imk`` is a 16-byte AES key.
    """
    imk = _key("AES issuer master key", imk)
    x = check_pan(pan) + check_psn(psn)
    return _prepared(imk, True).encrypt(bytes.fromhex(x.rjust(32, "0")))


def session_key_aes(mk: bytes, r: bytes) -> bytes:
    """AES model variant: SK = AES-128(MK)[R || 00..] (R of 2..16 bytes, e.g. ATC or ARQC)."""
    mk = _key("AES ICC master key", mk)
    if not isinstance(r, bytes | bytearray) or not 2 <= len(r) <= 16:
        raise UsageError("AES diversification value R must be 2..16 bytes")
    return primitives.aes_ecb_encrypt(mk, bytes(r).ljust(16, b"\x00"))


def kcv(key: bytes, *, aes: bool = False, length: int = 3) -> str:
    """Key check value as upper-case hex, for display (DES by default, AES if ``aes``)."""
    return (aes_key_check_value(key, length) if aes else key_check_value(key, length)).hex().upper()
