"""Cryptogram version numbers (CVNs): which EMV Book 2 algorithms each one combines.

A CVN names a *card authentication method*: how the ICC master keys are derived
(EMV 4.4 Book 2 Annex A1.4), which session key the cryptogram uses (Annex A1.3),
how the MAC input is padded (Annex A1.2), which card data trails the terminal data
in the cryptogram input, how the ARPC is made (Book 2 §8.2) and how issuer scripts
are protected (Book 2 §9). The schemes' own documents (Visa VIS/VCPS, Mastercard
M/Chip, Interac) are not public; the profiles below follow the publicly documented
behaviour reproduced by the public test vectors (tests/vectors, README §2).

| CVN | MK | AC key | pad | trailing AC data | ARPC | SM key | script MAC | SM enc / PIN block |
|---|---|---|---|---|---|---|---|---|
| Visa 10 | A | ICC MK | m1 | CVR (IAD 4-7) | 1, ICC MK | Visa (ATC) | HAQD | visa / VIS |
| Visa 18 | B | common (ATC) | m2 | whole IAD | 2, AC SK | Visa (ATC) | HAQD | visa / VIS |
| Visa 22 | B | common (ATC) | m2 | whole IAD | 2, AC SK | common (ARQC) | HAQD | visa / ISO-2 or VIS * |
| Interac 133 | A | MC SKD | m2 | whole IAD | 1, AC SK | common (ARQC) | HD | mastercard / ISO-2 |
| Mastercard 16 | A | MC SKD | m2 | CVR (IAD 3-8) | 1, ICC MK | common (ARQC) | HAQD | mastercard / ISO-2 |
| Mastercard 17 | A | MC SKD | m2 | CVR, counters (IAD 11-18) | 1, ICC MK | common (ARQC) | HAQD | mastercard / ISO-2 |
| Mastercard 20 | A | common (ATC) | m2 | CVR | 1, AC SK | common (ARQC) | HAQD | mastercard / ISO-2 |
| Mastercard 21 | A | common (ATC) | m2 | CVR, counters | 1, AC SK | common (ARQC) | HAQD | mastercard / ISO-2 |
| AES model | AES | AES (ATC) | CMAC | whole IAD | CMAC, AC SK | AES (ARQC) | HAQD | AES-CBC / ISO-2 |

m1/m2: ISO/IEC 9797-1 padding method 1/2; MC SKD: R = ATC || 0000 || UN; common
(ATC): R = ATC || 00 x 6; HAQD: command header || ATC || ARQC || command data; HD:
header || data; * VIS PIN block when the current PIN is given.

Issuer application data (tag 9F10) layouts assumed (byte numbers 1-based):

* Visa CVN 10/18/22 (Visa IAD format 0/1): 1 length of what follows up to the CVR
  (06), 2 derivation key index, 3 CVN, 4-7 card verification results (its first
  byte is the CVR length, 03), then optional issuer discretionary data.
* Mastercard CVN 16/17/20/21 (M/Chip 4): 1 derivation key index, 2 CVN, 3-8 CVR,
  9-10 DAC/ICC dynamic number, 11-18 counters in plaintext (M/Chip Advance's
  16-byte or encrypted counters are not modelled).
* Interac CVN 133: only the whole 9F10 is used.
* AES model: as Visa (length, DKI, CVN = AE, 4-byte CVR), the whole 9F10 is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from protocol.errors import MalformedDataError, UsageError

__all__ = [
    "TERMINAL_DATA_LENGTH",
    "TERMINAL_DATA_TAGS",
    "AcMac",
    "ArpcKey",
    "ArpcMethod",
    "Cvn",
    "CvnProfile",
    "MasterKeyOption",
    "PinBlockFormat",
    "ScriptMacData",
    "SessionKeyMethod",
    "SmEncryption",
    "SmSessionKey",
    "TrailingData",
    "ac_input",
    "build_iad",
    "build_terminal_data",
    "iad_trailing_data",
]


class MasterKeyOption(Enum):
    """ICC master key derivation (Book 2 Annex A1.4)."""

    A = "option A"
    B = "option B"
    AES = "AES model (AES-128 of BCD PAN || PSN)"


class SessionKeyMethod(Enum):
    """Application cryptogram session key (Book 2 Annex A1.3)."""

    NONE = "none: the ICC master key itself"
    COMMON = "common session key, R = ATC || 00 x 6"
    MASTERCARD_SKD = "Mastercard SKD, R = ATC || 0000 || UN"
    AES = "AES model, R = ATC || 00 x 14"


class AcMac(Enum):
    """MAC of the cryptogram input (Book 2 Annex A1.2)."""

    ALG3_METHOD_1 = "ISO 9797-1 MAC algorithm 3, padding method 1"
    ALG3_METHOD_2 = "ISO 9797-1 MAC algorithm 3, padding method 2"
    AES_CMAC = "AES-CMAC, leftmost 8 bytes"


class TrailingData(Enum):
    """Card data appended after terminal data, AIP and ATC in the cryptogram input."""

    VISA_CVR = "CVR, IAD bytes 4-7"
    MASTERCARD_CVR = "CVR, IAD bytes 3-8"
    MASTERCARD_CVR_COUNTERS = "CVR and counters, IAD bytes 3-8 and 11-18"
    FULL_IAD = "the whole issuer application data"


class ArpcMethod(Enum):
    """Book 2 §8.2.1 (method 1: 8 bytes, with ARC) and §8.2.2 (method 2: 4 bytes, with CSU)."""

    METHOD_1 = 1
    METHOD_2 = 2
    AES_CMAC = 3


class ArpcKey(Enum):
    ICC_MASTER_KEY = "ICC master key AC"
    AC_SESSION_KEY = "AC session key"


class SmSessionKey(Enum):
    """Secure-messaging session key (Book 2 §9.2, Annex A1.3)."""

    VISA_ATC = "Visa: ICC MK with ATC folded in"
    COMMON_ARQC = "common session key, R = ARQC"
    AES_ARQC = "AES model, R = ARQC || 00 x 8"


class ScriptMacData(Enum):
    HEADER_ATC_ARQC_DATA = "command header || ATC || ARQC || command data"
    HEADER_DATA = "command header || command data"


class SmEncryption(Enum):
    """Command data encryption for secure messaging (Book 2 §9.3)."""

    EMV = "3DES-CBC, IV 0, padding method 2 always"
    MASTERCARD = "3DES-CBC, IV 0, padding method 2 only when not block aligned"
    VISA = "3DES-ECB over length || data, padding method 2"
    AES = "AES-CBC, IV 0, padding method 2 (16-byte blocks)"


class PinBlockFormat(Enum):
    VIS = "VIS PIN block (ISO format 0 style, keyed by ICC MK AC bytes 5-8)"
    ISO_9564_2 = "ISO 9564 format 2"
    ISO2_OR_VIS = "ISO 9564 format 2; VIS when the current PIN is given"


@dataclass(frozen=True)
class CvnProfile:
    """The algorithm choices of one CVN (see the module table)."""

    label: str
    iad_cvn: int
    mk_option: MasterKeyOption
    ac_session_key: SessionKeyMethod
    ac_mac: AcMac
    trailing: TrailingData
    arpc_method: ArpcMethod
    arpc_key: ArpcKey
    sm_session_key: SmSessionKey
    script_mac_data: ScriptMacData
    sm_encryption: SmEncryption
    pin_block: PinBlockFormat

    @property
    def is_aes(self) -> bool:
        return self.mk_option is MasterKeyOption.AES


class Cvn(Enum):
    """Supported cryptogram versions. Values are the names the vectors use."""

    VISA_10 = "visa_cvn10"
    VISA_18 = "visa_cvn18"
    VISA_22 = "visa_cvn22"
    MASTERCARD_16 = "mastercard_cvn16"
    MASTERCARD_17 = "mastercard_cvn17"
    MASTERCARD_20 = "mastercard_cvn20"
    MASTERCARD_21 = "mastercard_cvn21"
    INTERAC_133 = "interac_cvn133"
    AES_CMAC = "model_aes_cmac"

    @property
    def profile(self) -> CvnProfile:
        return _PROFILES[self]

    @classmethod
    def parse(cls, value: Cvn | str) -> Cvn:
        """A :class:`Cvn` from a member, its value ("visa_cvn10") or name ("VISA_10")."""
        if value.__class__ is Cvn:
            return value  # type: ignore[return-value]
        if isinstance(value, str):
            text = value.strip()
            for member in cls:
                if text.lower() == member.value or text.upper() == member.name:
                    return member
        known = ", ".join(m.name for m in cls)
        raise UsageError(f"unknown cryptogram version {value!r}; known: {known}")


def _p(label: str, iad_cvn: int, mk: MasterKeyOption, sk: SessionKeyMethod, mac: AcMac, trailing: TrailingData,
       arpc: ArpcMethod, arpc_key: ArpcKey, sm: SmSessionKey, script: ScriptMacData, enc: SmEncryption,
       pin: PinBlockFormat) -> CvnProfile:
    return CvnProfile(label, iad_cvn, mk, sk, mac, trailing, arpc, arpc_key, sm, script, enc, pin)


_M = MasterKeyOption
_S = SessionKeyMethod
_HAAD = ScriptMacData.HEADER_ATC_ARQC_DATA
_M2 = AcMac.ALG3_METHOD_2
_PROFILES: dict[Cvn, CvnProfile] = {
    Cvn.VISA_10: _p("Visa CVN 10", 0x0A, _M.A, _S.NONE, AcMac.ALG3_METHOD_1, TrailingData.VISA_CVR,
                    ArpcMethod.METHOD_1, ArpcKey.ICC_MASTER_KEY, SmSessionKey.VISA_ATC, _HAAD,
                    SmEncryption.VISA, PinBlockFormat.VIS),
    Cvn.VISA_18: _p("Visa CVN 18", 0x12, _M.B, _S.COMMON, AcMac.ALG3_METHOD_2, TrailingData.FULL_IAD,
                    ArpcMethod.METHOD_2, ArpcKey.AC_SESSION_KEY, SmSessionKey.VISA_ATC, _HAAD,
                    SmEncryption.VISA, PinBlockFormat.VIS),
    Cvn.VISA_22: _p("Visa CVN 22", 0x16, _M.B, _S.COMMON, AcMac.ALG3_METHOD_2, TrailingData.FULL_IAD,
                    ArpcMethod.METHOD_2, ArpcKey.AC_SESSION_KEY, SmSessionKey.COMMON_ARQC, _HAAD,
                    SmEncryption.VISA, PinBlockFormat.ISO2_OR_VIS),
    Cvn.INTERAC_133: _p("Interac CVN 133", 0x85, _M.A, _S.MASTERCARD_SKD, _M2, TrailingData.FULL_IAD,
                        ArpcMethod.METHOD_1, ArpcKey.AC_SESSION_KEY, SmSessionKey.COMMON_ARQC,
                        ScriptMacData.HEADER_DATA, SmEncryption.MASTERCARD, PinBlockFormat.ISO_9564_2),
    Cvn.MASTERCARD_16: _p("Mastercard CVN 16", 0x10, _M.A, _S.MASTERCARD_SKD, _M2,
                          TrailingData.MASTERCARD_CVR, ArpcMethod.METHOD_1, ArpcKey.ICC_MASTER_KEY,
                          SmSessionKey.COMMON_ARQC, _HAAD, SmEncryption.MASTERCARD, PinBlockFormat.ISO_9564_2),
    Cvn.MASTERCARD_17: _p("Mastercard CVN 17", 0x11, _M.A, _S.MASTERCARD_SKD, _M2,
                          TrailingData.MASTERCARD_CVR_COUNTERS, ArpcMethod.METHOD_1, ArpcKey.ICC_MASTER_KEY,
                          SmSessionKey.COMMON_ARQC, _HAAD, SmEncryption.MASTERCARD, PinBlockFormat.ISO_9564_2),
    Cvn.MASTERCARD_20: _p("Mastercard CVN 20", 0x14, _M.A, _S.COMMON, _M2,
                          TrailingData.MASTERCARD_CVR, ArpcMethod.METHOD_1, ArpcKey.AC_SESSION_KEY,
                          SmSessionKey.COMMON_ARQC, _HAAD, SmEncryption.MASTERCARD, PinBlockFormat.ISO_9564_2),
    Cvn.MASTERCARD_21: _p("Mastercard CVN 21", 0x15, _M.A, _S.COMMON, _M2,
                          TrailingData.MASTERCARD_CVR_COUNTERS, ArpcMethod.METHOD_1, ArpcKey.AC_SESSION_KEY,
                          SmSessionKey.COMMON_ARQC, _HAAD, SmEncryption.MASTERCARD, PinBlockFormat.ISO_9564_2),
    Cvn.AES_CMAC: _p("AES-CMAC (simulator model)", 0xAE, _M.AES, _S.AES, AcMac.AES_CMAC, TrailingData.FULL_IAD,
                     ArpcMethod.AES_CMAC, ArpcKey.AC_SESSION_KEY, SmSessionKey.AES_ARQC, _HAAD,
                     SmEncryption.AES, PinBlockFormat.ISO_9564_2),
}

# --------------------------------------------------------------------------- cryptogram input

TERMINAL_DATA_TAGS: tuple[tuple[int, int], ...] = (
    (0x9F02, 6),  # amount, authorised
    (0x9F03, 6),  # amount, other
    (0x9F1A, 2),  # terminal country code
    (0x95, 5),  # terminal verification results
    (0x5F2A, 2),  # transaction currency code
    (0x9A, 3),  # transaction date
    (0x9C, 1),  # transaction type
    (0x9F37, 4),  # unpredictable number
)
"""Terminal data at the head of every cryptogram input here (Book 2 Annex A1.2 minimum set)."""

TERMINAL_DATA_LENGTH = sum(n for _, n in TERMINAL_DATA_TAGS)


def build_terminal_data(values: Mapping[int, bytes]) -> bytes:
    """Concatenate 9F02 || 9F03 || 9F1A || 95 || 5F2A || 9A || 9C || 9F37 from tag values."""
    out = b""
    for tag, length in TERMINAL_DATA_TAGS:
        if tag not in values:
            raise UsageError(f"terminal data lacks tag {tag:X}")
        value = values[tag]
        if not isinstance(value, bytes | bytearray) or len(value) != length:
            raise UsageError(f"tag {tag:X} must be {length} bytes")
        out += bytes(value)
    return out


def _need(iad: bytes, length: int, cvn: Cvn) -> None:
    if len(iad) < length:
        raise MalformedDataError(
            f"{cvn.profile.label} needs at least {length} bytes of issuer application data, got {len(iad)}",
            what="issuer application data (9F10)",
        )


def iad_trailing_data(cvn: Cvn, iad: bytes) -> bytes:
    """The card data a CVN appends to the cryptogram input, taken from 9F10.

    Raises :class:`MalformedDataError` when the card's IAD is too short for the CVN.
    """
    cvn = Cvn.parse(cvn)
    if not isinstance(iad, bytes | bytearray):
        raise UsageError(f"issuer application data must be bytes, got {type(iad).__name__}")
    iad = bytes(iad)
    trailing = cvn.profile.trailing
    if trailing is TrailingData.VISA_CVR:
        _need(iad, 7, cvn)
        return iad[3:7]
    if trailing is TrailingData.MASTERCARD_CVR:
        _need(iad, 8, cvn)
        return iad[2:8]
    if trailing is TrailingData.MASTERCARD_CVR_COUNTERS:
        _need(iad, 18, cvn)
        return iad[2:8] + iad[10:18]
    if not iad:
        raise MalformedDataError("issuer application data is empty", what="issuer application data (9F10)")
    return iad


def build_iad(
    cvn: Cvn,
    *,
    cvr: bytes,
    dki: int = 0x01,
    dac_idn: bytes = b"\x00\x00",
    counters: bytes = b"\x00" * 7 + b"\xff",
    discretionary: bytes = b"",
) -> bytes:
    """Issuer application data (9F10) in the layout this module assumes for ``cvn``.

    Visa, Interac and the AES model: ``len || DKI || CVN || CVR || discretionary``
    (``len`` counts DKI, CVN and CVR; the Visa CVR is 4 bytes with its own length
    byte first). Mastercard: ``DKI || CVN || CVR(6) || DAC/IDN(2) || counters(8)``.
    """
    cvn = Cvn.parse(cvn)
    if not 0 <= dki <= 0xFF:
        raise UsageError(f"derivation key index must be one byte, got {dki}")
    cvr, number = bytes(cvr), cvn.profile.iad_cvn
    if cvn.profile.trailing in (TrailingData.MASTERCARD_CVR, TrailingData.MASTERCARD_CVR_COUNTERS):
        if len(cvr) != 6 or len(dac_idn) != 2 or len(counters) != 8:
            raise UsageError("Mastercard IAD needs a 6-byte CVR, 2-byte DAC/IDN and 8-byte counters")
        return bytes([dki, number]) + cvr + bytes(dac_idn) + bytes(counters) + bytes(discretionary)
    if cvn in (Cvn.VISA_10, Cvn.VISA_18, Cvn.VISA_22, Cvn.AES_CMAC) and len(cvr) != 4:
        raise UsageError(f"{cvn.profile.label} IAD needs a 4-byte CVR, got {len(cvr)}")
    if not 1 <= len(cvr) <= 0xFD:
        raise UsageError("CVR must be 1..253 bytes")
    return bytes([2 + len(cvr), dki, number]) + cvr + bytes(discretionary)


def ac_input(cvn: Cvn, *, terminal_data: bytes, aip: bytes, atc: bytes, iad: bytes) -> bytes:
    """The exact data the card MACs for an application cryptogram (Book 2 Annex A1.2).

    ``terminal_data`` = 9F02 || 9F03 || 9F1A || 95 || 5F2A || 9A || 9C || 9F37 values
    (29 bytes, see :func:`build_terminal_data`), then AIP (82, 2 bytes), ATC (9F36,
    2 bytes) and the CVN's trailing card data from ``iad`` (9F10).
    """
    cvn = Cvn.parse(cvn)
    for name, value, length in (("terminal data", terminal_data, TERMINAL_DATA_LENGTH), ("AIP", aip, 2),
                                ("ATC", atc, 2)):
        if not isinstance(value, bytes | bytearray) or len(value) != length:
            got = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
            raise UsageError(f"{name} must be {length} bytes, got {got}")
    return bytes(terminal_data) + bytes(aip) + bytes(atc) + iad_trailing_data(cvn, iad)
