"""GET PROCESSING OPTIONS and READ RECORD (EMV 4.4 Book 3 §6.5.8, §6.5.11; Book 1 §11.2).

GET PROCESSING OPTIONS (``80 A8 00 00 Lc 83 L <PDOL data>``, Book 3 §6.5.8):
the command data is the Command Template ``83`` with the PDOL values; the card
answers the AIP and AFL in format 1 (``80``: AIP ‖ AFL) or format 2 (``77 {82,
94}``) as its profile says. Status words: ``6A86`` P1/P2 not 00, ``6700`` no data
or PDOL data of the wrong length, ``6A80`` data not a single ``83`` template,
``6985`` no application selected, GPO already done in this selection (Book 3 §10.1:
one GPO per transaction), or the application blocked (ATC exhausted).

READ RECORD (``00 B2 P1=record P2=SFI<<3|100``, Book 1 §11.2): only records the
AFL lists can be read (Book 3 §10.2), and only after GPO; any other record is
``6A83``; P1 = 0 or P2 not referencing an SFI is ``6A86``; before GPO ``6985``.
With the PSE selected it reads the PSE directory instead (:mod:`.selection`).
"""

from __future__ import annotations

from card_emulation.applet.runtime import CardRuntime, Phase
from card_emulation.applet.selection import check_le, read_directory_record
from card_emulation.applet.status import CardStatus, Reply, Sw
from card_emulation.image import MAX_ATC, ApplicationImage
from protocol import tlv
from protocol.apdu import CommandApdu
from protocol.dol import data_length, parse_dol
from protocol.errors import MalformedDataError


def afl_records(afl: bytes) -> set[tuple[int, int]]:
    """``(SFI, record)`` pairs an AFL lists (4-byte entries, Book 3 §10.2)."""
    listed: set[tuple[int, int]] = set()
    for i in range(0, len(afl) - 3, 4):
        sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
        listed.update((sfi, n) for n in range(first, last + 1))
    return listed


def get_processing_options(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    if cmd.p1 != 0x00 or cmd.p2 != 0x00:
        raise CardStatus(Sw.WRONG_P1P2)
    if not cmd.data:
        raise CardStatus(Sw.WRONG_LENGTH)
    app = rt.app
    if app is None or rt.session.phase is not Phase.SELECTED:
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    if rt.counters(app).atc >= MAX_ATC:
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    try:
        objects = tlv.decode(cmd.data, skip_padding=False)
    except MalformedDataError:
        raise CardStatus(Sw.WRONG_DATA) from None
    if len(objects) != 1 or objects[0].tag != 0x83:
        raise CardStatus(Sw.WRONG_DATA)
    pdol_data = objects[0].value
    # An empty command template ("83 00") is what a contact terminal that ignores
    # the PDOL sends (Book 3 §6.5.8 for cards without PDOL). Dual-interface cards
    # commonly accept it on the contact interface and run without the PDOL values,
    # so contact-era tools such as python-emv's emvtool can read every profile.
    if pdol_data and len(pdol_data) != data_length(parse_dol(app.profile.pdol)):
        raise CardStatus(Sw.WRONG_LENGTH)
    rt.session.pdol_data = pdol_data
    rt.session.phase = Phase.INITIATED
    return Reply(gpo_response(app, rt.effects.aip(app.aip)))


def gpo_response(app: ApplicationImage, aip: bytes) -> bytes:
    if app.profile.response_format == 1:
        return tlv.encode(0x80, aip + app.afl)
    return tlv.encode(0x77, tlv.encode(0x82, aip) + tlv.encode(0x94, app.afl))


def read_record(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    record, sfi = cmd.p1, cmd.p2 >> 3
    if record == 0 or cmd.p2 & 0x07 != 0x04 or sfi == 0:
        raise CardStatus(Sw.WRONG_P1P2)
    if cmd.data:
        raise CardStatus(Sw.WRONG_LENGTH)
    if rt.session.phase is Phase.DIRECTORY:
        return read_directory_record(rt, sfi, record, cmd.le)
    app = rt.app
    if app is None or rt.session.phase in (Phase.IDLE, Phase.SELECTED):
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    if (sfi, record) not in afl_records(app.afl) or (sfi, record) not in app.records:
        raise CardStatus(Sw.RECORD_NOT_FOUND)
    return check_le(Reply(app.records[(sfi, record)]), cmd.le)
