"""``trustone otp`` (TOTP, HOTP, EMV CAP on the verifier) and ``trustone enrol``."""

from __future__ import annotations

import pytest

from card_emulation.profile import load_profile
from tests.cli.conftest import Cli, one_line_error


def _failed(document: dict) -> set[str]:  # type: ignore[type-arg]
    return {c["check"] for c in document["checks"] if c["status"] == "failed"}


def test_totp_enrol_code_verify(cli: Cli) -> None:
    enrolled = cli("otp", "enrol-totp", "--user", "alice")
    assert enrolled.code == 0 and "secret=" not in enrolled.out and "otpauth://totp" not in enrolled.out
    code = cli("otp", "totp-code", "--user", "alice", "--json").json()["code"]
    assert len(code) == 6 and code.isdigit()
    phished = cli("otp", "verify", "--user", "alice", code, "--amount", "9000000", "--payee", "Phisher Ltd", "--json")
    document = phished.json()
    assert phished.code == 0 and document["verdict"] == "ACCEPT"  # accepted for another transaction
    binding = next(c for c in document["checks"] if c["check"] == "transaction binding")
    assert binding["status"] == "not checkable"
    again = cli("otp", "verify", "--user", "alice", code, "--json")
    assert again.code == 1 and _failed(again.json()) == {"time step unused"}
    text = cli("otp", "verify", "--user", "alice", "000000")
    assert text.code == 1 and "✗ TOTP code" in text.out


def test_hotp_and_show_uri(cli: Cli) -> None:
    shown = cli("otp", "enrol-hotp", "--user", "bob", "--show-uri", "--digits", "8")
    assert shown.code == 0 and "otpauth://hotp/" in shown.out and "digits=8" in shown.out
    code = cli("otp", "hotp-code", "--user", "bob").out.strip()
    assert len(code) == 8
    assert cli("otp", "verify", "--user", "bob", code, "--kind", "hotp").code == 0
    assert cli("otp", "verify", "--user", "bob", code).code == 1  # auto: HOTP (no TOTP); the counter moved on


@pytest.mark.parametrize("mode", ["identify", "respond", "sign"])
def test_cap_modes_with_the_emulated_card(cli: Cli, mode: str) -> None:
    result = cli("otp", "cap", "--mode", mode, "--json")
    document = result.json()
    assert result.code == 0 and document["verdict"] == "ACCEPT", document["reasons"]
    assert document["code"].isdigit() and document["mode"] == mode
    binding = next(c for c in document["checks"] if c["check"] == "transaction binding")
    assert binding["status"] == ("passed" if mode == "sign" else "not checkable")
    text = cli("otp", "cap", "--mode", mode)
    assert text.code == 0 and "VERIFY (offline PIN)" in text.out and "GENERATE AC (ARQC, CAP)" in text.out
    pin = load_profile("cap-visa-dpa").applications[0].pin
    assert pin and f"24{pin}" not in text.out.replace(" ", "")  # the PIN block is masked


def test_cap_sign_binds_the_typed_amount_respond_does_not(cli: Cli) -> None:
    changed = cli("otp", "cap", "--mode", "sign", "--amount", "5000000", "--typed-amount", "50000", "--json")
    assert changed.code == 1 and _failed(changed.json()) == {"CAP code"}
    other = cli("otp", "cap", "--mode", "respond", "--challenge", "12345678", "--json")
    assert other.code == 1 and _failed(other.json()) == {"CAP code"}
    assert cli("otp", "cap", "--mode", "respond").code == 0  # the window is not exhausted by rejected codes


@pytest.mark.parametrize(
    "argv",
    [
        ("otp", "totp-code", "--user", "nobody"),
        ("otp", "hotp-code", "--user", "nobody"),
        ("otp", "cap", "--mode", "identify", "--challenge", "1"),
        ("otp", "cap", "--mode", "sign", "--challenge", "12a"),
        ("otp", "cap", "--profile", "visa-cvn18-dda"),
        ("otp", "enrol-totp", "--user", "x", "--digits", "5"),
        ("otp", "verify", "--user", "alice"),
        ("otp",),
    ],
)
def test_otp_usage_errors(cli: Cli, argv: tuple[str, ...]) -> None:
    one_line_error(cli(*argv))


def test_enrol_then_run_without_re_enrolment(cli: Cli) -> None:
    result = cli("enrol", "--profile", "visa-cvn18-dda", "--user", "alice", "--json")
    document = result.json()
    assert result.code == 0 and document["enrolled"] and document["verdict"] == "ACCEPT"
    assert document["oda_method"] == "DDA" and document["masked_pan"].startswith("499999")
    run = cli("run", "--profile", "visa-cvn18-dda", "--user", "alice", "--json").json()
    assert run["verdict"] == "ACCEPT" and run["enrolled"] is None
    text = cli("enrol", "--profile", "legacy-sda", "--user", "alice")
    assert text.code == 0 and "enrolled for user 'alice'" in text.out and "Verdict: ACCEPT" in text.out


def test_enrol_errors(cli: Cli) -> None:
    one_line_error(cli("enrol", "--profile", "nope"))
    one_line_error(cli("enrol", "--transport", "pcsc"))
    one_line_error(cli("enrol", "--fault", "genac:corrupt-ac"))  # faults are for taps, not enrolment
