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
from collections.abc import Mapping
from dataclasses import dataclass

from protocol import tlv
from protocol.crypto import oda
from protocol.crypto.capk import CapkStore
from protocol.crypto.oda import CdaSignature
from protocol.crypto.primitives import RsaPublicKey, sha1
from protocol.decoders.aip import Aip
from protocol.errors import ProtocolError
from protocol.tap.events import CheckStatus
from protocol.tap.policy import OdaLevel
from protocol.tap.verifier_card import CardFacts
from protocol.tap.verifier_result import OFFLINE_DATA_AUTHENTICATION, Recorder

CA_KEY = "CA key found"
ISSUER_CERTIFICATE = "issuer certificate"
STATIC_DATA = "static data to be authenticated"
SIGNED_STATIC_DATA = "signed static data (SDA)"
ICC_CERTIFICATE = "ICC certificate"
DDA_SIGNATURE = "signed dynamic data (DDA)"
CDA_SIGNATURE = "signed dynamic data (CDA)"


@dataclass(frozen=True)
class OdaResult:
    """The verifier's ODA: method performed, the card's capability, outcome."""

    method: OdaLevel
    capability: OdaLevel
    passed: bool
    detail: str
    cda: CdaSignature | None = None


class _Stop(Exception):
    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.detail = detail
        super().__init__(detail)


def short_hex(data: bytes, keep: int = 8) -> str:
    """``"6A02…BC (144 bytes)"``: display string for long values (never key material)."""
    text = bytes(data).hex().upper()
    if len(data) <= keep:
        return text or "(empty)"
    return f"{text[: 2 * keep]}…{text[-4:]} ({len(data)} bytes)"


def _key_text(key: RsaPublicKey) -> str:
    return f"{key.modulus.bit_length()} bits, e={key.exponent}, modulus {short_hex(key.modulus_bytes)}"


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


def _need(values: Mapping[int, bytes], tag: int, check: str) -> bytes:
    value = values.get(tag)
    if value is None:
        raise _Stop(check, f"the card's records hold no {tlv.tag_hex(tag)}")
    return value


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
    index = _need(values, 0x8F, CA_KEY)
    try:
        ca = ca_store.get_for_aid(facts.aid, index, today=today)
    except ProtocolError as exc:
        raise _Stop(CA_KEY, str(exc)) from None
    rec.sub(CA_KEY, CheckStatus.PASSED, f"{ca.label}, {ca.modulus_bits}-bit CA public key ({ca.origin or 'CA store'})")
    issuer_key = _issuer(facts, rec, ca.public_key, today)
    static = _static(facts, rec)
    if method is OdaLevel.SDA:
        _sda(rec, issuer_key, values, static)
        return None
    icc_key = _icc(facts, rec, issuer_key, static, today)
    if method is OdaLevel.DDA:
        _dda(facts, rec, icc_key, ddol_data)
        return None
    return _cda(facts, rec, icc_key, un, pdol_data, cdol1_data)


def _issuer(facts: CardFacts, rec: Recorder, ca_key: RsaPublicKey, today: datetime.date) -> RsaPublicKey:
    values = facts.values
    certificate = _need(values, 0x90, ISSUER_CERTIFICATE)
    exponent = _need(values, 0x9F32, ISSUER_CERTIFICATE)
    remainder = values.get(0x92, b"")
    try:
        cert = oda.recover_issuer_certificate(
            ca_key, certificate, remainder=remainder, exponent=exponent, pan=facts.pan, today=today
        )
    except ProtocolError as exc:
        raise _Stop(ISSUER_CERTIFICATE, str(exc)) from None
    rec.crypto(
        "RSA recovery of the Issuer Public Key Certificate (format 02)",
        (("certificate (90)", short_hex(certificate)), ("CA public key", _key_text(ca_key)),
         ("remainder (92)", short_hex(remainder)), ("exponent (9F32)", exponent.hex().upper())),
        (("issuer identifier", cert.issuer_identifier_digits), ("expiry", str(cert.expiry)),
         ("SHA-1 hash (matches)", cert.hash.hex().upper()), ("issuer public key", _key_text(cert.public_key))),
        "EMV 4.4 Book 2 §5.3 / §6.3",
    )  # fmt: skip
    rec.sub(ISSUER_CERTIFICATE, CheckStatus.PASSED,
            f"issuer {cert.issuer_identifier_digits}, valid until {cert.expiry}; {len(cert.checks)} checks passed")
    return cert.public_key


def _static(facts: CardFacts, rec: Recorder) -> bytes:
    tag_list = facts.values.get(0x9F4A)
    try:
        static = oda.static_data_to_authenticate(facts.oda_records, tag_list, facts.aip)
    except ProtocolError as exc:
        raise _Stop(STATIC_DATA, str(exc)) from None
    rec.crypto(
        "Static data to be authenticated",
        (("records signed for ODA (per the AFL)", str(len(facts.oda_records))),
         ("tag list (9F4A)", tag_list.hex().upper() if tag_list else "none")),
        (("static data", f"{len(static)} bytes"), ("SHA-1 (for display)", sha1(static).hex().upper())),
        "EMV 4.4 Book 3 §10.3",
    )  # fmt: skip
    return static


def _sda(rec: Recorder, issuer_key: RsaPublicKey, values: Mapping[int, bytes], static: bytes) -> None:
    ssad = _need(values, 0x93, SIGNED_STATIC_DATA)
    try:
        result = oda.verify_signed_static_data(issuer_key, ssad, static_data=static)
    except ProtocolError as exc:
        raise _Stop(SIGNED_STATIC_DATA, str(exc)) from None
    rec.crypto(
        "RSA recovery of the Signed Static Application Data (format 03)",
        (("signed static data (93)", short_hex(ssad)), ("issuer public key", _key_text(issuer_key))),
        (("Data Authentication Code (9F45)", result.data_authentication_code.hex().upper()),
         ("SHA-1 hash (matches)", result.hash.hex().upper())),
        "EMV 4.4 Book 2 §5.4",
    )  # fmt: skip
    rec.sub(SIGNED_STATIC_DATA, CheckStatus.PASSED, "the issuer's signature over the card's static data is valid")


def _icc(
    facts: CardFacts, rec: Recorder, issuer_key: RsaPublicKey, static: bytes, today: datetime.date
) -> RsaPublicKey:
    values = facts.values
    certificate = _need(values, 0x9F46, ICC_CERTIFICATE)
    exponent = _need(values, 0x9F47, ICC_CERTIFICATE)
    remainder = values.get(0x9F48, b"")
    try:
        cert = oda.recover_icc_certificate(
            issuer_key, certificate, remainder=remainder, exponent=exponent, static_data=static, pan=facts.pan,
            today=today,
        )  # fmt: skip
    except ProtocolError as exc:
        raise _Stop(ICC_CERTIFICATE, str(exc)) from None
    rec.crypto(
        "RSA recovery of the ICC Public Key Certificate (format 04)",
        (("certificate (9F46)", short_hex(certificate)), ("issuer public key", _key_text(issuer_key)),
         ("remainder (9F48)", short_hex(remainder)), ("exponent (9F47)", exponent.hex().upper())),
        (("PAN in the certificate", facts.masked_pan), ("expiry", str(cert.expiry)),
         ("SHA-1 hash (matches)", cert.hash.hex().upper()), ("ICC public key", _key_text(cert.public_key))),
        "EMV 4.4 Book 2 §6.4",
    )  # fmt: skip
    rec.sub(ICC_CERTIFICATE, CheckStatus.PASSED,
            f"the issuer certified the card's own key for this PAN and static data, valid until {cert.expiry}")
    return cert.public_key


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
         ("ICC public key", _key_text(icc_key))),
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
         ("CDOL1 data (rebuilt by the verifier)", short_hex(cdol1_data, 16)), ("ICC public key", _key_text(icc_key))),
        (("ICC Dynamic Number", result.icc_dynamic_number.hex().upper()),
         ("CID", result.cryptogram_information_data.hex().upper()),
         ("Application Cryptogram", result.application_cryptogram.hex().upper()),
         ("Transaction Data Hash Code (matches)", result.transaction_data_hash_code.hex().upper())),
        "EMV 4.4 Book 2 §6.6.2",
    )  # fmt: skip
    rec.sub(CDA_SIGNATURE, CheckStatus.PASSED,
            "the card signed its cryptogram with the PDOL data and the verifier's own CDOL1 data and UN")
    return result
