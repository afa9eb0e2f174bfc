"""The ``trustone`` framework: help, version, exit codes, one-line errors, hex input, JSON."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import _common, main as cli
from app.errors import AppError

ROOT = Path(__file__).resolve().parents[2]
SECRET = "000102030405060708090A0B0C0D0E0F10111213"  # not a vector secret


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_groups(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--help")
    assert code == 0 and err == ""
    assert "crypto" in out and "Exit codes" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.startswith("trustone ") and out.strip() != "trustone"


def test_every_registered_module_exposes_register() -> None:
    assert cli.COMMAND_MODULES[0] == "app.cli.crypto_cmd"
    parser = cli.build_parser()
    assert isinstance(parser, argparse.ArgumentParser)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["crypto"],
        ["crypto", "hotp"],
        ["crypto", "hotp", "--secret", SECRET, "--counter", "x"],
        ["crypto", "hotp", "--secret", SECRET, "--counter", "1", "--bogus"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("trustone: error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_protocol_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "crypto", "hotp", "--secret", "0011", "--counter", "0")
    assert (code, out) == (2, "")
    assert err == "trustone: error: OTP secret must be at least 16 bytes (RFC 4226 R6), got 2\n"


def test_negative_verdict_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "crypto", "hotp", "--secret", SECRET, "--counter", "0", "--verify", "000000",
                         "--look-ahead", "0")
    if code == 0:  # pragma: no cover - 1 in 10^6 that 000000 is right
        pytest.skip("the guessed code happened to be right")
    assert code == 1 and err == ""
    assert out.startswith("FAIL: HOTP: ") and out.count("\n") == 1


def test_negative_verdict_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "crypto", "hotp", "--secret", SECRET, "--counter", "0", "--verify", "12345",
                       "--json")
    assert code == 1
    assert json.loads(out) == {"verdict": "FAIL", "check": "HOTP",
                               "detail": "a code has exactly 6 decimal digits, got 5 characters"}


def test_json_output_parses(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "crypto", "hotp", "--secret", SECRET, "--counter", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["counter"] == 3 and len(data["code"]) == 6


def test_hex_input_with_spaces_and_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    spaced = " ".join(SECRET[i : i + 2].lower() for i in range(0, len(SECRET), 2))
    _, a, _ = run(capsys, "crypto", "hotp", "--secret", SECRET, "--counter", "9")
    _, b, _ = run(capsys, "crypto", "hotp", "--secret", spaced, "--counter", "9")
    assert a == b


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0a0B", b"\x0a\x0b"), (" 0A 0b\n", b"\x0a\x0b"), ("0x0A0B", b"\x0a\x0b"), ("", b"")],
)
def test_parse_hex(text: str, expected: bytes) -> None:
    assert _common.parse_hex(text) == expected


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("ABC", {}, "odd number of hex digits"),
        ("ZZ", {}, "not hex .character 1"),
        ("0011", {"lengths": (8,)}, "must be 8 bytes, got 2"),
        ("00", {"min_length": 2}, "at least 2 bytes"),
        ("000000", {"max_length": 2}, "at most 2 bytes"),
    ],
)
def test_parse_hex_errors(text: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(_common.CliInputError, match=message) as info:
        _common.parse_hex(text, "key", **kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, AppError)
    assert str(info.value).startswith("key: ")


@pytest.mark.parametrize(("text", "minor"), [("1234.56", 123456), ("15", 1500), ("0.1", 10), (" 7.00 ", 700)])
def test_amount_minor_units(text: str, minor: int) -> None:
    assert _common.amount_minor_units(text) == minor


@pytest.mark.parametrize("text", ["1.234", "-1", "abc", "NaN", "inf"])
def test_amount_minor_units_errors(text: str) -> None:
    with pytest.raises(_common.CliInputError):
        _common.amount_minor_units(text)


def test_output_text_and_json() -> None:
    import io

    stream = io.StringIO()
    _common.Output(False, stream).result({"a": b"\x01", "long_name": [1, 2], "skip": None, "flag": True})
    assert stream.getvalue() == "a:         01\nlong_name: 1, 2\nflag:      yes\n"
    stream = io.StringIO()
    _common.Output(True, stream).result({"a": b"\x01", "n": None})
    assert json.loads(stream.getvalue()) == {"a": "01", "n": None}


# --------------------------------------------------------------------------- the installed console script


def _trustone() -> str:
    script = Path(sys.executable).with_name("trustone")
    if not script.exists():
        pytest.skip("the trustone console script is not installed in this environment")
    return str(script)


def test_console_script_runs_as_a_subprocess() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run(
        [_trustone(), "crypto", "totp", "--secret", SECRET, "--time", "1700000000", "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["time_step"] == 1700000000 // 30
    bad = subprocess.run(
        [_trustone(), "crypto", "totp", "--secret", "XYZ"], capture_output=True, text=True, env=env, timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("trustone: error: ") and bad.stderr.count("\n") == 1
