"""GENERATE APPLICATION CRYPTOGRAM (EMV 4.4 Book 3 §6.5.5; Book 2 §6.6, §8.1, Annex A1.2).

``80 AE P1 00 Lc <CDOL1 or CDOL2 data> 00``. P1 bits 8–7 ask for an AAC (00), TC
(40) or ARQC (80) (11 is RFU: ``6A86``); bit 5 (10) asks for a CDA signature
(Book 3 Table 12); any other P1 bit, or P2 ≠ 00, is ``6A86``.

* The first GENERATE AC needs GET PROCESSING OPTIONS first (``6985``) and exactly
  the CDOL1 length of data (``6700``). It increments the ATC (``9F36``) and
  persists it *before* answering, so an ATC is never used twice, not even across
  a crash or a restart. At ATC FFFF the application is blocked: ``6985`` (and
  SELECT answers ``6283``), the ATC never wraps.
* The second GENERATE AC (after an ARQC) takes CDOL2 data and belongs to the same
  transaction: same ATC (the ATC numbers transactions, not commands). It updates
  the Last Online ATC Register (``9F13``). After an AAC, or after the second
  GENERATE AC, the transaction is over: ``6985``.
* What the card answers is decided by :func:`card_emulation.applet.risk.decide`.
* The cryptogram is computed with :mod:`protocol.crypto.cryptogram` for the
  application's CVN over 9F02 ‖ 9F03 ‖ 9F1A ‖ 95 ‖ 5F2A ‖ 9A ‖ 9C ‖ 9F37 (taken
  by tag from the CDOL data; for the second GENERATE AC, CDOL2 values override
  CDOL1 values), AIP, ATC and the CVN's part of the IAD (Book 2 Annex A1.2).
* Answer: format 1 ``80 {CID ‖ ATC ‖ AC ‖ IAD}`` or format 2 ``77 {9F27, 9F36,
  9F26, 9F10}``. With CDA (asked for, offered by the application, and the
  answer is not an AAC, Book 2 §6.6.1) the answer is always format 2
  ``77 {9F27, 9F36, 9F10, 9F4B}``: the AC travels inside the Signed Dynamic
  Application Data with the Transaction Data Hash Code over PDOL data, CDOL1
  (and CDOL2) data and the response objects other than 9F4B.
"""

from __future__ import annotations

from card_emulation.applet import risk
from card_emulation.applet.runtime import CardRuntime, Phase, flip_last_bit
from card_emulation.applet.status import CardStatus, Reply, Sw
from card_emulation.image import MAX_ATC, ApplicationCounters, ApplicationImage
from card_emulation.profile import OdaMethod
from protocol import tlv
from protocol.apdu import CommandApdu
from protocol.dol import data_length, parse_dol, split_dol_data
from protocol.crypto import oda
from protocol.crypto.cryptogram import compute_ac_from_icc_mk
from protocol.crypto.cvn import TERMINAL_DATA_TAGS, ac_input

P1_TYPE_MASK = 0xC0
P1_CDA = 0x10
KEYLESS_SIGNATURE_LENGTH = 128
ICC_DYNAMIC_NUMBER_LENGTH = 8


def _terminal_data(values: dict[int, bytes]) -> tuple[bytes, bytes]:
    """9F02 ‖ … ‖ 9F37 fitted to their lengths (absent: zeros), and the UN."""
    out = b""
    for tag, length in TERMINAL_DATA_TAGS:
        value = values.get(tag, b"")
        out += value[-length:].rjust(length, b"\x00")
    return out, out[-4:]


def generate_ac(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    requested = cmd.p1 & P1_TYPE_MASK
    if requested == P1_TYPE_MASK or cmd.p1 & ~(P1_TYPE_MASK | P1_CDA) & 0xFF or cmd.p2 != 0x00:
        raise CardStatus(Sw.WRONG_P1P2)
    app = rt.app
    session = rt.session
    if app is None or session.phase not in (Phase.INITIATED, Phase.AWAITING_SECOND_AC):
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    second = session.phase is Phase.AWAITING_SECOND_AC
    dol = parse_dol(app.profile.cdol2 if second else app.profile.cdol1)
    if len(cmd.data) != data_length(dol):
        raise CardStatus(Sw.WRONG_LENGTH)
    cid = risk.decide(requested, second=second)
    counters = rt.counters(app)
    if second:
        atc = session.transaction_atc if session.transaction_atc is not None else counters.atc
        values = {**session.cdol1_values, **split_dol_data(dol, cmd.data)}
        rt.store_counters(app, ApplicationCounters(counters.atc, atc, counters.pin_tries_left))
    else:
        if counters.atc >= MAX_ATC:
            raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
        atc = counters.atc + 1
        rt.store_counters(app, ApplicationCounters(atc, counters.last_online_atc, counters.pin_tries_left))
        values = split_dol_data(dol, cmd.data)
        session.cdol1_data, session.cdol1_values, session.transaction_atc = cmd.data, values, atc
    cda = bool(cmd.p1 & P1_CDA) and OdaMethod.CDA in app.profile.oda and cid != risk.AAC
    reply = _answer(rt, app, cid, atc, values, cda=cda, second=second, cdol_data=cmd.data)
    if second:
        session.second_ac, session.phase = cid, Phase.COMPLETED
    else:
        session.first_ac, session.first_cda = cid, cda
        session.phase = Phase.AWAITING_SECOND_AC if cid == risk.ARQC else Phase.COMPLETED
    return reply


def _answer(
    rt: CardRuntime,
    app: ApplicationImage,
    cid: int,
    atc: int,
    values: dict[int, bytes],
    *,
    cda: bool,
    second: bool,
    cdol_data: bytes,
) -> Reply:
    session = rt.session
    cvn = app.profile.cryptogram
    tries = rt.counters(app).pin_tries_left
    first_type = session.first_ac if second and session.first_ac is not None else cid
    cvr = risk.card_verification_results(
        cvn, session, first=first_type, second=cid if second else None, cda=cda, pin_tries_left=tries
    )
    iad = risk.issuer_application_data(cvn, dki=app.profile.dki, cvr=cvr, session=session)
    terminal, un = _terminal_data(values)
    atc_bytes = atc.to_bytes(2, "big")
    if app.keys.present:
        data = ac_input(cvn, terminal_data=terminal, aip=app.aip, atc=atc_bytes, iad=iad)
        ac = compute_ac_from_icc_mk(cvn, app.keys.mk_ac, atc=atc_bytes, un=un, ac_input=data).cryptogram
    else:  # a key-less copy cannot compute a cryptogram: anything 8 bytes long
        ac = rt.random_bytes(8)
    if rt.effects.corrupt_cryptogram:
        ac = flip_last_bit(ac)
    cid_b = bytes([cid])
    if not cda:
        if app.profile.response_format == 1:
            return Reply(tlv.encode(0x80, cid_b + atc_bytes + ac + iad))
        body = tlv.encode(0x9F27, cid_b) + tlv.encode(0x9F36, atc_bytes) + tlv.encode(0x9F26, ac)
        return Reply(tlv.encode(0x77, body + tlv.encode(0x9F10, iad)))
    body = tlv.encode(0x9F27, cid_b) + tlv.encode(0x9F36, atc_bytes) + tlv.encode(0x9F10, iad)
    tdhc = oda.transaction_data_hash_code(
        pdol_data=session.pdol_data,
        cdol1_data=session.cdol1_data,
        cdol2_data=cdol_data if second else b"",
        generate_ac_response=body,
    )
    idn = rt.random_bytes(ICC_DYNAMIC_NUMBER_LENGTH)
    session.icc_dynamic_number = idn
    key = app.keys.icc_key
    if key is not None and app.keys.present:
        sdad = oda.sign_dynamic_data_cda(
            key,
            icc_dynamic_number=idn,
            cryptogram_information_data=cid_b,
            application_cryptogram=ac,
            transaction_data_hash_code=tdhc,
            unpredictable_number=un,
        )
    else:
        sdad = rt.random_bytes(app.keys.signature_length or KEYLESS_SIGNATURE_LENGTH)
    if rt.effects.corrupt_signature:
        sdad = flip_last_bit(sdad)
    rt.signed_cda = True
    return Reply(tlv.encode(0x77, body + tlv.encode(0x9F4B, sdad)))
