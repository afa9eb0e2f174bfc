"""The first GENERATE AC, asking for an ARQC (EMV 4.4 Book 3 §6.5.5, §10.8; Book 2 §8.1, §6.6).

``80 AE P1 00 Lc <CDOL1 data> 00`` with P1 = ``80`` (ARQC) or ``90`` (ARQC with
CDA, Book 3 Table 12). The CDOL1 data are built by the Book 3 §5.4 rules from
the card's CDOL1 (``8C``) and the phone's terminal data — with the data elements
bound to **the transaction the phone tells the card** (``card_transaction``)
and the challenge's UN. They are built here and nowhere else: the verifier
rebuilds its own copy from *its* T and compares (docs/tap-model.md), so a phone
whose malware changed the amount after the user confirmed is caught there.

The answer is format 1 (``80``: CID ‖ ATC ‖ AC ‖ IAD) or format 2
(``77 {9F27, 9F36, [9F26], [9F10], [9F4B]}``; with CDA the AC travels inside the
signature ``9F4B``). An AAC (the card declined) or a TC instead of the ARQC asked
for ends the session: there is no authorisation request for the verifier to check.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import tlv
from protocol.apdu import CommandApdu
from protocol.dol import build_dol_data
from protocol.tap.events import CheckCompleted, CheckStatus, DataDecoded, Lane, Step
from protocol.tap.phone_oda import OdaMethod, OdaState, verify_cda
from protocol.tap.reading import ApplicationData, ProcessingOptions
from protocol.tap.tap_context import (
    CardAnswerError,
    Flow,
    MissingDataError,
    TapContext,
    check_command_data,
    children_by_tag,
    decode_template,
    require_ok,
    transmit,
)
from protocol.tap.tlv_view import GENERATE_AC_FORMAT1, decoded_nodes, split_format1

P1_ARQC = 0x80
P1_CDA = 0x10
CID_TYPE_MASK = 0xC0
CID_NAMES = {0x00: "an AAC (the card declined)", 0x40: "a TC (offline approval)", 0xC0: "a cryptogram of RFU type 11"}


@dataclass(frozen=True)
class CryptogramAnswer:
    """The GENERATE AC exchange as the assertion carries it."""

    p1: int
    cdol1_data: bytes
    response: bytes  # the response data exactly as received (template 80 or 77)
    cid: int
    atc: bytes


def generate_ac(
    ctx: TapContext, state: OdaState, data: ApplicationData, options: ProcessingOptions
) -> Flow[CryptogramAnswer]:
    cda = state.method is OdaMethod.CDA
    ctx.start(
        Step.GENERATE_AC,
        "The phone asks the card for an authorisation request cryptogram (ARQC): an 8-byte code the card "
        "computes with its secret key over the amount, currency, date and type of the transaction and the "
        "challenge's unpredictable number — bound to this transaction and this challenge, and typed by "
        "nobody." + (" With CDA the card also signs it with its private key." if cda else ""),
        "EMV 4.4 Book 3 §6.5.5 GENERATE AC, §10.8; Book 2 §8.1 (ARQC)" + (", §6.6 (CDA)" if cda else ""),
    )
    cdol1_data = check_command_data(build_dol_data(data.cdol1, ctx.terminal_data()), "CDOL1 (8C)")
    if not cdol1_data:
        raise CardAnswerError(
            "The card's CDOL1 (8C) asks for no data, so its cryptogram could not cover the transaction."
        )
    p1 = P1_ARQC | (P1_CDA if cda else 0)
    name = f"GENERATE AC (ARQC{', CDA' if cda else ''})"
    reply = yield from transmit(ctx, name, CommandApdu(0x80, 0xAE, p1, 0x00, cdol1_data, le=256).encode())
    require_ok(reply, name, "The card produced no cryptogram (EMV 4.4 Book 3 §6.5.5).")
    nodes = decoded_nodes(reply.data, GENERATE_AC_FORMAT1, remember=False)  # ATC and AC: new every tap
    ctx.emit(DataDecoded(Step.GENERATE_AC, "Application cryptogram", nodes))
    template = decode_template(reply.data, name, (0x80, 0x77))
    fields = _fields(template, name)
    cid = fields[0x9F27][0]
    kind = cid & CID_TYPE_MASK
    if kind != 0x80:
        raise CardAnswerError(
            f"The card answered {CID_NAMES[kind]} instead of the ARQC the phone asked for, so there is no "
            "authorisation request for the verifier to check (EMV 4.4 Book 3 §6.5.5.4)."
        )
    ctx.emit(CheckCompleted(Step.GENERATE_AC, Lane.PHONE, "cryptogram type", CheckStatus.PASSED,
                            f"the card returned an ARQC (CID {cid:02X}), ATC {fields[0x9F36].hex().upper()}"))
    if cda:
        verify_cda(ctx, state, response=template, fields=fields, pdol_data=options.pdol_data, cdol1_data=cdol1_data)
    return CryptogramAnswer(p1, cdol1_data, reply.data, cid, fields[0x9F36])


def _fields(template: tlv.Tlv, name: str) -> dict[int, bytes]:
    if template.tag == 0x80:
        if len(template.value) < 11:
            raise CardAnswerError(
                f"The card's format 1 answer to {name} is {len(template.value)} bytes; it needs at least the CID, "
                "ATC and cryptogram (11 bytes, EMV 4.4 Book 3 §6.5.5.4)."
            )
        return dict(split_format1(template.value, GENERATE_AC_FORMAT1))
    fields = children_by_tag(template, name)
    needed = [(0x9F27, 1, "CID (9F27)"), (0x9F36, 2, "ATC (9F36)")]
    if 0x9F4B not in fields:
        needed.append((0x9F26, 8, "Application Cryptogram (9F26)"))
    missing = [text for tag, _length, text in needed if tag not in fields]
    if missing:
        raise MissingDataError(
            f"The card's answer to {name} lacks the {', '.join(missing)} (EMV 4.4 Book 3 §6.5.5.4)."
        )
    for tag, length, text in needed:
        if len(fields[tag]) != length:
            raise CardAnswerError(f"The {text} in the card's answer is {len(fields[tag])} bytes, not {length}.")
    return fields
