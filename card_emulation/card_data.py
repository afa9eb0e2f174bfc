"""Data objects of a personalised application and the records that carry them.

Helpers of :mod:`card_emulation.personalise`: the card-side encodings of EMV 4.4
Book 3 Annex A (PAN ``5A`` as cn, dates ``5F24``/``5F25`` as YYMMDD n6, Track 2
Equivalent Data ``57``, service code ``5F30``), the READ RECORD templates
(``70``, Book 3 §6.5.11) and the Application File Locator (``94``, Book 3 §10.2).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from card_emulation.errors import PersonalisationError
from card_emulation.profile import ApplicationProfile, OdaMethod, RecordLayout
from protocol import tlv

#: Largest READ RECORD template (tag 70, its length and value) the card will hold:
#: the response data field of a short APDU carries at most 256 bytes and EMV records
#: must fit it (Book 1 §9.4, Book 3 §6.5.11).
MAX_RECORD = 256

#: Tags that may be listed in a record layout but are left out when empty
#: (key remainders exist only when a modulus does not fit its certificate).
OPTIONAL_TAGS = frozenset({0x92, 0x9F48})


def yymmdd(day: datetime.date) -> bytes:
    return bytes.fromhex(day.strftime("%y%m%d"))


def pan_cn(pan: str) -> bytes:
    """PAN as compressed numeric, padded with F to whole bytes (tag 5A)."""
    return bytes.fromhex(pan + ("F" if len(pan) % 2 else ""))


def track2(pan: str, expiry: datetime.date, service_code: str) -> bytes:
    """Track 2 Equivalent Data (tag 57): PAN 'D' YYMM service code discretionary, F-padded."""
    digits = f"{pan}D{expiry.strftime('%y%m')}{service_code}00000"
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex(digits)


def derived_data(app: ApplicationProfile) -> dict[int, bytes]:
    """Data objects that follow from the profile fields (not from keys)."""
    data: dict[int, bytes] = {
        0x5A: pan_cn(app.pan),
        0x5F24: yymmdd(app.expiry),
        0x5F25: yymmdd(app.effective),
        0x57: track2(app.pan, app.expiry, app.service_code),
        0x5F20: app.cardholder_name.encode("ascii"),
        0x5F30: bytes.fromhex(app.service_code.rjust(4, "0")),
        0x8C: app.cdol1,
    }
    if app.psn is not None:
        data[0x5F34] = bytes.fromhex(app.psn)
    if app.cdol2:
        data[0x8D] = app.cdol2
    if app.ddol:
        data[0x9F49] = app.ddol
    if app.cvm_list:
        data[0x8E] = app.cvm_list
    if app.oda:
        data[0x9F4A] = b"\x82"  # Static Data Authentication Tag List: the AIP (Book 3 §10.3)
    return data


def build_record(layout: RecordLayout, values: Mapping[int, bytes]) -> bytes:
    """The ``70`` template of one record from ``values`` (missing mandatory tag: error)."""
    parts = []
    for tag in layout.tags:
        value = values.get(tag)
        if value is None or (tag in OPTIONAL_TAGS and not value):
            if tag in OPTIONAL_TAGS:
                continue
            raise PersonalisationError(
                f"SFI {layout.sfi} record {layout.record} lists tag {tlv.tag_hex(tag)} but the card has no such data"
            )
        parts.append(tlv.encode(tag, value))
    record = tlv.encode(0x70, b"".join(parts))
    if len(record) > MAX_RECORD:
        raise PersonalisationError(
            f"SFI {layout.sfi} record {layout.record} is {len(record)} bytes; at most {MAX_RECORD} fit a response"
        )
    return record


def afl_of(layouts: Iterable[RecordLayout]) -> bytes:
    """Application File Locator (Book 3 §10.2): 4-byte entries SFI<<3, first, last, ODA count.

    Consecutive records of one SFI share an entry; records counted for offline data
    authentication must come first in their entry, so a signed record after an
    unsigned one starts a new entry.
    """
    entries: list[list[int]] = []
    previous: RecordLayout | None = None
    for layout in sorted(layouts, key=lambda r: (r.sfi, r.record)):
        extend = (
            previous is not None
            and previous.sfi == layout.sfi
            and previous.record + 1 == layout.record
            and not (layout.oda and not previous.oda)
        )
        if extend:
            entries[-1][2] = layout.record
        else:
            entries.append([layout.sfi << 3, layout.record, layout.record, 0])
        if layout.oda:
            entries[-1][3] += 1
        previous = layout
    return b"".join(bytes(e) for e in entries)


def oda_layouts(layouts: Iterable[RecordLayout]) -> list[RecordLayout]:
    """The records signed for offline data authentication, in AFL order."""
    return [r for r in sorted(layouts, key=lambda r: (r.sfi, r.record)) if r.oda]


def check_oda_consistency(app: ApplicationProfile) -> None:
    """An application with ODA must sign at least one record and hold what ODA needs."""
    if not app.oda:
        return
    if not oda_layouts(app.records):
        raise PersonalisationError(f"{app.label}: ODA needs at least one record marked oda = true")
    listed = {t for r in app.records for t in r.tags}
    needed = {0x8F, 0x90, 0x9F32, 0x9F4A}
    if OdaMethod.SDA in app.oda:
        needed.add(0x93)
    if app.needs_icc_key:
        needed |= {0x9F46, 0x9F47}
    missing = needed - listed
    if missing:
        names = ", ".join(tlv.tag_hex(t) for t in sorted(missing))
        raise PersonalisationError(f"{app.label}: the records must carry {names} for its ODA methods")
