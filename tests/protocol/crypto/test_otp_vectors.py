"""Every HOTP/TOTP vector of ``tests/vectors/otp.json`` (RFC 4226 App. D, RFC 6238 App. B, botan)."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest

from protocol.crypto import otp

VECTORS: dict[str, Any] = json.loads((Path(__file__).parents[2] / "vectors" / "otp.json").read_text())


def _ids(rows: list[dict[str, Any]], *keys: str) -> list[str]:
    return ["-".join(str(row.get(k)) for k in keys) for row in rows]


def parse_botan_timestamp(text: str) -> int:
    """botan's totp.vec timestamps; one is written ``2033-05-18:03:33:20`` (``:`` for ``T``)."""
    fixed = re.sub(r"^(\d{4}-\d{2}-\d{2}):(\d{2}:\d{2}:\d{2})$", r"\1T\2", text)
    return int(datetime.datetime.fromisoformat(fixed).replace(tzinfo=datetime.UTC).timestamp())


# --------------------------------------------------------------------------- RFC 4226 Appendix D

RFC4226 = VECTORS["hotp_rfc4226"]


@pytest.mark.parametrize("row", RFC4226["vectors"], ids=_ids(RFC4226["vectors"], "counter"))
def test_rfc4226_hotp(row: dict[str, Any]) -> None:
    key = otp.HotpKey(bytes.fromhex(RFC4226["secret_hex"]), RFC4226["digits"])
    assert key.secret == RFC4226["secret_ascii"].encode()
    assert otp.hotp(key, row["counter"]) == row["hotp"]
    # The 6-digit code is the 31-bit truncated value mod 10^6 (RFC 4226 §5.3).
    assert int(row["truncated_hex"], 16) == row["truncated_decimal"]
    assert f"{row['truncated_decimal'] % 10**6:06d}" == row["hotp"]


@pytest.mark.parametrize("row", RFC4226["vectors"], ids=_ids(RFC4226["vectors"], "counter"))
def test_rfc4226_hotp_verifies_and_advances_counter(row: dict[str, Any]) -> None:
    key = otp.HotpKey(bytes.fromhex(RFC4226["secret_hex"]))
    match = otp.hotp_verify(key, row["hotp"], 0, look_ahead=9)
    assert (match.counter, match.next_counter, match.skipped) == (row["counter"], row["counter"] + 1, row["counter"])


# --------------------------------------------------------------------------- botan hotp.vec

BOTAN_HOTP = VECTORS["hotp_botan"]["vectors"]


@pytest.mark.parametrize("row", BOTAN_HOTP, ids=_ids(BOTAN_HOTP, "hash", "digits", "counter"))
def test_botan_hotp(row: dict[str, Any]) -> None:
    key = otp.HotpKey(bytes.fromhex(row["key_hex"]), row["digits"], row["hash"])
    assert otp.hotp(key, row["counter"]) == row["otp"]
    assert otp.hotp_verify(key, row["otp"], row["counter"], look_ahead=0).next_counter == row["counter"] + 1


# --------------------------------------------------------------------------- RFC 6238 Appendix B

RFC6238 = VECTORS["totp_rfc6238"]


@pytest.mark.parametrize("row", RFC6238["vectors"], ids=_ids(RFC6238["vectors"], "mode", "unix_time"))
def test_rfc6238_totp(row: dict[str, Any]) -> None:
    secret = bytes.fromhex(RFC6238["seeds_hex"][row["mode"]])
    assert secret == RFC6238["seeds_ascii"][row["mode"]].encode()
    key = otp.TotpKey(secret, RFC6238["digits"], row["mode"], RFC6238["time_step_x"], RFC6238["t0"])
    assert key.time_step(row["unix_time"]) == int(row["t_hex"], 16)
    utc = datetime.datetime.fromisoformat(row["utc"]).replace(tzinfo=datetime.UTC)
    assert int(utc.timestamp()) == row["unix_time"]
    assert otp.totp(key, row["unix_time"]) == row["totp"]
    match = otp.totp_verify(key, row["totp"], row["unix_time"], window=0)
    assert (match.time_step, match.drift) == (int(row["t_hex"], 16), 0)


@pytest.mark.parametrize("row", RFC6238["vectors"], ids=_ids(RFC6238["vectors"], "mode", "unix_time"))
def test_rfc6238_totp_is_hotp_of_the_time_step(row: dict[str, Any]) -> None:
    secret = bytes.fromhex(RFC6238["seeds_hex"][row["mode"]])
    hotp_key = otp.HotpKey(secret, RFC6238["digits"], row["mode"])
    assert otp.hotp(hotp_key, int(row["t_hex"], 16)) == row["totp"]


# --------------------------------------------------------------------------- botan totp.vec

BOTAN_TOTP = VECTORS["totp_botan"]


@pytest.mark.parametrize("row", BOTAN_TOTP["vectors"], ids=_ids(BOTAN_TOTP["vectors"], "timestamp"))
def test_botan_totp(row: dict[str, Any]) -> None:
    unix_time = parse_botan_timestamp(row["timestamp"])
    assert unix_time == row["unix_time"]
    key = otp.TotpKey(bytes.fromhex(BOTAN_TOTP["key_hex"]), BOTAN_TOTP["digits"], row["hash"], BOTAN_TOTP["timestep"])
    assert otp.totp(key, unix_time) == row["totp"]


def test_the_odd_botan_timestamp_is_present_and_parsed_as_utc() -> None:
    odd = [row for row in BOTAN_TOTP["vectors"] if row["timestamp"] == "2033-05-18:03:33:20"]
    assert len(odd) == 1
    assert parse_botan_timestamp(odd[0]["timestamp"]) == 2_000_000_000


def test_every_vector_row_is_covered() -> None:
    counts = (len(RFC4226["vectors"]), len(BOTAN_HOTP), len(RFC6238["vectors"]), len(BOTAN_TOTP["vectors"]))
    assert counts == (10, len(BOTAN_HOTP), 18, 4)
    assert all(row["verified_stdlib_hmac"] for row in RFC4226["vectors"] + BOTAN_HOTP + RFC6238["vectors"])
