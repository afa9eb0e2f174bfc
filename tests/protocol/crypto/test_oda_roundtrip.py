"""Produce then verify: certificates, SSAD, SDAD for DDA and CDA; then tamper with each piece.

Key sizes 1024/1152/1408/1984 bits, exponents 3 and 65537, with and without the
issuer and ICC public key remainders. A tampered input must fail with the *right*
named check, not just any error.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from protocol import tlv
from protocol.crypto.keygen import derive_bytes, derive_rsa_key
from protocol.crypto.oda import (
    CertificateExpiry,
    IssuedCertificate,
    OdaError,
    make_icc_certificate,
    make_issuer_certificate,
    recover_icc_certificate,
    recover_issuer_certificate,
    sign_dynamic_data_cda,
    sign_dynamic_data_dda,
    sign_static_data,
    static_data_to_authenticate,
    transaction_data_hash_code,
    verify_dynamic_data_cda,
    verify_dynamic_data_dda,
    verify_signed_static_data,
)
from protocol.crypto.primitives import RsaPrivateKey, rsa_private_raw, rsa_public_raw, sha1
from protocol.errors import MalformedDataError, UsageError

SEED = b"oda round trip"
PAN = "5413330089010434"
ISSUER_ID = "541333"
TODAY = datetime.date(2030, 1, 15)
ISSUER_EXPIRY = CertificateExpiry(2031, 12)
ICC_EXPIRY = datetime.date(2030, 1, 1)  # only month and year count: valid through 31 Jan 2030
AIP = bytes.fromhex("3900")
RECORDS = [
    (1, tlv.encode(0x70, tlv.encode(0x5A, bytes.fromhex(PAN)) + tlv.encode(0x5F24, bytes.fromhex("300131")))),
    (2, tlv.encode(0x70, tlv.encode(0x8C, bytes.fromhex("9F02069F37049F3602")) + tlv.encode(0x9F4A, b"\x82"))),
    (12, tlv.encode(0x70, tlv.encode(0x5F28, bytes.fromhex("0410")))),
]
STATIC = static_data_to_authenticate(RECORDS, b"\x82", AIP)
UN = bytes.fromhex("1A2B3C4D")
PDOL_DATA = bytes.fromhex("000000001000") + UN
CDOL1_DATA = bytes.fromhex("000000001000000000000000041000000000000410300115") + UN
RESPONSE = (
    tlv.encode(0x9F27, b"\x80") + tlv.encode(0x9F36, b"\x00\x07")
    + tlv.encode(0x9F10, bytes.fromhex("0110A00003220000000000000000000000FF"))
)  # fmt: skip


@dataclass(frozen=True)
class Config:
    ca: tuple[int, int]  # bits, exponent
    issuer: tuple[int, int]
    icc: tuple[int, int]
    issuer_remainder: bool
    icc_remainder: bool

    @property
    def id(self) -> str:
        return f"ca{self.ca[0]}e{self.ca[1]}-iss{self.issuer[0]}e{self.issuer[1]}-icc{self.icc[0]}e{self.icc[1]}"


CONFIGS = [
    Config((1024, 3), (1024, 3), (768, 3), True, True),
    Config((1152, 65537), (1024, 65537), (512, 65537), True, False),
    Config((1408, 3), (1024, 3), (1024, 65537), False, True),
    Config((1984, 65537), (1984, 3), (1408, 65537), True, False),
    Config((1984, 3), (1408, 65537), (1152, 3), False, True),
]


@dataclass(frozen=True)
class Card:
    ca: RsaPrivateKey
    issuer: RsaPrivateKey
    icc: RsaPrivateKey
    issuer_cert: IssuedCertificate
    icc_cert: IssuedCertificate
    ssad: bytes


def make_card(config: Config) -> Card:
    ca = derive_rsa_key(SEED, "ca", *config.ca)
    issuer = derive_rsa_key(SEED, "issuer", *config.issuer)
    icc = derive_rsa_key(SEED, "icc", *config.icc)
    issuer_cert = make_issuer_certificate(
        ca, issuer.public_key, issuer_identifier=ISSUER_ID, expiry=ISSUER_EXPIRY, serial=b"\x00\x01\x2a"
    )
    icc_cert = make_icc_certificate(
        issuer, icc.public_key, pan=PAN, expiry=ICC_EXPIRY, serial=b"\x12\x34\x56", static_data=STATIC
    )
    ssad = sign_static_data(issuer, data_authentication_code=b"\xda\xc1", static_data=STATIC)
    return Card(ca, issuer, icc, issuer_cert, icc_cert, ssad)


CARDS: dict[str, Card] = {}


@pytest.fixture(params=CONFIGS, ids=lambda c: c.id)
def config_card(request: pytest.FixtureRequest) -> tuple[Config, Card]:
    config: Config = request.param
    if config.id not in CARDS:
        CARDS[config.id] = make_card(config)
    return config, CARDS[config.id]


def verify_issuer(card: Card, **changes: object):  # noqa: ANN201
    args: dict = dict(
        remainder=card.issuer_cert.remainder, exponent=card.issuer_cert.exponent, pan=PAN, today=TODAY
    )
    args.update(changes)
    certificate = args.pop("certificate", card.issuer_cert.certificate)
    return recover_issuer_certificate(card.ca.public_key, certificate, **args)


def verify_icc(card: Card, **changes: object):  # noqa: ANN201
    args: dict = dict(
        remainder=card.icc_cert.remainder, exponent=card.icc_cert.exponent, static_data=STATIC, pan=PAN,
        today=TODAY,
    )  # fmt: skip
    args.update(changes)
    certificate = args.pop("certificate", card.icc_cert.certificate)
    return recover_icc_certificate(card.issuer.public_key, certificate, **args)


TDHC = "signed dynamic data transaction data hash code"
CID = "signed dynamic data cryptogram information data"


def cda_signature(card: Card, response: bytes = RESPONSE) -> bytes:
    tdhc = transaction_data_hash_code(pdol_data=PDOL_DATA, cdol1_data=CDOL1_DATA, generate_ac_response=response)
    return sign_dynamic_data_cda(
        card.icc, icc_dynamic_number=b"\x01\x02\x03\x04", cryptogram_information_data=b"\x80",
        application_cryptogram=bytes.fromhex("1122334455667788"), transaction_data_hash_code=tdhc,
        unpredictable_number=UN,
    )  # fmt: skip


def verify_cda(card: Card, sdad: bytes, **changes: object):  # noqa: ANN201
    args: dict = dict(
        unpredictable_number=UN, pdol_data=PDOL_DATA, cdol1_data=CDOL1_DATA,
        generate_ac_response=RESPONSE + tlv.encode(0x9F4B, sdad),
    )  # fmt: skip
    args.update(changes)
    return verify_dynamic_data_cda(card.icc.public_key, sdad, **args)


def expect(check: str, verify: Callable[..., object], *args: object, **kwargs: object) -> OdaError:
    """``verify(*args, **kwargs)`` must fail with exactly the check named ``check``."""
    with pytest.raises(OdaError) as caught:
        verify(*args, **kwargs)
    assert caught.value.check == check, caught.value
    return caught.value


# --------------------------------------------------------------------------- round trips


def test_round_trip(config_card: tuple[Config, Card]) -> None:
    config, card = config_card
    assert bool(card.issuer_cert.remainder) == config.issuer_remainder
    assert bool(card.icc_cert.remainder) == config.icc_remainder

    issuer = verify_issuer(card)
    assert issuer.public_key == card.issuer.public_key
    assert issuer.issuer_identifier_digits == ISSUER_ID and issuer.issuer_identifier == bytes.fromhex("541333FF")
    assert issuer.expiry == ISSUER_EXPIRY and issuer.serial == b"\x00\x01\x2a"
    assert issuer.remainder == card.issuer_cert.remainder
    assert issuer.checks[-1] == "issuer certificate public key algorithm"

    ssad = verify_signed_static_data(issuer.public_key, card.ssad, static_data=STATIC)
    assert ssad.data_authentication_code == b"\xda\xc1"

    icc = verify_icc(card)
    assert icc.public_key == card.icc.public_key
    assert icc.pan == PAN and icc.expiry == CertificateExpiry(2030, 1) and icc.serial == b"\x12\x34\x56"

    idn = derive_bytes(SEED, "idn", 8)
    dda = verify_dynamic_data_dda(
        icc.public_key, sign_dynamic_data_dda(card.icc, icc_dynamic_number=idn, ddol_data=UN), ddol_data=UN
    )
    assert dda.icc_dynamic_number == idn and dda.icc_dynamic_data == b"\x08" + idn

    cda = verify_cda(card, cda_signature(card))
    assert cda.icc_dynamic_number == b"\x01\x02\x03\x04"
    assert cda.cryptogram_information_data == b"\x80"
    assert cda.application_cryptogram == bytes.fromhex("1122334455667788")


def test_dda_with_extra_dynamic_data_and_second_generate_ac_cda() -> None:
    card = make_card(CONFIGS[0])
    sdad = sign_dynamic_data_dda(
        card.icc, icc_dynamic_number=b"\xab\xcd", ddol_data=b"", extra_dynamic_data=b"xyz"
    )
    dda = verify_dynamic_data_dda(card.icc.public_key, sdad, ddol_data=b"")
    assert dda.icc_dynamic_number == b"\xab\xcd" and dda.icc_dynamic_data == b"\x02\xab\xcdxyz"
    cdol2 = bytes.fromhex("3030") + UN
    tdhc = transaction_data_hash_code(
        pdol_data=PDOL_DATA, cdol1_data=CDOL1_DATA, cdol2_data=cdol2, generate_ac_response=RESPONSE
    )
    sdad = sign_dynamic_data_cda(
        card.icc, icc_dynamic_number=b"\x01\x02", cryptogram_information_data=b"\x80",
        application_cryptogram=bytes(8), transaction_data_hash_code=tdhc, unpredictable_number=UN,
    )  # fmt: skip
    assert verify_cda(card, sdad, cdol2_data=cdol2).transaction_data_hash_code == tdhc
    expect(TDHC, verify_cda, card, sdad)


# --------------------------------------------------------------------------- tampering: flipped bytes


TAMPER = [CONFIGS[0], CONFIGS[2]]  # issuer remainder / no issuer remainder


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.mark.parametrize("config", TAMPER, ids=lambda c: c.id)
def test_every_flipped_byte_of_a_signed_block_fails_recovery_checks(config: Config) -> None:
    card = make_card(config)
    frame = ("recovery", "trailer", "header")
    blocks = {
        "issuer certificate": (card.issuer_cert.certificate, lambda b: verify_issuer(card, certificate=b)),
        "ICC certificate": (card.icc_cert.certificate, lambda b: verify_icc(card, certificate=b)),
        "signed static data": (
            card.ssad, lambda b: verify_signed_static_data(card.issuer.public_key, b, static_data=STATIC)
        ),
        "signed dynamic data": (cda_signature(card), lambda b: verify_cda(card, b)),
    }
    for subject, (block, verify) in blocks.items():
        for position in range(len(block)):
            with pytest.raises(OdaError) as caught:
                verify(flipped(block, position))
            assert caught.value.subject == subject and caught.value.step in frame, (position, caught.value)


@pytest.mark.parametrize("config", TAMPER, ids=lambda c: c.id)
def test_every_flipped_byte_of_hashed_data_fails_the_hash(config: Config) -> None:
    card = make_card(config)
    for position in range(len(STATIC)):
        static = flipped(STATIC, position)
        expect("ICC certificate hash", verify_icc, card, static_data=static)
        issuer_key = card.issuer.public_key
        expect("signed static data hash", verify_signed_static_data, issuer_key, card.ssad, static_data=static)
    for name, remainder in (("issuer", card.issuer_cert.remainder), ("ICC", card.icc_cert.remainder)):
        for position in range(len(remainder)):
            if name == "issuer":
                expect("issuer certificate hash", verify_issuer, card, remainder=flipped(remainder, position))
            else:
                expect("ICC certificate hash", verify_icc, card, remainder=flipped(remainder, position))
    sdad = sign_dynamic_data_dda(card.icc, icc_dynamic_number=b"\x01\x02", ddol_data=UN)
    for position in range(len(UN)):
        un = flipped(UN, position)
        expect("signed dynamic data hash", verify_dynamic_data_dda, card.icc.public_key, sdad, ddol_data=un)
        expect("signed dynamic data hash", verify_cda, card, cda_signature(card), unpredictable_number=un)


def test_every_flipped_byte_of_cda_transaction_data_fails_the_right_check() -> None:
    card = make_card(CONFIGS[1])
    sdad = cda_signature(card)
    for position in range(len(CDOL1_DATA)):
        expect(TDHC, verify_cda, card, sdad, cdol1_data=flipped(CDOL1_DATA, position))
    for position in range(len(PDOL_DATA)):
        expect(TDHC, verify_cda, card, sdad, pdol_data=flipped(PDOL_DATA, position))
    cid_value = RESPONSE.index(b"\x9f\x27\x01") + 3
    for position in range(len(RESPONSE)):
        response = flipped(RESPONSE, position)
        try:
            tlv.decode(response)
        except MalformedDataError:
            with pytest.raises(MalformedDataError):
                verify_cda(card, sdad, generate_ac_response=response)
            continue
        if position == cid_value:
            expect(CID, verify_cda, card, sdad, generate_ac_response=response)
        elif tlv.find(tlv.decode(response), 0x9F27) is None:
            expect(CID, verify_cda, card, sdad, generate_ac_response=response)
        else:
            expect(TDHC, verify_cda, card, sdad, generate_ac_response=response)


@pytest.mark.parametrize("config", TAMPER, ids=lambda c: c.id)
def test_remainders_exponents_pan_dates_and_lengths(config: Config) -> None:
    card = make_card(config)
    if card.issuer_cert.remainder:
        expect("issuer certificate public key remainder", verify_issuer, card, remainder=b"")
        short = card.issuer_cert.remainder[:-1]
        expect("issuer certificate public key remainder", verify_issuer, card, remainder=short)
    else:
        expect("issuer certificate public key remainder", verify_issuer, card, remainder=b"\x01")
    expect("ICC certificate public key remainder", verify_icc, card, remainder=card.icc_cert.remainder + b"\x00")
    other_exponent = b"\x01\x00\x01" if card.issuer_cert.exponent == b"\x03" else b"\x03"
    expect("issuer certificate public key exponent", verify_issuer, card, exponent=other_exponent)
    not_allowed = b"\x05" if len(card.issuer_cert.exponent) == 1 else b"\x01\x00\x03"
    expect("issuer certificate public key exponent", verify_issuer, card, exponent=not_allowed)
    expect("ICC certificate public key exponent", verify_icc, card, exponent=b"")
    expect("issuer certificate issuer identifier", verify_issuer, card, pan="5413340089010434")
    expect("ICC certificate PAN", verify_icc, card, pan="541333008901043")
    expect("issuer certificate expiry", verify_issuer, card, today=datetime.date(2032, 1, 1))
    expect("ICC certificate expiry", verify_icc, card, today=datetime.date(2030, 2, 1))
    verify_icc(card, today=datetime.date(2030, 1, 31))
    cert = card.issuer_cert.certificate
    expect("issuer certificate length", verify_issuer, card, certificate=cert[:-1])
    expect("issuer certificate length", verify_issuer, card, certificate=cert + b"\x00")
    expect("issuer certificate length", verify_issuer, card, certificate=b"")
    expect("issuer certificate recovery", verify_issuer, card, certificate=card.ca.public_key.modulus_bytes)
    expect("issuer certificate recovery", verify_issuer, card, certificate=b"\xff" * len(cert))
    # A certificate for another card, or checked with the wrong issuer key.
    other = make_card(CONFIGS[1] if config is not CONFIGS[1] else CONFIGS[0])
    with pytest.raises(OdaError) as caught:
        recover_icc_certificate(
            other.issuer.public_key, card.icc_cert.certificate, remainder=card.icc_cert.remainder,
            exponent=card.icc_cert.exponent, static_data=STATIC, pan=PAN, today=TODAY,
        )  # fmt: skip
    assert caught.value.subject == "ICC certificate" and caught.value.step in ("length", "recovery", "trailer")


# --------------------------------------------------------------------------- tampering: forged plaintexts


def resign(
    signer: RsaPrivateKey, block: bytes, change: Callable[[bytearray], None], hashed: bytes | None
) -> bytes:
    """Recover ``block``, change its plaintext, fix the hash over ``hashed`` (None: leave it), sign again."""
    x = bytearray(rsa_public_raw(signer.public_key, block))
    change(x)
    if hashed is not None:
        x[-21:-1] = sha1(bytes(x[1:-21]) + hashed)
    return rsa_private_raw(signer, bytes(x))


def setter(offset: int, value: bytes) -> Callable[[bytearray], None]:
    def change(x: bytearray) -> None:
        start = offset if offset >= 0 else len(x) + offset
        x[start : start + len(value)] = value

    return change


ISSUER_FORGERIES = [
    ("trailer", setter(-1, b"\xbd"), True),
    ("header", setter(0, b"\x6b"), True),
    ("format", setter(1, b"\x04"), True),
    ("hash algorithm", setter(11, b"\x02"), True),
    ("public key algorithm", setter(12, b"\x02"), True),
    ("public key length", setter(13, b"\x00"), True),
    ("public key exponent", setter(14, b"\x03"), True),
    ("hash", setter(-2, b"\x00"), False),
    ("issuer identifier", setter(2, bytes.fromhex("541A33FF")), True),
    ("issuer identifier", setter(2, bytes.fromhex("54FFFFFF")), True),
    ("issuer identifier", setter(2, bytes.fromhex("541334FF")), True),
    ("expiry", setter(6, bytes.fromhex("1331")), True),
    ("expiry", setter(6, bytes.fromhex("0A31")), True),
    ("expiry", setter(6, bytes.fromhex("1229")), True),
    ("public key length", setter(15, b"\x00"), True),  # modulus with a leading 00 byte
]


@pytest.mark.parametrize(("step", "change", "rehash"), ISSUER_FORGERIES, ids=[f[0] for f in ISSUER_FORGERIES])
def test_forged_issuer_certificate_fields(step: str, change: Callable[[bytearray], None], rehash: bool) -> None:
    card = make_card(CONFIGS[2])  # 1408-bit CA, 1024-bit issuer: no remainder, 12 BB pad bytes
    hashed = card.issuer_cert.remainder + card.issuer_cert.exponent if rehash else None
    forged = resign(card.ca, card.issuer_cert.certificate, change, hashed)
    expect(f"issuer certificate {step}", verify_issuer, card, certificate=forged)


def test_forged_issuer_certificate_padding_and_oversized_key() -> None:
    card = make_card(CONFIGS[2])
    hashed = card.issuer_cert.remainder + card.issuer_cert.exponent
    forged = resign(card.ca, card.issuer_cert.certificate, setter(15 + 128, b"\x00"), hashed)
    expect("issuer certificate padding", verify_issuer, card, certificate=forged)
    forged = resign(card.ca, card.issuer_cert.certificate, setter(13, bytes([176 + 1])), hashed)
    expect("issuer certificate public key length", verify_issuer, card, certificate=forged)


ICC_FORGERIES = [
    ("format", setter(1, b"\x02")),
    ("PAN", setter(2, bytes.fromhex("5413330089010435FFFF"))),
    ("PAN", setter(2, bytes.fromhex("54133300890104FAFFFF"))),
    ("expiry", setter(12, bytes.fromhex("0029"))),
    ("public key algorithm", setter(18, b"\x03")),
    ("public key length", setter(19, bytes([129]))),
]


@pytest.mark.parametrize(("step", "change"), ICC_FORGERIES, ids=[f[0] for f in ICC_FORGERIES])
def test_forged_icc_certificate_fields(step: str, change: Callable[[bytearray], None]) -> None:
    card = make_card(CONFIGS[2])  # 1024-bit issuer, 1024-bit ICC key with a 42-byte remainder
    hashed = card.icc_cert.remainder + card.icc_cert.exponent + STATIC
    forged = resign(card.issuer, card.icc_cert.certificate, change, hashed)
    expect(f"ICC certificate {step}", verify_icc, card, certificate=forged)


def test_forged_signed_static_data_fields() -> None:
    card = make_card(CONFIGS[0])
    key = card.issuer.public_key
    changes = (
        ("format", setter(1, b"\x05")), ("hash algorithm", setter(2, b"\x00")), ("padding", setter(10, b"\xba"))
    )  # fmt: skip
    for step, change in changes:
        forged = resign(card.issuer, card.ssad, change, STATIC)
        expect(f"signed static data {step}", verify_signed_static_data, key, forged, static_data=STATIC)


def test_forged_signed_dynamic_data_fields() -> None:
    card = make_card(CONFIGS[0])
    size = card.icc.public_key.size_bytes
    dda = sign_dynamic_data_dda(card.icc, icc_dynamic_number=b"\x01\x02\x03\x04", ddol_data=UN)
    cases = [
        ("dynamic data length", setter(3, bytes([size - 24]))),
        ("dynamic data length", setter(3, b"\x02")),
        ("dynamic number length", setter(4, b"\x01")),
        ("dynamic number length", setter(4, b"\x09")),
        ("padding", setter(4 + 5, b"\x00")),
        ("hash algorithm", setter(2, b"\x02")),
    ]
    for step, change in cases:
        forged = resign(card.icc, dda, change, UN)
        expect(f"signed dynamic data {step}", verify_dynamic_data_dda, card.icc.public_key, forged, ddol_data=UN)
    # A DDA-shaped signature (9 bytes of dynamic data) offered as CDA.
    dda_as_cda = sign_dynamic_data_dda(card.icc, icc_dynamic_number=b"\x01\x02", ddol_data=UN)
    expect("signed dynamic data dynamic data length", verify_cda, card, dda_as_cda)
    # The CID in the signature against the CID returned.
    sdad = cda_signature(card)
    wrong_cid = RESPONSE.replace(b"\x9f\x27\x01\x80", b"\x9f\x27\x01\x40")
    expect(CID, verify_cda, card, sdad, generate_ac_response=wrong_cid)
    no_cid = RESPONSE.replace(b"\x9f\x27\x01\x80", b"")
    expect(CID, verify_cda, card, sdad, generate_ac_response=no_cid)


# --------------------------------------------------------------------------- producing-side misuse


def test_producing_side_rejects_impossible_arguments() -> None:
    small, big = make_card(CONFIGS[0]), make_card(CONFIGS[3])
    serial = b"\x00\x00\x01"
    issuer_args = dict(issuer_identifier=ISSUER_ID, expiry=ISSUER_EXPIRY, serial=serial)
    misuse: list[Callable[[], object]] = [
        # an issuer key longer than the CA key (Book 2 §5.1: N_I <= N_CA)
        lambda: make_issuer_certificate(small.ca, big.issuer.public_key, **issuer_args),
        lambda: make_issuer_certificate(small.ca, small.issuer.public_key, **(issuer_args | {"issuer_identifier": "5"})),
        lambda: make_issuer_certificate(small.ca, small.issuer.public_key, **(issuer_args | {"serial": b"\x01"})),
        lambda: make_icc_certificate(
            small.issuer, small.icc.public_key, pan="1" * 20, expiry=ICC_EXPIRY, serial=serial, static_data=b""
        ),
        lambda: sign_static_data(small.issuer, data_authentication_code=b"\x01", static_data=b""),
        lambda: sign_dynamic_data_dda(small.icc, icc_dynamic_number=b"\x01", ddol_data=b""),
        lambda: sign_dynamic_data_dda(
            small.icc, icc_dynamic_number=b"\x01\x02", ddol_data=b"", extra_dynamic_data=bytes(200)
        ),
        lambda: sign_dynamic_data_cda(
            small.icc, icc_dynamic_number=b"\x01\x02", cryptogram_information_data=b"\x80",
            application_cryptogram=bytes(7), transaction_data_hash_code=bytes(20), unpredictable_number=UN,
        ),  # fmt: skip
        lambda: verify_issuer(small, pan="not digits"),
    ]
    for call in misuse:
        with pytest.raises(UsageError):
            call()


def test_no_hidden_clock_today_is_required() -> None:
    card = make_card(CONFIGS[0])
    with pytest.raises(TypeError):
        recover_issuer_certificate(  # type: ignore[call-arg]
            card.ca.public_key, card.issuer_cert.certificate, exponent=b"\x03", pan=PAN
        )
