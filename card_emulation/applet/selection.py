"""SELECT and the payment system directories (EMV 4.4 Book 1 §11.3, §12; Book B §3.3).

* ``SELECT 2PAY.SYS.DDF01`` (PPSE, contactless): FCI ``6F {84, A5 {BF0C {61 {4F,
  50, 87, [9F2A]}…}}}`` — one directory entry per application (Book B Table 3-3).
* ``SELECT 1PAY.SYS.DDF01`` (PSE, contact, when the profile has one): FCI ``6F {84,
  A5 {88 SFI, 5F2D}}`` (Book 1 Table 43); READ RECORD SFI 1 then returns the
  directory record ``70 {61 {4F, 50, [9F12], 87}…}`` (Book 1 §12.2.3, Table 46).
* ``SELECT AID`` (P1 = 04): FCI ``6F {84, A5 {50, 87, [9F38], 5F2D, [9F11, 9F12],
  [BF0C]}}`` (Book 1 Table 45). Partial names select the first matching
  application; P2 = 02 ("next occurrence") the next one, then ``6A82``
  (Book 1 §12.3.3). A blocked application (ATC exhausted) answers its FCI with
  ``6283`` (Book 1 §12.3.2).

A failed SELECT leaves the current selection unchanged (ISO/IEC 7816-4 §7.1.1).
"""

from __future__ import annotations

from card_emulation.applet.runtime import CardRuntime, Phase, Session
from card_emulation.applet.status import CardStatus, Reply, Sw, wrong_le_sw
from card_emulation.image import MAX_ATC, ApplicationImage
from protocol import tlv
from protocol.apdu import CommandApdu

PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"
PSE_DIRECTORY_SFI = 1


def _label(app: ApplicationImage) -> bytes:
    return app.profile.label.encode("ascii")


def directory_entry(app: ApplicationImage, *, contactless: bool) -> bytes:
    """Application template ``61`` of a directory (Book 1 Table 47, Book B Table 3-3)."""
    parts = [tlv.encode(0x4F, app.aid), tlv.encode(0x50, _label(app))]
    if not contactless and app.profile.preferred_name:
        parts.append(tlv.encode(0x9F12, app.profile.preferred_name.encode("ascii")))
    parts.append(tlv.encode(0x87, bytes([app.profile.priority])))
    if contactless and app.profile.kernel_id:
        parts.append(tlv.encode(0x9F2A, app.profile.kernel_id))
    return tlv.encode(0x61, b"".join(parts))


def ppse_fci(apps: tuple[ApplicationImage, ...]) -> bytes:
    entries = b"".join(directory_entry(a, contactless=True) for a in apps)
    return tlv.encode(0x6F, tlv.encode(0x84, PPSE) + tlv.encode(0xA5, tlv.encode(0xBF0C, entries)))


def pse_fci(language: str) -> bytes:
    proprietary = tlv.encode(0x88, bytes([PSE_DIRECTORY_SFI])) + tlv.encode(0x5F2D, language.encode("ascii"))
    return tlv.encode(0x6F, tlv.encode(0x84, PSE) + tlv.encode(0xA5, proprietary))


def pse_records(apps: tuple[ApplicationImage, ...]) -> dict[int, bytes]:
    """Directory records of the PSE (record number -> ``70`` template), a few entries each."""
    records: dict[int, bytes] = {}
    current = b""
    for app in apps:
        entry = directory_entry(app, contactless=False)
        if current and len(current) + len(entry) > 240:
            records[len(records) + 1] = tlv.encode(0x70, current)
            current = b""
        current += entry
    if current:
        records[len(records) + 1] = tlv.encode(0x70, current)
    return records


def application_fci(app: ApplicationImage) -> bytes:
    """FCI of an ADF (Book 1 Table 45)."""
    p = app.profile
    parts = [tlv.encode(0x50, _label(app)), tlv.encode(0x87, bytes([p.priority]))]
    if p.pdol:
        parts.append(tlv.encode(0x9F38, p.pdol))
    parts.append(tlv.encode(0x5F2D, p.language.encode("ascii")))
    if p.preferred_name:
        parts.append(tlv.encode(0x9F11, b"\x01"))  # issuer code table index: ISO 8859-1
        parts.append(tlv.encode(0x9F12, p.preferred_name.encode("ascii")))
    if 0x9F4D in p.data:
        parts.append(tlv.encode(0xBF0C, tlv.encode(0x9F4D, p.data[0x9F4D])))
    return tlv.encode(0x6F, tlv.encode(0x84, app.aid) + tlv.encode(0xA5, b"".join(parts)))


def _matching(rt: CardRuntime, name: bytes) -> list[int]:
    return [i for i, app in enumerate(rt.image.applications) if app.aid.startswith(name)]


def select(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    """SELECT by DF name (Book 1 §11.3): P1 = 04; P2 = 00 first or only, 02 next."""
    if cmd.p1 != 0x04 or cmd.p2 not in (0x00, 0x02):
        raise CardStatus(Sw.WRONG_P1P2)
    name = cmd.data
    if not 5 <= len(name) <= 16:
        raise CardStatus(Sw.WRONG_LENGTH)
    apps = rt.image.applications
    if name == PPSE:
        if cmd.p2 == 0x02:
            raise CardStatus(Sw.FILE_NOT_FOUND)
        rt.session = Session(phase=Phase.DIRECTORY, directory=PPSE.decode())
        return Reply(ppse_fci(apps))
    if name == PSE and rt.image.profile.pse:
        if cmd.p2 == 0x02:
            raise CardStatus(Sw.FILE_NOT_FOUND)
        rt.session = Session(phase=Phase.DIRECTORY, directory=PSE.decode())
        return Reply(pse_fci(apps[0].profile.language))
    candidates = _matching(rt, name)
    if cmd.p2 == 0x02:
        current = rt.session.app_index
        later = [i for i in candidates if current is not None and i > current]
        candidates = later if current is not None and current in candidates else []
    if not candidates:
        raise CardStatus(Sw.FILE_NOT_FOUND)
    index = candidates[0]
    app = apps[index]
    rt.session = Session(phase=Phase.SELECTED, app_index=index)
    blocked = rt.counters(app).atc >= MAX_ATC
    return Reply(application_fci(app), Sw.SELECTED_FILE_INVALIDATED if blocked else Sw.OK)


def read_directory_record(rt: CardRuntime, sfi: int, record: int, le: int | None) -> Reply:
    """READ RECORD while the PSE is selected: the directory records (Book 1 §12.2.3)."""
    if rt.session.directory != PSE.decode() or sfi != PSE_DIRECTORY_SFI:
        raise CardStatus(Sw.RECORD_NOT_FOUND)
    data = pse_records(rt.image.applications).get(record)
    if data is None:
        raise CardStatus(Sw.RECORD_NOT_FOUND)
    return check_le(Reply(data), le)


def check_le(reply: Reply, le: int | None) -> Reply:
    """Case 2 commands: a specific Le that differs from the data length gets ``6Cxx``."""
    if le is not None and le not in (256, 65536) and le != len(reply.data):
        raise CardStatus(wrong_le_sw(len(reply.data)))
    return reply
