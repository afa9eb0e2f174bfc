"""HOTP/TOTP behaviour beyond the vectors: windows, replay, secrets, base32 parsing."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.crypto import otp
from protocol.errors import MalformedDataError, ProtocolError, UsageError, VerificationError

SECRET = bytes(range(1, 21))  # not a vector secret
B32 = base64.b32encode(SECRET).decode()


@pytest.fixture
def hkey() -> otp.HotpKey:
    return otp.HotpKey(SECRET)


@pytest.fixture
def tkey() -> otp.TotpKey:
    return otp.TotpKey(SECRET, digits=6, step=30)


# --------------------------------------------------------------------------- HOTP


def test_hotp_window_finds_a_code_ahead_and_returns_the_new_counter(hkey: otp.HotpKey) -> None:
    code = otp.hotp(hkey, 107)
    match = otp.hotp_verify(hkey, code, 100, look_ahead=10)
    assert match == otp.HotpMatch(counter=107, next_counter=108, skipped=7)


def test_hotp_code_behind_the_counter_is_refused(hkey: otp.HotpKey) -> None:
    code = otp.hotp(hkey, 99)
    with pytest.raises(VerificationError) as info:
        otp.hotp_verify(hkey, code, 100, look_ahead=10)
    assert info.value.check == "HOTP"
    assert "100 .. 110" in info.value.detail


def test_hotp_code_beyond_the_window_is_refused(hkey: otp.HotpKey) -> None:
    with pytest.raises(VerificationError, match="HOTP"):
        otp.hotp_verify(hkey, otp.hotp(hkey, 111), 100, look_ahead=10)


def test_hotp_same_code_is_refused_after_the_counter_advanced(hkey: otp.HotpKey) -> None:
    code = otp.hotp(hkey, 5)
    next_counter = otp.hotp_verify(hkey, code, 0).next_counter
    with pytest.raises(VerificationError):
        otp.hotp_verify(hkey, code, next_counter)


@pytest.mark.parametrize("bad", ["12345", "1234567", "12a456", "", "１２３４５６"])
def test_hotp_malformed_code_is_a_negative_verdict(hkey: otp.HotpKey, bad: str) -> None:
    with pytest.raises(VerificationError, match="6 decimal digits"):
        otp.hotp_verify(hkey, bad, 0)


@pytest.mark.parametrize(
    ("counter", "look_ahead"), [(-1, 1), (1 << 64, 0), (0, -1), (0, otp.MAX_LOOK_AHEAD + 1)]
)
def test_hotp_bad_parameters_are_usage_errors(hkey: otp.HotpKey, counter: int, look_ahead: int) -> None:
    with pytest.raises(UsageError):
        otp.hotp_verify(hkey, "000000", counter, look_ahead)


def test_hotp_window_stops_at_the_last_counter(hkey: otp.HotpKey) -> None:
    last = (1 << 64) - 1
    assert otp.hotp_verify(hkey, otp.hotp(hkey, last), last - 2, 10).counter == last


# --------------------------------------------------------------------------- TOTP


def test_totp_accepts_one_step_of_drift_each_way(tkey: otp.TotpKey) -> None:
    now = 1_700_000_015
    step = tkey.time_step(now)
    for drift in (-1, 0, 1):
        code = otp.totp(tkey, now + 30 * drift)
        assert otp.totp_verify(tkey, code, now, window=1) == otp.TotpMatch(step + drift, drift)


def test_totp_outside_the_window_is_refused(tkey: otp.TotpKey) -> None:
    now = 1_700_000_015
    with pytest.raises(VerificationError) as info:
        otp.totp_verify(tkey, otp.totp(tkey, now - 60), now, window=1)
    assert info.value.check == "TOTP"


def test_totp_refuses_reuse_of_the_same_step(tkey: otp.TotpKey) -> None:
    now = 1_700_000_015
    code = otp.totp(tkey, now)
    first = otp.totp_verify(tkey, code, now)
    with pytest.raises(VerificationError, match="already used"):
        otp.totp_verify(tkey, code, now + 5, last_used_step=first.time_step)
    # An earlier step's code is refused too, even inside the window.
    with pytest.raises(VerificationError, match="already used"):
        otp.totp_verify(tkey, otp.totp(tkey, now - 30), now, last_used_step=first.time_step)
    # The next step's code is fine.
    assert otp.totp_verify(tkey, otp.totp(tkey, now + 30), now + 30, last_used_step=first.time_step).drift == 0


def test_totp_with_t0_counts_steps_from_t0() -> None:
    key = otp.TotpKey(SECRET, digits=8, step=60, t0=1_000)
    hkey = otp.HotpKey(SECRET, digits=8)
    assert key.time_step(1_000 + 59) == 0
    assert key.time_step(1_000 + 60) == 1
    assert otp.totp(key, 1_000 + 125) == otp.hotp(hkey, 2)
    with pytest.raises(UsageError):
        key.time_step(999)


def test_totp_generation_agrees_with_verification_at_t0_zero(tkey: otp.TotpKey) -> None:
    for now in (0, 29, 30, 1_234_567_890):
        assert otp.totp_verify(tkey, otp.totp(tkey, now), now, window=0).drift == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"digits": 5}, {"digits": 9}, {"algorithm": "MD5"}, {"step": 0}, {"t0": -1}],
)
def test_totp_key_rejects_bad_parameters(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        otp.TotpKey(SECRET, **kwargs)  # type: ignore[arg-type]


def test_algorithm_names_are_normalised() -> None:
    assert otp.HotpKey(SECRET, algorithm="sha-256").algorithm == "SHA256"


def test_short_secret_is_refused_per_rfc4226_r6() -> None:
    with pytest.raises(UsageError, match="16 bytes"):
        otp.HotpKey(bytes(10))


# --------------------------------------------------------------------------- secrets stay secret


def test_reprs_and_errors_never_show_the_secret(hkey: otp.HotpKey, tkey: otp.TotpKey) -> None:
    texts = [repr(hkey), repr(tkey), str(hkey), str(tkey)]
    for call in (
        lambda: otp.hotp_verify(hkey, "000000", 0, 0),
        lambda: otp.totp_verify(tkey, "000000", 0, 0),
        lambda: otp.parse_base32_secret(B32[:-1] + "!"),
        lambda: otp.HotpKey(SECRET[:15]),
    ):
        try:
            call()
        except ProtocolError as exc:
            texts.append(str(exc))
    for text in texts:
        assert SECRET.hex() not in text.lower()
        assert B32[:8] not in text
        assert "\\x01\\x02" not in text
    assert "20 bytes" in repr(hkey)


# --------------------------------------------------------------------------- base32


def test_base32_as_people_paste_it() -> None:
    grouped = otp.format_base32_secret(SECRET)
    assert " " in grouped
    for text in (B32, B32.lower(), grouped, grouped.replace(" ", "-"), B32.rstrip("=") + "\n"):
        assert otp.parse_base32_secret(text) == SECRET
    assert otp.TotpKey.from_base32(grouped).secret == SECRET
    assert otp.HotpKey.from_base32(B32.lower(), digits=8).digits == 8


def test_base32_without_padding() -> None:
    secret = bytes(range(17))  # 17 bytes: 28 characters, 4 padding characters
    text = otp.format_base32_secret(secret, group=0)
    assert "=" not in text and len(text) == 28
    assert otp.parse_base32_secret(text) == secret


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("====", "empty"),
        ("GEZDGNBV1", "position 8"),
        ("GEZD=GNBV", "padding"),
        ("GEZDGNBVG", "cannot encode whole bytes"),
        ("GEZDGNB0", "position 7"),
    ],
)
def test_base32_errors_are_typed(text: str, reason: str) -> None:
    with pytest.raises(otp.SecretFormatError, match=reason) as info:
        otp.parse_base32_secret(text)
    assert isinstance(info.value, MalformedDataError)


def test_base32_rejects_non_strings() -> None:
    with pytest.raises(UsageError):
        otp.parse_base32_secret(b"GEZDGNBV")  # type: ignore[arg-type]


@given(st.text(max_size=80))
def test_base32_arbitrary_text_gives_a_secret_or_a_typed_error(text: str) -> None:
    try:
        secret = otp.parse_base32_secret(text)
    except otp.SecretFormatError:
        return
    assert isinstance(secret, bytes) and secret
    # What was accepted round-trips through the canonical form.
    assert otp.parse_base32_secret(otp.format_base32_secret(secret)) == secret


@given(st.binary(min_size=1, max_size=64))
def test_base32_round_trip(secret: bytes) -> None:
    assert otp.parse_base32_secret(otp.format_base32_secret(secret)) == secret
    assert otp.parse_base32_secret(otp.format_base32_secret(secret, group=0).lower()) == secret
