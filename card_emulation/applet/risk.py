"""Card risk decisions, Card Verification Results and Issuer Application Data.

**Decision** (kept deliberately simple; EMV 4.4 Book 3 §6.5.5.4, Book 4 §6.3.7
leave card risk management to the issuer): the card is *online-capable and
always wants to go online* —

=====================  ======================  ================================
GENERATE AC            terminal asks for       card answers
=====================  ======================  ================================
first                  AAC (P1 00)             AAC (transaction declined)
first                  TC (P1 40)              ARQC (goes online)
first                  ARQC (P1 80)            ARQC
second (after ARQC)    TC                      TC
second (after ARQC)    AAC                     AAC
second                 ARQC                    ``6A86`` (not allowed, Book 3 §9.3)
=====================  ======================  ================================

**CVR** (inside the IAD; scheme layouts are not public, these follow the public
descriptions in ``protocol.crypto.cvn`` and are simplified):

* Visa / AES model (4 bytes): ``03``; byte 2: AC type of the 2nd GENERATE AC
  (bits 8–7: 00 AAC, 01 TC, 10 not requested) and of the 1st (bits 6–5: 00 AAC,
  01 TC, 10 ARQC), bit 3 offline PIN performed, bit 2 offline PIN failed; byte 3
  bit 7 PIN try limit exceeded; byte 4 bit 2 DDA performed.
* Mastercard (6 bytes): byte 1 as Visa byte 2 plus bit 1 offline PIN successful;
  byte 2 bit 7 CDA in the 1st, bit 6 CDA in the 2nd GENERATE AC; byte 3 low
  nibble the PIN Try Counter; bytes 4–6 zero.
"""

from __future__ import annotations

from card_emulation.applet.runtime import Session
from card_emulation.applet.status import CardStatus, Sw
from protocol.crypto.cvn import Cvn, TrailingData, build_iad

AAC, TC, ARQC = 0x00, 0x40, 0x80
_CVR_AC = {AAC: 0b00, TC: 0b01, ARQC: 0b10}


def decide(requested: int, *, second: bool) -> int:
    """The cryptogram type the card returns (see the module table)."""
    if not second:
        return AAC if requested == AAC else ARQC
    if requested == ARQC:
        raise CardStatus(Sw.WRONG_P1P2)
    return requested


def _ac_bits(first: int, second: int | None) -> int:
    second_bits = 0b10 if second is None else _CVR_AC[second]
    return (second_bits << 6) | (_CVR_AC[first] << 4)


def card_verification_results(
    cvn: Cvn, session: Session, *, first: int, second: int | None, cda: bool, pin_tries_left: int
) -> bytes:
    """The CVR for ``cvn`` after this GENERATE AC (see the module docstring)."""
    pin_performed = session.pin_verified or session.pin_failed
    if cvn.profile.trailing in (TrailingData.MASTERCARD_CVR, TrailingData.MASTERCARD_CVR_COUNTERS):
        b1 = _ac_bits(first, second)
        b1 |= 0x04 if pin_performed else 0
        b1 |= 0x01 if session.pin_verified else 0
        b2 = (0x40 if (session.first_cda or (cda and second is None)) else 0) | (
            0x20 if cda and second is not None else 0
        )
        return bytes([b1, b2, pin_tries_left & 0x0F, 0, 0, 0])
    b2 = _ac_bits(first, second)
    b2 |= 0x04 if pin_performed else 0
    b2 |= 0x02 if session.pin_failed else 0
    b3 = 0x40 if pin_tries_left == 0 else 0
    b4 = 0x02 if session.icc_dynamic_number else 0
    return bytes([0x03, b2, b3, b4])


def issuer_application_data(cvn: Cvn, *, dki: int, cvr: bytes, session: Session) -> bytes:
    """Tag 9F10 in the layout :func:`protocol.crypto.cvn.build_iad` defines for ``cvn``."""
    if cvn.profile.trailing in (TrailingData.MASTERCARD_CVR, TrailingData.MASTERCARD_CVR_COUNTERS):
        idn = (session.icc_dynamic_number or bytes(2))[:2]
        return build_iad(cvn, cvr=cvr, dki=dki, dac_idn=idn, counters=bytes(8))
    return build_iad(cvn, cvr=cvr, dki=dki)
