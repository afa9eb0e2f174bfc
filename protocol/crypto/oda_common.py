"""Shared pieces of EMV offline data authentication (EMV 4.4 Book 2 §5, §6, Annex A2, B).

* :class:`OdaError` — the :class:`~protocol.errors.VerificationError` every ODA
  check raises, named ``"<subject> <step>"`` (``"issuer certificate hash"``).
* :class:`CertificateExpiry` — the MMYY Certificate Expiration Date.
* The recovery frame that all four signed formats share (Book 2 Annex A2.1,
  "digital signature scheme giving message recovery"): the signed block is as long
  as the signer's modulus, and the recovered data ``X`` is
  ``6A ‖ format ‖ … ‖ hash (20) ‖ BC``.
"""

from __future__ import annotations

import calendar
import datetime
import enum
import functools
from dataclasses import dataclass

from protocol.crypto.primitives import RsaPrivateKey, RsaPublicKey, rsa_private_raw, rsa_public_raw, sha1
from protocol.errors import MalformedDataError, UsageError, VerificationError

HEADER = 0x6A  #: Recovered Data Header (Book 2 §5.3, §5.4, §6.3–§6.6)
TRAILER = 0xBC  #: Recovered Data Trailer
PAD = 0xBB  #: Pad Pattern
SHA1_INDICATOR = 0x01  #: Hash Algorithm Indicator: SHA-1 (Book 2 Annex B3.1)
RSA_INDICATOR = 0x01  #: Public Key Algorithm Indicator: RSA (Book 2 Annex B2.1)
HASH_LENGTH = 20
ALLOWED_EXPONENTS = (3, 65537)  #: Book 2 §5.1 / Annex B2.1: e = 3 or 2^16 + 1
MAX_MODULUS_BYTES = 248  #: Book 2 §5.1: the largest modulus, 1984 bits


class Subject(enum.StrEnum):
    """What is being verified."""

    ISSUER_CERTIFICATE = "issuer certificate"  # format 02, Book 2 §5.3 / §6.3
    SIGNED_STATIC_DATA = "signed static data"  # format 03, §5.4
    ICC_CERTIFICATE = "ICC certificate"  # format 04, §6.4
    SIGNED_DYNAMIC_DATA = "signed dynamic data"  # format 05, §6.5 (DDA) / §6.6 (CDA)
    STATIC_DATA = "static data"  # Book 3 §10.3


class Step(enum.StrEnum):
    """Which check failed (each maps to a numbered step of Book 2 §5.3–§6.6)."""

    LENGTH = "length"
    RECOVERY = "recovery"
    TRAILER = "trailer"
    HEADER = "header"
    FORMAT = "format"
    HASH_ALGORITHM = "hash algorithm"
    HASH = "hash"
    PUBLIC_KEY_ALGORITHM = "public key algorithm"
    PUBLIC_KEY_LENGTH = "public key length"
    PUBLIC_KEY_EXPONENT = "public key exponent"
    PUBLIC_KEY_REMAINDER = "public key remainder"
    PADDING = "padding"
    ISSUER_IDENTIFIER = "issuer identifier"
    PAN = "PAN"
    EXPIRY = "expiry"
    DYNAMIC_DATA_LENGTH = "dynamic data length"
    DYNAMIC_NUMBER_LENGTH = "dynamic number length"
    CRYPTOGRAM_INFORMATION_DATA = "cryptogram information data"
    TRANSACTION_DATA_HASH_CODE = "transaction data hash code"
    TAG_LIST = "tag list"


@functools.lru_cache(maxsize=512)  # a few dozen (subject, step) pairs, named ~100 times per tap
def check_name(subject: Subject, step: Step) -> str:
    """``"issuer certificate hash"``: the ``check`` of the error and of result lists."""
    return f"{subject.value} {step.value}"


class OdaError(VerificationError):
    """An offline data authentication check failed; ``subject`` and ``step`` say which."""

    def __init__(self, subject: Subject, step: Step, detail: str) -> None:
        self.subject = subject
        self.step = step
        super().__init__(check_name(subject, step), detail)


class Checklist:
    """Records the names of the checks passed, in order, for the result objects."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject
        self.passed: list[str] = []

    def require(self, ok: bool, step: Step, detail: str) -> None:
        if not ok:
            raise OdaError(self.subject, step, detail)
        name = check_name(self.subject, step)
        if name not in self.passed:
            self.passed.append(name)

    def fail(self, step: Step, detail: str) -> OdaError:
        return OdaError(self.subject, step, detail)

    def done(self) -> tuple[str, ...]:
        return tuple(self.passed)


# --------------------------------------------------------------------------- dates


@dataclass(frozen=True, order=True)
class CertificateExpiry:
    """Certificate Expiration Date, MMYY in BCD; valid through the month's last day."""

    year: int
    month: int

    @classmethod
    def from_mmyy(cls, mmyy: bytes) -> CertificateExpiry:
        """Parse the 2-byte n4 MMYY field; ``ValueError`` when it is not a date.

        Two-digit years 00–49 are 20YY and 50–99 are 19YY (the Book 4 §6.7.3 rule
        for two-digit years).
        """
        text = bytes(mmyy).hex()
        if len(mmyy) != 2 or not text.isdigit():
            raise ValueError(f"{text.upper()} is not an MMYY date in BCD")
        month, yy = int(text[:2]), int(text[2:])
        if not 1 <= month <= 12:
            raise ValueError(f"month {month:02d} in {text.upper()} is not 01..12")
        return cls(2000 + yy if yy < 50 else 1900 + yy, month)

    @classmethod
    def from_date(cls, day: datetime.date) -> CertificateExpiry:
        return cls(day.year, day.month)

    @property
    def mmyy(self) -> bytes:
        return bytes.fromhex(f"{self.month:02d}{self.year % 100:02d}")

    @property
    def last_day(self) -> datetime.date:
        return datetime.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __str__(self) -> str:
        return f"{self.month:02d}/{self.year % 100:02d}"


def check_expiry(checks: Checklist, mmyy: bytes, today: datetime.date) -> CertificateExpiry:
    """Book 2 §5.3 step 9 / §6.4 step 9: the last day of the month is today or later."""
    try:
        expiry = CertificateExpiry.from_mmyy(mmyy)
    except ValueError as exc:
        raise checks.fail(Step.EXPIRY, str(exc)) from None
    checks.require(
        today <= expiry.last_day, Step.EXPIRY, f"expired {expiry} (today is {today.isoformat()})"
    )
    return expiry


# --------------------------------------------------------------------------- digits (cn format)


def is_decimal(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` alone also accepts other scripts' digits)."""
    return text.isascii() and text.isdigit()


def digits_of_cn(field: bytes) -> str | None:
    """Digits of a compressed-numeric field padded on the right with ``F`` nibbles;
    ``None`` when a non-digit nibble appears before the padding or inside it."""
    text = bytes(field).hex().upper()
    digits = text.rstrip("F")
    return digits if digits.isdigit() or digits == "" else None


def pan_from_cn(value: bytes) -> str:
    """The PAN digits of tag ``5A`` (cn, F-padded), for the ``pan`` arguments here."""
    digits = digits_of_cn(value)
    if not digits or len(digits) > 19:
        raise MalformedDataError(f"{bytes(value).hex().upper()} is not 1..19 digits padded with F", what="PAN (5A)")
    return digits


def cn_of_digits(digits: str, length: int) -> bytes:
    """Digits packed as cn, padded on the right with ``F`` to ``length`` bytes."""
    if not is_decimal(digits) or len(digits) > 2 * length:
        raise UsageError(f"{digits!r} is not at most {2 * length} decimal digits")
    return bytes.fromhex(digits.ljust(2 * length, "F"))


def check_pan(pan: str) -> str:
    if not isinstance(pan, str) or not is_decimal(pan) or not 1 <= len(pan) <= 19:
        raise UsageError("the PAN must be a string of 1..19 decimal digits")
    return pan


# --------------------------------------------------------------------------- the signed block


def recover(checks: Checklist, key: RsaPublicKey, block: bytes, minimum: int) -> bytes:
    """Book 2 §5.3 steps 1–2 (and the same steps of §5.4, §6.4–6.6): the block must
    be as long as the modulus, below it, and large enough for its format."""
    if not isinstance(block, bytes | bytearray):
        raise UsageError(f"a signed block is bytes, got {type(block).__name__}")
    size = key.size_bytes
    checks.require(
        len(block) == size,
        Step.LENGTH,
        f"{len(block)} bytes, but the key modulus is {size} bytes",
    )
    checks.require(size >= minimum, Step.LENGTH, f"a {size}-byte key is too short for this format")
    checks.require(
        int.from_bytes(block, "big") < key.modulus, Step.RECOVERY, "the value is not smaller than the modulus"
    )
    return rsa_public_raw(key, bytes(block))


def check_frame(checks: Checklist, recovered: bytes, format_code: int) -> None:
    """Trailer ``BC``, header ``6A`` and the format byte (Book 2 §5.3 steps 2–4)."""
    checks.require(recovered[-1] == TRAILER, Step.TRAILER, f"trailer is {recovered[-1]:02X}, not BC")
    checks.require(recovered[0] == HEADER, Step.HEADER, f"header is {recovered[0]:02X}, not 6A")
    checks.require(
        recovered[1] == format_code,
        Step.FORMAT,
        f"format is {recovered[1]:02X}, not {format_code:02X}",
    )


def check_hash_algorithm(checks: Checklist, indicator: int) -> None:
    """The Hash Algorithm Indicator the hash step needs must be ``01`` (SHA-1)."""
    checks.require(
        indicator == SHA1_INDICATOR, Step.HASH_ALGORITHM, f"hash algorithm indicator {indicator:02X} is not 01 (SHA-1)"
    )


def check_hash(checks: Checklist, recovered: bytes, extra: bytes) -> bytes:
    """Book 2 §5.3 steps 5–7: SHA-1 over ``X[1 : N−21] ‖ extra`` equals ``X[N−21 : N−1]``."""
    size = len(recovered)
    computed = sha1(recovered[1 : size - 21] + extra)
    checks.require(
        computed == recovered[size - 21 : size - 1],
        Step.HASH,
        "SHA-1 over the recovered data does not match the hash in the signature",
    )
    return computed


def check_padding(checks: Checklist, padding: bytes) -> None:
    checks.require(all(b == PAD for b in padding), Step.PADDING, "pad pattern is not all BB")


def sign_block(key: RsaPrivateKey, body: bytes, hashed_extra: bytes) -> bytes:
    """``6A ‖ body ‖ SHA-1(body ‖ hashed_extra) ‖ BC`` signed with ``key``.

    ``body`` starts with the format byte and must fill the block exactly.
    """
    size = (key.modulus.bit_length() + 7) // 8
    if len(body) + 22 != size:
        raise UsageError(f"the formatted data is {len(body) + 22} bytes but the modulus is {size} bytes")
    block = bytes([HEADER]) + body + sha1(body + hashed_extra) + bytes([TRAILER])
    return rsa_private_raw(key, block)
