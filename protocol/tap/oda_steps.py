"""The offline data authentication steps the phone and the verifier both take.

EMV 4.4 Book 2 §5 (SDA) and §6 (DDA/CDA): find the CA public key named by the
card (8F), recover the issuer public key certificate (90/92/9F32), assemble the
static data to be authenticated (Book 3 §10.3), then either check the Signed
Static Application Data (93, SDA) or recover the ICC public key certificate
(9F46/9F47/9F48, DDA/CDA). The phone does this offline to show the user the
result; the verifier does it again on the card's raw answers, trusting nothing
the phone concluded. Both call these functions, so the two walks cannot drift.

Each step returns its result and a :class:`StepReport` (what was computed, for
display, and the check that passed); the caller reports it through its own sink
(the phone's events, the verifier's recorder). A failed step raises
:class:`OdaStepFailed` naming the check.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from protocol import tlv
from protocol.crypto import oda
from protocol.crypto.capk import CapkStore
from protocol.crypto.primitives import RsaPublicKey, sha1
from protocol.errors import ProtocolError
from protocol.masking import mask_pan
from protocol.tap.tlv_view import key_text, short_hex

CA_KEY = "CA key found"
ISSUER_CERTIFICATE = "issuer certificate"
STATIC_DATA = "static data to be authenticated"
SIGNED_STATIC_DATA = "signed static data (SDA)"
ICC_CERTIFICATE = "ICC certificate"
DDA_SIGNATURE = "signed dynamic data (DDA)"
CDA_SIGNATURE = "signed dynamic data (CDA)"

Pairs = tuple[tuple[str, str], ...]


class OdaStepFailed(Exception):
    """A step failed: ``check`` names it; ``missing`` when a data object was absent."""

    def __init__(self, check: str, detail: str, *, missing: bool = False) -> None:
        self.check = check
        self.detail = detail
        self.missing = missing
        super().__init__(detail)


@dataclass(frozen=True)
class StepReport:
    """What a step computed (``operation`` is empty when it computed nothing) and its passed check."""

    operation: str = ""
    inputs: Pairs = ()
    outputs: Pairs = ()
    reference: str = ""
    check: str = ""
    detail: str = ""


def need(values: Mapping[int, bytes], tag: int, check: str) -> bytes:
    """The card's data object ``tag``, or :class:`OdaStepFailed` (missing) for ``check``."""
    value = values.get(tag)
    if value is None:
        raise OdaStepFailed(check, f"the card's records hold no {tlv.tag_hex(tag)}", missing=True)
    return value


def ca_key(
    ca_store: CapkStore, aid: bytes, values: Mapping[int, bytes], today: datetime.date
) -> tuple[RsaPublicKey, StepReport]:
    """The CA public key of the card's RID and index 8F (Book 2 §5.1, §6.1)."""
    index = need(values, 0x8F, CA_KEY)
    try:
        key = ca_store.get_for_aid(aid, index, today=today)
    except ProtocolError as exc:
        raise OdaStepFailed(CA_KEY, str(exc)) from None
    detail = f"{key.label}, {key.modulus_bits}-bit CA public key ({key.origin or 'CA store'})"
    return key.public_key, StepReport(check=CA_KEY, detail=detail)


def issuer_key(
    ca: RsaPublicKey, values: Mapping[int, bytes], pan: str, today: datetime.date
) -> tuple[RsaPublicKey, StepReport]:
    """Recover and verify the Issuer Public Key Certificate, format 02 (Book 2 §5.3 / §6.3)."""
    certificate = need(values, 0x90, ISSUER_CERTIFICATE)
    exponent = need(values, 0x9F32, ISSUER_CERTIFICATE)
    remainder = values.get(0x92, b"")
    try:
        cert = oda.recover_issuer_certificate(
            ca, certificate, remainder=remainder, exponent=exponent, pan=pan, today=today
        )
    except ProtocolError as exc:
        raise OdaStepFailed(ISSUER_CERTIFICATE, str(exc)) from None
    return cert.public_key, StepReport(
        "RSA recovery of the Issuer Public Key Certificate (format 02)",
        (("certificate (90)", short_hex(certificate)), ("CA public key", key_text(ca)),
         ("remainder (92)", short_hex(remainder)), ("exponent (9F32)", exponent.hex().upper())),
        (("recovered data", short_hex(cert.recovered)), ("issuer identifier", cert.issuer_identifier_digits),
         ("expiry", str(cert.expiry)), ("SHA-1 hash (matches)", cert.hash.hex().upper()),
         ("issuer public key", key_text(cert.public_key))),
        "EMV 4.4 Book 2 §5.3 / §6.3",
        ISSUER_CERTIFICATE,
        f"issuer {cert.issuer_identifier_digits}, valid until {cert.expiry}; {len(cert.checks)} checks passed",
    )  # fmt: skip


def static_data(
    records: Iterable[tuple[int, bytes]], tag_list: bytes | None, aip: bytes
) -> tuple[bytes, StepReport]:
    """The static data to be authenticated (Book 3 §10.3): ODA records, then 9F4A's tags."""
    records = tuple(records)
    try:
        static = oda.static_data_to_authenticate(records, tag_list, aip)
    except ProtocolError as exc:
        raise OdaStepFailed(STATIC_DATA, str(exc)) from None
    return static, StepReport(
        "Static data to be authenticated",
        (("records signed for ODA (per the AFL)", str(len(records))),
         ("tag list (9F4A)", tag_list.hex().upper() if tag_list else "none")),
        (("static data", f"{len(static)} bytes"), ("SHA-1 (for display)", sha1(static).hex().upper())),
        "EMV 4.4 Book 3 §10.3",
    )  # fmt: skip


def signed_static_data(
    issuer: RsaPublicKey, values: Mapping[int, bytes], static: bytes
) -> tuple[oda.SignedStaticData, StepReport]:
    """Verify the Signed Static Application Data, format 03 (Book 2 §5.4)."""
    ssad = need(values, 0x93, SIGNED_STATIC_DATA)
    try:
        result = oda.verify_signed_static_data(issuer, ssad, static_data=static)
    except ProtocolError as exc:
        raise OdaStepFailed(SIGNED_STATIC_DATA, str(exc)) from None
    return result, StepReport(
        "RSA recovery of the Signed Static Application Data (format 03)",
        (("signed static data (93)", short_hex(ssad)), ("issuer public key", key_text(issuer))),
        (("Data Authentication Code (9F45)", result.data_authentication_code.hex().upper()),
         ("SHA-1 hash (matches)", result.hash.hex().upper())),
        "EMV 4.4 Book 2 §5.4",
        SIGNED_STATIC_DATA,
        "the issuer's signature over the card's static data is valid "
        "(a copy of the data would pass too: SDA does not prove the chip)",
    )  # fmt: skip


def icc_key(
    issuer: RsaPublicKey, values: Mapping[int, bytes], pan: str, static: bytes, today: datetime.date
) -> tuple[RsaPublicKey, StepReport]:
    """Recover and verify the ICC Public Key Certificate, format 04 (Book 2 §6.4)."""
    certificate = need(values, 0x9F46, ICC_CERTIFICATE)
    exponent = need(values, 0x9F47, ICC_CERTIFICATE)
    remainder = values.get(0x9F48, b"")
    try:
        cert = oda.recover_icc_certificate(
            issuer, certificate, remainder=remainder, exponent=exponent, static_data=static, pan=pan,
            today=today,
        )  # fmt: skip
    except ProtocolError as exc:
        raise OdaStepFailed(ICC_CERTIFICATE, str(exc)) from None
    return cert.public_key, StepReport(
        "RSA recovery of the ICC Public Key Certificate (format 04)",
        (("certificate (9F46)", short_hex(certificate)), ("issuer public key", key_text(issuer)),
         ("remainder (9F48)", short_hex(remainder)), ("exponent (9F47)", exponent.hex().upper()),
         ("static data", f"{len(static)} bytes")),
        (("PAN in the certificate", mask_pan(cert.pan)), ("expiry", str(cert.expiry)),
         ("SHA-1 hash (matches)", cert.hash.hex().upper()), ("ICC public key", key_text(cert.public_key))),
        "EMV 4.4 Book 2 §6.4",
        ICC_CERTIFICATE,
        f"the issuer certified the card's own key ({cert.public_key.modulus.bit_length()} bits) for this PAN "
        f"and static data, valid until {cert.expiry}",
    )  # fmt: skip
