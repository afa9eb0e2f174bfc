"""Initiate application processing and read application data (EMV 4.4 Book 3 §10.1, §10.2).

* GET PROCESSING OPTIONS (Book 3 §6.5.8): ``80 A8 00 00 Lc 83 L <PDOL data> 00``.
  The PDOL data are the terminal data the card asked for in its FCI (``9F38``),
  built by the Book 3 §5.4 rules from the terminal configuration, the
  transaction told to the card and the challenge's UN (``9F37``). The card
  answers its AIP and AFL in format 1 (``80``: AIP ‖ AFL) or format 2
  (``77 {82, 94}``); both are mandatory.
* READ RECORD (Book 3 §6.5.11) of every record the AFL lists. Records of SFI
  1-10 must be one ``70`` template; a data object that appears twice, a record
  the card refuses, or a missing Application PAN (``5A``) or CDOL1 (``8C``) ends
  the session (§10.2 "the terminal shall terminate the transaction"). Which
  records are signed for offline data authentication is taken from the AFL
  (byte 4 of each entry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from protocol import dictionary, tlv
from protocol.apdu import CommandApdu
from protocol.crypto.oda import pan_from_cn
from protocol.decoders.afl import AflEntry, parse_afl
from protocol.dol import DolEntry, build_dol_data, parse_dol
from protocol.errors import MalformedDataError
from protocol.masking import mask_pan
from protocol.tap.assertion import MAX_RECORDS, RecordRead
from protocol.tap.events import CryptoComputed, DataDecoded, Lane, Step
from protocol.tap.selection import SelectedApplication
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
from protocol.tap.tlv_view import GPO_FORMAT1, decoded_nodes

GPO = "GET PROCESSING OPTIONS"


@dataclass(frozen=True)
class ProcessingOptions:
    """What GET PROCESSING OPTIONS sent and returned."""

    pdol_data: bytes
    response: bytes  # the response data exactly as received (template 80 or 77)
    aip: bytes
    afl: tuple[AflEntry, ...]


@dataclass(frozen=True)
class ApplicationData:
    """The records read, the data objects in them by tag, and the mandatory ones decoded."""

    records: tuple[RecordRead, ...]
    values: Mapping[int, bytes]
    pan: str
    cdol1: tuple[DolEntry, ...]

    @property
    def masked_pan(self) -> str:
        return mask_pan(self.pan)

    @property
    def oda_records(self) -> tuple[tuple[int, bytes], ...]:
        """``(sfi, record)`` of the records signed for ODA, in AFL order (Book 3 §10.3)."""
        return tuple((r.sfi, r.data) for r in self.records if r.for_oda)


def get_processing_options(ctx: TapContext, app: SelectedApplication) -> Flow[ProcessingOptions]:
    ctx.start(
        Step.GET_PROCESSING_OPTIONS,
        "The phone starts the transaction. It sends the card the data it asked for in its PDOL — among "
        "them the challenge's unpredictable number (9F37) and, when asked, the amount and currency of "
        "the transaction — and the card answers what it can do (AIP) and where its records are (AFL).",
        "EMV 4.4 Book 3 §6.5.8 GET PROCESSING OPTIONS, §10.1; §5.4 (DOL)",
    )
    challenge = ctx.challenge
    ctx.emit(
        CryptoComputed(
            Step.GET_PROCESSING_OPTIONS, Lane.PHONE, "Unpredictable number bound to the challenge and T",
            inputs=(("nonce", challenge.nonce.hex().upper()), ("H(T)", challenge.transaction.digest().hex().upper())),
            outputs=(("UN (9F37)", ctx.un.hex().upper()),),
            reference="TrustOne model (DESIGN.md §3 step 2): UN = SHA-256(nonce ‖ H(T))[:4]",
        )
    )  # fmt: skip
    pdol_data = build_dol_data(app.pdol, ctx.terminal_data())
    data = check_command_data(tlv.encode(0x83, pdol_data), "PDOL (9F38)")
    command = CommandApdu(0x80, 0xA8, 0x00, 0x00, data, le=256).encode()
    reply = yield from transmit(ctx, GPO, command)
    require_ok(reply, GPO, "The application cannot start a transaction now (EMV 4.4 Book 3 §10.1).")
    nodes = decoded_nodes(reply.data, GPO_FORMAT1)
    ctx.emit(DataDecoded(Step.GET_PROCESSING_OPTIONS, "Processing options: AIP and AFL", nodes))
    template = decode_template(reply.data, GPO, (0x80, 0x77))
    if template.tag == 0x80:
        value = template.value
        if len(value) < 2 or (len(value) - 2) % 4:
            raise CardAnswerError(
                f"The card's format 1 answer to {GPO} is {len(value)} bytes; it must be the 2-byte AIP "
                "followed by 4-byte AFL entries (EMV 4.4 Book 3 §6.5.8.4)."
            )
        aip, afl = value[:2], value[2:]
    else:
        fields = children_by_tag(template, GPO)
        if 0x82 not in fields or 0x94 not in fields:
            missing = " and ".join(n for t, n in ((0x82, "AIP (82)"), (0x94, "AFL (94)")) if t not in fields)
            raise MissingDataError(
                f"The card's answer to {GPO} lacks the {missing}, which EMV makes mandatory "
                "(EMV 4.4 Book 3 §6.5.8.4): the phone cannot go on."
            )
        aip, afl = fields[0x82], fields[0x94]
    if len(aip) != 2:
        raise CardAnswerError(f"The AIP (82) must be 2 bytes; the card gave {len(aip)}.")
    try:
        entries = parse_afl(afl)
    except MalformedDataError as exc:
        raise CardAnswerError(f"The card's AFL (94) is malformed: {exc.reason} (EMV 4.4 Book 3 §10.2).") from None
    count = sum(len(entry.records) for entry in entries)
    if count > MAX_RECORDS:
        raise CardAnswerError(f"The card's AFL lists {count} records; the phone reads at most {MAX_RECORDS}.")
    return ProcessingOptions(pdol_data, reply.data, aip, entries)


def read_records(ctx: TapContext, afl: tuple[AflEntry, ...]) -> Flow[ApplicationData]:
    ctx.start(
        Step.READ_RECORDS,
        "The phone reads every record the AFL lists: the card number (masked on screen), expiry date, "
        "the certificates for offline authentication and the list of data the card needs for its "
        "cryptogram (CDOL1).",
        "EMV 4.4 Book 3 §6.5.11 READ RECORD, §10.2",
    )
    records: list[RecordRead] = []
    values: dict[int, bytes] = {}
    for entry in afl:
        for number in entry.records:
            name = f"READ RECORD SFI {entry.sfi} #{number}"
            command = CommandApdu(0x00, 0xB2, number, (entry.sfi << 3) | 0x04, le=256).encode()
            reply = yield from transmit(ctx, name, command)
            require_ok(reply, name, "Every record the AFL lists must be readable (EMV 4.4 Book 3 §10.2).")
            ctx.emit(DataDecoded(Step.READ_RECORDS, f"SFI {entry.sfi} record {number}", decoded_nodes(reply.data)))
            _collect(values, reply.data, entry.sfi, name)
            records.append(RecordRead(entry.sfi, number, reply.data, number in entry.oda_record_numbers))
    if 0x5A not in values:
        raise MissingDataError(
            "The card's records hold no Application PAN (5A), which EMV makes mandatory "
            "(EMV 4.4 Book 3 §7.2): the phone cannot go on."
        )
    if 0x8C not in values:
        raise MissingDataError(
            "The card's records hold no CDOL1 (8C): without it the phone cannot ask for a cryptogram "
            "(EMV 4.4 Book 3 §7.2, §6.5.5)."
        )
    try:
        pan = pan_from_cn(values[0x5A])
        cdol1 = parse_dol(values[0x8C])
    except MalformedDataError as exc:
        raise CardAnswerError(f"The card's records are inconsistent: {exc}.") from None
    return ApplicationData(tuple(records), values, pan, cdol1)


def _collect(values: dict[int, bytes], record: bytes, sfi: int, name: str) -> None:
    """Add a record's data objects to ``values``; SFI 1-10 records must be one ``70`` template."""
    if sfi <= 10:
        objects = decode_template(record, name, (0x70,)).children
    else:
        try:  # SFI 11-30: proprietary files; use their data objects when they are BER-TLV
            objects = tlv.decode(record)
        except MalformedDataError:
            return
        if len(objects) == 1 and objects[0].tag == 0x70:
            objects = objects[0].children
    for obj in objects:
        if obj.tag in values:
            raise CardAnswerError(
                f"The card's records hold {obj.tag_hex} ({dictionary.name(obj.tag)}) twice; EMV forbids "
                "redundant data objects (EMV 4.4 Book 3 §10.2)."
            )
        values[obj.tag] = obj.value
