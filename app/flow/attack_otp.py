"""The OTP side as the user sees it: the authenticator app, the SMS code, and a PINsentry-style CAP reader.

Used by the attack lab (to run each attack against the OTP a bank would use
instead of a tap) and by ``trustone otp``:

* :func:`authenticator_code` — the TOTP an authenticator app shows now
  (RFC 6238), from the credential the verifier enrolled;
* :func:`next_hotp_code` — the next HOTP (RFC 4226) of a user's credential: what
  an OTP token shows next, or — the lab's model of an **SMS OTP** — the code the
  bank's SMS gateway sends to the phone *number* on record (whoever holds the SIM
  receives it);
* :func:`read_cap` — what a CAP reader (PINsentry-style) does with the card:
  SELECT the CAP application, GET PROCESSING OPTIONS, READ RECORD, VERIFY the PIN
  offline, GENERATE AC (ARQC) with CDOL1 filled as :mod:`protocol.cap` says, a
  second GENERATE AC (AAC) to cancel, and the IPB bit selection that makes the
  8-digit code. Over any transport, so the emulated CAP card and a real one work.

The PIN goes to the card only; it is never logged, and the VERIFY command's data
is masked in :attr:`CapExchange.command` as shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.transports.base import Transport
from app.transports.wrappers import wrap
from protocol import cap, status_words, tlv
from protocol.apdu import CommandApdu
from protocol.cap import CapOtp, CapRequest
from protocol.crypto import otp
from protocol.errors import CardError, StatusWordError
from protocol.tap.verifier_cap import CapCard
from protocol.tap.verifier_store import OtpKind, VerifierStore
from protocol.trace_masking import mask_command

#: CAP application identifiers a reader tries, in order (Visa DPA, Mastercard CAP).
CAP_AIDS = (bytes.fromhex("A0000000038002"), bytes.fromhex("A0000000048002"))
SW_OK = 0x9000


# --------------------------------------------------------------------------- TOTP / HOTP / SMS


def authenticator_code(store: VerifierStore, user_id: str, unix_time: int) -> str:
    """The TOTP code the user's authenticator app shows at ``unix_time`` (``KeyError`` if none enrolled)."""
    token = store.otp_token(user_id, OtpKind.TOTP)
    if token is None:
        raise KeyError(f"user {user_id!r} has no TOTP credential")
    p = token.params
    key = otp.TotpKey(token.secret, int(str(p["digits"])), str(p["algorithm"]), int(str(p.get("period") or 30)))
    return otp.totp(key, unix_time)


def next_hotp_code(store: VerifierStore, user_id: str) -> str:
    """The HOTP code at the verifier's next expected counter (``KeyError`` if none enrolled)."""
    token = store.otp_token(user_id, OtpKind.HOTP)
    if token is None:
        raise KeyError(f"user {user_id!r} has no HOTP credential")
    key = otp.HotpKey(token.secret, int(str(token.params["digits"])), str(token.params["algorithm"]))
    return otp.hotp(key, token.counter or 0)


# --------------------------------------------------------------------------- CAP reader


@dataclass(frozen=True)
class CapExchange:
    """One command/response pair of a CAP reading; a VERIFY's PIN block is masked."""

    name: str
    command: bytes
    response: bytes

    @property
    def sw(self) -> int:
        return int.from_bytes(self.response[-2:], "big") if len(self.response) >= 2 else 0


@dataclass(frozen=True)
class CapReading:
    """What the reader read and computed: the data a verifier enrols, the code, the exchanges."""

    aid: bytes
    records: tuple[bytes, ...]
    aip: bytes
    generate_ac_response: bytes
    otp: CapOtp
    request: CapRequest
    exchanges: tuple[CapExchange, ...]

    @property
    def code(self) -> str:
        return self.otp.text

    def card(self) -> CapCard:
        """The issuer's record of this card (for :meth:`~protocol.tap.verifier.Verifier.enrol_cap`)."""
        return CapCard.from_reading(self.aid, self.records, self.aip, self.generate_ac_response)


class _Reader:
    def __init__(self, transport: Transport) -> None:
        self.link = wrap(transport)  # GET RESPONSE / 6Cxx handled as a reader does
        self.log: list[CapExchange] = []

    def send(self, name: str, command: bytes, *, required: bool = True) -> tuple[bytes, int]:
        response = self.link.transmit(command)
        shown = mask_command(command) if command[1:2] == b"\x20" else command
        self.log.append(CapExchange(name, shown, response))
        sw = int.from_bytes(response[-2:], "big") if len(response) >= 2 else 0
        if required and sw != SW_OK:
            raise StatusWordError(sw, name, status_words.describe(sw))
        return response[:-2], sw


def _apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = 256) -> bytes:
    return CommandApdu(cla, ins, p1, p2, data, le=le).encode()


def _processing_options(data: bytes) -> tuple[bytes, bytes]:
    """AIP and AFL from a GPO answer, format 1 (80) or 2 (77) (EMV 4.4 Book 3 §6.5.8.4)."""
    node = tlv.decode_one(data)
    if node.tag == 0x80 and len(node.value) >= 2:
        return node.value[:2], node.value[2:]
    values = tlv.flatten(tlv.decode(data))
    if 0x82 not in values or 0x94 not in values:
        raise CardError("the GET PROCESSING OPTIONS answer has no AIP (82) and AFL (94)")
    return values[0x82], values[0x94]


def read_cap(transport: Transport, request: CapRequest, pin: str) -> CapReading:
    """One CAP code from the card behind ``transport`` (see the module docstring).

    Raises :class:`~protocol.errors.StatusWordError` when the card refuses a step
    (e.g. a wrong PIN: ``63Cx``) and :class:`~protocol.errors.CardError` when it
    has no CAP application or data.
    """
    reader = _Reader(transport)
    aid = None
    for candidate in CAP_AIDS:
        _, sw = reader.send(f"SELECT {candidate.hex().upper()}", _apdu(0x00, 0xA4, 0x04, 0x00, candidate), required=False)
        if sw == SW_OK:
            aid = candidate
            break
    if aid is None:
        raise CardError("the card has no CAP application (tried " + ", ".join(a.hex().upper() for a in CAP_AIDS) + ")")
    gpo, _ = reader.send("GET PROCESSING OPTIONS", _apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8300")))
    aip, afl = _processing_options(gpo)
    records: list[bytes] = []
    for i in range(0, len(afl) - 3, 4):
        sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
        for number in range(first, last + 1):
            data, _ = reader.send(f"READ RECORD SFI {sfi} #{number}", _apdu(0x00, 0xB2, number, (sfi << 3) | 4))
            records.append(data)
    data = cap.CapCardData.from_records(records)
    if data.cdol1 is None:
        raise CardError("the CAP card has no CDOL1 (8C)")
    block = bytes.fromhex(f"2{len(pin):X}{pin}".ljust(16, "F"))  # plaintext PIN block, ISO 9564 format 2
    reader.send("VERIFY (offline PIN)", _apdu(0x00, 0x20, 0x00, 0x80, block, le=None))
    answer, _ = reader.send("GENERATE AC (ARQC, CAP)", cap.build_cap_generate_ac(data.cdol1, request).encoded)
    if data.cdol2 is not None:
        reader.send("GENERATE AC (AAC, cancel)", cap.build_cap_second_generate_ac(data.cdol2, request).encoded,
                    required=False)  # fmt: skip
    code = cap.compute_cap_otp(cap.parse_generate_ac_response(answer), data.ipb, iaf=data.iaf, psn=data.psn)
    return CapReading(aid, tuple(records), aip, answer, code, request, tuple(reader.log))
