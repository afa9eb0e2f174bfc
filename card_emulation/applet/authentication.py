"""INTERNAL AUTHENTICATE: dynamic data authentication (EMV 4.4 Book 3 §6.5.9; Book 2 §6.5).

``00 88 00 00 Lc <DDOL data> 00``: the card signs the terminal's data with its ICC
private key — Signed Dynamic Application Data (format 05) holding an 8-byte ICC
Dynamic Number from the card's random source (Book 2 §6.5.1, Table 17) — and
answers ``80 <SDAD>`` (format 1) or ``77 {9F4B <SDAD>}`` (format 2).

The card accepts terminal data of any non-empty length: a terminal uses the card's
DDOL or its own default DDOL (Book 3 §5.4), and the signature covers whatever was
sent. Status words: ``6A86`` P1/P2 not 00, ``6985`` no application selected or
before GET PROCESSING OPTIONS, ``6D00`` the application does not offer DDA
(an SDA-only applet simply does not implement the instruction, ISO/IEC 7816-4:
"instruction code not supported"), ``6700`` no data.
"""

from __future__ import annotations

from card_emulation.applet.runtime import CardRuntime, Phase, flip_last_bit
from card_emulation.applet.status import CardStatus, Reply, Sw
from card_emulation.profile import OdaMethod
from protocol import tlv
from protocol.apdu import CommandApdu
from protocol.crypto import oda

ICC_DYNAMIC_NUMBER_LENGTH = 8
KEYLESS_SIGNATURE_LENGTH = 128


def internal_authenticate(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    if cmd.p1 != 0x00 or cmd.p2 != 0x00:
        raise CardStatus(Sw.WRONG_P1P2)
    app = rt.app
    if app is None or rt.session.phase in (Phase.IDLE, Phase.DIRECTORY):
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    if OdaMethod.DDA not in app.profile.oda:
        raise CardStatus(Sw.INS_NOT_SUPPORTED)
    if rt.session.phase is Phase.SELECTED:
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    if not cmd.data:
        raise CardStatus(Sw.WRONG_LENGTH)
    idn = rt.random_bytes(ICC_DYNAMIC_NUMBER_LENGTH)
    rt.session.icc_dynamic_number = idn
    key = app.keys.icc_key
    if key is not None and app.keys.present:
        sdad = oda.sign_dynamic_data_dda(key, icc_dynamic_number=idn, ddol_data=cmd.data)
    else:  # a key-less copy can only answer something signature-sized
        sdad = rt.random_bytes(app.keys.signature_length or KEYLESS_SIGNATURE_LENGTH)
    if rt.effects.corrupt_signature:
        sdad = flip_last_bit(sdad)
    if app.profile.response_format == 1:
        return Reply(tlv.encode(0x80, sdad))
    return Reply(tlv.encode(0x77, tlv.encode(0x9F4B, sdad)))
