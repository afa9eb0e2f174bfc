"""EMV CAP on the verifier's side: the issuer's record of a CAP card and the codes it gives.

A CAP reader (:mod:`protocol.cap`) sends the card a GENERATE AC for an ARQC with
CDOL1 filled as a fake purchase (9A, 95, the challenge as 9F37, the amount as
9F02), and shows the bits of ``[PSN] ‖ CID ‖ ATC ‖ AC ‖ IAD`` that the card's
Issuer Proprietary Bitmap (9F56) selects. The issuer — here the verifier — can
compute the same code for any ATC: it derives the ICC master key from its issuer
master key (EMV 4.4 Book 2 Annex A1.4), rebuilds the CDOL1 data exactly as the
reader does, MACs the cryptogram input of the card's CVN (Annex A1.2) and applies
the IPB. Since the code carries only a few ATC bits, the verifier tries the ATCs
after the last one it accepted, in a bounded window (:class:`CapCodes`).

What the verifier keeps about a CAP card (:class:`CapParams`) holds no PAN:
``card_ref`` and the masked PAN only; the user types the card number with the
code (as online-banking CAP logins ask), and it is checked against ``card_ref``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from protocol import cap, tlv
from protocol.cap import CapMode, CapOtp, CapRequest, GenerateAcResponse
from protocol.crypto.cryptogram import derive_icc_master_key, generate_ac_from_icc_mk
from protocol.crypto.cvn import Cvn, ac_input
from protocol.crypto.keys import kcv
from protocol.errors import UsageError
from protocol.keystore import IssuerKeyEntry
from protocol.masking import mask_pan
from protocol.tap.challenge import Challenge
from protocol.tap.verifier_checks import terminal_data


def cap_challenge_digits(challenge: Challenge) -> str:
    """The 8 digits a CAP Respond/Sign reader is given for ``challenge`` (from its UN, so bound to T)."""
    return f"{int.from_bytes(challenge.un, 'big') % 10**8:08d}"


def cap_request(mode: CapMode, challenge: Challenge | None) -> CapRequest:
    """The reader's request for ``mode``: Respond types the challenge digits, Sign also T's amount."""
    if mode is CapMode.IDENTIFY:
        return CapRequest(mode)
    if mode not in (CapMode.RESPOND, CapMode.SIGN) or challenge is None:
        raise UsageError(f"CAP {mode.value} is verified with a challenge (Respond, Sign) or none (Identify)")
    amount = challenge.transaction.amount_minor if mode is CapMode.SIGN else None
    return CapRequest(mode, cap_challenge_digits(challenge), amount)


@dataclass(frozen=True, repr=False)
class CapCard:
    """The issuer's record of a CAP card (what its card management system knows). ``repr`` masks the PAN.

    ``iad`` is the Issuer Application Data the card returns to a CAP GENERATE AC
    after a correct PIN (its CVR says "offline PIN verified, ARQC requested");
    ``atc`` the ATC of the reading it was taken from (the first ATC on record).
    """

    aid: bytes
    pan: str
    psn: str | None
    aip: bytes
    ipb: bytes
    iaf: int
    cdol1: bytes
    iad: bytes
    atc: int = 0

    def __repr__(self) -> str:
        return f"CapCard(aid={self.aid.hex().upper()}, pan={mask_pan(self.pan)}, ipb={self.ipb.hex().upper()})"

    @classmethod
    def from_reading(cls, aid: bytes, records: Sequence[bytes], aip: bytes, generate_ac_response: bytes) -> CapCard:
        """From a CAP reader's reading: READ RECORD data, the AIP, and a CAP GENERATE AC answer (after the PIN)."""
        data = cap.CapCardData.from_records(records)
        values: dict[int, bytes] = {}
        for record in records:
            for tag, value in tlv.flatten(tlv.decode(bytes(record))).items():
                values.setdefault(tag, value)
        if data.cdol1 is None or 0x5A not in values:
            raise UsageError("the CAP card's records lack the CDOL1 (8C) or the PAN (5A)")
        response = cap.parse_generate_ac_response(generate_ac_response)
        psn = data.psn.hex() if data.psn else None
        pan = values[0x5A].hex().upper().rstrip("F")
        return cls(bytes(aid), pan, psn, bytes(aip), data.ipb, data.iaf, data.cdol1, response.iad, response.atc_value)


@dataclass(frozen=True)
class CapEnrolment:
    user_id: str
    card_ref: bytes
    masked_pan: str
    cryptogram: str


@dataclass(frozen=True)
class CapParams:
    """What the verifier stores for a CAP card (no PAN, no key)."""

    aid: str
    psn: str | None
    aip: str
    ipb: str
    iaf: int
    cdol1: str
    iad: str
    card_ref: str
    masked_pan: str
    cryptogram: str

    @classmethod
    def of(cls, card: CapCard, card_ref: bytes, cryptogram: str) -> CapParams:
        h = lambda b: bytes(b).hex().upper()  # noqa: E731
        return cls(h(card.aid), card.psn, h(card.aip), h(card.ipb), card.iaf, h(card.cdol1), h(card.iad),
                   card_ref.hex(), mask_pan(card.pan), cryptogram)  # fmt: skip

    @classmethod
    def from_json(cls, params: Mapping[str, object]) -> CapParams:
        try:
            psn = params.get("psn")
            text = {k: str(params[k]) for k in ("aid", "aip", "ipb", "cdol1", "iad", "card_ref", "masked_pan",
                                                 "cryptogram")}  # fmt: skip
            return cls(psn=psn if isinstance(psn, str) else None, iaf=int(str(params["iaf"])), **text)
        except (KeyError, ValueError) as exc:
            raise UsageError(f"the stored CAP card record is damaged: {exc}") from None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class CapCodes:
    """The codes a CAP card gives at each ATC for one request (the issuer's side of the reader)."""

    def __init__(self, params: CapParams, entry: IssuerKeyEntry, pan: str, request: CapRequest,
                 transaction_date: bytes = cap.DATE_PINSENTRY) -> None:  # fmt: skip
        self.params, self.request = params, request
        self.cvn = Cvn.parse(entry.cryptogram)
        self.aip, self.iad = bytes.fromhex(params.aip), bytes.fromhex(params.iad)
        self.ipb = bytes.fromhex(params.ipb)
        self.psn = bytes.fromhex(params.psn) if params.psn else None
        command = cap.build_cap_generate_ac(bytes.fromhex(params.cdol1), request, transaction_date=transaction_date)
        self.terminal = terminal_data({f.tag: f.value for f in command.fields})
        self._icc_mk = derive_icc_master_key(self.cvn, entry.keys.ac, pan, params.psn)

    @property
    def icc_master_key_kcv(self) -> str:
        return kcv(self._icc_mk, aes=self.cvn.profile.is_aes)

    def at(self, atc: int) -> CapOtp:
        """The code (and its intermediate values) the card gives at ``atc``."""
        atc_b = atc.to_bytes(2, "big")
        data = ac_input(self.cvn, terminal_data=self.terminal, aip=self.aip, atc=atc_b, iad=self.iad)
        ac = generate_ac_from_icc_mk(self.cvn, self._icc_mk, atc=atc_b, un=self.terminal[-4:], ac_input=data)
        response = GenerateAcResponse(1, 0x80, atc_b, ac, self.iad)
        return cap.compute_cap_otp(response, self.ipb, iaf=self.params.iaf, psn=self.psn)

    def find(self, typed: int, atcs: range) -> int | None:
        """The first ATC of ``atcs`` whose code is ``typed``."""
        return next((atc for atc in atcs if self.at(atc).otp == typed), None)
