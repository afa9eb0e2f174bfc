"""Terminal Verification Results (tag 95) and Transaction Status Information (tag 9B).

TVR: EMV 4.4 Book 3 Annex C5, Table 46 — five bytes of flags the terminal sets
while it processes a transaction. The same layout is used by the Issuer Action Codes
(9F0D/9F0E/9F0F, Book 3 §10.7) and the Terminal Action Codes (C-2 DF8120-DF8122).
Byte 5 bits 4 and 1 are reserved for the EMV contactless specifications.

TSI: Book 3 Annex C6, Table 47 — which functions were performed.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.decoders.base import Flag, require_length, set_flags, unknown_bits

TVR_FLAGS = (
    Flag(1, 0x80, "Offline data authentication was not performed"),
    Flag(1, 0x40, "SDA failed"),
    Flag(1, 0x20, "ICC data missing"),
    Flag(1, 0x10, "Card appears on terminal exception file"),
    Flag(1, 0x08, "DDA failed"),
    Flag(1, 0x04, "CDA failed"),
    Flag(1, 0x02, "SDA selected"),
    Flag(1, 0x01, "XDA selected"),
    Flag(2, 0x80, "ICC and terminal have different application versions"),
    Flag(2, 0x40, "Expired application"),
    Flag(2, 0x20, "Application not yet effective"),
    Flag(2, 0x10, "Requested service not allowed for card product"),
    Flag(2, 0x08, "New card"),
    Flag(2, 0x02, "Biometric performed and successful"),
    Flag(2, 0x01, "Biometric template format not supported"),
    Flag(3, 0x80, "Cardholder verification was not successful"),
    Flag(3, 0x40, "Unrecognised CVM"),
    Flag(3, 0x20, "PIN Try Limit exceeded"),
    Flag(3, 0x10, "PIN entry required and PIN pad not present or not working"),
    Flag(3, 0x08, "PIN entry required, PIN pad present, but PIN was not entered"),
    Flag(3, 0x04, "Online CVM captured"),
    Flag(3, 0x02, "Biometric required but biometric capture device not working"),
    Flag(3, 0x01, "Biometric required, capture device present, but biometric subtype entry was bypassed"),
    Flag(4, 0x80, "Transaction exceeds floor limit"),
    Flag(4, 0x40, "Lower consecutive offline limit exceeded"),
    Flag(4, 0x20, "Upper consecutive offline limit exceeded"),
    Flag(4, 0x10, "Transaction selected randomly for online processing"),
    Flag(4, 0x08, "Merchant forced transaction online"),
    Flag(4, 0x04, "Biometric try limit exceeded"),
    Flag(4, 0x02, "A selected biometric type not supported"),
    Flag(4, 0x01, "XDA signature verification failed"),
    Flag(5, 0x80, "Default TDOL used"),
    Flag(5, 0x40, "Issuer authentication failed"),
    Flag(5, 0x20, "Script processing failed before final GENERATE AC"),
    Flag(5, 0x10, "Script processing failed after final GENERATE AC"),
    Flag(5, 0x08, "Reserved for the EMV contactless specifications (byte 5 bit 4)"),
    Flag(5, 0x04, "CA ECC key missing"),
    Flag(5, 0x02, "ECC key recovery failed"),
    Flag(5, 0x01, "Reserved for the EMV contactless specifications (byte 5 bit 1)"),
)

TSI_FLAGS = (
    Flag(1, 0x80, "Offline data authentication was performed"),
    Flag(1, 0x40, "Cardholder verification was performed"),
    Flag(1, 0x20, "Card risk management was performed"),
    Flag(1, 0x10, "Issuer authentication was performed"),
    Flag(1, 0x08, "Terminal risk management was performed"),
    Flag(1, 0x04, "Script processing was performed"),
)


@dataclass(frozen=True)
class Bitmap:
    """A decoded flag bitmap (TVR, IAC, TAC or TSI): the raw bytes and the set flags."""

    raw: bytes
    flags: tuple[str, ...]

    def describe(self) -> str:
        return "; ".join(self.flags) or "no bits set"


def parse_tvr(value: bytes) -> Bitmap:
    """Decode a TVR (or an IAC/TAC, which share its layout): exactly 5 bytes."""
    require_length(value, 5, "TVR")
    return Bitmap(bytes(value), set_flags(value, TVR_FLAGS) + unknown_bits(value, TVR_FLAGS))


def parse_tsi(value: bytes) -> Bitmap:
    """Decode a TSI: exactly 2 bytes; byte 2 is RFU."""
    require_length(value, 2, "TSI")
    return Bitmap(bytes(value), set_flags(value, TSI_FLAGS) + unknown_bits(value, TSI_FLAGS))
