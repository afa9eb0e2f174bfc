"""The SDA, DDA and CDA worked examples of tests/vectors/oda.json (proxmark3 / emv-tools).

Every recovery and check must pass and every value in ``derived`` must match. The
certificates are long expired (SDA issuer 12/09; DDA/CDA issuer 12/21, ICC 06/15),
so the tests pass a ``today`` inside their validity, and also check that the real
today fails on expiry.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from protocol import tlv
from protocol.crypto.capk import default_store
from protocol.crypto.oda import (
    IccPublicKeyCertificate,
    IssuerPublicKeyCertificate,
    OdaError,
    pan_from_cn,
    recover_icc_certificate,
    recover_issuer_certificate,
    static_data_to_authenticate,
    transaction_data_hash_code,
    verify_dynamic_data_cda,
    verify_dynamic_data_dda,
    verify_signed_static_data,
)
from protocol.errors import MalformedDataError, UsageError

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "oda.json"
CASES = {case["id"]: case for case in json.loads(VECTORS.read_text(encoding="utf-8"))["cases"]}
#: A day on which every certificate of the case is valid (the last day they all are).
VALID_ON = {
    "pm3.sda": datetime.date(2009, 12, 31),
    "pm3.dda": datetime.date(2015, 6, 30),
    "pm3.cda": datetime.date(2015, 6, 30),
}


def h(text: str | None) -> bytes:
    return bytes.fromhex(text or "")


def _issuer(case: dict[str, Any], today: datetime.date) -> IssuerPublicKeyCertificate:
    ca = case["ca_public_key"]
    ca_key = default_store().get(h(ca["rid"]), int(ca["index"], 16))
    assert ca_key.public_key.modulus_bytes == h(ca["modulus"])
    card = case["card_data"]
    return recover_issuer_certificate(
        ca_key.public_key,
        h(card["90_issuer_pk_certificate"]),
        remainder=h(card["92_issuer_pk_remainder"]),
        exponent=h(card["9F32_issuer_pk_exponent"]),
        pan=card["5A_pan"],
        today=today,
    )


def _icc(case: dict[str, Any], issuer: IssuerPublicKeyCertificate, today: datetime.date) -> IccPublicKeyCertificate:
    card = case["card_data"]
    return recover_icc_certificate(
        issuer.public_key,
        h(card["9F46_icc_pk_certificate"]),
        remainder=h(card["9F48_icc_pk_remainder"]),
        exponent=h(card["9F47_icc_pk_exponent"]),
        static_data=h(case["static_data_to_be_authenticated"]),
        pan=card["5A_pan"],
        today=today,
    )


def _check_issuer_derived(issuer: IssuerPublicKeyCertificate, derived: dict[str, Any]) -> None:
    assert issuer.recovered == h(derived["recovered"])
    assert issuer.recovered[:1] == h(derived["header"]) and issuer.recovered[1:2] == h(derived["format"])
    assert issuer.recovered[-1:] == h(derived["trailer"])
    assert issuer.issuer_identifier == h(derived["issuer_identifier"])
    assert issuer.issuer_identifier_digits == derived["issuer_identifier"].rstrip("F")
    assert issuer.expiry.mmyy == h(derived["expiry_mmyy"])
    assert issuer.serial == h(derived["serial"])
    assert issuer.hash_algorithm == int(derived["hash_algorithm"], 16)
    assert issuer.public_key_algorithm == int(derived["pk_algorithm"], 16)
    assert issuer.public_key.size_bytes == derived["issuer_pk_modulus_length"]
    assert len(issuer.public_key.exponent_bytes) == derived["issuer_pk_exponent_length"]
    assert issuer.public_key.modulus_bytes == h(derived["issuer_pk_modulus"])
    assert issuer.hash == h(derived["recovered_hash"]) == h(derived["computed_hash"])
    assert bool(issuer.remainder) == derived["remainder_needed"]


def _check_icc_derived(icc: IccPublicKeyCertificate, derived: dict[str, Any]) -> None:
    assert icc.recovered == h(derived["recovered"])
    assert icc.pan_field == h(derived["pan"])
    assert icc.pan == derived["pan"].rstrip("F")
    assert icc.expiry.mmyy == h(derived["expiry_mmyy"])
    assert icc.serial == h(derived["serial"])
    assert icc.hash_algorithm == int(derived["hash_algorithm"], 16)
    assert icc.public_key_algorithm == int(derived["pk_algorithm"], 16)
    assert icc.public_key.size_bytes == derived["icc_pk_modulus_length"]
    assert len(icc.public_key.exponent_bytes) == derived["icc_pk_exponent_length"]
    assert icc.public_key.modulus_bytes == h(derived["icc_pk_modulus"])
    assert icc.hash == h(derived["recovered_hash"]) == h(derived["computed_hash"])
    assert bool(icc.remainder) == derived["remainder_needed"]


def test_sda_case() -> None:
    case = CASES["pm3.sda"]
    issuer = _issuer(case, VALID_ON["pm3.sda"])
    _check_issuer_derived(issuer, case["derived"]["issuer_certificate"])
    ssad = verify_signed_static_data(
        issuer.public_key,
        h(case["card_data"]["93_signed_static_application_data"]),
        static_data=h(case["static_data_to_be_authenticated"]),
    )
    derived = case["derived"]["signed_static_application_data"]
    assert ssad.recovered == h(derived["recovered"])
    assert ssad.data_authentication_code == h(derived["data_authentication_code"])
    assert ssad.hash_algorithm == int(derived["hash_algorithm"], 16)
    assert ssad.hash == h(derived["recovered_hash"]) == h(derived["computed_hash"])
    assert "signed static data hash" in ssad.checks and "issuer certificate hash" in issuer.checks


def test_dda_case() -> None:
    case = CASES["pm3.dda"]
    issuer = _issuer(case, VALID_ON["pm3.dda"])
    _check_issuer_derived(issuer, case["derived"]["issuer_certificate"])
    icc = _icc(case, issuer, VALID_ON["pm3.dda"])
    _check_icc_derived(icc, case["derived"]["icc_certificate"])
    sdad = verify_dynamic_data_dda(
        icc.public_key,
        h(case["card_data"]["9F4B_signed_dynamic_application_data"]),
        ddol_data=h(case["terminal_data"]["ddol_data"]),
    )
    derived = case["derived"]["signed_dynamic_application_data"]
    assert sdad.recovered == h(derived["recovered"])
    assert sdad.hash_algorithm == int(derived["hash_algorithm"], 16)
    assert len(sdad.icc_dynamic_data) == derived["icc_dynamic_data_length"]
    assert sdad.icc_dynamic_data == h(derived["icc_dynamic_data"])
    assert sdad.icc_dynamic_number == h(derived["icc_dynamic_number_9F4C"]) == h("7A33FB8C9546E1E7")
    assert sdad.hash == h(derived["recovered_hash"]) == h(derived["computed_hash"])


def test_cda_case() -> None:
    case = CASES["pm3.cda"]
    issuer = _issuer(case, VALID_ON["pm3.cda"])
    _check_issuer_derived(issuer, case["derived"]["issuer_certificate"])
    icc = _icc(case, issuer, VALID_ON["pm3.cda"])
    _check_icc_derived(icc, case["derived"]["icc_certificate"])
    terminal = case["terminal_data"]
    response = h(case["generate_ac_response"]["tlvs_excluding_9F4B"])
    sdad_bytes = h(case["card_data"]["9F4B_signed_dynamic_application_data"])
    sdad = verify_dynamic_data_cda(
        icc.public_key,
        sdad_bytes,
        unpredictable_number=h(terminal["9F37_unpredictable_number"]),
        pdol_data=h(terminal["pdol_data"]),
        cdol1_data=h(terminal["cdol1_data"]),
        generate_ac_response=response,
    )
    derived = case["derived"]["signed_dynamic_application_data"]
    assert sdad.recovered == h(derived["recovered"])
    assert len(sdad.icc_dynamic_data) == derived["icc_dynamic_data_length"]
    assert sdad.icc_dynamic_data == h(derived["icc_dynamic_data"])
    assert sdad.icc_dynamic_number == h(derived["icc_dynamic_number_9F4C"]) == h("4CC2FB1FAFB30915")
    assert sdad.cryptogram_information_data == h(derived["cid_9F27"]) == b"\x40"
    assert sdad.application_cryptogram == h(derived["application_cryptogram_9F26"]) == h("16AFBA13C52FB173")
    tdhc = h(derived["transaction_data_hash_code"])
    assert sdad.transaction_data_hash_code == tdhc == h(case["derived"]["computed_tdhc"])
    assert sdad.hash == h(derived["recovered_hash"]) == h(derived["computed_hash"])
    assert "signed dynamic data transaction data hash code" in sdad.checks
    # The same response with 9F4B inside (as the card sends it) hashes the same.
    with_sdad = response + tlv.encode(0x9F4B, sdad_bytes)
    assert transaction_data_hash_code(
        pdol_data=b"", cdol1_data=h(terminal["cdol1_data"]), generate_ac_response=with_sdad
    ) == h(case["derived"]["computed_tdhc"])


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_static_data_rebuilt_from_a_record_and_the_aip(case_id: str) -> None:
    case = CASES[case_id]
    static = h(case["static_data_to_be_authenticated"])
    records_data, aip = static[:-2], static[-2:]
    record = tlv.encode(0x70, records_data)
    assert static_data_to_authenticate([(2, record)], b"\x82", aip) == static


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_the_real_today_fails_on_issuer_certificate_expiry(case_id: str) -> None:
    with pytest.raises(OdaError) as caught:
        _issuer(CASES[case_id], datetime.date.today())
    assert caught.value.check == "issuer certificate expiry"
    expected = {"pm3.sda": "expired 12/09", "pm3.dda": "expired 12/21", "pm3.cda": "expired 12/21"}[case_id]
    assert caught.value.detail.startswith(expected)


def test_expiry_is_the_end_of_the_month() -> None:
    case = CASES["pm3.dda"]
    issuer = _issuer(case, datetime.date(2021, 12, 31))
    with pytest.raises(OdaError, match="expired 12/21"):
        _issuer(case, datetime.date(2022, 1, 1))
    # ICC certificate 06/15: valid on 30 June 2015, expired the next day.
    _icc(case, issuer, datetime.date(2015, 6, 30))
    with pytest.raises(OdaError) as caught:
        _icc(case, issuer, datetime.date(2015, 7, 1))
    assert caught.value.check == "ICC certificate expiry"
    assert caught.value.detail.startswith("expired 06/15")


def test_the_icc_certificate_is_bound_to_the_card_pan() -> None:
    case = CASES["pm3.dda"]
    issuer = _issuer(case, VALID_ON["pm3.dda"])
    card = dict(case["card_data"], **{"5A_pan": "5285881254345654"})
    with pytest.raises(OdaError) as caught:
        _icc(dict(case, card_data=card), issuer, VALID_ON["pm3.dda"])
    assert caught.value.check == "ICC certificate PAN"


def test_the_issuer_identifier_must_prefix_the_pan() -> None:
    case = CASES["pm3.sda"]
    card = dict(case["card_data"], **{"5A_pan": "4276560000000000"})
    with pytest.raises(OdaError) as caught:
        _issuer(dict(case, card_data=card), VALID_ON["pm3.sda"])
    assert caught.value.check == "issuer certificate issuer identifier"


def test_the_sda_hash_needs_the_aip() -> None:
    case = CASES["pm3.sda"]
    issuer = _issuer(case, VALID_ON["pm3.sda"])
    with pytest.raises(OdaError) as caught:
        verify_signed_static_data(
            issuer.public_key,
            h(case["card_data"]["93_signed_static_application_data"]),
            static_data=h(case["static_data_to_be_authenticated"])[:-2],
        )
    assert caught.value.check == "signed static data hash"


def test_the_wrong_ca_key_of_the_duplicate_pair_fails_on_length() -> None:
    case = CASES["pm3.dda"]
    (shadowed,) = [e.key for e in default_store().entries() if not e.active]
    with pytest.raises(OdaError) as caught:
        recover_issuer_certificate(
            shadowed.public_key,
            h(case["card_data"]["90_issuer_pk_certificate"]),
            remainder=h(case["card_data"]["92_issuer_pk_remainder"]),
            exponent=b"\x03",
            pan=case["card_data"]["5A_pan"],
            today=VALID_ON["pm3.dda"],
        )
    assert caught.value.check == "issuer certificate length"


# --------------------------------------------------------------------------- static data to authenticate (Book 3 §10.3)

AIP = bytes.fromhex("3900")
PAN_TLV = tlv.encode(0x5A, bytes.fromhex("5285881254345653"))


def test_sfi_1_to_10_use_the_template_value_and_11_to_30_the_whole_record() -> None:
    record = tlv.encode(0x70, PAN_TLV)
    assert static_data_to_authenticate([(10, record)], None, None) == PAN_TLV
    assert static_data_to_authenticate([(11, record)], None, AIP) == record
    assert static_data_to_authenticate([(1, record), (30, record)], b"\x82", AIP) == PAN_TLV + record + AIP
    assert static_data_to_authenticate([], b"\x82", AIP) == AIP
    assert static_data_to_authenticate([], b"", AIP) == b""


@pytest.mark.parametrize(
    "record",
    [
        b"",
        b"\x70",
        b"\x70\x05\x5a\x01",
        b"\x77\x03\x5a\x01\x01",
        b"\x70\x00\x70\x00",
        b"\x5a\x01\x01",
        b"\x70\x03\x5a\x05\x01",
    ],
)
def test_malformed_or_non_70_records_are_malformed_data(record: bytes) -> None:
    for sfi in (1, 11):
        with pytest.raises(MalformedDataError) as caught:
            static_data_to_authenticate([(sfi, record)], None, None)
        assert f"SFI {sfi} record #1" in str(caught.value)


@pytest.mark.parametrize("tag_list", [b"\x9f\x02", b"\x82\x82", b"\x82\x5a", b"\x9f\x4a", b"\x00"])
def test_sda_tag_list_may_only_name_the_aip(tag_list: bytes) -> None:
    with pytest.raises(OdaError) as caught:
        static_data_to_authenticate([], tag_list, AIP)
    assert caught.value.check == "static data tag list"


def test_static_data_misuse() -> None:
    with pytest.raises(MalformedDataError):
        static_data_to_authenticate([], b"\x9f", AIP)
    with pytest.raises(UsageError):
        static_data_to_authenticate([], b"\x82", None)
    for sfi in (0, 31):
        with pytest.raises(UsageError):
            static_data_to_authenticate([(sfi, tlv.encode(0x70, PAN_TLV))], None, None)


def test_pan_from_tag_5a() -> None:
    assert pan_from_cn(bytes.fromhex("5285881254345653")) == "5285881254345653"
    assert pan_from_cn(bytes.fromhex("541333008901043F")) == "541333008901043"
    for bad in (b"", bytes.fromhex("FFFF"), bytes.fromhex("12A4"), bytes.fromhex("1F2F")):
        with pytest.raises(MalformedDataError):
            pan_from_cn(bad)
