"""EMV offline data authentication with RSA (EMV 4.4 Book 2 §5 SDA, §6 DDA/CDA) — public API.

Both directions, over ``bytes``:

* **Verifying** (the authenticator, the verifier): recover and check the Issuer
  Public Key Certificate (format 02), the Signed Static Application Data (03), the
  ICC Public Key Certificate (04) and the Signed Dynamic Application Data (05) for
  DDA and CDA. Each function raises :class:`OdaError` (a
  :class:`~protocol.errors.VerificationError`) naming the failed check, e.g.
  ``"issuer certificate hash"`` or ``"ICC certificate expiry"``, and otherwise
  returns a frozen dataclass with every recovered field and the list of checks
  passed, so that the app can show each step. Expiry is checked against the
  ``today`` the caller passes; there is no hidden clock.
* **Producing** (the emulated card, personalisation): issue certificates from a CA
  or issuer private key, sign static data and dynamic data.

The chain for a card: CA key (:mod:`protocol.crypto.capk`, by RID and tag ``8F``)
→ :func:`recover_issuer_certificate` → :func:`verify_signed_static_data` (SDA) or
:func:`recover_icc_certificate` → :func:`verify_dynamic_data_dda` /
:func:`verify_dynamic_data_cda`. The static data for SSAD and the ICC certificate
comes from :func:`static_data_to_authenticate` (Book 3 §10.3).

The implementation is split into :mod:`~protocol.crypto.oda_common` (checks,
dates, the recovery frame), :mod:`~protocol.crypto.oda_certificates`,
:mod:`~protocol.crypto.oda_signatures` and :mod:`~protocol.crypto.oda_static`.
"""

from __future__ import annotations

from protocol.crypto.oda_certificates import (
    IccPublicKeyCertificate,
    IssuedCertificate,
    IssuerPublicKeyCertificate,
    make_icc_certificate,
    make_issuer_certificate,
    recover_icc_certificate,
    recover_issuer_certificate,
)
from protocol.crypto.oda_common import CertificateExpiry, OdaError, Step, Subject, check_name, pan_from_cn
from protocol.crypto.oda_signatures import (
    CdaSignature,
    DdaSignature,
    SignedStaticData,
    sign_dynamic_data_cda,
    sign_dynamic_data_dda,
    sign_static_data,
    verify_dynamic_data_cda,
    verify_dynamic_data_dda,
    verify_signed_static_data,
)
from protocol.crypto.oda_static import (
    response_data_for_hash,
    static_data_to_authenticate,
    transaction_data_hash_code,
)

__all__ = [
    "CdaSignature",
    "CertificateExpiry",
    "DdaSignature",
    "IccPublicKeyCertificate",
    "IssuedCertificate",
    "IssuerPublicKeyCertificate",
    "OdaError",
    "SignedStaticData",
    "Step",
    "Subject",
    "check_name",
    "make_icc_certificate",
    "make_issuer_certificate",
    "pan_from_cn",
    "recover_icc_certificate",
    "recover_issuer_certificate",
    "response_data_for_hash",
    "sign_dynamic_data_cda",
    "sign_dynamic_data_dda",
    "sign_static_data",
    "static_data_to_authenticate",
    "transaction_data_hash_code",
    "verify_dynamic_data_cda",
    "verify_dynamic_data_dda",
    "verify_signed_static_data",
]
