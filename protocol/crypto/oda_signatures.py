"""Signed Static Application Data and Signed Dynamic Application Data (EMV 4.4 Book 2).

**Signed Static Application Data** (tag ``93``, format ``03``, Book 2 §5.4, Table 7),
signed with the issuer key, ``N = N_I``::

    6A ‖ 03 ‖ hash algorithm (1) ‖ Data Authentication Code (2) ‖ BB × (N − 26) ‖ hash (20) ‖ BC

hash = SHA-1(bytes 1 … N−22 ‖ static data to be authenticated) (§5.4 step 5).

**Signed Dynamic Application Data** (tag ``9F4B``, format ``05``, Book 2 §6.5.2 and
§6.6.2), signed with the ICC key, ``N = N_IC``::

    6A ‖ 05 ‖ hash algorithm (1) ‖ L_DD (1) ‖ ICC Dynamic Data (L_DD) ‖ BB × (N − L_DD − 25) ‖ hash ‖ BC

* DDA (§6.5): ICC Dynamic Data = L_IDN ‖ ICC Dynamic Number (2–8 bytes) ‖ optional
  further data; hash = SHA-1(bytes 1 … N−22 ‖ DDOL data) (INTERNAL AUTHENTICATE).
* CDA (§6.6.1): ICC Dynamic Data = L_IDN ‖ ICC Dynamic Number ‖ CID (1) ‖
  Application Cryptogram (8) ‖ Transaction Data Hash Code (20); hash =
  SHA-1(bytes 1 … N−22 ‖ Unpredictable Number). The terminal also checks that the
  CID equals the CID (``9F27``) in the GENERATE AC response and recomputes the
  Transaction Data Hash Code (:func:`~protocol.crypto.oda_static.transaction_data_hash_code`).
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.crypto import oda_common as c
from protocol.crypto.oda_common import Checklist, Step, Subject
from protocol.crypto.oda_static import response_cid, transaction_data_hash_code
from protocol.crypto.primitives import RsaPrivateKey, RsaPublicKey, constant_time_equal
from protocol.errors import UsageError

_FORMAT_SSAD = 0x03
_FORMAT_SDAD = 0x05
_CDA_FIXED = 1 + 8 + 20  # CID, AC, TDHC after the ICC Dynamic Number


@dataclass(frozen=True)
class SignedStaticData:
    """Verified Signed Static Application Data (Book 2 §5.4)."""

    recovered: bytes
    hash_algorithm: int
    data_authentication_code: bytes  # tag 9F45, 2 bytes
    hash: bytes
    checks: tuple[str, ...]


@dataclass(frozen=True)
class DdaSignature:
    """Verified Signed Dynamic Application Data from INTERNAL AUTHENTICATE (Book 2 §6.5.2)."""

    recovered: bytes
    hash_algorithm: int
    icc_dynamic_data: bytes
    icc_dynamic_number: bytes  # tag 9F4C
    hash: bytes
    checks: tuple[str, ...]


@dataclass(frozen=True)
class CdaSignature:
    """Verified Signed Dynamic Application Data from GENERATE AC with CDA (Book 2 §6.6.2)."""

    recovered: bytes
    hash_algorithm: int
    icc_dynamic_data: bytes
    icc_dynamic_number: bytes  # tag 9F4C
    cryptogram_information_data: bytes  # 1 byte, equals the 9F27 returned
    application_cryptogram: bytes  # tag 9F26, 8 bytes
    transaction_data_hash_code: bytes  # 20 bytes, equals the recomputed one
    hash: bytes
    checks: tuple[str, ...]


# --------------------------------------------------------------------------- SSAD (format 03)


def verify_signed_static_data(issuer_key: RsaPublicKey, ssad: bytes, *, static_data: bytes) -> SignedStaticData:
    """Verify the Signed Static Application Data, tag ``93`` (Book 2 §5.4 steps 1–7).

    ``issuer_key`` comes from :func:`~protocol.crypto.oda_certificates.recover_issuer_certificate`;
    ``static_data`` from :func:`~protocol.crypto.oda_static.static_data_to_authenticate`.
    """
    checks = Checklist(Subject.SIGNED_STATIC_DATA)
    x = c.recover(checks, issuer_key, ssad, 26)
    c.check_frame(checks, x, _FORMAT_SSAD)
    c.check_hash_algorithm(checks, x[2])
    digest = c.check_hash(checks, x, bytes(static_data))
    c.check_padding(checks, x[5 : len(x) - 21])
    return SignedStaticData(x, x[2], x[3:5], digest, checks.done())


def sign_static_data(issuer_key: RsaPrivateKey, *, data_authentication_code: bytes, static_data: bytes) -> bytes:
    """Make the Signed Static Application Data (tag ``93``, Book 2 Table 7) for SDA."""
    if len(data_authentication_code) != 2:
        raise UsageError(f"the Data Authentication Code is 2 bytes, got {len(data_authentication_code)}")
    size = (issuer_key.modulus.bit_length() + 7) // 8
    if size < 26:
        raise UsageError("the issuer key is too short for signed static data")
    body = bytes([_FORMAT_SSAD, c.SHA1_INDICATOR]) + bytes(data_authentication_code) + bytes([c.PAD]) * (size - 26)
    return c.sign_block(issuer_key, body, bytes(static_data))


# --------------------------------------------------------------------------- SDAD (format 05)


@dataclass(frozen=True)
class _Dynamic:
    recovered: bytes
    dynamic_data: bytes
    idn: bytes
    hash: bytes


def _verify_sdad(checks: Checklist, icc_key: RsaPublicKey, sdad: bytes, terminal_data: bytes, minimum: int) -> _Dynamic:
    """Book 2 §6.5.2 steps 1–7 (§6.6.2 steps 1–6 for CDA): the parts DDA and CDA share."""
    x = c.recover(checks, icc_key, sdad, 25 + minimum)
    size = len(x)
    c.check_frame(checks, x, _FORMAT_SDAD)
    c.check_hash_algorithm(checks, x[2])
    digest = c.check_hash(checks, x, terminal_data)
    length = x[3]
    checks.require(
        minimum <= length <= size - 25,
        Step.DYNAMIC_DATA_LENGTH,
        f"ICC Dynamic Data length {length} is outside {minimum}..{size - 25}",
    )
    dynamic = x[4 : 4 + length]
    c.check_padding(checks, x[4 + length : size - 21])
    idn_length = dynamic[0]
    checks.require(
        2 <= idn_length <= 8 and 1 + idn_length + minimum - 3 <= length,
        Step.DYNAMIC_NUMBER_LENGTH,
        f"ICC Dynamic Number length {idn_length} is not 2..8 or does not fit the dynamic data",
    )
    return _Dynamic(x, dynamic, dynamic[1 : 1 + idn_length], digest)


def verify_dynamic_data_dda(icc_key: RsaPublicKey, sdad: bytes, *, ddol_data: bytes) -> DdaSignature:
    """Verify the SDAD an INTERNAL AUTHENTICATE returned (DDA, Book 2 §6.5.2).

    ``ddol_data`` is the data the terminal sent (the DDOL values, Book 3 §5.4).
    Returns the ICC Dynamic Number.
    """
    checks = Checklist(Subject.SIGNED_DYNAMIC_DATA)
    d = _verify_sdad(checks, icc_key, sdad, bytes(ddol_data), 3)
    return DdaSignature(d.recovered, d.recovered[2], d.dynamic_data, d.idn, d.hash, checks.done())


def verify_dynamic_data_cda(
    icc_key: RsaPublicKey,
    sdad: bytes,
    *,
    unpredictable_number: bytes,
    pdol_data: bytes,
    cdol1_data: bytes,
    generate_ac_response: bytes,
    cdol2_data: bytes = b"",
) -> CdaSignature:
    """Verify the SDAD a GENERATE AC with CDA returned (Book 2 §6.6.2).

    ``unpredictable_number`` is the ``9F37`` sent in CDOL1 (CDOL2 for the second
    GENERATE AC); ``generate_ac_response`` the content of response template ``77``
    (with or without ``9F4B``: it is left out of the hash either way). Checks the
    signature, that the CID in it equals the ``9F27`` returned, and the Transaction
    Data Hash Code; returns IDN, CID and the Application Cryptogram.
    """
    if len(unpredictable_number) != 4:
        raise UsageError(f"the Unpredictable Number is 4 bytes, got {len(unpredictable_number)}")
    checks = Checklist(Subject.SIGNED_DYNAMIC_DATA)
    d = _verify_sdad(checks, icc_key, sdad, bytes(unpredictable_number), 3 + _CDA_FIXED)
    at = 1 + len(d.idn)
    cid, ac, tdhc = d.dynamic_data[at : at + 1], d.dynamic_data[at + 1 : at + 9], d.dynamic_data[at + 9 : at + 29]

    returned = response_cid(generate_ac_response)
    checks.require(
        returned is not None and returned == cid,
        Step.CRYPTOGRAM_INFORMATION_DATA,
        "the GENERATE AC response has no 9F27"
        if returned is None
        else f"CID in the signature is {cid.hex().upper()}, the card returned {returned.hex().upper()}",
    )
    computed = transaction_data_hash_code(
        pdol_data=pdol_data, cdol1_data=cdol1_data, cdol2_data=cdol2_data, generate_ac_response=generate_ac_response
    )
    checks.require(
        constant_time_equal(computed, tdhc),
        Step.TRANSACTION_DATA_HASH_CODE,
        "the hash of PDOL data, CDOL data and the response does not match the signed Transaction Data Hash Code",
    )
    return CdaSignature(d.recovered, d.recovered[2], d.dynamic_data, d.idn, cid, ac, tdhc, d.hash, checks.done())


def _sign_sdad(icc_key: RsaPrivateKey, dynamic_data: bytes, terminal_data: bytes) -> bytes:
    size = (icc_key.modulus.bit_length() + 7) // 8
    if len(dynamic_data) > min(255, size - 25):
        raise UsageError(f"{len(dynamic_data)} bytes of ICC Dynamic Data do not fit a {size}-byte ICC key")
    padding = bytes([c.PAD]) * (size - 25 - len(dynamic_data))
    body = bytes([_FORMAT_SDAD, c.SHA1_INDICATOR, len(dynamic_data)]) + dynamic_data + padding
    return c.sign_block(icc_key, body, terminal_data)


def _idn(icc_dynamic_number: bytes) -> bytes:
    if not 2 <= len(icc_dynamic_number) <= 8:
        raise UsageError(f"the ICC Dynamic Number is 2..8 bytes, got {len(icc_dynamic_number)}")
    return bytes([len(icc_dynamic_number)]) + bytes(icc_dynamic_number)


def sign_dynamic_data_dda(
    icc_key: RsaPrivateKey, *, icc_dynamic_number: bytes, ddol_data: bytes, extra_dynamic_data: bytes = b""
) -> bytes:
    """Make the SDAD for INTERNAL AUTHENTICATE (DDA, Book 2 §6.5.1).

    ``extra_dynamic_data`` is optional issuer data after the ICC Dynamic Number.
    """
    return _sign_sdad(icc_key, _idn(icc_dynamic_number) + bytes(extra_dynamic_data), bytes(ddol_data))


def sign_dynamic_data_cda(
    icc_key: RsaPrivateKey,
    *,
    icc_dynamic_number: bytes,
    cryptogram_information_data: bytes,
    application_cryptogram: bytes,
    transaction_data_hash_code: bytes,
    unpredictable_number: bytes,
) -> bytes:
    """Make the SDAD for GENERATE AC with CDA (Book 2 §6.6.1).

    ``transaction_data_hash_code`` comes from
    :func:`~protocol.crypto.oda_static.transaction_data_hash_code` over the response
    data objects the card is about to return.
    """
    if len(cryptogram_information_data) != 1 or len(application_cryptogram) != 8:
        raise UsageError("the CID is 1 byte and the Application Cryptogram 8 bytes")
    if len(transaction_data_hash_code) != 20 or len(unpredictable_number) != 4:
        raise UsageError("the Transaction Data Hash Code is 20 bytes and the Unpredictable Number 4 bytes")
    dynamic = (
        _idn(icc_dynamic_number) + bytes(cryptogram_information_data)
        + bytes(application_cryptogram) + bytes(transaction_data_hash_code)
    )  # fmt: skip
    return _sign_sdad(icc_key, dynamic, bytes(unpredictable_number))
