"""EMV CAP (Chip Authentication Program): the card-reader OTP that card tap replaces.

There is no public CAP specification. What is modelled here is what public
sources agree on (Drimer, Murdoch, Anderson, "Optimised to Fail", FC 2009; the
python-emv and EMV-CAP tools behind ``tests/vectors/otp.json`` §4):

1. The reader reads the card's CDOL1 (8C), Issuer Proprietary Bitmap (IPB, 9F56),
   Issuer Authentication Flag (IAF, 9F55) and PAN sequence number (5F34), verifies
   the PIN offline, and sends GENERATE AC asking for an ARQC (P1 = 80, EMV 4.4
   Book 3 §6.5.5) with CDOL1 data built as a fake purchase:
   9A (date) = 010101 (python-emv, "PINsentry") or 000000 (the FC 2009 trace),
   95 (TVR) = 80 00 00 00 00 ("offline data authentication was not performed",
   Book 3 Annex C5), 9F37 = the challenge as BCD, 9F02 = the amount in minor
   units as BCD, each left-padded with 00 to its DOL length; everything else 00.
2. It takes ``[PSN if IAF & 0x40] || CID || ATC || AC || IAD`` from the response
   (format 1, tag 80, or format 2, tag 77; Book 3 §6.5.5.4), keeps the bits where
   the IPB has a 1, most significant first, and shows them as a decimal number.
3. It usually cancels the fake purchase with a second GENERATE AC asking for an
   AAC (P1 = 00), CDOL2 with 8A = "Z3" (unable to go online).

Modes. Readers offer *Identify*, *Respond* and *Sign*; the CAP documents behind
them name two modes (names as in the FC 2009 paper and the EMV-CAP tool):

=============  ==========================  ===========================================
``CapMode``    CAP mode                    CDOL1 input
=============  ==========================  ===========================================
IDENTIFY       Mode 2 ("response only")    no challenge, no amount (all zero)
RESPOND        Mode 1 with a challenge     9F37 = challenge, amount zero
SIGN           Mode 1 with an amount       9F37 = challenge, 9F02 = amount (PINsentry)
SIGN_TDS       Mode 2 with TDS             as IDENTIFY; then the AC is replaced by a
                                           MAC of the typed data keyed with the AC
=============  ==========================  ===========================================

SIGN_TDS ("transaction data signing") is modelled from public descriptions only
and has **no public test vector**: decimal fields joined by ``F`` nibbles (``F``
appended if odd), ISO/IEC 9797-1 padding method 2, single-DES CBC-MAC keyed with
the 8-byte AC; the MAC replaces the AC in the bit selection. Treat its output as
illustrative.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from protocol import tlv
from protocol.apdu import CommandApdu, ResponseApdu
from protocol.crypto import primitives
from protocol.dol import DolEntry, build_dol_data, parse_dol
from protocol.errors import CardError, MalformedDataError, StatusWordError, UsageError

#: 9A transaction date as python-emv / barclays-pinsentry send it.
DATE_PINSENTRY = bytes.fromhex("010101")
#: 9A transaction date as in the FC 2009 CAP trace (EMV-CAP ``cap_fc09_uk``).
DATE_ZERO = bytes(3)
#: 95 TVR: byte 1 bit 8, "offline data authentication was not performed".
TVR_CAP = bytes.fromhex("8000000000")
#: 8A authorisation response code for the cancelling second GENERATE AC.
ARC_UNABLE_TO_GO_ONLINE = b"Z3"
#: IAF (9F55) bit saying the PAN sequence number is prepended to the CAP data.
IAF_PSN = 0x40
#: GENERATE AC reference control parameter P1 (Book 3 §6.5.5.2).
P1_AAC, P1_ARQC = 0x00, 0x80
MAX_TDS_FIELDS = 10
MAX_TDS_DIGITS = 10


class CapMode(enum.Enum):
    """What the cardholder pressed on the reader (see the module docstring)."""

    IDENTIFY = "identify"
    RESPOND = "respond"
    SIGN = "sign"
    SIGN_TDS = "sign-tds"


class GenerateAcResponseError(MalformedDataError):
    """A GENERATE AC response does not parse (Book 3 §6.5.5.4)."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason, offset, what="GENERATE AC response")


def _digits(name: str, value: str | int) -> str:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None or not text or not text.isascii() or not text.isdigit():
        raise UsageError(f"{name} must be decimal digits, got {value!r}")
    return text


def bcd(value: str | int, length: int, name: str = "value") -> bytes:
    """Decimal digits as BCD, left-padded with zeros to ``length`` bytes (EMV format n)."""
    text = _digits(name, value)
    stripped = text.lstrip("0") or "0"
    if len(stripped) > 2 * length:
        raise UsageError(f"{name} has {len(stripped)} digits but its data object holds {2 * length}")
    return bytes.fromhex(stripped.rjust(2 * length, "0"))


@dataclass(frozen=True)
class CapRequest:
    """What the cardholder typed: a mode, a challenge and an amount (minor units)."""

    mode: CapMode
    challenge: str | None = None
    amount_minor: int | None = None
    tds_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        needs_challenge = self.mode in (CapMode.RESPOND, CapMode.SIGN)
        if needs_challenge and self.challenge is None:
            raise UsageError(f"CAP {self.mode.value} needs a challenge")
        if not needs_challenge and self.challenge is not None:
            raise UsageError(f"CAP {self.mode.value} takes no challenge")
        if (self.mode is CapMode.SIGN) != (self.amount_minor is not None):
            raise UsageError("an amount is given in CAP sign mode, and only there")
        if (self.mode is CapMode.SIGN_TDS) != bool(self.tds_fields):
            raise UsageError("transaction data fields are given in CAP sign-tds mode, and only there")
        if self.challenge is not None:
            object.__setattr__(self, "challenge", _digits("challenge", self.challenge))
        if self.amount_minor is not None and (
            not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool) or self.amount_minor < 0
        ):
            raise UsageError(f"amount must be a non-negative number of minor units, got {self.amount_minor!r}")
        fields = tuple(_digits("TDS field", f) for f in self.tds_fields)
        if len(fields) > MAX_TDS_FIELDS or any(len(f) > MAX_TDS_DIGITS for f in fields):
            raise UsageError(f"TDS takes at most {MAX_TDS_FIELDS} fields of at most {MAX_TDS_DIGITS} digits")
        object.__setattr__(self, "tds_fields", fields)


@dataclass(frozen=True)
class DolField:
    """One CDOL entry as sent: tag, length and the value bytes."""

    tag: int
    length: int
    value: bytes


@dataclass(frozen=True)
class CapCommand:
    """A CAP GENERATE AC command with the DOL data it carries, field by field."""

    apdu: CommandApdu
    dol_data: bytes
    fields: tuple[DolField, ...]

    @property
    def encoded(self) -> bytes:
        return self.apdu.encode()


def cap_dol_values(
    request: CapRequest,
    *,
    transaction_date: bytes = DATE_PINSENTRY,
    tvr: bytes = TVR_CAP,
) -> dict[int, bytes]:
    """The CDOL values a CAP reader supplies (unpadded; everything else is zero)."""
    values: dict[int, bytes] = {0x9A: bytes(transaction_date), 0x95: bytes(tvr)}
    if request.challenge is not None:
        values[0x9F37] = bcd(request.challenge, 4, "challenge").lstrip(b"\x00") or b"\x00"
    if request.amount_minor is not None:
        values[0x9F02] = bcd(request.amount_minor, 6, "amount").lstrip(b"\x00") or b"\x00"
    return values


def _fit(entries: Sequence[DolEntry], values: Mapping[int, bytes]) -> dict[int, bytes]:
    """Left-pad each supplied value to its DOL length (the vectors' rule)."""
    fitted: dict[int, bytes] = {}
    for entry in entries:
        value = values.get(entry.tag)
        if value is None or entry.tag in fitted:
            continue
        if len(value) > entry.length:
            if entry.tag in (0x9F37, 0x9F02):
                what = "challenge" if entry.tag == 0x9F37 else "amount"
                raise UsageError(f"the {what} does not fit the card's {tlv.tag_hex(entry.tag)} of {entry.length} bytes")
            fitted[entry.tag] = value  # let the DOL rules of Book 3 §5.4 truncate
            continue
        fitted[entry.tag] = value.rjust(entry.length, b"\x00")
    return fitted


def _command(dol: bytes, values: Mapping[int, bytes], p1: int, with_le: bool) -> CapCommand:
    entries = parse_dol(dol)
    if not entries:
        raise CardError("the card's CDOL is empty")
    data = build_dol_data(entries, _fit(entries, values))
    fields, offset = [], 0
    for entry in entries:
        fields.append(DolField(entry.tag, entry.length, data[offset : offset + entry.length]))
        offset += entry.length
    apdu = CommandApdu(0x80, 0xAE, p1, 0x00, data, le=256 if with_le else None)
    return CapCommand(apdu, data, tuple(fields))


def build_cap_generate_ac(
    cdol1: bytes,
    request: CapRequest,
    *,
    transaction_date: bytes = DATE_PINSENTRY,
    tvr: bytes = TVR_CAP,
    with_le: bool = True,
) -> CapCommand:
    """First GENERATE AC (ARQC, P1 = 80) with CDOL1 (8C) filled as a CAP reader does.

    ``transaction_date`` is 010101 (python-emv) or 000000 (FC 2009 trace);
    ``with_le`` adds Le = 00 (python-emv does, the FC 2009 trace does not).
    """
    values = cap_dol_values(request, transaction_date=transaction_date, tvr=tvr)
    if request.challenge is not None and 0x9F37 not in {e.tag for e in parse_dol(cdol1)}:
        raise CardError("the card's CDOL1 has no unpredictable number (9F37) to carry a challenge")
    return _command(cdol1, values, P1_ARQC, with_le)


def build_cap_second_generate_ac(
    cdol2: bytes,
    request: CapRequest,
    *,
    transaction_date: bytes = DATE_PINSENTRY,
    tvr: bytes = TVR_CAP,
    with_le: bool = True,
) -> CapCommand:
    """Second GENERATE AC (AAC, P1 = 00) cancelling the fake purchase; 8A = "Z3"."""
    values = cap_dol_values(request, transaction_date=transaction_date, tvr=tvr)
    values[0x8A] = ARC_UNABLE_TO_GO_ONLINE
    return _command(cdol2, values, P1_AAC, with_le)


@dataclass(frozen=True)
class GenerateAcResponse:
    """The fields of a GENERATE AC response (Book 3 §6.5.5.4)."""

    response_format: int
    cid: int
    atc: bytes
    ac: bytes
    iad: bytes

    @property
    def atc_value(self) -> int:
        return int.from_bytes(self.atc, "big")

    @property
    def cryptogram_type(self) -> str:
        """AAC, TC, ARQC or RFU from CID bits 8-7 (Book 3 §6.5.5.4)."""
        return ("AAC", "TC", "ARQC", "RFU")[self.cid >> 6]


def parse_generate_ac_response(data: bytes) -> GenerateAcResponse:
    """Parse a GENERATE AC response data field (without the status word).

    Format 1: tag 80 holding CID(1) ATC(2) AC(8) IAD(0-32). Format 2: tag 77
    holding at least 9F27, 9F36, 9F26 and optionally 9F10. Raises
    :class:`GenerateAcResponseError` (or :class:`~protocol.tlv.TlvError`) for
    anything else: truncated, over-long, wrong lengths, missing data objects.
    """
    if not isinstance(data, bytes | bytearray):
        raise UsageError(f"response must be bytes, got {type(data).__name__}")
    outer = tlv.decode_one(bytes(data), max_depth=2)
    if outer.tag == 0x80:
        value = outer.value
        if not 11 <= len(value) <= 43:
            raise GenerateAcResponseError(
                f"format 1 holds CID(1) ATC(2) AC(8) IAD(0-32), i.e. 11-43 bytes, got {len(value)}",
                outer.offset,
            )
        return GenerateAcResponse(1, value[0], value[1:3], value[3:11], value[11:])
    if outer.tag == 0x77:
        found: dict[int, bytes] = {}
        for child in outer.children:
            if child.tag in found:
                raise GenerateAcResponseError(f"tag {child.tag_hex} appears twice", child.offset)
            found[child.tag] = child.value
        for tag, name, length in ((0x9F27, "CID", 1), (0x9F36, "ATC", 2), (0x9F26, "AC", 8)):
            if tag not in found:
                raise GenerateAcResponseError(f"format 2 response has no {name} ({tlv.tag_hex(tag)})")
            if len(found[tag]) != length:
                raise GenerateAcResponseError(f"{name} ({tlv.tag_hex(tag)}) must be {length} bytes, got {len(found[tag])}")
        iad = found.get(0x9F10, b"")
        if len(iad) > 32:
            raise GenerateAcResponseError(f"IAD (9F10) is at most 32 bytes, got {len(iad)}")
        return GenerateAcResponse(2, found[0x9F27][0], found[0x9F36], found[0x9F26], iad)
    raise GenerateAcResponseError(f"expected template 80 or 77, got tag {outer.tag_hex}", outer.offset)


def parse_generate_ac_rapdu(rapdu: bytes) -> GenerateAcResponse:
    """Parse a whole response APDU: status word 9000 required, then the data field."""
    response = ResponseApdu.parse(bytes(rapdu))
    if response.sw != 0x9000:
        raise StatusWordError(response.sw, "GENERATE AC")
    return parse_generate_ac_response(response.data)


@dataclass(frozen=True)
class CapCardData:
    """What the CAP computation needs from the card's records."""

    ipb: bytes
    iaf: int = 0
    psn: bytes | None = None
    cdol1: bytes | None = None
    cdol2: bytes | None = None

    @property
    def psn_included(self) -> bool:
        return bool(self.iaf & IAF_PSN)

    @classmethod
    def from_records(cls, records: Iterable[bytes]) -> CapCardData:
        """Collect 9F56, 9F55, 5F34, 8C and 8D from READ RECORD / SELECT responses."""
        values: dict[int, bytes] = {}
        for record in records:
            for tag, value in tlv.flatten(tlv.decode(bytes(record))).items():
                values.setdefault(tag, value)
        if 0x9F56 not in values:
            raise CardError("the card has no Issuer Proprietary Bitmap (9F56): no CAP data")
        iaf = values.get(0x9F55, b"\x00")
        return cls(values[0x9F56], iaf[0] if iaf else 0, values.get(0x5F34), values.get(0x8C), values.get(0x8D))


@dataclass(frozen=True)
class CapSegment:
    """One part of the CAP source data: PSN, CID, ATC, AC (or TDS MAC), IAD."""

    name: str
    offset: int
    value: bytes


@dataclass(frozen=True)
class SelectedBit:
    """One bit picked by the IPB: which segment, which byte of it, EMV bit number (b8..b1)."""

    segment: str
    byte_index: int
    bit: int
    value: int


@dataclass(frozen=True)
class CapOtp:
    """The CAP code and every intermediate value the app shows."""

    source: bytes
    segments: tuple[CapSegment, ...]
    ipb: bytes
    selected: tuple[SelectedBit, ...]
    otp: int
    psn_included: bool
    tds_mac: bytes | None = field(default=None)

    @property
    def selected_bits(self) -> str:
        """The selected bits, most significant first, as a string of 0 and 1."""
        return "".join(str(b.value) for b in self.selected)

    @property
    def text(self) -> str:
        """The decimal code as the reader displays it (no leading zeros)."""
        return str(self.otp)

    @property
    def max_digits(self) -> int:
        """Digits of the largest code this IPB can give (2^bits - 1)."""
        return len(str((1 << len(self.selected)) - 1))

    @property
    def mask_view(self) -> str:
        """The source bits with unselected ones shown as ``.`` (aligned with the IPB)."""
        out = []
        for index in range(min(len(self.ipb), len(self.source)) * 8):
            keep = self.ipb[index // 8] >> (7 - index % 8) & 1
            out.append(str(self.source[index // 8] >> (7 - index % 8) & 1) if keep else ".")
        return "".join(out)


def tds_mac(ac: bytes, fields: Sequence[str]) -> bytes:
    """SIGN_TDS: single-DES CBC-MAC of the typed fields keyed with the AC (modelled, see module doc)."""
    if len(ac) != 8:
        raise UsageError(f"the AC is 8 bytes, got {len(ac)}")
    nibbles = "F".join(_digits("TDS field", f) for f in fields)
    if not nibbles:
        raise UsageError("TDS needs at least one field")
    if len(nibbles) % 2:
        nibbles += "F"
    data = bytes.fromhex(nibbles) + b"\x80"
    data += bytes(-len(data) % 8)  # ISO/IEC 9797-1 padding method 2
    # K1 = K2 = K3 = AC: triple DES with three equal keys is single DES.
    return primitives.tdes_cbc_encrypt(bytes(ac) * 3, data)[-8:]


def compute_cap_otp(
    response: GenerateAcResponse,
    ipb: bytes,
    *,
    iaf: int = 0,
    psn: bytes | None = None,
    tds_fields: Sequence[str] = (),
) -> CapOtp:
    """The CAP code: bits of ``[PSN] || CID || ATC || AC || IAD`` selected by the IPB.

    The IPB's first bit lines up with the first source bit; source bytes past the
    IPB are not used; IPB bits past the end of the source must be 0 (otherwise
    :class:`CardError`: the card's IPB asks for data its response lacks).
    """
    ipb = bytes(ipb)
    if not ipb or not any(ipb):
        raise CardError("the Issuer Proprietary Bitmap (9F56) selects no bits")
    segments: list[CapSegment] = []
    parts: list[tuple[str, bytes]] = []
    include_psn = bool(iaf & IAF_PSN)
    if include_psn:
        if not psn:
            raise CardError("the IAF (9F55) asks for the PAN sequence number (5F34) but none is given")
        parts.append(("PSN", bytes(psn)))
    mac = tds_mac(response.ac, tds_fields) if tds_fields else None
    parts += [("CID", bytes([response.cid])), ("ATC", response.atc), ("TDS MAC" if mac else "AC", mac or response.ac)]
    parts.append(("IAD", response.iad))
    offset = 0
    for name, value in parts:
        segments.append(CapSegment(name, offset, value))
        offset += len(value)
    source = b"".join(value for _, value in parts)
    if any(ipb[len(source) :]):
        raise CardError(
            f"the IPB selects bits beyond the {len(source)} bytes of CAP data the card returned"
        )
    owner = [seg for seg in segments for _ in seg.value]
    selected: list[SelectedBit] = []
    otp = 0
    for index in range(min(len(ipb), len(source)) * 8):
        byte, shift = index // 8, 7 - index % 8
        if ipb[byte] >> shift & 1:
            bit = source[byte] >> shift & 1
            seg = owner[byte]
            selected.append(SelectedBit(seg.name, byte - seg.offset, shift + 1, bit))
            otp = otp << 1 | bit
    return CapOtp(source, tuple(segments), ipb, tuple(selected), otp, include_psn, mac)
