"""Cryptogram Information Data, tag 9F27 (EMV 4.4 Book 3 §6.5.5.4, Table 15).

Bits 8-7 give the type of cryptogram the card returned (AAC, TC, ARQC); bits 6-5
are payment-system specific; bit 4 says an advice is required; bits 3-1 give a
reason code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.decoders.base import require_length


class CryptogramType(enum.Enum):
    """Bits 8-7 of the CID (and the P1 reference control of GENERATE AC)."""

    AAC = 0x00
    TC = 0x40
    ARQC = 0x80
    RFU = 0xC0

    @property
    def meaning(self) -> str:
        return {
            CryptogramType.AAC: "AAC (transaction declined)",
            CryptogramType.TC: "TC (transaction approved offline)",
            CryptogramType.ARQC: "ARQC (online authorisation requested)",
            CryptogramType.RFU: "RFU (bits 8-7 = 11)",
        }[self]


_REASONS = {0: "no information given", 1: "service not allowed", 2: "PIN Try Limit exceeded",
            3: "issuer authentication failed"}


@dataclass(frozen=True)
class Cid:
    """A decoded CID."""

    raw: int

    @property
    def cryptogram_type(self) -> CryptogramType:
        return CryptogramType(self.raw & 0xC0)

    @property
    def payment_system_bits(self) -> int:
        return (self.raw >> 4) & 0x03

    @property
    def advice_required(self) -> bool:
        return bool(self.raw & 0x08)

    @property
    def reason(self) -> str:
        code = self.raw & 0x07
        return _REASONS.get(code, f"reason {code} (RFU)")

    def describe(self) -> str:
        parts = [self.cryptogram_type.meaning]
        if self.payment_system_bits:
            parts.append(f"payment system specific bits {self.payment_system_bits:02b}")
        if self.advice_required:
            parts.append("advice required")
        if self.raw & 0x07:
            parts.append(f"reason: {self.reason}")
        return "; ".join(parts)


def parse_cid(value: bytes) -> Cid:
    require_length(value, 1, "CID")
    return Cid(value[0])
