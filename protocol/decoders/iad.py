"""Issuer Application Data, tag 9F10, and the Card Verification Results inside it.

The IAD is issuer-proprietary (EMV 4.4 Book 3 Annex A); its layout depends on the
scheme and the cryptogram version number (CVN). Recognised here, from public facts:

* EMV Common Core Definitions (Book 3 Annex C9): 32 bytes, byte 1 = ``0F``,
  byte 2 = CCI, byte 3 = DKI, bytes 4-8 = CVR, bytes 9-16 counters, byte 17 = ``0F``.
* Visa (VIS / VCPS), formats 0, 1 and 3 — CVN 10 (``0A``), CVN 18 (``12``):
  byte 1 = ``06``, byte 2 = DKI, byte 3 = CVN, bytes 4-7 = CVR (first byte ``03`` is
  its length), then optionally a length byte and issuer discretionary data.
* Visa format 2 — CVN '22' (``22``): 32 bytes, byte 1 = ``1F``, byte 2 = CVN,
  byte 3 = DKI, bytes 4-8 = CVR (5 bytes). The high nibble of the CVN is the format.
* Mastercard M/Chip (CVN 16/17/20/21 = ``10``/``11``/``14``/``15``): 18, 20, 26 or
  28 bytes; byte 1 = key derivation index, byte 2 = CVN, bytes 3-8 = CVR,
  bytes 9-10 = DAC/ICC dynamic number, bytes 11-18 = counters.

Anything else is shown as "unrecognised" with its hex; a display never fails on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.decoders.base import Flag, hex_upper, set_flags


class IadFormat(enum.Enum):
    CCD = "EMV Common Core Definitions"
    VISA_0_1_3 = "Visa format 0/1/3"
    VISA_2 = "Visa format 2"
    MCHIP = "Mastercard M/Chip"
    UNKNOWN = "unrecognised"


_CRYPTOGRAM_2 = {0x00: "AAC", 0x40: "TC", 0x80: "not requested", 0xC0: "RFU"}
_CRYPTOGRAM_1 = {0x00: "AAC", 0x10: "TC", 0x20: "ARQC", 0x30: "RFU"}

# Visa CVR, bytes after the length byte (formats 0/1/3; bytes 2-4 of the format 2 CVR).
_VISA_CVR_FLAGS = (
    Flag(1, 0x08, "Issuer authentication performed and failed"),
    Flag(1, 0x04, "Offline PIN verification performed (format 2: CDCVM performed)"),
    Flag(1, 0x02, "Offline PIN verification failed"),
    Flag(1, 0x01, "Unable to go online"),
    Flag(2, 0x80, "Last online transaction not completed"),
    Flag(2, 0x40, "PIN Try Limit exceeded"),
    Flag(2, 0x20, "Exceeded velocity checking counters"),
    Flag(2, 0x10, "New card"),
    Flag(2, 0x08, "Issuer authentication failure on last online transaction"),
    Flag(2, 0x04, "Issuer authentication not performed after online authorisation"),
    Flag(2, 0x02, "Application blocked by card because PIN Try Limit exceeded"),
    Flag(2, 0x01, "Offline static data authentication failed on last transaction"),
    Flag(3, 0x08, "Issuer script processing failed"),
    Flag(3, 0x04, "Offline dynamic data authentication failed on last transaction"),
    Flag(3, 0x02, "Offline dynamic data authentication performed"),
    Flag(3, 0x01, "PIN verification command not received for a PIN-expecting card"),
)

_MCHIP_CVR_FLAGS = (
    Flag(1, 0x08, "Date check failed"),
    Flag(1, 0x04, "Offline PIN verification performed"),
    Flag(1, 0x02, "Offline encrypted PIN verification performed"),
    Flag(1, 0x01, "Offline PIN verification successful"),
    Flag(2, 0x80, "DDA returned"),
    Flag(2, 0x40, "Combined DDA/AC generation returned in first GENERATE AC"),
    Flag(2, 0x20, "Combined DDA/AC generation returned in second GENERATE AC"),
    Flag(2, 0x10, "Issuer authentication performed"),
    Flag(2, 0x08, "CIAC-default skipped on CAT3"),
    Flag(2, 0x04, "Offline change PIN result successful"),
    Flag(4, 0x80, "Last online transaction not completed"),
    Flag(4, 0x40, "Unable to go online"),
    Flag(4, 0x20, "Offline PIN verification not performed"),
    Flag(4, 0x10, "Offline PIN verification failed"),
    Flag(4, 0x08, "PIN Try Limit exceeded"),
    Flag(4, 0x04, "International transaction"),
    Flag(4, 0x02, "Domestic transaction"),
    Flag(4, 0x01, "Terminal erroneously considers offline PIN OK"),
    Flag(5, 0x80, "Lower consecutive offline limit (counter 1) exceeded"),
    Flag(5, 0x40, "Upper consecutive offline limit (counter 1) exceeded"),
    Flag(5, 0x20, "Lower cumulative offline limit (accumulator 1) exceeded"),
    Flag(5, 0x10, "Upper cumulative offline limit (accumulator 1) exceeded"),
    Flag(5, 0x08, "Go online on next transaction was set"),
    Flag(5, 0x04, "Issuer authentication failed"),
    Flag(5, 0x02, "Script received"),
    Flag(5, 0x01, "Script failed"),
    Flag(6, 0x80, "Lower consecutive counter 2 limit exceeded"),
    Flag(6, 0x40, "Upper consecutive counter 2 limit exceeded"),
    Flag(6, 0x20, "Lower cumulative accumulator 2 limit exceeded"),
    Flag(6, 0x10, "Upper cumulative accumulator 2 limit exceeded"),
    Flag(6, 0x08, "MTA limit exceeded"),
    Flag(6, 0x04, "Number of days offline limit exceeded"),
    Flag(6, 0x02, "Match found in additional check table"),
    Flag(6, 0x01, "No match found in additional check table"),
)

_CCD_CVR_FLAGS = (
    Flag(1, 0x08, "CDA performed"),
    Flag(1, 0x04, "Offline DDA performed"),
    Flag(1, 0x02, "Issuer authentication not performed"),
    Flag(1, 0x01, "Issuer authentication failed"),
    Flag(2, 0x08, "Offline PIN verification performed"),
    Flag(2, 0x04, "Offline PIN verification performed and PIN not successfully verified"),
    Flag(2, 0x02, "PIN Try Limit exceeded"),
    Flag(2, 0x01, "Last online transaction not completed"),
    Flag(3, 0x80, "Lower offline transaction count limit exceeded"),
    Flag(3, 0x40, "Upper offline transaction count limit exceeded"),
    Flag(3, 0x20, "Lower cumulative offline amount limit exceeded"),
    Flag(3, 0x10, "Upper cumulative offline amount limit exceeded"),
    Flag(4, 0x08, "Issuer script processing failed"),
    Flag(4, 0x04, "Offline data authentication failed on previous transaction"),
    Flag(4, 0x02, "Go online on next transaction was set"),
    Flag(4, 0x01, "Unable to go online"),
)


@dataclass(frozen=True)
class CardVerificationResults:
    """A decoded CVR: raw bytes and readable findings, in byte order."""

    raw: bytes
    findings: tuple[str, ...]

    def describe(self) -> str:
        return "; ".join(self.findings) or "no bits set"


def _ac_types(byte: int, first_mask: int = 0x30) -> tuple[str, ...]:
    return (
        f"second GENERATE AC: {_CRYPTOGRAM_2[byte & 0xC0]}",
        f"first GENERATE AC: {_CRYPTOGRAM_1[byte & first_mask]}",
    )


def parse_visa_cvr(cvr: bytes) -> CardVerificationResults:
    """Visa CVR of formats 0/1/3: 4 bytes, the first being the length ``03``."""
    body = cvr[1:4] if len(cvr) == 4 else cvr[-3:]
    findings = _ac_types(body[0]) if body else ()
    findings += set_flags(body, _VISA_CVR_FLAGS)
    if len(body) >= 3 and body[2] >> 4:
        findings += (f"{body[2] >> 4} issuer script commands",)
    return CardVerificationResults(bytes(cvr), findings)


def parse_mchip_cvr(cvr: bytes) -> CardVerificationResults:
    """Mastercard M/Chip CVR: 6 bytes (M/Chip 4 and M/Chip Advance)."""
    findings = _ac_types(cvr[0]) if cvr else ()
    findings += set_flags(cvr, _MCHIP_CVR_FLAGS)
    if len(cvr) >= 3:
        findings += (f"script counter (low nibble) {cvr[2] >> 4}", f"PIN try counter (low nibble) {cvr[2] & 0x0F}")
    return CardVerificationResults(bytes(cvr), findings)


def parse_ccd_cvr(cvr: bytes) -> CardVerificationResults:
    """Common Core Definitions CVR (Book 3 Annex C9.3): 5 bytes."""
    findings = _ac_types(cvr[0], 0x30) if cvr else ()
    findings += set_flags(cvr, _CCD_CVR_FLAGS)
    if len(cvr) >= 2:
        findings += (f"PIN try counter (low nibble) {cvr[1] >> 4}",)
    if len(cvr) >= 4 and cvr[3] >> 4:
        findings += (f"{cvr[3] >> 4} secured issuer script commands processed",)
    return CardVerificationResults(bytes(cvr), findings)


# Visa names CVN 10 and 18 by the decimal value of the byte, CVN '22' by its hex digits.
_VISA_CVN_NAMES = {0x0A: "CVN 10", 0x12: "CVN 18", 0x22: "CVN '22'"}
_MCHIP_CVN_NAMES = {0x10: "CVN 16", 0x11: "CVN 17", 0x14: "CVN 20", 0x15: "CVN 21"}


@dataclass(frozen=True)
class IssuerApplicationData:
    """A decoded IAD: its recognised format, CVN, key index, CVR and the other fields."""

    format: IadFormat
    raw: bytes
    cvn: int | None = None
    key_index: int | None = None
    cvr: CardVerificationResults | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def cvn_name(self) -> str:
        """The CVN as the scheme names it ("CVN 18", "CVN '22'"), else by its byte."""
        if self.cvn is None:
            return "unknown CVN"
        names = _VISA_CVN_NAMES if self.format in (IadFormat.VISA_0_1_3, IadFormat.VISA_2) else _MCHIP_CVN_NAMES
        return names.get(self.cvn, f"CVN byte {self.cvn:02X}")

    def describe(self) -> str:
        if self.format is IadFormat.UNKNOWN:
            return f"unrecognised format: {hex_upper(self.raw)}"
        parts = [self.format.value, self.cvn_name]
        if self.key_index is not None:
            parts.append(f"key index {self.key_index:02X}")
        if self.cvr is not None:
            parts.append(f"CVR {hex_upper(self.cvr.raw)}: {self.cvr.describe()}")
        parts.extend(f"{name} {text}" for name, text in self.extra)
        return "; ".join(parts)


def parse_iad(value: bytes) -> IssuerApplicationData:
    """Recognise and decode an IAD; unrecognised layouts give format ``UNKNOWN`` (never raises)."""
    raw = bytes(value)
    n = len(raw)
    if n == 32 and raw[0] == 0x0F and raw[16] == 0x0F and raw[1] >> 4 == 0xA:
        return IssuerApplicationData(
            IadFormat.CCD, raw, raw[1] & 0x0F, raw[2], parse_ccd_cvr(raw[3:8]),
            (("counters", hex_upper(raw[8:16])), ("issuer discretionary data", hex_upper(raw[17:]))),
        )
    if n >= 7 and raw[0] == 0x06 and raw[3] == 0x03 and raw[2] >> 4 in (0, 1, 3) and (
        n == 7 or (n >= 8 and raw[7] == n - 8)
    ):
        extra = (("issuer discretionary data", hex_upper(raw[8:])),) if n > 8 else ()
        return IssuerApplicationData(IadFormat.VISA_0_1_3, raw, raw[2], raw[1], parse_visa_cvr(raw[3:7]), extra)
    if n == 32 and raw[0] == 0x1F and raw[1] >> 4 == 2:
        cvr = raw[3:8]
        visa = parse_visa_cvr(cvr[1:4])
        findings = (f"CDCVM entity/type {cvr[0]:02X}",) + visa.findings + (f"byte 5 {cvr[4]:02X}",)
        return IssuerApplicationData(
            IadFormat.VISA_2, raw, raw[1], raw[2], CardVerificationResults(cvr, findings),
            (("Visa discretionary data", hex_upper(raw[8:])),),
        )
    if n in (18, 20, 26, 28) and raw[1] & 0xF8 == 0x10:
        extra = (("DAC/ICC dynamic number", hex_upper(raw[8:10])), ("counters", hex_upper(raw[10:18])))
        if n > 18:
            extra += (("additional data", hex_upper(raw[18:])),)
        return IssuerApplicationData(IadFormat.MCHIP, raw, raw[1], raw[0], parse_mchip_cvr(raw[2:8]), extra)
    return IssuerApplicationData(IadFormat.UNKNOWN, raw)
