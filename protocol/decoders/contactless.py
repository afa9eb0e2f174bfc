"""Contactless qualifiers: TTQ (tag 9F66) and CTQ (tag 9F6C).

TTQ, Terminal Transaction Qualifiers: EMV Contactless Book A §5.7 Table 5-4 and
Book C-3 Annex A — 4 bytes the reader sends in the PDOL to say what it supports
and requires (online cryptogram, CVM, consumer device CVM).

CTQ, Card Transaction Qualifiers: Book C-3 Annex A — 2 bytes the card returns to
tell the reader which CVM it requires and what to do when offline data
authentication fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.decoders.base import Flag, require_length, set_flags, unknown_bits

TTQ_FLAGS = (
    Flag(1, 0x80, "Mag-stripe mode supported"),
    Flag(1, 0x20, "EMV mode supported"),
    Flag(1, 0x10, "EMV contact chip supported"),
    Flag(1, 0x08, "Offline-only reader"),
    Flag(1, 0x04, "Online PIN supported"),
    Flag(1, 0x02, "Signature supported"),
    Flag(1, 0x01, "Offline data authentication for online authorisations supported"),
    Flag(2, 0x80, "Online cryptogram required"),
    Flag(2, 0x40, "CVM required"),
    Flag(2, 0x20, "(Contact chip) offline PIN supported"),
    Flag(3, 0x80, "Issuer update processing supported"),
    Flag(3, 0x40, "Consumer device CVM supported"),
    Flag(3, 0x08, "Consumer device CVM required"),
    Flag(4, 0x80, "fDDA v1.0 supported"),
)

CTQ_FLAGS = (
    Flag(1, 0x80, "Online PIN required"),
    Flag(1, 0x40, "Signature required"),
    Flag(1, 0x20, "Go online if offline data authentication fails and reader is online capable"),
    Flag(1, 0x10, "Switch interface if offline data authentication fails and reader supports contact chip"),
    Flag(1, 0x08, "Go online if application expired"),
    Flag(1, 0x04, "Switch interface for cash transactions"),
    Flag(1, 0x02, "Switch interface for cashback transactions"),
    Flag(1, 0x01, "Not valid for contactless ATM transactions"),
    Flag(2, 0x80, "Consumer device CVM performed"),
    Flag(2, 0x40, "Card supports issuer update processing at the POS"),
)


@dataclass(frozen=True)
class Qualifiers:
    """Decoded TTQ or CTQ: raw bytes and the texts of the set bits."""

    raw: bytes
    flags: tuple[str, ...]

    def has(self, text: str) -> bool:
        return text in self.flags

    def describe(self) -> str:
        return "; ".join(self.flags) or "no bits set"


def parse_ttq(value: bytes) -> Qualifiers:
    """Decode a TTQ: exactly 4 bytes."""
    require_length(value, 4, "TTQ")
    return Qualifiers(bytes(value), set_flags(value, TTQ_FLAGS) + unknown_bits(value, TTQ_FLAGS))


def parse_ctq(value: bytes) -> Qualifiers:
    """Decode a CTQ: exactly 2 bytes."""
    require_length(value, 2, "CTQ")
    return Qualifiers(bytes(value), set_flags(value, CTQ_FLAGS) + unknown_bits(value, CTQ_FLAGS))
