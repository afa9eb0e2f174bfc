"""The verifier's own reading of the card's raw answers (DESIGN.md §3 step 6-7).

The assertion carries the card's answers exactly as the phone received them
(:class:`~protocol.tap.assertion.CardEvidence`). The verifier parses everything it
needs out of them itself, trusting no derived copy:

* GET PROCESSING OPTIONS response (EMV 4.4 Book 3 §6.5.8.4): the AIP (``82``)
  and the AFL (``94``), format 1 (``80``) or 2 (``77``);
* the records (Book 3 §10.2): exactly the records the AFL lists, in its order;
  which of them are signed for offline data authentication is taken from the
  AFL, never from the phone's ``for_oda`` flags (which must agree); SFI 1-10
  records are one ``70`` template; a data object present twice is refused
  (Book 3 §10.2 forbids redundant objects — and two ``5A`` would let a forger
  show one PAN to ODA and another to the key derivation);
* the Application PAN (``5A``), PAN Sequence Number (``5F34``), CDOL1 (``8C``),
  DDOL (``9F49``, default ``9F37 04`` as on the phone, Book 3 §5.4);
* the INTERNAL AUTHENTICATE response (Book 3 §6.5.9.4): the SDAD;
* the GENERATE AC response (Book 3 §6.5.5.4): CID, ATC, AC, IAD and, with CDA,
  the SDAD (``9F4B``).

Anything that does not parse raises :class:`~protocol.tap.assertion.MalformedAssertion`
naming the field; messages never contain the PAN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from protocol import tlv
from protocol.crypto.oda import pan_from_cn
from protocol.decoders.afl import AflEntry, parse_afl
from protocol.dol import DolEntry, parse_dol
from protocol.errors import MalformedDataError
from protocol.masking import mask_pan
from protocol.tap.assertion import CardEvidence, MalformedAssertion

#: The DDOL a terminal uses when the card has none (Book 3 §5.4; the phone's default too).
DEFAULT_DDOL = bytes.fromhex("9F3704")
RECORD_TEMPLATE = 0x70
P1_CDA = 0x10


@dataclass(frozen=True)
class GenerateAcAnswer:
    """The first GENERATE AC answer, field by field (Book 3 §6.5.5.4)."""

    template: int  # 0x80 (format 1) or 0x77 (format 2)
    content: bytes  # the value of the template (what the CDA hash covers, Book 2 §6.6.1)
    cid: int
    atc: bytes
    ac: bytes | None  # None with CDA when the AC travels only inside the signature
    iad: bytes
    sdad: bytes | None  # 9F4B (CDA)

    @property
    def atc_value(self) -> int:
        return int.from_bytes(self.atc, "big")


@dataclass(frozen=True)
class CardFacts:
    """What the verifier read out of the card's answers."""

    aid: bytes
    aip: bytes
    afl: tuple[AflEntry, ...]
    values: Mapping[int, bytes]
    oda_records: tuple[tuple[int, bytes], ...]
    pan: str
    psn: str | None
    cdol1: tuple[DolEntry, ...]
    ddol: tuple[DolEntry, ...]
    ddol_from_card: bool
    cda_requested: bool
    generate_ac: GenerateAcAnswer
    internal_authenticate_sdad: bytes | None

    @property
    def masked_pan(self) -> str:
        return mask_pan(self.pan)

    @property
    def psn_or_default(self) -> str:
        """Book 2 Annex A1.4.1: a card without 5F34 is taken as PSN 00."""
        return self.psn if self.psn is not None else "00"


def _decode(data: bytes, field: str) -> tuple[tlv.Tlv, ...]:
    try:
        return tlv.decode(data)
    except MalformedDataError as exc:
        raise MalformedAssertion(field, f"not BER-TLV ({exc.reason})") from None


def _template(data: bytes, field: str, allowed: tuple[int, ...]) -> tlv.Tlv:
    objects = _decode(data, field)
    if len(objects) != 1 or objects[0].tag not in allowed:
        names = " or ".join(f"{t:02X}" for t in allowed)
        raise MalformedAssertion(field, f"must be one {names} template")
    return objects[0]


def _children(template: tlv.Tlv, field: str) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for child in template.children:
        if child.tag in found:
            raise MalformedAssertion(field, f"holds {child.tag_hex} twice")
        found[child.tag] = child.value
    return found


def _gpo(response: bytes) -> tuple[bytes, tuple[AflEntry, ...]]:
    field = "evidence.gpo_response"
    template = _template(response, field, (0x80, 0x77))
    if template.tag == 0x80:
        aip, afl = template.value[:2], template.value[2:]
    else:
        fields = _children(template, field)
        if 0x82 not in fields or 0x94 not in fields:
            raise MalformedAssertion(field, "lacks the AIP (82) or the AFL (94)")
        aip, afl = fields[0x82], fields[0x94]
    if len(aip) != 2:
        raise MalformedAssertion(field, "the AIP is not 2 bytes")
    try:
        entries = parse_afl(afl)
    except MalformedDataError as exc:
        raise MalformedAssertion(field, f"the AFL is malformed ({exc.reason})") from None
    return aip, entries


def _records(
    evidence: CardEvidence, afl: tuple[AflEntry, ...]
) -> tuple[dict[int, bytes], tuple[tuple[int, bytes], ...]]:
    expected = [(e.sfi, n, n in e.oda_record_numbers) for e in afl for n in e.records]
    got = [(r.sfi, r.record, r.for_oda) for r in evidence.records]
    if [(s, n) for s, n, _ in expected] != [(s, n) for s, n, _ in got]:
        raise MalformedAssertion("evidence.records", "are not exactly the records the AFL lists, in its order")
    if [o for _, _, o in expected] != [o for _, _, o in got]:
        raise MalformedAssertion("evidence.records", "mark other records for offline data authentication than the AFL")
    values: dict[int, bytes] = {}
    for record in evidence.records:
        field = f"evidence.records (SFI {record.sfi} #{record.record})"
        if record.sfi <= 10:
            objects = _template(record.data, field, (RECORD_TEMPLATE,)).children
        else:  # SFI 11-30: proprietary files; their data objects count only when BER-TLV
            try:
                objects = tlv.decode(record.data)
            except MalformedDataError:
                continue
            if len(objects) == 1 and objects[0].tag == RECORD_TEMPLATE:
                objects = objects[0].children
        for obj in objects:
            if obj.tag in values:
                raise MalformedAssertion(field, f"data object {obj.tag_hex} appears twice in the records")
            values[obj.tag] = obj.value
    oda = tuple((r.sfi, r.data) for r in evidence.records if r.for_oda)
    return values, oda


def _generate_ac(response: bytes) -> GenerateAcAnswer:
    field = "evidence.generate_ac_response"
    template = _template(response, field, (0x80, 0x77))
    if template.tag == 0x80:
        value = template.value
        if not 11 <= len(value) <= 43:
            raise MalformedAssertion(field, "format 1 holds CID, ATC, AC and at most 32 bytes of IAD (11..43 bytes)")
        return GenerateAcAnswer(0x80, value, value[0], value[1:3], value[3:11], value[11:], None)
    fields = _children(template, field)
    for tag, length, name in ((0x9F27, 1, "CID (9F27)"), (0x9F36, 2, "ATC (9F36)")):
        if len(fields.get(tag, b"")) != length:
            raise MalformedAssertion(field, f"lacks a {length}-byte {name}")
    ac = fields.get(0x9F26)
    sdad = fields.get(0x9F4B)
    if ac is not None and len(ac) != 8:
        raise MalformedAssertion(field, "the Application Cryptogram (9F26) is not 8 bytes")
    if ac is None and sdad is None:
        raise MalformedAssertion(field, "holds neither an Application Cryptogram (9F26) nor a CDA signature (9F4B)")
    iad = fields.get(0x9F10, b"")
    if len(iad) > 32:
        raise MalformedAssertion(field, "the IAD (9F10) is longer than 32 bytes")
    return GenerateAcAnswer(0x77, template.value, fields[0x9F27][0], fields[0x9F36], ac, iad, sdad)


def _internal_authenticate(response: bytes) -> bytes | None:
    if not response:
        return None
    field = "evidence.internal_authenticate_response"
    template = _template(response, field, (0x80, 0x77))
    if template.tag == 0x80:
        return template.value
    sdad = _children(template, field).get(0x9F4B)
    if sdad is None:
        raise MalformedAssertion(field, "holds no signed dynamic data (9F4B)")
    return sdad


def _dol(value: bytes, field: str) -> tuple[DolEntry, ...]:
    try:
        return parse_dol(value)
    except MalformedDataError as exc:
        raise MalformedAssertion(field, f"is malformed ({exc.reason})") from None


def parse_card_evidence(evidence: CardEvidence) -> CardFacts:
    """Parse the card's answers; :class:`MalformedAssertion` for anything unusable."""
    aip, afl = _gpo(evidence.gpo_response)
    values, oda_records = _records(evidence, afl)
    if 0x5A not in values:
        raise MalformedAssertion("evidence.records", "hold no Application PAN (5A)")
    try:
        pan = pan_from_cn(values[0x5A])
    except MalformedDataError:
        raise MalformedAssertion("evidence.records", "the Application PAN (5A) is not 1..19 digits") from None
    psn_raw = values.get(0x5F34)
    psn = None
    if psn_raw is not None:
        psn = psn_raw.hex()
        if len(psn_raw) != 1 or not psn.isdigit():
            raise MalformedAssertion("evidence.records", "the PAN Sequence Number (5F34) is not 2 digits")
    if 0x8C not in values:
        raise MalformedAssertion("evidence.records", "hold no CDOL1 (8C)")
    cdol1 = _dol(values[0x8C], "evidence.records: CDOL1 (8C)")
    ddol_raw = values.get(0x9F49)
    ddol = _dol(ddol_raw if ddol_raw else DEFAULT_DDOL, "evidence.records: DDOL (9F49)")
    return CardFacts(
        aid=evidence.aid,
        aip=aip,
        afl=afl,
        values=values,
        oda_records=oda_records,
        pan=pan,
        psn=psn,
        cdol1=cdol1,
        ddol=ddol,
        ddol_from_card=bool(ddol_raw),
        cda_requested=bool(evidence.generate_ac_p1 & P1_CDA),
        generate_ac=_generate_ac(evidence.generate_ac_response),
        internal_authenticate_sdad=_internal_authenticate(evidence.internal_authenticate_response),
    )
