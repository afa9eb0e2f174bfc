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
from protocol.crypto.primitives import RsaPublicKey
from protocol.decoders.aip import Aip
from protocol.dol import build_dol_data, parse_dol
from protocol.errors import MalformedDataError, ProtocolError
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
    transmit,
)
from protocol.tap import oda_steps
from protocol.tap.oda_steps import CDA_SIGNATURE, DDA_SIGNATURE, OdaStepFailed, StepReport
from protocol.tap.tlv_view import INTERNAL_AUTHENTICATE_FORMAT1, decoded_nodes, key_text, short_hex

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


_Stop = OdaStepFailed  # a failed ODA check: check name, detail, data missing or not


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
        ca_key, report = oda_steps.ca_key(ctx.ca_store, aid, values, ctx.today)
        _report(ctx, report)
        state.issuer_key, report = oda_steps.issuer_key(ca_key, values, data.pan, ctx.today)
        _report(ctx, report)
        static, report = oda_steps.static_data(data.oda_records, values.get(0x9F4A), aip)
        _report(ctx, report)
        if method is OdaMethod.SDA:
            ssad, report = oda_steps.signed_static_data(state.issuer_key, values, static)
            _report(ctx, report)
            ctx.dynamic[0x9F45] = ssad.data_authentication_code
            state.signature_verified = True
        else:
            state.icc_key, report = oda_steps.icc_key(state.issuer_key, values, data.pan, static, ctx.today)
            _report(ctx, report)
    except _Stop as stop:
        fail(ctx, state, stop.check, stop.detail, missing=stop.missing)
    return state


def _report(ctx: TapContext, report: StepReport) -> None:
    """Show a shared ODA step as the phone's events."""
    if report.operation:
        ctx.emit(CryptoComputed(
            ctx.step, Lane.PHONE, report.operation, report.inputs, report.outputs, report.reference
        ))  # fmt: skip
    if report.check:
        _pass(ctx, report.check, report.detail)


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
                ("ICC public key", key_text(state.icc_key))),
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
                ("ICC public key", key_text(state.icc_key))),
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
