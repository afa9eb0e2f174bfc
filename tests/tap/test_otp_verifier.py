"""OTP verification in the verifier: TOTP (RFC 6238), HOTP (RFC 4226) and EMV CAP against the CAP profile.

TOTP/HOTP use the public vectors' secrets and parameters (``tests/vectors/otp.json``);
CAP uses the real emulated CAP card (``cap-visa-dpa``, whose IPB, IAF and CDOL1 are
those of the python-emv fixture) read by a PINsentry-style reader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol.cap import CapMode, CapRequest
from protocol.crypto import otp
from protocol.errors import UsageError
from protocol.keystore import KeyStore
from protocol.tap.events import CheckStatus, Outcome
from protocol.tap.transaction import Transaction
from protocol.tap.verifier import Verifier
from protocol.tap.verifier_cap import CapCard, cap_challenge_digits, cap_request
from protocol.tap.verifier_result import (
    ATC_INCREASING, CAP_CARD, CAP_CODE, CHALLENGE_UNEXPIRED, COUNTER_ADVANCED, HOTP_CODE, OTP_ENROLLED,
    TIME_STEP_UNUSED, TOTP_CODE, TRANSACTION_BINDING,
)  # fmt: skip
from tests.flow.support import (
    CAP_AID, CAP_PROFILE, TRANSACTION, CapReader, Clock, keystore_without_issuer_keys, make_card, make_verifier,
    personalised,
)  # fmt: skip

VECTORS: dict[str, Any] = json.loads((Path(__file__).parents[1] / "vectors" / "otp.json").read_text())
USER = "alice"


def _failed(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {c.check for c in result.checks if c.status is CheckStatus.FAILED}


def _fixed(secret: bytes):  # type: ignore[no-untyped-def]
    return lambda n: secret if len(secret) == n else bytes(n)


# --------------------------------------------------------------------------- TOTP


@pytest.mark.parametrize("row", VECTORS["totp_rfc6238"]["vectors"], ids=lambda r: f"{r['mode']}-{r['unix_time']}")
def test_totp_rfc6238_vectors(row: dict[str, Any]) -> None:
    seed = bytes.fromhex(VECTORS["totp_rfc6238"]["seeds_hex"][row["mode"]])
    clock = Clock(row["unix_time"])
    verifier = make_verifier(clock=clock, random_bytes=_fixed(seed))
    enrolment = verifier.enrol_totp(USER, digits=8, algorithm=row["mode"], period=30)
    assert enrolment.secret == seed
    result = verifier.verify_totp(USER, row["totp"])
    assert result.outcome is Outcome.ACCEPT, result.reasons
    assert "drift 0 steps" in result.check(TOTP_CODE).detail
    assert result.status(TRANSACTION_BINDING) is CheckStatus.NOT_CHECKABLE  # informative: no binding to T
    again = verifier.verify_totp(USER, row["totp"])
    assert _failed(again) == {TIME_STEP_UNUSED}


def test_totp_uri_and_repr() -> None:
    seed = bytes.fromhex(VECTORS["totp_rfc6238"]["seeds_hex"]["SHA1"])
    enrolment = make_verifier(random_bytes=_fixed(seed)).enrol_totp(USER, digits=8)
    assert enrolment.uri == ("otpauth://totp/TrustOne%20Simulator:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                             "&issuer=TrustOne%20Simulator&algorithm=SHA1&digits=8&period=30")  # fmt: skip
    assert "GEZDGNBV" not in repr(enrolment) and "secret hidden" in repr(enrolment)
    assert enrolment.secret_base32 == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def test_totp_window_and_steps() -> None:
    clock = Clock(1_111_111_109)
    verifier = make_verifier(clock=clock)
    key = otp.TotpKey(verifier.enrol_totp(USER).secret)
    previous = otp.totp(key, clock.t - 30)
    assert verifier.verify_totp(USER, previous).outcome is Outcome.ACCEPT  # one step of drift allowed
    assert verifier.verify_totp(USER, otp.totp(key, clock.t - 90)).status(TOTP_CODE) is CheckStatus.FAILED
    assert verifier.verify_totp(USER, otp.totp(key, clock.t)).accepted  # a later step
    clock.t += 30
    assert verifier.verify_totp(USER, otp.totp(key, clock.t)).accepted
    assert _failed(verifier.verify_totp(USER, otp.totp(key, clock.t - 30))) == {TIME_STEP_UNUSED}


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", None, 123456], ids=repr)
def test_totp_bad_codes_are_rejected_not_raised(code: object) -> None:
    verifier = make_verifier()
    verifier.enrol_totp(USER)
    result = verifier.verify_totp(USER, code)  # type: ignore[arg-type]
    assert result.outcome is Outcome.REJECT and TOTP_CODE in _failed(result)


def test_not_enrolled() -> None:
    verifier = make_verifier()
    for result in (verifier.verify_totp("bob", "123456"), verifier.verify_hotp("bob", "123456")):
        assert result.outcome is Outcome.REJECT and _failed(result) == {OTP_ENROLLED}


def test_totp_for_a_challenge_and_the_phishing_relay() -> None:
    """A TOTP code is accepted for whatever transaction it is typed for: the phisher's T' too."""
    clock = Clock()
    verifier = make_verifier(clock=clock)
    key = otp.TotpKey(verifier.enrol_totp(USER).secret)
    phisher = Transaction(TRANSACTION.kind, 9_000_000, "410", "Phisher Ltd", TRANSACTION.timestamp)
    challenge = verifier.issue_challenge(phisher)
    result = verifier.verify_totp(USER, otp.totp(key, clock.t), challenge_id=challenge.challenge_id)
    assert result.outcome is Outcome.ACCEPT and result.challenge_id == challenge.challenge_id
    assert result.status(TRANSACTION_BINDING) is CheckStatus.NOT_CHECKABLE


def test_expired_challenge_does_not_consume_the_time_step() -> None:
    clock = Clock()
    verifier = make_verifier(clock=clock)
    key = otp.TotpKey(verifier.enrol_totp(USER).secret)
    old = verifier.issue_challenge(TRANSACTION, lifetime_s=5)
    clock.t += 10
    code = otp.totp(key, clock.t)
    assert _failed(verifier.verify_totp(USER, code, challenge_id=old.challenge_id)) == {CHALLENGE_UNEXPIRED}
    fresh = verifier.issue_challenge(TRANSACTION)
    assert verifier.verify_totp(USER, code, challenge_id=fresh.challenge_id).accepted


# --------------------------------------------------------------------------- HOTP


def test_hotp_rfc4226_vectors() -> None:
    table = VECTORS["hotp_rfc4226"]
    verifier = make_verifier(random_bytes=_fixed(bytes.fromhex(table["secret_hex"])))
    enrolment = verifier.enrol_hotp(USER, digits=table["digits"])
    assert enrolment.uri.endswith("&algorithm=SHA1&digits=6&counter=0")
    for row in table["vectors"]:
        result = verifier.verify_hotp(USER, row["hotp"])
        assert result.outcome is Outcome.ACCEPT, (row, result.reasons)
        assert f"matches counter {row['counter']}" in result.check(HOTP_CODE).detail
    replay = verifier.verify_hotp(USER, table["vectors"][-1]["hotp"])
    assert _failed(replay) == {COUNTER_ADVANCED} and "already used" in replay.check(COUNTER_ADVANCED).detail


def test_hotp_look_ahead() -> None:
    table = VECTORS["hotp_rfc4226"]
    verifier = make_verifier(random_bytes=_fixed(bytes.fromhex(table["secret_hex"])))
    verifier.enrol_hotp(USER)
    codes = [row["hotp"] for row in table["vectors"]]
    assert verifier.verify_hotp(USER, codes[3]).accepted  # the token was pressed 3 times unseen
    assert _failed(verifier.verify_hotp(USER, codes[1])) == {COUNTER_ADVANCED}  # older: already skipped
    assert verifier.verify_hotp(USER, codes[4]).accepted
    key = otp.HotpKey(bytes.fromhex(table["secret_hex"]))
    assert _failed(verifier.verify_hotp(USER, otp.hotp(key, 5 + 11))) == {HOTP_CODE}  # beyond the look-ahead


def test_hotp_botan_long_codes() -> None:
    rows = [r for r in VECTORS["hotp_botan"]["vectors"] if r["counter"] in (7, 8) and r["digits"] == 8]
    verifier = make_verifier(random_bytes=_fixed(bytes.fromhex(rows[0]["key_hex"])))
    verifier.enrol_hotp(USER, digits=8)
    assert [verifier.verify_hotp(USER, r["otp"]).accepted for r in rows] == [True, True]


def test_otp_enrolment_validation() -> None:
    verifier = make_verifier()
    with pytest.raises(UsageError):
        verifier.enrol_totp(USER, algorithm="MD5")
    with pytest.raises(UsageError):
        verifier.enrol_totp(USER, digits=9)
    with pytest.raises(UsageError):
        verifier.enrol_hotp("")


# --------------------------------------------------------------------------- CAP


def _cap_setup(verifier: Verifier | None = None) -> tuple[Verifier, CapReader, str]:
    verifier = verifier or make_verifier()
    reader = CapReader(make_card(CAP_PROFILE))
    records, aip, response, _ = reader.read(CapRequest(CapMode.IDENTIFY))
    enrolment = verifier.enrol_cap(USER, CapCard.from_reading(CAP_AID, records, aip, response))
    assert enrolment.masked_pan == "499999******2015" and enrolment.cryptogram == "visa_cvn10"
    pan = personalised(CAP_PROFILE).image.applications[0].profile.pan
    return verifier, reader, pan


def test_cap_profile_has_the_public_vectors_parameters() -> None:
    fixture = VECTORS["emv_cap"]["fixture_app_data"]
    profile = personalised(CAP_PROFILE).image.applications[0].profile
    assert profile.data[0x9F56].hex().upper() == fixture["ipb_9F56"] == VECTORS["emv_cap"]["barclays_ipb"]
    assert profile.data[0x9F55].hex().upper() == fixture["iaf_9F55"]
    assert profile.cdol1.hex().upper() == fixture["cdol1_8C"]


@pytest.mark.parametrize("mode", [CapMode.IDENTIFY, CapMode.RESPOND, CapMode.SIGN])
def test_cap_modes(mode: CapMode) -> None:
    verifier, reader, pan = _cap_setup()
    challenge = verifier.issue_challenge(TRANSACTION) if mode is not CapMode.IDENTIFY else None
    code = reader.code(cap_request(mode, challenge))
    cid = challenge.challenge_id if challenge else None
    result = verifier.verify_cap(USER, code, pan=pan, mode=mode, challenge_id=cid)
    assert result.outcome is Outcome.ACCEPT, result.reasons
    assert result.status(CAP_CODE) is CheckStatus.PASSED and result.atc == 2
    expected = CheckStatus.PASSED if mode is CapMode.SIGN else CheckStatus.NOT_CHECKABLE
    assert result.status(TRANSACTION_BINDING) is expected
    # accepted at most once per ATC
    again = verifier.verify_cap(USER, code, pan=pan, mode=CapMode.IDENTIFY if mode is CapMode.IDENTIFY else mode,
                                challenge_id=verifier.issue_challenge(TRANSACTION).challenge_id if challenge else None)
    assert again.outcome is Outcome.REJECT
    if mode is CapMode.IDENTIFY:
        assert _failed(again) == {ATC_INCREASING} and "already used" in again.check(ATC_INCREASING).detail
    assert verifier.store.integrity_report().ok  # type: ignore[attr-defined]


def test_cap_codes_ahead_within_the_window() -> None:
    verifier, reader, pan = _cap_setup()
    codes = [reader.code(CapRequest(CapMode.IDENTIFY)) for _ in range(5)]  # ATC 2..6, none typed
    assert verifier.verify_cap(USER, codes[-1], pan=pan, mode=CapMode.IDENTIFY).atc == 6
    assert _failed(verifier.verify_cap(USER, codes[0], pan=pan, mode=CapMode.IDENTIFY)) == {ATC_INCREASING}


def test_cap_beyond_the_window() -> None:
    verifier, reader, pan = _cap_setup()
    for _ in range(21):
        reader.code(CapRequest(CapMode.IDENTIFY))
    late = reader.code(CapRequest(CapMode.IDENTIFY))  # ATC 23 > 1 + 20
    assert _failed(verifier.verify_cap(USER, late, pan=pan, mode=CapMode.IDENTIFY)) == {CAP_CODE}


def test_cap_respond_code_for_another_challenge() -> None:
    verifier, reader, pan = _cap_setup()
    mine, other = verifier.issue_challenge(TRANSACTION), verifier.issue_challenge(TRANSACTION)
    code = reader.code(cap_request(CapMode.RESPOND, other))
    result = verifier.verify_cap(USER, code, pan=pan, mode=CapMode.RESPOND, challenge_id=mine.challenge_id)
    assert _failed(result) == {CAP_CODE}


def test_cap_sign_with_another_amount() -> None:
    verifier, reader, pan = _cap_setup()
    challenge = verifier.issue_challenge(TRANSACTION)
    typed = CapRequest(CapMode.SIGN, cap_challenge_digits(challenge), TRANSACTION.amount_minor + 1)
    code = reader.code(typed)
    result = verifier.verify_cap(USER, code, pan=pan, mode=CapMode.SIGN, challenge_id=challenge.challenge_id)
    assert _failed(result) == {CAP_CODE}


def test_cap_wrong_card_number_and_bad_codes() -> None:
    verifier, reader, pan = _cap_setup()
    code = reader.code(CapRequest(CapMode.IDENTIFY))
    assert _failed(verifier.verify_cap(USER, code, pan="4999990048002023", mode=CapMode.IDENTIFY)) == {CAP_CARD}
    assert _failed(verifier.verify_cap(USER, code, pan="not a pan", mode=CapMode.IDENTIFY)) == {CAP_CARD}
    for bad in ("", "12a", "12345678901", None):
        result = verifier.verify_cap(USER, bad, pan=pan, mode=CapMode.IDENTIFY)  # type: ignore[arg-type]
        assert _failed(result) == {CAP_CODE}
    assert verifier.verify_cap(USER, code, pan=pan, mode=CapMode.IDENTIFY).accepted


def test_cap_usage_errors_and_missing_keys() -> None:
    verifier, reader, pan = _cap_setup()
    with pytest.raises(UsageError):
        verifier.verify_cap(USER, "1", pan=pan, mode=CapMode.RESPOND)
    no_keys = make_verifier(verifier.store, keys=keystore_without_issuer_keys())
    result = no_keys.verify_cap(USER, reader.code(CapRequest(CapMode.IDENTIFY)), pan=pan, mode=CapMode.IDENTIFY)
    assert result.outcome is Outcome.REJECT and result.status(CAP_CODE) is CheckStatus.NOT_CHECKABLE
    records, aip, response, _ = reader.read(CapRequest(CapMode.IDENTIFY))
    with pytest.raises(UsageError, match="no issuer keys"):
        make_verifier(keys=KeyStore()).enrol_cap(USER, CapCard.from_reading(CAP_AID, records, aip, response))


def test_cap_card_repr_masks_the_pan() -> None:
    _, reader, pan = _cap_setup()
    records, aip, response, _ = reader.read(CapRequest(CapMode.IDENTIFY))
    card = CapCard.from_reading(CAP_AID, records, aip, response)
    assert card.pan == pan and pan not in repr(card)


def test_cap_challenge_digits() -> None:
    challenge = make_verifier().issue_challenge(TRANSACTION)
    digits = cap_challenge_digits(challenge)
    assert len(digits) == 8 and digits.isdigit()
    assert int(digits) == int.from_bytes(challenge.un, "big") % 10**8
