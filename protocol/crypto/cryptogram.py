"""Application cryptograms (ARQC/TC/AAC) and ARPCs per CVN (EMV 4.4 Book 2 §8, Annex A1).

* Cryptogram: the CVN's session key (Annex A1.3) over the cryptogram input
  (:func:`ac_input`), MACed with ISO/IEC 9797-1 MAC algorithm 3 (Annex A1.2.1;
  padding method 2, or method 1 for Visa CVN 10), 8 bytes; the AES model variant
  uses AES-CMAC truncated to 8 bytes.
* ARPC method 1 (Book 2 §8.2.1): ARPC = 3DES(key)[ARQC xor (ARC || 00 x 6)], 8 bytes,
  key = ICC master key or AC session key depending on the CVN. Issuer
  authentication data (tag 91) = ARPC || ARC.
* ARPC method 2 (Book 2 §8.2.2): ARPC = leftmost 4 bytes of MAC algorithm 3 (padding
  method 2) under the AC session key over ARQC || CSU || proprietary authentication
  data (0..8 bytes). Tag 91 = ARPC || CSU || proprietary authentication data.

Every computation has a ``compute_*`` form returning a frozen dataclass with the
intermediate values (derived keys, the exact MAC input) for the app to show; their
``repr`` shows key check values, never keys. Verification *raises*
:class:`~protocol.errors.VerificationError`; it never returns a bool.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.crypto import primitives
from protocol.crypto.cvn import (
    AcMac,
    ArpcKey,
    ArpcMethod,
    Cvn,
    MasterKeyOption,
    SessionKeyMethod,
    ac_input,
    build_iad,
    build_terminal_data,
    iad_trailing_data,
)
from protocol.crypto.keys import (
    derive_icc_mk_a,
    derive_icc_mk_aes,
    derive_icc_mk_b,
    kcv,
    session_key_aes,
    session_key_common,
)
from protocol.crypto.mac import Padding, emv_mac, pad, tdes_key24
from protocol.errors import UsageError, VerificationError

__all__ = [
    "AcComputation",
    "ArpcComputation",
    "Cvn",
    "ac_input",
    "application_cryptogram",
    "arpc_aes_cmac",
    "arpc_method_1",
    "arpc_method_2",
    "build_iad",
    "build_terminal_data",
    "compute_ac",
    "compute_ac_from_icc_mk",
    "compute_arpc",
    "compute_arpc_from_icc_mk",
    "derive_ac_session_key",
    "derive_icc_master_key",
    "generate_ac",
    "generate_ac_from_icc_mk",
    "generate_arpc",
    "generate_arpc_from_icc_mk",
    "iad_trailing_data",
    "verify_ac",
    "verify_ac_from_icc_mk",
    "verify_arpc_from_icc_mk",
]


def _b(name: str, value: bytes | None, *lengths: int) -> bytes:
    if type(value) is bytes and (not lengths or len(value) in lengths):  # the common case
        return value
    if not isinstance(value, bytes | bytearray):
        what = "missing" if value is None else f"of type {type(value).__name__}"
        raise UsageError(f"{name} must be bytes, got {what}")
    if lengths and len(value) not in lengths:
        allowed = " or ".join(str(n) for n in lengths)
        raise UsageError(f"{name} must be {allowed} bytes, got {len(value)}")
    return bytes(value)


def _key(name: str, key: bytes) -> bytes:
    if type(key) is bytes and len(key) == 16:
        return key
    if not isinstance(key, bytes | bytearray) or len(key) != 16:
        got = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise UsageError(f"{name} must be 16 bytes, got {got}")
    return bytes(key)


# --------------------------------------------------------------------------- keys per CVN


def derive_icc_master_key(cvn: Cvn, imk: bytes, pan: str, psn: str | None = "00") -> bytes:
    """The ICC master key for ``cvn``'s derivation option (Book 2 Annex A1.4)."""
    option = Cvn.parse(cvn).profile.mk_option
    if option is MasterKeyOption.A:
        return derive_icc_mk_a(imk, pan, psn)
    if option is MasterKeyOption.B:
        return derive_icc_mk_b(imk, pan, psn)
    return derive_icc_mk_aes(imk, pan, psn)


def derive_ac_session_key(
    cvn: Cvn, icc_mk: bytes, *, atc: bytes, un: bytes | None = None
) -> tuple[bytes, bytes | None]:
    """The application cryptogram key of ``cvn`` and the diversification value R used.

    Returns ``(key, R)``; for Visa CVN 10 the key is the ICC master key and R is None.
    """
    method = Cvn.parse(cvn).profile.ac_session_key
    icc_mk = _key("ICC master key AC", icc_mk)
    atc = _b("ATC", atc, 2)
    if method is SessionKeyMethod.NONE:
        return icc_mk, None
    if method is SessionKeyMethod.COMMON:
        r = atc + bytes(6)
        return session_key_common(icc_mk, r), r
    if method is SessionKeyMethod.MASTERCARD_SKD:
        r = atc + b"\x00\x00" + _b("unpredictable number (needed by Mastercard SKD)", un, 4)
        return session_key_common(icc_mk, r), r
    r = atc + bytes(14)
    return session_key_aes(icc_mk, r), r


# --------------------------------------------------------------------------- application cryptogram


def application_cryptogram(sk: bytes, data: bytes, padding: Padding = Padding.METHOD_2) -> bytes:
    """8-byte MAC algorithm 3 cryptogram over ``data`` under a 16-byte 3DES key (Annex A1.2.1)."""
    return emv_mac(sk, data, padding)


@dataclass(frozen=True, repr=False)
class AcComputation:
    """Every value of one application cryptogram computation, for display and checking."""

    cvn: Cvn
    icc_master_key: bytes
    session_key: bytes
    """The key that MACed the input (the ICC master key itself for Visa CVN 10)."""
    session_key_input: bytes | None
    """R, the session key diversification value (None when no session key is derived)."""
    mac_input: bytes
    cryptogram: bytes

    @property
    def padded_input(self) -> bytes:
        """The blocks the cipher processed (CMAC pads internally: the input itself)."""
        ac_mac = self.cvn.profile.ac_mac
        if ac_mac is AcMac.AES_CMAC:
            return self.mac_input
        return pad(self.mac_input, Padding.METHOD_1 if ac_mac is AcMac.ALG3_METHOD_1 else Padding.METHOD_2)

    @property
    def icc_master_key_kcv(self) -> str:
        return kcv(self.icc_master_key, aes=self.cvn.profile.is_aes)

    @property
    def session_key_kcv(self) -> str:
        return kcv(self.session_key, aes=self.cvn.profile.is_aes)

    def verify(self, presented: bytes, *, check: str = "ARQC") -> None:
        """Raise VerificationError(``check``) unless ``presented`` equals the cryptogram."""
        _check_cryptogram(self.cvn, presented, self.cryptogram, check)

    def __repr__(self) -> str:
        return (
            f"AcComputation({self.cvn.name}, ICC MK KCV {self.icc_master_key_kcv}, "
            f"SK KCV {self.session_key_kcv}, input {self.mac_input.hex().upper()}, "
            f"AC {self.cryptogram.hex().upper()})"
        )


def _cryptogram(
    cvn: Cvn, icc_mk: bytes, atc: bytes, un: bytes | None, ac_input: bytes
) -> tuple[bytes, bytes | None, bytes]:
    """(session key, R, cryptogram): the shared core of generation and verification."""
    data = _b("cryptogram input", ac_input)
    if not data:
        raise UsageError("cryptogram input is empty")
    sk, r = derive_ac_session_key(cvn, icc_mk, atc=atc, un=un)
    ac_mac = cvn.profile.ac_mac
    if ac_mac is AcMac.ALG3_METHOD_2:
        return sk, r, emv_mac(sk, data)
    if ac_mac is AcMac.ALG3_METHOD_1:
        return sk, r, emv_mac(sk, data, Padding.METHOD_1)
    return sk, r, primitives.aes_cmac(sk, data)[:8]


def _check_cryptogram(cvn: Cvn, presented: bytes, expected: bytes, check: str) -> None:
    if not isinstance(presented, bytes | bytearray) or len(presented) != 8:
        raise VerificationError(check, "the card's cryptogram is not 8 bytes")
    if not primitives.constant_time_equal(presented, expected):
        raise VerificationError(
            check,
            f"{bytes(presented).hex().upper()} does not match the cryptogram recomputed "
            f"({cvn.profile.label}) from the verifier's own transaction data",
        )


def compute_ac_from_icc_mk(
    cvn: Cvn, icc_master_key_ac: bytes, *, atc: bytes, un: bytes | None = None, ac_input: bytes
) -> AcComputation:
    """Application cryptogram of ``cvn`` from the card's ICC master key (what a card does)."""
    cvn = Cvn.parse(cvn)
    sk, r, ac = _cryptogram(cvn, icc_master_key_ac, atc, un, ac_input)
    return AcComputation(cvn, bytes(icc_master_key_ac), sk, r, bytes(ac_input), ac)


def compute_ac(
    cvn: Cvn, issuer_master_key_ac: bytes, pan: str, psn: str | None = "00", *,
    atc: bytes, un: bytes | None = None, ac_input: bytes,
) -> AcComputation:
    """Application cryptogram of ``cvn`` from the issuer master key (what a verifier does)."""
    cvn = Cvn.parse(cvn)
    icc_mk = derive_icc_master_key(cvn, issuer_master_key_ac, pan, psn)
    return compute_ac_from_icc_mk(cvn, icc_mk, atc=atc, un=un, ac_input=ac_input)


def generate_ac(
    cvn: Cvn, issuer_master_key_ac: bytes, pan: str, psn: str | None = "00", *,
    atc: bytes, un: bytes | None = None, ac_input: bytes,
) -> bytes:
    """The 8-byte cryptogram (ARQC, TC or AAC) from the issuer master key."""
    cvn = Cvn.parse(cvn)
    return _cryptogram(cvn, derive_icc_master_key(cvn, issuer_master_key_ac, pan, psn), atc, un, ac_input)[2]


def generate_ac_from_icc_mk(
    cvn: Cvn, icc_master_key_ac: bytes, *, atc: bytes, un: bytes | None = None, ac_input: bytes
) -> bytes:
    """The 8-byte cryptogram from the ICC master key."""
    return _cryptogram(Cvn.parse(cvn), icc_master_key_ac, atc, un, ac_input)[2]


def verify_ac(
    cvn: Cvn, issuer_master_key_ac: bytes, pan: str, psn: str | None = "00", *,
    atc: bytes, un: bytes | None = None, ac_input: bytes, cryptogram: bytes, check: str = "ARQC",
) -> None:
    """Recompute the cryptogram and raise ``VerificationError(check, ...)`` on mismatch.

    The comparison is constant-time; the message never reveals the expected value
    (which would let a forger learn the right cryptogram from a rejection).
    """
    cvn = Cvn.parse(cvn)
    icc_mk = derive_icc_master_key(cvn, issuer_master_key_ac, pan, psn)
    _check_cryptogram(cvn, cryptogram, _cryptogram(cvn, icc_mk, atc, un, ac_input)[2], check)


def verify_ac_from_icc_mk(
    cvn: Cvn, icc_master_key_ac: bytes, *, atc: bytes, un: bytes | None = None, ac_input: bytes,
    cryptogram: bytes, check: str = "ARQC",
) -> None:
    """As :func:`verify_ac`, from the ICC master key."""
    cvn = Cvn.parse(cvn)
    _check_cryptogram(cvn, cryptogram, _cryptogram(cvn, icc_master_key_ac, atc, un, ac_input)[2], check)


# --------------------------------------------------------------------------- ARPC


def arpc_method_1(key: bytes, arqc: bytes, arc: bytes) -> bytes:
    """ARPC method 1 (Book 2 §8.2.1): 3DES(key)[ARQC xor (ARC || 00 x 6)], 8 bytes."""
    key = _key("ARPC key", key)
    arqc, arc = _b("ARQC", arqc, 8), _b("authorisation response code", arc, 2)
    y = (int.from_bytes(arqc, "big") ^ (int.from_bytes(arc, "big") << 48)).to_bytes(8, "big")
    return primitives.tdes_ecb_encrypt(tdes_key24(key), y)


def _method_2_input(arqc: bytes, csu: bytes, prop_auth_data: bytes) -> bytes:
    prop = _b("proprietary authentication data", prop_auth_data)
    if len(prop) > 8:
        raise UsageError(f"proprietary authentication data must be 0..8 bytes, got {len(prop)}")
    return _b("ARQC", arqc, 8) + _b("card status update", csu, 4) + prop


def arpc_method_2(sk: bytes, arqc: bytes, csu: bytes, prop_auth_data: bytes = b"") -> bytes:
    """ARPC method 2 (Book 2 §8.2.2): MAC alg. 3 (method 2) over ARQC || CSU || data, 4 bytes."""
    return emv_mac(_key("AC session key", sk), _method_2_input(arqc, csu, prop_auth_data), Padding.METHOD_2, 4)


def arpc_aes_cmac(sk: bytes, arqc: bytes, csu: bytes, prop_auth_data: bytes = b"") -> bytes:
    """AES model ARPC: AES-CMAC(SK)[ARQC || CSU || data], leftmost 4 bytes (method 2 shape)."""
    return primitives.aes_cmac(_key("AES AC session key", sk), _method_2_input(arqc, csu, prop_auth_data))[:4]


@dataclass(frozen=True, repr=False)
class ArpcComputation:
    """Every value of one ARPC computation. ``repr`` hides the key."""

    cvn: Cvn
    key_role: ArpcKey
    key: bytes
    arpc_input: bytes
    """Method 1: ARQC xor (ARC || 00 x 6) as enciphered; method 2/AES: the MAC input."""
    arpc: bytes
    response_data: bytes
    """Method 1: the ARC (2 bytes); method 2/AES: CSU || proprietary authentication data."""

    @property
    def issuer_authentication_data(self) -> bytes:
        """Tag 91 value: ARPC || ARC (method 1) or ARPC || CSU || prop. data (method 2)."""
        return self.arpc + self.response_data

    @property
    def key_kcv(self) -> str:
        return kcv(self.key, aes=self.cvn.profile.is_aes)

    def __repr__(self) -> str:
        return (
            f"ArpcComputation({self.cvn.name}, {self.key_role.value} KCV {self.key_kcv}, "
            f"ARPC {self.arpc.hex().upper()})"
        )


def compute_arpc_from_icc_mk(
    cvn: Cvn, icc_master_key_ac: bytes, *, arqc: bytes, atc: bytes, un: bytes | None = None,
    arc: bytes | None = None, csu: bytes | None = None, prop_auth_data: bytes = b"",
) -> ArpcComputation:
    """The ARPC of ``cvn``: method 1 needs ``arc``; method 2 and AES need ``csu``."""
    cvn = Cvn.parse(cvn)
    profile = cvn.profile
    if profile.arpc_key is ArpcKey.ICC_MASTER_KEY:
        key = _key("ICC master key AC", icc_master_key_ac)
    else:
        key, _ = derive_ac_session_key(cvn, icc_master_key_ac, atc=atc, un=un)
    if profile.arpc_method is ArpcMethod.METHOD_1:
        arc_b = _b(f"authorisation response code (ARPC method 1, {profile.label})", arc, 2)
        arqc_b = _b("ARQC", arqc, 8)
        y = (int.from_bytes(arqc_b, "big") ^ (int.from_bytes(arc_b, "big") << 48)).to_bytes(8, "big")
        return ArpcComputation(cvn, profile.arpc_key, key, y, arpc_method_1(key, arqc_b, arc_b), arc_b)
    csu_b = _b(f"card status update ({profile.label})", csu, 4)
    data = _method_2_input(arqc, csu_b, prop_auth_data)
    if profile.arpc_method is ArpcMethod.METHOD_2:
        arpc = arpc_method_2(key, arqc, csu_b, prop_auth_data)
    else:
        arpc = arpc_aes_cmac(key, arqc, csu_b, prop_auth_data)
    return ArpcComputation(cvn, profile.arpc_key, key, data, arpc, data[8:])


def compute_arpc(
    cvn: Cvn, issuer_master_key_ac: bytes, pan: str, psn: str | None = "00", *, arqc: bytes, atc: bytes,
    un: bytes | None = None, arc: bytes | None = None, csu: bytes | None = None, prop_auth_data: bytes = b"",
) -> ArpcComputation:
    """The ARPC of ``cvn`` from the issuer master key (what the verifier/issuer does)."""
    icc_mk = derive_icc_master_key(cvn, issuer_master_key_ac, pan, psn)
    return compute_arpc_from_icc_mk(
        cvn, icc_mk, arqc=arqc, atc=atc, un=un, arc=arc, csu=csu, prop_auth_data=prop_auth_data
    )


def generate_arpc(
    cvn: Cvn, issuer_master_key_ac: bytes, pan: str, psn: str | None = "00", *, arqc: bytes, atc: bytes,
    un: bytes | None = None, arc: bytes | None = None, csu: bytes | None = None, prop_auth_data: bytes = b"",
) -> bytes:
    """The ARPC bytes (8 for method 1, 4 for method 2 and the AES model)."""
    return compute_arpc(
        cvn, issuer_master_key_ac, pan, psn, arqc=arqc, atc=atc, un=un, arc=arc, csu=csu,
        prop_auth_data=prop_auth_data,
    ).arpc


def generate_arpc_from_icc_mk(
    cvn: Cvn, icc_master_key_ac: bytes, *, arqc: bytes, atc: bytes, un: bytes | None = None,
    arc: bytes | None = None, csu: bytes | None = None, prop_auth_data: bytes = b"",
) -> bytes:
    """The ARPC bytes from the ICC master key."""
    return compute_arpc_from_icc_mk(
        cvn, icc_master_key_ac, arqc=arqc, atc=atc, un=un, arc=arc, csu=csu, prop_auth_data=prop_auth_data
    ).arpc


def verify_arpc_from_icc_mk(
    cvn: Cvn, icc_master_key_ac: bytes, *, arpc: bytes, arqc: bytes, atc: bytes, un: bytes | None = None,
    arc: bytes | None = None, csu: bytes | None = None, prop_auth_data: bytes = b"",
) -> None:
    """Card side of issuer authentication (Book 3 §10.9): raise VerificationError("ARPC")."""
    expected = generate_arpc_from_icc_mk(
        cvn, icc_master_key_ac, arqc=arqc, atc=atc, un=un, arc=arc, csu=csu, prop_auth_data=prop_auth_data
    )
    if not isinstance(arpc, bytes | bytearray) or not primitives.constant_time_equal(arpc, expected):
        raise VerificationError("ARPC", "the issuer's response cryptogram does not match")
