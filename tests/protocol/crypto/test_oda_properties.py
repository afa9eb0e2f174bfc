"""Hostile input: whatever bytes a card sends as certificates, signatures or records,
ODA raises only VerificationError or MalformedDataError — never anything else.

Two kinds of input: arbitrary bytes (mostly caught by the length and recovery
checks), and arbitrary *plaintexts* signed with the real key, which get past the
RSA step and exercise every field check behind it.
"""

from __future__ import annotations

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.crypto.capk import default_store
from protocol.crypto.keygen import derive_rsa_key
from protocol.crypto.oda import (
    OdaError,
    recover_icc_certificate,
    recover_issuer_certificate,
    static_data_to_authenticate,
    verify_dynamic_data_cda,
    verify_dynamic_data_dda,
    verify_signed_static_data,
)
from protocol.crypto.primitives import RsaPrivateKey, rsa_private_raw, sha1
from protocol.errors import MalformedDataError, VerificationError

TODAY = datetime.date(2025, 1, 1)
PAN = "4761739001010010"
VISA_1024 = default_store().get(bytes.fromhex("A000000003"), 1).public_key
SIGNER = derive_rsa_key(b"oda properties", "signer", 1024)
SMALL = derive_rsa_key(b"oda properties", "small", 512, 65537)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ANY = st.binary(max_size=300)
FULL = st.binary(min_size=128, max_size=128)  # exactly the length of the 1024-bit keys


def _only_expected_errors(call) -> None:  # noqa: ANN001
    try:
        call()
    except (VerificationError, MalformedDataError):
        pass


@SETTINGS
@given(certificate=st.one_of(ANY, FULL), remainder=ANY, exponent=st.binary(max_size=4))
def test_arbitrary_issuer_certificates(certificate: bytes, remainder: bytes, exponent: bytes) -> None:
    _only_expected_errors(
        lambda: recover_issuer_certificate(
            VISA_1024, certificate, remainder=remainder, exponent=exponent, pan=PAN, today=TODAY
        )
    )


@SETTINGS
@given(certificate=st.one_of(ANY, FULL), remainder=ANY, exponent=st.binary(max_size=4), static=ANY)
def test_arbitrary_icc_certificates(certificate: bytes, remainder: bytes, exponent: bytes, static: bytes) -> None:
    _only_expected_errors(
        lambda: recover_icc_certificate(
            SIGNER.public_key, certificate, remainder=remainder, exponent=exponent, static_data=static, pan=PAN,
            today=TODAY,
        )
    )


@SETTINGS
@given(block=st.one_of(ANY, FULL), static=ANY)
def test_arbitrary_signed_static_data(block: bytes, static: bytes) -> None:
    _only_expected_errors(lambda: verify_signed_static_data(SIGNER.public_key, block, static_data=static))


@SETTINGS
@given(block=st.one_of(ANY, FULL), ddol=ANY, un=st.binary(min_size=4, max_size=4), response=ANY, cdol=ANY)
def test_arbitrary_signed_dynamic_data(block: bytes, ddol: bytes, un: bytes, response: bytes, cdol: bytes) -> None:
    _only_expected_errors(lambda: verify_dynamic_data_dda(SIGNER.public_key, block, ddol_data=ddol))
    _only_expected_errors(
        lambda: verify_dynamic_data_cda(
            SIGNER.public_key, block, unpredictable_number=un, pdol_data=b"", cdol1_data=cdol,
            generate_ac_response=response,
        )
    )


def _frame(data: st.DataObject, size: int, format_code: int) -> bytearray:
    """An arbitrary plaintext that usually has a valid header, format and trailer."""
    body = bytearray(data.draw(st.binary(min_size=size, max_size=size)))
    body[0] = 0x6A if data.draw(st.integers(0, 7)) else body[0] % 0x80
    for offset, value in ((1, format_code), (-1, 0xBC)):
        if data.draw(st.integers(0, 7)):
            body[offset] = value
    return body


def _sign(key: RsaPrivateKey, data: st.DataObject, body: bytearray, hashed: bytes) -> bytes:
    """Sign the plaintext, usually with a correct hash so that the checks behind it run."""
    if data.draw(st.integers(0, 3)):
        body[-21:-1] = sha1(bytes(body[1:-21]) + hashed)
    return rsa_private_raw(key, bytes(body))


def _maybe(data: st.DataObject, body: bytearray, offset: int, value: bytes) -> None:
    """Usually write a valid ``value`` at ``offset``; sometimes leave the arbitrary bytes."""
    if data.draw(st.integers(0, 5)):
        body[offset : offset + len(value)] = value


def _certificate(
    data: st.DataObject, key: RsaPrivateKey, format_code: int, exponent: bytes, static: bytes
) -> tuple[bytes, bytes]:
    """A signed format 02/04 certificate with arbitrary, often plausible, fields; and a remainder."""
    size = key.public_key.size_bytes
    body = _frame(data, size, format_code)
    owner = bytes.fromhex("476173FF") if format_code == 0x02 else bytes.fromhex(PAN + "FFFF")
    _maybe(data, body, 2, owner)
    at = 2 + len(owner)  # Certificate Expiration Date
    _maybe(data, body, at, bytes.fromhex("1230"))
    for offset in (at + 5, at + 6):  # hash and public key algorithm indicators
        _maybe(data, body, offset, b"\x01")
    body[at + 7] = key_length = data.draw(st.integers(0, 255))
    _maybe(data, body, at + 8, bytes([len(exponent)]))
    if data.draw(st.booleans()):  # the padding the key length implies
        room = size - (36 if format_code == 0x02 else 42)
        body[at + 9 + min(key_length, room) : at + 9 + room] = b"\xbb" * (room - min(key_length, room))
    needed = max(0, key_length - (size - (36 if format_code == 0x02 else 42)))
    remainder = data.draw(st.one_of(st.binary(min_size=needed, max_size=needed), ANY))
    return _sign(key, data, body, remainder + exponent + static), remainder


@SETTINGS
@given(data=st.data(), exponent=st.sampled_from([b"\x03", b"\x01\x00\x01", b"", b"\x05"]))
def test_signed_arbitrary_certificate_plaintexts(data: st.DataObject, exponent: bytes) -> None:
    for key in (SIGNER, SMALL):
        certificate, remainder = _certificate(data, key, 0x02, exponent, b"")
        _only_expected_errors(
            lambda: recover_issuer_certificate(
                key.public_key, certificate, remainder=remainder, exponent=exponent, pan=PAN, today=TODAY
            )
        )
        certificate, remainder = _certificate(data, key, 0x04, exponent, b"static")
        _only_expected_errors(
            lambda: recover_icc_certificate(
                key.public_key, certificate, remainder=remainder, exponent=exponent, static_data=b"static",
                pan=PAN, today=TODAY,
            )
        )


def _dynamic(data: st.DataObject, key: RsaPrivateKey, format_code: int, hashed: bytes) -> bytes:
    body = _frame(data, key.public_key.size_bytes, format_code)
    _maybe(data, body, 2, b"\x01")
    if format_code == 0x05:
        body[3] = data.draw(st.sampled_from([body[3], 3, 9, 38, 39]))
        body[4] = data.draw(st.sampled_from([body[4], 1, 2, 8, 9]))
        if data.draw(st.booleans()):
            body[4 + body[3] : -21] = b"\xbb" * len(body[4 + body[3] : -21])
    elif data.draw(st.booleans()):
        body[5:-21] = b"\xbb" * len(body[5:-21])
    return _sign(key, data, body, hashed)


@SETTINGS
@given(data=st.data(), response=ANY)
def test_signed_arbitrary_signature_plaintexts(data: st.DataObject, response: bytes) -> None:
    un = b"\x00\x00\x00\x01"
    for key in (SIGNER, SMALL):
        ssad = _dynamic(data, key, 0x03, b"static")
        _only_expected_errors(lambda: verify_signed_static_data(key.public_key, ssad, static_data=b"static"))
        sdad = _dynamic(data, key, 0x05, un)
        _only_expected_errors(lambda: verify_dynamic_data_dda(key.public_key, sdad, ddol_data=un))
        _only_expected_errors(
            lambda: verify_dynamic_data_cda(
                key.public_key, sdad, unpredictable_number=un, pdol_data=b"", cdol1_data=b"",
                generate_ac_response=response,
            )
        )


@SETTINGS
@given(
    records=st.lists(st.tuples(st.integers(1, 30), st.binary(max_size=40)), max_size=4),
    tag_list=st.one_of(st.none(), st.binary(max_size=4)),
)
def test_arbitrary_records_and_tag_lists(records: list[tuple[int, bytes]], tag_list: bytes | None) -> None:
    _only_expected_errors(lambda: static_data_to_authenticate(records, tag_list, b"\x39\x00"))


def test_a_failed_check_is_an_oda_error_naming_subject_and_step() -> None:
    try:
        verify_signed_static_data(SIGNER.public_key, b"\x00" * 128, static_data=b"")
    except OdaError as exc:
        assert isinstance(exc, VerificationError)
        assert exc.check == f"{exc.subject} {exc.step}" == "signed static data trailer"
    else:  # pragma: no cover
        raise AssertionError("a zero block must not verify")
