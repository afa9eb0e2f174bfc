"""Offline data authentication on the phone (EMV 4.4 Book 3 §10.3; Book 2 §5, §6).

The phone checks, before it sends anything to the verifier, that the card is
genuine — as a terminal would, and as the verifier will again on its own:

* **method** (Book 3 §10.3): CDA when the AIP and the terminal both support it
  (and CDA is requested), else DDA, else SDA, else none;
* **CA key found**: the CA public key named by the card (RID of the AID, index
  ``8F``) in the phone's CA store (Book 2 §5.1, §6.1);
* **issuer certificate** (``90``, ``92``, ``9F32``): recovered with the CA key
  (Book 2 §5.3 / §6.3);
* **signed static data (SDA)** (``93``, Book 2 §5.4) or **ICC certificate**
  (``9F46``, ``9F47``, ``9F48``, Book 2 §6.4), both over the static data to be
  authenticated (Book 3 §10.3);
* **signed dynamic data**: INTERNAL AUTHENTICATE for DDA (Book 2 §6.5), or the
  signature in the GENERATE AC answer for CDA (Book 2 §6.6).

A failed check does **not** stop the tap: it is reported as a failed
:class:`~protocol.tap.events.CheckCompleted`, the matching TVR bit is set
(Book 3 Annex C5) and the verifier decides. Only a card that cannot answer
INTERNAL AUTHENTICATE at all ends the session.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from protocol import tlv
from protocol.apdu import CommandApdu
from protocol.crypto import oda
from protocol.crypto.primitives import RsaPublicKey, sha1
from protocol.decoders.aip import Aip
from protocol.dol import build_dol_data, parse_dol
from protocol.errors import MalformedDataError, ProtocolError
from protocol.masking import mask_pan
from protocol.tap.events import CheckCompleted, CheckStatus, CryptoComputed, DataDecoded, Lane, Step
from protocol.tap.reading import ApplicationData
from protocol.tap.tap_context import (
    CardAnswerError,
    Flow,
    MissingDataError,
    TapContext,
    check_command_data,
    decode_template,
    require_ok,
    short_hex,
    transmit,
)
from protocol.tap.tlv_view import INTERNAL_AUTHENTICATE_FORMAT1, decoded_nodes

CA_KEY = "CA key found"
ISSUER_CERTIFICATE = "issuer certificate"
STATIC_DATA = "static data to be authenticated"
SIGNED_STATIC_DATA = "signed static data (SDA)"
ICC_CERTIFICATE = "ICC certificate"
DDA_SIGNATURE = "signed dynamic data (DDA)"
CDA_SIGNATURE = "signed dynamic data (CDA)"
OFFLINE_DATA_AUTHENTICATION = "offline data authentication"

TVR_ODA_NOT_PERFORMED = 0x80  # TVR byte 1 (Book 3 Annex C5)
TVR_ICC_DATA_MISSING = 0x20


class OdaMethod(enum.Enum):
    """Offline data authentication methods, with their "failed" bit in TVR byte 1."""

    SDA = ("SDA", 0x40)
    DDA = ("DDA", 0x08)
    CDA = ("CDA", 0x04)

    def __init__(self, label: str, tvr_failed: int) -> None:
        self.label = label
        self.tvr_failed = tvr_failed


@dataclass
class OdaState:
    """What the phone's ODA established so far (the session's running record)."""

    method: OdaMethod | None
    issuer_key: RsaPublicKey | None = None
    icc_key: RsaPublicKey | None = None
    failures: list[str] = field(default_factory=list)
    signature_verified: bool = False


class _Stop(Exception):
    """A check failed; the static part of ODA cannot go further."""

    def __init__(self, check: str, detail: str, *, missing: bool = False) -> None:
        self.check = check
        self.detail = detail
        self.missing = missing
        super().__init__(detail)


def choose_method(aip: Aip, ctx: TapContext) -> OdaMethod | None:
    """Book 3 §10.3: CDA, else DDA, else SDA — each if both card and terminal support it."""
    terminal = ctx.terminal
    if aip.cda and terminal.supports_cda and ctx.request_cda:
        return OdaMethod.CDA
    if aip.dda and terminal.supports_dda:
        return OdaMethod.DDA
    if aip.sda and terminal.supports_sda:
        return OdaMethod.SDA
    return None


def _key_text(key: RsaPublicKey) -> str:
    return f"{key.modulus.bit_length()} bits, e={key.exponent}, modulus {short_hex(key.modulus_bytes)}"


def _pass(ctx: TapContext, check: str, detail: str) -> None:
    ctx.emit(CheckCompleted(ctx.step, Lane.PHONE, check, CheckStatus.PASSED, detail))


def fail(ctx: TapContext, state: OdaState, check: str, detail: str, *, missing: bool = False) -> None:
    """Report a failed ODA check and set the TVR bits (the tap goes on)."""
    ctx.emit(CheckCompleted(ctx.step, Lane.PHONE, check, CheckStatus.FAILED, detail))
    state.failures.append(f"{check}: {detail}")
    if state.method is not None:
        ctx.set_tvr(1, state.method.tvr_failed)
    if missing:
        ctx.set_tvr(1, TVR_ICC_DATA_MISSING)


def authenticate_static(ctx: TapContext, aid: bytes, aip: bytes, data: ApplicationData) -> OdaState:
    """The part of ODA that needs no further command: CA key, certificates, SDA."""
    method = choose_method(Aip(aip), ctx)
    state = OdaState(method)
    what = {
        None: "The card offers no offline data authentication method the phone supports.",
        OdaMethod.SDA: "static data authentication (SDA): the issuer signed the card's data once, so a "
        "copy of the data passes too — only the cryptogram proves the chip",
        OdaMethod.DDA: "dynamic data authentication (DDA): the card will sign a fresh challenge with its "
        "own private key, which a copy of its data cannot do",
        OdaMethod.CDA: "combined DDA/AC generation (CDA): the card will sign its cryptogram together with "
        "the transaction data with its own private key",
    }[method]
    explanation = (
        "The phone checks offline that the card is genuine: it recovers the issuer's certificate with the "
        f"payment scheme's CA public key, then the card's signed data. Method: {what}."
        if method is not None
        else f"The phone would check offline that the card is genuine. {what}"
    )
    ctx.start(Step.OFFLINE_DATA_AUTHENTICATION, explanation, "EMV 4.4 Book 3 §10.3; Book 2 §5 (SDA), §6 (DDA/CDA)")
    if method is None:
        ctx.emit(CheckCompleted(ctx.step, Lane.PHONE, OFFLINE_DATA_AUTHENTICATION, CheckStatus.SKIPPED, what))
        ctx.set_tvr(1, TVR_ODA_NOT_PERFORMED)
        return state
    values = data.values
    try:
        ca_key = _ca_key(ctx, aid, values)
        state.issuer_key = _issuer(ctx, ca_key, values, data.pan)
        static = _static_data(ctx, data, aip)
        if method is OdaMethod.SDA:
            _signed_static_data(ctx, state.issuer_key, values, static)
            state.signature_verified = True
        else:
            state.icc_key = _icc(ctx, state.issuer_key, values, data.pan, static)
    except _Stop as stop:
        fail(ctx, state, stop.check, stop.detail, missing=stop.missing)
    return state


def _need(values: Mapping[int, bytes], tag: int, check: str) -> bytes:
    value = values.get(tag)
    if value is None:
        raise _Stop(check, f"the card's records hold no {tlv.tag_hex(tag)}", missing=True)
    return value


def _ca_key(ctx: TapContext, aid: bytes, values: Mapping[int, bytes]) -> RsaPublicKey:
    index = _need(values, 0x8F, CA_KEY)
    try:
        key = ctx.ca_store.get_for_aid(aid, index, today=ctx.today)
    except ProtocolError as exc:
        raise _Stop(CA_KEY, str(exc)) from None
    _pass(ctx, CA_KEY, f"{key.label}, {key.modulus_bits}-bit CA public key ({key.origin or 'CA store'})")
    return key.public_key


def _issuer(ctx: TapContext, ca_key: RsaPublicKey, values: Mapping[int, bytes], pan: str) -> RsaPublicKey:
    certificate = _need(values, 0x90, ISSUER_CERTIFICATE)
    exponent = _need(values, 0x9F32, ISSUER_CERTIFICATE)
    remainder = values.get(0x92, b"")
    try:
        cert = oda.recover_issuer_certificate(
            ca_key, certificate, remainder=remainder, exponent=exponent, pan=pan, today=ctx.today
        )
    except ProtocolError as exc:
        raise _Stop(ISSUER_CERTIFICATE, str(exc)) from None
    ctx.emit(CryptoComputed(
        ctx.step, Lane.PHONE, "RSA recovery of the Issuer Public Key Certificate (format 02)",
        inputs=(("certificate (90)", short_hex(certificate)), ("CA public key", _key_text(ca_key)),
                ("remainder (92)", short_hex(remainder)), ("exponent (9F32)", exponent.hex().upper())),
        outputs=(("recovered data", short_hex(cert.recovered)), ("issuer identifier", cert.issuer_identifier_digits),
                 ("expiry", str(cert.expiry)), ("SHA-1 hash (matches)", cert.hash.hex().upper()),
                 ("issuer public key", _key_text(cert.public_key))),
        reference="EMV 4.4 Book 2 §5.3 / §6.3",
    ))  # fmt: skip
    _pass(ctx, ISSUER_CERTIFICATE, f"issuer {cert.issuer_identifier_digits}, valid until {cert.expiry}; "
          f"{len(cert.checks)} checks passed")  # fmt: skip
    return cert.public_key


def _static_data(ctx: TapContext, data: ApplicationData, aip: bytes) -> bytes:
    tag_list = data.values.get(0x9F4A)
    try:
        static = oda.static_data_to_authenticate(data.oda_records, tag_list, aip)
    except ProtocolError as exc:
        raise _Stop(STATIC_DATA, str(exc)) from None
    ctx.emit(CryptoComputed(
        ctx.step, Lane.PHONE, "Static data to be authenticated",
        inputs=(("records signed for ODA", str(len(data.oda_records))),
                ("tag list (9F4A)", tag_list.hex().upper() if tag_list else "none")),
        outputs=(("static data", f"{len(static)} bytes"), ("SHA-1 (for display)", sha1(static).hex().upper())),
        reference="EMV 4.4 Book 3 §10.3",
    ))  # fmt: skip
    return static


def _signed_static_data(ctx: TapContext, issuer_key: RsaPublicKey, values: Mapping[int, bytes], static: bytes) -> None:
    ssad = _need(values, 0x93, SIGNED_STATIC_DATA)
    try:
        result = oda.verify_signed_static_data(issuer_key, ssad, static_data=static)
    except ProtocolError as exc:
        raise _Stop(SIGNED_STATIC_DATA, str(exc)) from None
    ctx.dynamic[0x9F45] = result.data_authentication_code
    ctx.emit(CryptoComputed(
        ctx.step, Lane.PHONE, "RSA recovery of the Signed Static Application Data (format 03)",
        inputs=(("signed static data (93)", short_hex(ssad)), ("issuer public key", _key_text(issuer_key))),
        outputs=(("Data Authentication Code (9F45)", result.data_authentication_code.hex().upper()),
                 ("SHA-1 hash (matches)", result.hash.hex().upper())),
        reference="EMV 4.4 Book 2 §5.4",
    ))  # fmt: skip
    _pass(ctx, SIGNED_STATIC_DATA, "the issuer's signature over the card's static data is valid "
          "(a copy of the data would pass too: SDA does not prove the chip)")  # fmt: skip


def _icc(
    ctx: TapContext, issuer_key: RsaPublicKey, values: Mapping[int, bytes], pan: str, static: bytes
) -> RsaPublicKey:
    certificate = _need(values, 0x9F46, ICC_CERTIFICATE)
    exponent = _need(values, 0x9F47, ICC_CERTIFICATE)
    remainder = values.get(0x9F48, b"")
    try:
        cert = oda.recover_icc_certificate(
            issuer_key, certificate, remainder=remainder, exponent=exponent, static_data=static, pan=pan,
            today=ctx.today,
        )  # fmt: skip
    except ProtocolError as exc:
        raise _Stop(ICC_CERTIFICATE, str(exc)) from None
    ctx.emit(CryptoComputed(
        ctx.step, Lane.PHONE, "RSA recovery of the ICC Public Key Certificate (format 04)",
        inputs=(("certificate (9F46)", short_hex(certificate)), ("issuer public key", _key_text(issuer_key)),
                ("remainder (9F48)", short_hex(remainder)), ("exponent (9F47)", exponent.hex().upper()),
                ("static data", f"{len(static)} bytes")),
        outputs=(("PAN in the certificate", mask_pan(cert.pan)), ("expiry", str(cert.expiry)),
                 ("SHA-1 hash (matches)", cert.hash.hex().upper()), ("ICC public key", _key_text(cert.public_key))),
        reference="EMV 4.4 Book 2 §6.4",
    ))  # fmt: skip
    _pass(ctx, ICC_CERTIFICATE, f"the issuer certified the card's own key ({cert.public_key.modulus.bit_length()} "
          f"bits) for this PAN and static data, valid until {cert.expiry}")  # fmt: skip
    return cert.public_key


# --------------------------------------------------------------------------- DDA: INTERNAL AUTHENTICATE


def internal_authenticate(ctx: TapContext, state: OdaState, data: ApplicationData) -> Flow[tuple[bytes, bytes]]:
    """Send INTERNAL AUTHENTICATE with the DDOL data and verify the SDAD; returns (DDOL data, answer)."""
    ctx.start(
        Step.INTERNAL_AUTHENTICATE,
        "The phone sends the card data including the challenge's unpredictable number; the card signs it "
        "with its private key. Only the genuine chip holds that key, so a copy of the card's data cannot "
        "answer (dynamic data authentication, DDA).",
        "EMV 4.4 Book 3 §6.5.9 INTERNAL AUTHENTICATE; Book 2 §6.5",
    )
    ddol = data.values.get(0x9F49) or ctx.terminal.default_ddol
    try:
        entries = parse_dol(ddol)
    except MalformedDataError as exc:
        raise CardAnswerError(f"The card's DDOL (9F49) is malformed: {exc.reason}.") from None
    if all(entry.tag != 0x9F37 for entry in entries):
        fail(ctx, state, DDA_SIGNATURE, "the DDOL does not ask for the Unpredictable Number 9F37 (Book 2 §6.5.1)")
    ddol_data = check_command_data(build_dol_data(entries, ctx.terminal_data()), "DDOL (9F49)")
    command = CommandApdu(0x00, 0x88, 0x00, 0x00, ddol_data, le=256).encode()
    name = "INTERNAL AUTHENTICATE"
    reply = yield from transmit(ctx, name, command)
    require_ok(reply, name, "A card that offers DDA must sign the phone's data (EMV 4.4 Book 3 §6.5.9).")
    nodes = decoded_nodes(reply.data, INTERNAL_AUTHENTICATE_FORMAT1, remember=False)  # signed anew every tap
    ctx.emit(DataDecoded(ctx.step, "Signed dynamic application data", nodes))
    template = decode_template(reply.data, name, (0x80, 0x77))
    signature = template.find(0x9F4B)
    sdad = template.value if template.tag == 0x80 else (signature.value if signature is not None else None)
    if sdad is None:
        raise MissingDataError(f"The card's answer to {name} holds no signed dynamic data (9F4B).")
    if state.icc_key is None:
        ctx.emit(CheckCompleted(ctx.step, Lane.PHONE, DDA_SIGNATURE, CheckStatus.NOT_CHECKABLE,
                                "the card's public key could not be recovered, so its signature cannot be checked"))
        return ddol_data, reply.data
    try:
        result = oda.verify_dynamic_data_dda(state.icc_key, sdad, ddol_data=ddol_data)
    except ProtocolError as exc:
        fail(ctx, state, DDA_SIGNATURE, str(exc))
        return ddol_data, reply.data
    ctx.dynamic[0x9F4C] = result.icc_dynamic_number
    state.signature_verified = True
    ctx.emit(CryptoComputed(
        ctx.step, Lane.PHONE, "RSA recovery of the Signed Dynamic Application Data (format 05, DDA)",
        inputs=(("SDAD", short_hex(sdad)), ("DDOL data", ddol_data.hex().upper()),
                ("ICC public key", _key_text(state.icc_key))),
        outputs=(("ICC Dynamic Number (9F4C)", result.icc_dynamic_number.hex().upper()),
                 ("SHA-1 hash (matches)", result.hash.hex().upper())),
        reference="EMV 4.4 Book 2 §6.5.2",
    ))  # fmt: skip
    _pass(ctx, DDA_SIGNATURE, "the card signed the phone's fresh data with the certified key")
    return ddol_data, reply.data


# --------------------------------------------------------------------------- CDA and the summary


def verify_cda(
    ctx: TapContext,
    state: OdaState,
    *,
    response: tlv.Tlv,
    fields: Mapping[int, bytes],
    pdol_data: bytes,
    cdol1_data: bytes,
) -> None:
    """Check the CDA signature in a GENERATE AC answer (Book 2 §6.6.2)."""
    sdad = fields.get(0x9F4B)
    if sdad is None:
        fail(ctx, state, CDA_SIGNATURE, "CDA was requested but the card's answer holds no signature (9F4B)")
        return
    if state.icc_key is None:
        ctx.emit(CheckCompleted(ctx.step, Lane.PHONE, CDA_SIGNATURE, CheckStatus.NOT_CHECKABLE,
                                "the card's public key could not be recovered, so its signature cannot be checked"))
        return
    try:
        result = oda.verify_dynamic_data_cda(
            state.icc_key, sdad, unpredictable_number=ctx.un, pdol_data=pdol_data, cdol1_data=cdol1_data,
            generate_ac_response=response.value,
        )  # fmt: skip
    except ProtocolError as exc:
        fail(ctx, state, CDA_SIGNATURE, str(exc))
        return
    state.signature_verified = True
    ctx.emit(CryptoComputed(
        ctx.step, Lane.PHONE, "RSA recovery of the Signed Dynamic Application Data (format 05, CDA)",
        inputs=(("SDAD (9F4B)", short_hex(sdad)), ("UN (9F37)", ctx.un.hex().upper()),
                ("ICC public key", _key_text(state.icc_key))),
        outputs=(("ICC Dynamic Number", result.icc_dynamic_number.hex().upper()),
                 ("CID", result.cryptogram_information_data.hex().upper()),
                 ("Application Cryptogram", result.application_cryptogram.hex().upper()),
                 ("Transaction Data Hash Code (matches)", result.transaction_data_hash_code.hex().upper())),
        reference="EMV 4.4 Book 2 §6.6.2",
    ))  # fmt: skip
    _pass(ctx, CDA_SIGNATURE, "the card signed its cryptogram together with the PDOL and CDOL1 data the phone sent")


def summarize(ctx: TapContext, state: OdaState) -> None:
    """One overall ODA check for the phone's screen."""
    if state.method is None:
        return
    label = state.method.label
    if state.failures:
        status, detail = CheckStatus.FAILED, f"{label} failed: {state.failures[0]}"
    elif state.signature_verified:
        status, detail = CheckStatus.PASSED, f"{label} passed on the phone (the verifier checks again)"
    else:
        status, detail = CheckStatus.NOT_CHECKABLE, f"{label} could not be completed on the phone"
    ctx.emit(CheckCompleted(Step.OFFLINE_DATA_AUTHENTICATION, Lane.PHONE, OFFLINE_DATA_AUTHENTICATION, status, detail))
