"""Offline data authentication, done again by the verifier (DESIGN.md §3 step 7; docs/tap-model.md check 6).

The phone already checked the card offline; the verifier checks again on its own
copy of everything, against **trusted CA keys only** (the public scheme keys of
``resources/capk.json`` plus the simulator's test CA from the key store):

1. **method** (EMV 4.4 Book 3 §10.3): CDA when the AIP offers it and the phone
   asked for it in GENERATE AC (P1 bit 5), else DDA when the AIP offers it and
   the phone sent the INTERNAL AUTHENTICATE answer, else SDA when offered;
2. **CA key found**: RID of the AID and index ``8F`` (Book 2 §5.1, §6.1), not expired;
3. **issuer certificate** (``90``/``92``/``9F32``, Book 2 §5.3, §6.3);
4. **static data to be authenticated** (Book 3 §10.3) from the records the AFL
   marks, and the AIP when ``9F4A`` lists it (so the AIP is signed);
5. SDA: **signed static data** (``93``, Book 2 §5.4); DDA/CDA: **ICC certificate**
   (``9F46``/``9F47``/``9F48``, Book 2 §6.4);
6. DDA: **signed dynamic data** over the verifier's *rebuilt* DDOL data (Book 2
   §6.5.2); CDA: over the verifier's UN, with the Transaction Data Hash Code over
   the PDOL data, the verifier's *rebuilt* CDOL1 data and the response (§6.6.2).

Each step is a sub-check event; the main check ``offline data authentication``
passes only when the whole chain holds.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from protocol.crypto import oda
from protocol.crypto.capk import CapkStore
from protocol.crypto.oda import CdaSignature
from protocol.crypto.primitives import RsaPublicKey
from protocol.decoders.aip import Aip
from protocol.errors import ProtocolError
from protocol.tap.events import CheckStatus
from protocol.tap.policy import OdaLevel
from protocol.tap.verifier_card import CardFacts
from protocol.tap import oda_steps
from protocol.tap.oda_steps import CDA_SIGNATURE, DDA_SIGNATURE, OdaStepFailed, StepReport
from protocol.tap.tlv_view import key_text, short_hex
from protocol.tap.verifier_result import OFFLINE_DATA_AUTHENTICATION, Recorder



@dataclass(frozen=True)
class OdaResult:
    """The verifier's ODA: method performed, the card's capability, outcome."""

    method: OdaLevel
    capability: OdaLevel
    passed: bool
    detail: str
    cda: CdaSignature | None = None


_Stop = OdaStepFailed  # a failed ODA check: check name and detail


def capability_of(aip: bytes) -> OdaLevel:
    """The strongest method the AIP offers (Book 3 Annex C1 byte 1)."""
    flags = Aip(bytes(aip))
    if flags.cda:
        return OdaLevel.CDA
    if flags.dda:
        return OdaLevel.DDA
    return OdaLevel.SDA if flags.sda else OdaLevel.NONE


def _method(facts: CardFacts) -> OdaLevel:
    flags = Aip(facts.aip)
    if flags.cda and facts.cda_requested:
        return OdaLevel.CDA
    if flags.dda and facts.internal_authenticate_sdad is not None:
        return OdaLevel.DDA
    if flags.sda:
        return OdaLevel.SDA
    if flags.cda or flags.dda:
        raise _Stop(OFFLINE_DATA_AUTHENTICATION, f"the card offers {capability_of(facts.aip).label} but the phone sent "
                    "neither a CDA signature nor an INTERNAL AUTHENTICATE answer")  # fmt: skip
    raise _Stop(OFFLINE_DATA_AUTHENTICATION, f"the card's AIP ({facts.aip.hex().upper()}) offers no offline data "
                "authentication (SDA, DDA and CDA bits all clear)")  # fmt: skip


def offline_data_authentication(
    facts: CardFacts,
    rec: Recorder,
    *,
    ca_store: CapkStore,
    today: datetime.date,
    un: bytes,
    pdol_data: bytes,
    cdol1_data: bytes | None,
    ddol_data: bytes | None,
) -> OdaResult:
    """Run the chain, report sub-checks and the main ``offline data authentication`` check."""
    capability = capability_of(facts.aip)
    method = OdaLevel.NONE
    try:
        method = _method(facts)
        cda = _chain(facts, rec, method, ca_store, today, un, pdol_data, cdol1_data, ddol_data)
    except _Stop as stop:
        if stop.check != OFFLINE_DATA_AUTHENTICATION:
            rec.sub(stop.check, CheckStatus.FAILED, stop.detail)
        own = stop.check == OFFLINE_DATA_AUTHENTICATION
        detail = stop.detail if own else f"{method.label}: {stop.check}: {stop.detail}"
        rec.failed(OFFLINE_DATA_AUTHENTICATION, detail)
        return OdaResult(method, capability, False, detail)
    detail = {
        OdaLevel.SDA: "SDA: the issuer's signature over the card's static data chains to a trusted CA key "
        "(a copy of the data would pass too: only the cryptogram proves the chip)",
        OdaLevel.DDA: "DDA: the card signed the verifier's unpredictable number with a key certified by its "
        "issuer, chained to a trusted CA key",
        OdaLevel.CDA: "CDA: the card signed its cryptogram and the verifier's transaction data with a key "
        "certified by its issuer, chained to a trusted CA key",
    }[method]
    rec.passed(OFFLINE_DATA_AUTHENTICATION, detail)
    return OdaResult(method, capability, True, detail, cda)


def _chain(
    facts: CardFacts, rec: Recorder, method: OdaLevel, ca_store: CapkStore, today: datetime.date, un: bytes,
    pdol_data: bytes, cdol1_data: bytes | None, ddol_data: bytes | None,
) -> CdaSignature | None:  # fmt: skip
    values = facts.values
    ca_key, report = oda_steps.ca_key(ca_store, facts.aid, values, today)
    _report(rec, report)
    issuer_key, report = oda_steps.issuer_key(ca_key, values, facts.pan, today)
    _report(rec, report)
    static, report = oda_steps.static_data(facts.oda_records, values.get(0x9F4A), facts.aip)
    _report(rec, report)
    if method is OdaLevel.SDA:
        _ssad, report = oda_steps.signed_static_data(issuer_key, values, static)
        _report(rec, report)
        return None
    icc_key, report = oda_steps.icc_key(issuer_key, values, facts.pan, static, today)
    _report(rec, report)
    if method is OdaLevel.DDA:
        _dda(facts, rec, icc_key, ddol_data)
        return None
    return _cda(facts, rec, icc_key, un, pdol_data, cdol1_data)


def _report(rec: Recorder, report: StepReport) -> None:
    """Record a shared ODA step as the verifier's events."""
    if report.operation:
        rec.crypto(report.operation, report.inputs, report.outputs, report.reference)
    if report.check:
        rec.sub(report.check, CheckStatus.PASSED, report.detail)


def _dda(facts: CardFacts, rec: Recorder, icc_key: RsaPublicKey, ddol_data: bytes | None) -> None:
    sdad = facts.internal_authenticate_sdad
    if sdad is None:
        raise _Stop(DDA_SIGNATURE, "the assertion holds no INTERNAL AUTHENTICATE answer")
    if ddol_data is None:
        raise _Stop(DDA_SIGNATURE, "the DDOL data the phone sent do not fit the card's DDOL, so the verifier "
                    "cannot rebuild what the card signed")  # fmt: skip
    try:
        result = oda.verify_dynamic_data_dda(icc_key, sdad, ddol_data=ddol_data)
    except ProtocolError as exc:
        raise _Stop(DDA_SIGNATURE, f"{exc} (over the verifier's own DDOL data)") from None
    rec.crypto(
        "RSA recovery of the Signed Dynamic Application Data (format 05, DDA)",
        (("SDAD", short_hex(sdad)), ("DDOL data (rebuilt by the verifier)", ddol_data.hex().upper()),
         ("ICC public key", key_text(icc_key))),
        (("ICC Dynamic Number (9F4C)", result.icc_dynamic_number.hex().upper()),
         ("SHA-1 hash (matches)", result.hash.hex().upper())),
        "EMV 4.4 Book 2 §6.5.2",
    )  # fmt: skip
    rec.sub(DDA_SIGNATURE, CheckStatus.PASSED,
            "the card signed the verifier's unpredictable number with its certified key")


def _cda(
    facts: CardFacts, rec: Recorder, icc_key: RsaPublicKey, un: bytes, pdol_data: bytes, cdol1_data: bytes | None
) -> CdaSignature:
    sdad = facts.generate_ac.sdad
    if sdad is None:
        raise _Stop(CDA_SIGNATURE, "the phone asked for CDA but the card's GENERATE AC answer holds no signature "
                    "(9F4B)")  # fmt: skip
    if facts.generate_ac.template != 0x77:
        raise _Stop(CDA_SIGNATURE, "a CDA answer must be format 2 (77)")
    if cdol1_data is None:
        raise _Stop(CDA_SIGNATURE, "the CDOL1 data could not be rebuilt, so the transaction data hash cannot be "
                    "checked")  # fmt: skip
    try:
        result = oda.verify_dynamic_data_cda(
            icc_key, sdad, unpredictable_number=un, pdol_data=pdol_data, cdol1_data=cdol1_data,
            generate_ac_response=facts.generate_ac.content,
        )  # fmt: skip
    except ProtocolError as exc:
        raise _Stop(CDA_SIGNATURE, f"{exc} (over the verifier's own UN and CDOL1 data)") from None
    rec.crypto(
        "RSA recovery of the Signed Dynamic Application Data (format 05, CDA)",
        (("SDAD (9F4B)", short_hex(sdad)), ("UN (9F37, the verifier's)", un.hex().upper()),
         ("CDOL1 data (rebuilt by the verifier)", short_hex(cdol1_data, 16)), ("ICC public key", key_text(icc_key))),
        (("ICC Dynamic Number", result.icc_dynamic_number.hex().upper()),
         ("CID", result.cryptogram_information_data.hex().upper()),
         ("Application Cryptogram", result.application_cryptogram.hex().upper()),
         ("Transaction Data Hash Code (matches)", result.transaction_data_hash_code.hex().upper())),
        "EMV 4.4 Book 2 §6.6.2",
    )  # fmt: skip
    rec.sub(CDA_SIGNATURE, CheckStatus.PASSED,
            "the card signed its cryptogram with the PDOL data and the verifier's own CDOL1 data and UN")
    return result
