"""The crypto calculator's operations and fields, as plain data (no crypto here).

The same operations as ``trustone crypto`` (:mod:`app.cli.crypto_cmd`): ICC master
key derivation, session keys, ARQC by CVN or raw, ARQC verification, ARPC,
certificate recovery, DDA/CDA signature verification, EMV CAP, TOTP and HOTP.
The page builds its form from :data:`OPERATIONS` and checks each field as it is
typed with :func:`check_field` (syntax and length only: hex, digits, choices);
the computing is :mod:`app.gui.calculator_backend`'s, on a worker thread.
Each operation has a worked example from the public vectors (``Fill example``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.gui import calculator_examples as ex

CVNS = ("10", "18", "22", "16", "17", "20", "21", "133", "aes")
_SEPARATORS = " \t\r\n:"


@dataclass(frozen=True)
class Field:
    """One input. ``kind``: ``hex`` (bytes), ``digits``, ``choice``, ``int`` or ``text``."""

    key: str
    label: str
    kind: str
    help: str = ""
    lengths: tuple[int, ...] = ()
    min_len: int = 0
    max_len: int | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    default: str = ""


@dataclass(frozen=True)
class Operation:
    """One calculator operation: its inputs, what it computes, where EMV (or an RFC) defines it."""

    id: str
    title: str
    summary: str
    reference: str
    fields: tuple[Field, ...]
    example: dict[str, str] = field(default_factory=dict)

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


class FieldError(ValueError):
    """A field's value cannot be used; ``key`` names the field (``""``: the form as a whole)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


def _hex(key: str, label: str, help: str = "", *lengths: int, min_len: int = 1, max_len: int | None = None,
         optional: bool = False, default: str = "") -> Field:  # fmt: skip
    return Field(key, label, "hex", help, lengths, min_len, max_len, optional=optional, default=default)


def _key16(key: str, label: str, help: str = "", optional: bool = False) -> Field:
    return _hex(key, label, help, 16, optional=optional)


def check_field(spec: Field, text: str) -> str | None:
    """Why ``text`` is not a valid value of ``spec`` (syntax and length), or ``None`` when it is."""
    value = text.strip()
    if not value:
        return None if spec.optional or spec.default else "required"
    if spec.kind == "hex":
        cleaned = "".join(ch for ch in value if ch not in _SEPARATORS)
        cleaned = cleaned[2:] if cleaned[:2].lower() == "0x" else cleaned
        bad = next((i for i, ch in enumerate(cleaned) if ch not in "0123456789abcdefABCDEF"), None)
        if bad is not None:
            return f"not hex: character {bad + 1} ({cleaned[bad]!r}) is not 0-9 or A-F"
        if len(cleaned) % 2:
            return f"odd number of hex digits ({len(cleaned)})"
        size = len(cleaned) // 2
        if spec.lengths and size not in spec.lengths:
            return f"must be {' or '.join(map(str, spec.lengths))} bytes, got {size}"
        if size < spec.min_len:
            return f"must be at least {spec.min_len} bytes, got {size}"
        if spec.max_len is not None and size > spec.max_len:
            return f"must be at most {spec.max_len} bytes, got {size}"
    elif spec.kind == "digits":
        if not (value.isascii() and value.isdigit()):
            return "decimal digits only"
        if spec.max_len is not None and len(value) > spec.max_len:
            return f"at most {spec.max_len} digits, got {len(value)}"
    elif spec.kind == "int":
        try:
            int(value, 0)
        except ValueError:
            return "not a whole number"
    elif spec.kind == "choice" and value not in spec.choices:
        return f"one of {', '.join(spec.choices)}"
    return None


def hex_value(text: str) -> bytes:
    """The bytes of a hex field that :func:`check_field` accepted."""
    cleaned = "".join(ch for ch in text.strip() if ch not in _SEPARATORS)
    return bytes.fromhex(cleaned[2:] if cleaned[:2].lower() == "0x" else cleaned)


_CVN = Field("cvn", "CVN", "choice", "Cryptogram version: Visa 10/18/22, Mastercard 16/17/20/21, Interac 133, AES model",
             choices=CVNS, default="10")  # fmt: skip
_IMK = _key16("imk", "Issuer master key (AC)", "16 bytes; or give the ICC master key instead", optional=True)
_ICC_MK = _key16("icc_mk", "ICC master key (AC)", "16 bytes, instead of the IMK + PAN", optional=True)
_PAN = Field("pan", "PAN", "digits", "The card number (with the IMK)", max_len=19, optional=True)
_PSN = Field("psn", "PAN sequence number", "digits", "5F34, two digits", max_len=2, default="00")
_ATC = _hex("atc", "ATC (9F36)", "2 bytes", 2)
_TERMINAL = _hex("terminal_data", "Terminal data", "9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 values, 29 bytes", 29)
_AIP = _hex("aip", "AIP (82)", "2 bytes", 2)
_IAD = _hex("iad", "IAD (9F10)", "Issuer application data", max_len=32)
_UN = _hex("un", "UN (9F37)", "Mastercard session keys: default from the terminal data", 4, optional=True)
_TODAY = Field("today", "Check expiry on", "text", "YYYY-MM-DD; empty: today", optional=True)
_SECRET = _hex("secret", "Shared secret", "The OTP secret as hex", max_len=128)
_OTP = (Field("digits", "Digits", "choice", choices=("6", "7", "8"), default="6"),
        Field("algorithm", "Hash", "choice", choices=("SHA1", "SHA256", "SHA512"), default="SHA1"))  # fmt: skip

OPERATIONS: tuple[Operation, ...] = (
    Operation("derive-mk", "ICC master key (option A / B)",
              "Derive the card's master key from the issuer master key, PAN and PSN.", "EMV 4.4 Book 2 Annex A1.4",
              (_key16("imk", "Issuer master key", "16 bytes"), Field("pan", "PAN", "digits", max_len=19), _PSN,
               Field("option", "Option", "choice", "A (Annex A1.4.1), B (A1.4.2, PAN over 16 digits), AES model",
                     choices=("A", "B", "AES"), default="A")), ex.DERIVE_MK),
    Operation("session-key", "Session key",
              "Derive an application cryptogram session key from the ICC master key.", "EMV 4.4 Book 2 Annex A1.3",
              (_key16("mk", "ICC master key"),
               Field("method", "Method", "choice", "common (R = ATC‖00…), mastercard (ATC, UN), visa-sm (ATC), "
                     "emv2000-tree (ATC), aes model", choices=("common", "mastercard", "visa-sm", "emv2000-tree", "aes"),
                     default="common"),
               _hex("r", "R (diversification)", "8 bytes (16 for AES); instead of the ATC", min_len=2, max_len=16,
                    optional=True),
               _hex("atc", "ATC (9F36)", "2 bytes", 2, optional=True), _UN), ex.SESSION_KEY),
    Operation("arqc", "ARQC by CVN",
              "The application cryptogram a card computes, with every intermediate value.",
              "EMV 4.4 Book 2 Annex A1.2; CVN tables", (_CVN, _IMK, _ICC_MK, _PAN, _PSN, _ATC, _TERMINAL, _AIP, _IAD, _UN),
              ex.ARQC),
    Operation("arqc-raw", "ARQC from a session key (raw)",
              "ISO 9797-1 MAC algorithm 3 over the exact cryptogram input.", "EMV 4.4 Book 2 Annex A1.2",
              (_key16("session_key", "AC session key"), _hex("data", "Cryptogram input", max_len=1024),
               Field("padding", "Padding", "choice", "ISO 9797-1 method 2 (EMV), or 1 (Visa CVN 10)",
                     choices=("2", "1"), default="2")), ex.ARQC_RAW),
    Operation("verify-arqc", "Verify an ARQC",
              "Recompute the cryptogram from the inputs and compare it with the card's.", "EMV 4.4 Book 2 §8.1",
              (_hex("arqc", "Card's ARQC", "8 bytes", 8), _CVN, _IMK, _ICC_MK, _PAN, _PSN, _ATC, _TERMINAL, _AIP, _IAD,
               _UN), ex.VERIFY_ARQC),
    Operation("arpc", "ARPC by CVN",
              "The issuer's answer to an ARQC (method 1 with an ARC, method 2 with a CSU, per the CVN).",
              "EMV 4.4 Book 2 §8.2", (_CVN, _IMK, _ICC_MK, _PAN, _PSN, _ATC, _hex("arqc", "ARQC", "8 bytes", 8),
                                      _hex("arc", "ARC (method 1)", "2 bytes", 2, optional=True),
                                      _hex("csu", "CSU (method 2)", "4 bytes", 4, optional=True), _UN), ex.ARPC),
    Operation("recover-issuer", "Recover the issuer certificate (90)",
              "RSA recovery and checks of the Issuer Public Key Certificate with a CA key.", "EMV 4.4 Book 2 §5.3, §6.3",
              (_hex("cert", "Certificate (90)", max_len=256), _hex("remainder", "Remainder (92)", max_len=256,
                                                                    optional=True),
               _hex("exponent", "Exponent (9F32)", "1 or 3 bytes", 1, 3), Field("pan", "PAN", "digits", max_len=19),
               _hex("ca_rid", "CA key: RID", "bundled CA key list (5 bytes)", 5, optional=True),
               _hex("ca_index", "CA key: index (8F)", "1 byte", 1, optional=True),
               _hex("ca_modulus", "or CA modulus", "a CA key not in the list", max_len=256, optional=True),
               _hex("ca_exponent", "CA exponent", "1 or 3 bytes", 1, 3, optional=True), _TODAY), ex.RECOVER_ISSUER),
    Operation("recover-icc", "Recover the ICC certificate (9F46)",
              "RSA recovery and checks of the ICC Public Key Certificate with the issuer key.", "EMV 4.4 Book 2 §6.4",
              (_hex("cert", "Certificate (9F46)", max_len=256),
               _hex("remainder", "Remainder (9F48)", max_len=256, optional=True),
               _hex("exponent", "Exponent (9F47)", "1 or 3 bytes", 1, 3), Field("pan", "PAN", "digits", max_len=19),
               _hex("static_data", "Static data authenticated", "the records signed (Book 3 §10.3)", max_len=4096),
               _hex("issuer_modulus", "Issuer modulus", "from the recovered issuer certificate", max_len=256),
               _hex("issuer_exponent", "Issuer exponent", "1 or 3 bytes", 1, 3), _TODAY), ex.RECOVER_ICC),
    Operation("sdad-dda", "Verify SDAD (DDA)",
              "Recover and check the INTERNAL AUTHENTICATE signature with the ICC public key.", "EMV 4.4 Book 2 §6.5",
              (_hex("sdad", "SDAD (9F4B)", max_len=256), _hex("icc_modulus", "ICC modulus", max_len=256),
               _hex("icc_exponent", "ICC exponent", "1 or 3 bytes", 1, 3),
               _hex("ddol_data", "DDOL data sent", "e.g. the UN", max_len=255)), ex.SDAD_DDA),
    Operation("sdad-cda", "Verify SDAD (CDA)",
              "Recover and check the GENERATE AC signature: CID, cryptogram and transaction data hash.",
              "EMV 4.4 Book 2 §6.6", (_hex("sdad", "SDAD (9F4B)", max_len=256), _hex("icc_modulus", "ICC modulus",
                                                                                    max_len=256),
                                      _hex("icc_exponent", "ICC exponent", "1 or 3 bytes", 1, 3),
                                      _hex("un", "UN (9F37)", "4 bytes", 4),
                                      _hex("pdol_data", "PDOL data", max_len=255, optional=True),
                                      _hex("cdol1_data", "CDOL1 data", max_len=255),
                                      _hex("response", "GENERATE AC response", "template 77 or its content",
                                           max_len=1024)), ex.SDAD_CDA),
    Operation("cap", "EMV CAP code",
              "The 8 digits a CAP reader shows: the IPB's bits of the GENERATE AC answer.", "EMV CAP (python-emv, "
              "public descriptions)", (_hex("rapdu", "GENERATE AC R-APDU", "response with SW 9000", min_len=2,
                                            max_len=512),
                                       _hex("ipb", "IPB (9F56)", max_len=64), _hex("iaf", "IAF (9F55)", "1 byte", 1,
                                                                                     optional=True),
                                       _hex("psn", "PSN (5F34)", "used when IAF bit 40 is set", 1, optional=True)),
              ex.CAP),
    Operation("totp", "TOTP", "A time-based one-time password.", "RFC 6238 §4",
              (_SECRET, *_OTP, Field("time", "Time", "int", "Unix seconds; empty: now", optional=True),
               Field("step", "Time step (s)", "int", default="30")), ex.TOTP),
    Operation("hotp", "HOTP", "A counter-based one-time password.", "RFC 4226 §5",
              (_SECRET, *_OTP, Field("counter", "Counter", "int", default="0")), ex.HOTP),
)  # fmt: skip


def operation(op_id: str) -> Operation:
    return next(op for op in OPERATIONS if op.id == op_id)
