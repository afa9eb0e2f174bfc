"""Issuer and ICC public key certificates (EMV 4.4 Book 2 §5.3, §6.3, §6.4).

Recovered data of the **Issuer Public Key Certificate** (tag ``90``, format ``02``,
Book 2 Table 6 / Table 13), ``N = N_CA``:

=====  =====================================================  ==========
bytes  field                                                   length
=====  =====================================================  ==========
0      Recovered Data Header ``6A``                            1
1      Certificate Format ``02``                               1
2      Issuer Identifier (leftmost 3–8 PAN digits, F-padded)   4
6      Certificate Expiration Date (MMYY)                      2
8      Certificate Serial Number                               3
11     Hash Algorithm Indicator ``01``                         1
12     Issuer Public Key Algorithm Indicator ``01``            1
13     Issuer Public Key Length ``N_I``                        1
14     Issuer Public Key Exponent Length                       1
15     Issuer Public Key or its leftmost digits (BB-padded)    N − 36
N−21   Hash Result                                             20
N−1    Recovered Data Trailer ``BC``                           1
=====  =====================================================  ==========

The hash covers bytes 1 … N−22 ‖ Issuer PK Remainder (``92``) ‖ Issuer PK
Exponent (``9F32``). The **ICC Public Key Certificate** (tag ``9F46``, format
``04``, Table 14, ``N = N_I``) has the Application PAN (10 bytes, F-padded) in place
of the issuer identifier, so its later fields move 6 bytes right and its key
field is N − 42 bytes; its hash also covers the ICC PK Remainder (``9F48``), ICC
PK Exponent (``9F47``) and the static data to be authenticated (§6.4 step 5).

Verification follows Book 2 §5.3 / §6.4 step by step and raises an
:class:`~protocol.crypto.oda_common.OdaError` naming the step that failed. One
deliberate reordering: the consistency of the key length, remainder and exponent
with what the card sent is checked just *before* the hash (Book 2 lists the hash
first), so that a missing remainder or a wrong exponent is reported as such
rather than as a hash mismatch; every such failure would also fail the hash.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from protocol.crypto import oda_common as c
from protocol.crypto.oda_common import CertificateExpiry, Checklist, Step, Subject
from protocol.crypto.primitives import RsaPrivateKey, RsaPublicKey
from protocol.errors import UsageError


@dataclass(frozen=True)
class IssuedCertificate:
    """What personalisation writes to the card: certificate, remainder, exponent.

    ``remainder`` is ``b""`` when the key fits in the certificate (then the
    remainder tag ``92`` / ``9F48`` is simply not personalised).
    """

    certificate: bytes
    remainder: bytes
    exponent: bytes


@dataclass(frozen=True)
class IssuerPublicKeyCertificate:
    """A recovered and verified Issuer Public Key Certificate (Book 2 §5.3 / §6.3)."""

    recovered: bytes  # the whole recovered block, 6A … BC
    issuer_identifier: bytes  # 4 bytes as signed, F-padded
    issuer_identifier_digits: str
    expiry: CertificateExpiry
    serial: bytes  # 3 bytes
    hash_algorithm: int
    public_key_algorithm: int
    public_key: RsaPublicKey  # the issuer public key (modulus ‖ remainder, exponent)
    remainder: bytes  # the remainder used (b"" when none was needed)
    hash: bytes  # recovered hash = computed hash
    checks: tuple[str, ...]  # names of the checks passed, in order


@dataclass(frozen=True)
class IccPublicKeyCertificate:
    """A recovered and verified ICC Public Key Certificate (Book 2 §6.4)."""

    recovered: bytes
    pan_field: bytes  # 10 bytes as signed, F-padded
    pan: str
    expiry: CertificateExpiry
    serial: bytes
    hash_algorithm: int
    public_key_algorithm: int
    public_key: RsaPublicKey
    remainder: bytes
    hash: bytes
    checks: tuple[str, ...]


@dataclass(frozen=True)
class _Layout:
    subject: Subject
    format_code: int
    owner_length: int  # issuer identifier (4) or PAN (10)
    overhead: int  # 36 or 42: N minus the key field

    @property
    def fields(self) -> int:  # offset of the Certificate Expiration Date
        return 2 + self.owner_length


_ISSUER = _Layout(Subject.ISSUER_CERTIFICATE, 0x02, 4, 36)
_ICC = _Layout(Subject.ICC_CERTIFICATE, 0x04, 10, 42)


@dataclass(frozen=True)
class _Parsed:
    recovered: bytes
    owner: bytes
    expiry_field: bytes
    serial: bytes
    hash_algorithm: int
    public_key_algorithm: int
    public_key: RsaPublicKey
    remainder: bytes
    hash: bytes


def _recover_certificate(
    layout: _Layout,
    checks: Checklist,
    signer: RsaPublicKey,
    certificate: bytes,
    remainder: bytes,
    exponent: bytes,
    static_data: bytes,
) -> _Parsed:
    x = c.recover(checks, signer, certificate, layout.overhead + 1)
    size = len(x)
    c.check_frame(checks, x, layout.format_code)
    at = layout.fields
    expiry_field, serial = x[at : at + 2], x[at + 2 : at + 5]
    hash_algorithm, pk_algorithm, key_length, exponent_length = x[at + 5 : at + 9]
    c.check_hash_algorithm(checks, hash_algorithm)

    # Lengths (Book 2 §5.1 / §6.1: N_IC <= N_I <= N_CA <= 248 bytes) and the key fields.
    room = size - layout.overhead
    checks.require(
        0 < key_length <= size,
        Step.PUBLIC_KEY_LENGTH,
        f"the certificate says the key is {key_length} bytes; it must be 1..{size} (the signer's size)",
    )
    key_field = x[at + 9 : at + 9 + room]
    needed = max(0, key_length - room)
    checks.require(
        len(remainder) == needed,
        Step.PUBLIC_KEY_REMAINDER,
        f"a {key_length}-byte key needs a {needed}-byte remainder, got {len(remainder)} bytes"
        if needed
        else f"the {key_length}-byte key fits in the certificate, but a {len(remainder)}-byte remainder was given",
    )
    checks.require(
        exponent_length in (1, 3) and len(exponent) == exponent_length,
        Step.PUBLIC_KEY_EXPONENT,
        f"the certificate says the exponent is {exponent_length} bytes, the card gave {len(exponent)} bytes",
    )
    checks.require(
        int.from_bytes(exponent, "big") in c.ALLOWED_EXPONENTS,
        Step.PUBLIC_KEY_EXPONENT,
        f"exponent {exponent.hex().upper()} is neither 3 nor 65537",
    )

    digest = c.check_hash(checks, x, remainder + exponent + static_data)

    modulus = (key_field + remainder)[:key_length]
    checks.require(modulus[0] != 0, Step.PUBLIC_KEY_LENGTH, "the recovered modulus starts with a 00 byte")
    c.check_padding(checks, key_field[key_length:])
    return _Parsed(
        x,
        x[2:at],
        expiry_field,
        serial,
        hash_algorithm,
        pk_algorithm,
        RsaPublicKey(int.from_bytes(modulus, "big"), int.from_bytes(exponent, "big")),
        bytes(remainder),
        digest,
    )


def _check_algorithm(checks: Checklist, parsed: _Parsed) -> None:
    """Book 2 §5.3 step 11 / §6.4 step 10: the public key algorithm must be known (RSA)."""
    checks.require(
        parsed.public_key_algorithm == c.RSA_INDICATOR,
        Step.PUBLIC_KEY_ALGORITHM,
        f"public key algorithm indicator {parsed.public_key_algorithm:02X} is not 01 (RSA)",
    )


def recover_issuer_certificate(
    ca_key: RsaPublicKey,
    certificate: bytes,
    *,
    remainder: bytes = b"",
    exponent: bytes,
    pan: str,
    today: datetime.date,
) -> IssuerPublicKeyCertificate:
    """Recover and verify the Issuer Public Key Certificate (Book 2 §5.3, §6.3).

    ``certificate`` is tag ``90``, ``remainder`` tag ``92`` (``b""`` if absent),
    ``exponent`` tag ``9F32``, ``pan`` the card's Application PAN (tag ``5A``) as
    digits, ``today`` the date against which the expiry is checked.
    Raises :class:`~protocol.crypto.oda_common.OdaError` on the first failed step.
    """
    c.check_pan(pan)
    checks = Checklist(Subject.ISSUER_CERTIFICATE)
    p = _recover_certificate(_ISSUER, checks, ca_key, certificate, bytes(remainder), bytes(exponent), b"")

    # Step 8: the issuer identifier is the leftmost 3-8 PAN digits, padded with F.
    digits = c.digits_of_cn(p.owner) or ""
    checks.require(
        3 <= len(digits) <= 8,
        Step.ISSUER_IDENTIFIER,
        f"issuer identifier {p.owner.hex().upper()} is not 3..8 digits padded with F",
    )
    checks.require(
        pan.startswith(digits),
        Step.ISSUER_IDENTIFIER,
        f"issuer identifier {digits} does not match the leftmost digits of the PAN",
    )
    expiry = c.check_expiry(checks, p.expiry_field, today)  # step 9
    _check_algorithm(checks, p)  # step 11
    return IssuerPublicKeyCertificate(
        p.recovered, p.owner, digits, expiry, p.serial, p.hash_algorithm, p.public_key_algorithm,
        p.public_key, p.remainder, p.hash, checks.done(),
    )  # fmt: skip


def recover_icc_certificate(
    issuer_key: RsaPublicKey,
    certificate: bytes,
    *,
    remainder: bytes = b"",
    exponent: bytes,
    static_data: bytes,
    pan: str,
    today: datetime.date,
) -> IccPublicKeyCertificate:
    """Recover and verify the ICC Public Key Certificate (Book 2 §6.4).

    ``certificate`` is tag ``9F46``, ``remainder`` tag ``9F48`` (``b""`` if absent),
    ``exponent`` tag ``9F47``, ``static_data`` the static data to be authenticated
    (:func:`~protocol.crypto.oda_static.static_data_to_authenticate`), ``pan`` the
    Application PAN (tag ``5A``) as digits.
    """
    c.check_pan(pan)
    checks = Checklist(Subject.ICC_CERTIFICATE)
    p = _recover_certificate(
        _ICC, checks, issuer_key, certificate, bytes(remainder), bytes(exponent), bytes(static_data)
    )
    # Step 8: the recovered PAN equals the Application PAN read from the card.
    digits = c.digits_of_cn(p.owner)
    checks.require(
        digits == pan,
        Step.PAN,
        "the PAN in the certificate does not match the card's Application PAN"
        if digits is not None
        else f"PAN field {p.owner.hex().upper()} is not digits padded with F",
    )
    expiry = c.check_expiry(checks, p.expiry_field, today)  # step 9
    _check_algorithm(checks, p)  # step 10
    return IccPublicKeyCertificate(
        p.recovered, p.owner, pan, expiry, p.serial, p.hash_algorithm, p.public_key_algorithm,
        p.public_key, p.remainder, p.hash, checks.done(),
    )  # fmt: skip


# --------------------------------------------------------------------------- producing side


def _expiry(expiry: CertificateExpiry | datetime.date) -> CertificateExpiry:
    if isinstance(expiry, CertificateExpiry):
        return expiry
    if isinstance(expiry, datetime.date):
        return CertificateExpiry.from_date(expiry)
    raise UsageError(f"expiry must be a CertificateExpiry or a date, got {type(expiry).__name__}")


def _make_certificate(
    layout: _Layout,
    signer: RsaPrivateKey,
    subject_key: RsaPublicKey,
    owner: bytes,
    expiry: CertificateExpiry | datetime.date,
    serial: bytes,
    static_data: bytes,
) -> IssuedCertificate:
    if len(serial) != 3:
        raise UsageError(f"the certificate serial number is 3 bytes, got {len(serial)}")
    if subject_key.exponent not in c.ALLOWED_EXPONENTS:
        raise UsageError(f"EMV public exponents are 3 and 65537, got {subject_key.exponent}")
    size = (signer.modulus.bit_length() + 7) // 8
    key_length = subject_key.size_bytes
    if key_length > size or size > c.MAX_MODULUS_BYTES:
        raise UsageError(f"a {key_length}-byte key cannot be certified by a {size}-byte key (Book 2 §5.1, §6.1)")
    room = size - layout.overhead
    modulus = subject_key.modulus_bytes
    key_field = modulus[:room].ljust(room, bytes([c.PAD]))
    remainder = modulus[room:]
    exponent = subject_key.exponent_bytes
    body = (
        bytes([layout.format_code]) + owner + _expiry(expiry).mmyy + bytes(serial)
        + bytes([c.SHA1_INDICATOR, c.RSA_INDICATOR, key_length, len(exponent)]) + key_field
    )  # fmt: skip
    certificate = c.sign_block(signer, body, remainder + exponent + bytes(static_data))
    return IssuedCertificate(certificate, remainder, exponent)


def make_issuer_certificate(
    ca_key: RsaPrivateKey,
    issuer_key: RsaPublicKey,
    *,
    issuer_identifier: str,
    expiry: CertificateExpiry | datetime.date,
    serial: bytes,
) -> IssuedCertificate:
    """Issue an Issuer Public Key Certificate (format 02, Book 2 Table 6) with a CA key.

    ``issuer_identifier`` is the leftmost 3–8 digits of the PANs it covers.
    """
    if not isinstance(issuer_identifier, str) or not 3 <= len(issuer_identifier) <= 8:
        raise UsageError("the issuer identifier is 3..8 decimal digits")
    owner = c.cn_of_digits(issuer_identifier, 4)
    return _make_certificate(_ISSUER, ca_key, issuer_key, owner, expiry, serial, b"")


def make_icc_certificate(
    issuer_key: RsaPrivateKey,
    icc_key: RsaPublicKey,
    *,
    pan: str,
    expiry: CertificateExpiry | datetime.date,
    serial: bytes,
    static_data: bytes,
) -> IssuedCertificate:
    """Issue an ICC Public Key Certificate (format 04, Book 2 Table 14) with the issuer key.

    ``static_data`` must be exactly what the terminal will compute from the card's
    records and AIP (Book 3 §10.3), or the certificate will not verify.
    """
    owner = c.cn_of_digits(c.check_pan(pan), 10)
    return _make_certificate(_ICC, issuer_key, icc_key, owner, expiry, serial, static_data)
