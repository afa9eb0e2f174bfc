"""``trustone run``: every profile is accepted, faults are rejected with the verifier's reasons, errors are one line."""

from __future__ import annotations

import io
import os
import subprocess
import time
from pathlib import Path

import pytest

from app.cli.render import Printer, Progress
from card_emulation.keystore_files import load_keystore
from card_emulation.profile import list_profiles, load_profile
from tests.cli.conftest import TRUSTONE, Cli, one_line_error

TEST_PANS = {app.pan for name in list_profiles() for app in load_profile(name).applications}


def _failed(document: dict) -> set[str]:  # type: ignore[type-arg]
    return {c["check"] for c in document["checks"] if c["status"] == "failed"}


@pytest.mark.parametrize("profile", list_profiles())
def test_every_profile_is_accepted(cli: Cli, profile: str) -> None:
    result = cli("run", "--profile", profile)
    assert result.code == 0, result.out
    assert result.out.rstrip().splitlines()[-1].startswith("Verdict: ACCEPT")
    assert "enrolled" in result.out  # the first tap enrols the card
    for word in ("SELECT PPSE", "GENERATE AC", "✓ ARQC", "✓ transaction binding"):
        assert word in result.out, word
    again = cli("run", "--profile", profile, "--json").json()
    assert again["verdict"] == "ACCEPT" and again["enrolled"] is None and again["exit_code"] == 0
    assert not _failed(again) and again["arpc"]


@pytest.mark.parametrize(
    ("fault", "failed"),
    [
        ("genac:corrupt-ac", {"ARQC"}),
        ("atc-rollback=5", {"ATC increasing"}),
        ("gpo:aip-clear=dda+cda", {"offline data authentication", "ARQC", "policy"}),
        ("corrupt-sig", {"offline data authentication", "ARQC"}),  # with CDA the AC travels inside the signature
    ],
)
def test_faults_are_rejected_with_the_failed_checks(cli: Cli, fault: str, failed: set[str]) -> None:
    assert cli("run").code == 0  # enrol first, honestly
    result = cli("run", "--fault", fault, "--json")
    document = result.json()
    assert result.code == 1 and document["verdict"] == "REJECT" and document["exit_code"] == 1
    assert _failed(document) == failed
    assert all(any(r.startswith(name) for r in document["reasons"]) for name in failed)
    text = cli("run", "--fault", fault)
    assert text.code == 1 and "Verdict: REJECT" in text.out and "✗" in text.out


def test_a_tap_that_fails_midway_exits_1_with_the_reason(cli: Cli) -> None:
    cli("run")
    result = cli("run", "--fault", "tear-after=4")
    assert result.code == 1 and "Verdict: none" in result.out and "failed" in result.out
    assert cli("run", "--fault", "tear-after=4", "--json").json()["status"] == "failed"


def test_relay_demo_and_the_relay_bound_policy(cli: Cli) -> None:
    assert cli("run", "--relay-latency", "30").code == 0  # genuine cryptograms: accepted by default
    result = cli("run", "--relay-latency", "30", "--policy", "relay-bound", "--json")
    assert result.code == 1 and _failed(result.json()) == {"policy"}
    assert cli("run", "--policy", "relay-bound").code == 0  # a local tap is within the bound


def test_transaction_options(cli: Cli) -> None:
    document = cli("run", "--amount", "12.50", "--currency", "USD", "--payee", "Book Store", "--type", "transfer",
                   "--json").json()  # fmt: skip
    assert document["verdict"] == "ACCEPT"
    t = document["transaction"]
    assert (t["amount_minor"], t["currency"], t["payee"], t["type"]) == (1250, "840", "Book Store", "transfer")
    assert cli("run", "--currency", "410", "--amount", "1000", "--json").json()["transaction"]["amount_minor"] == 1000
    text = cli("run", "--amount", "12.50", "--currency", "USD").out
    assert "payment of 12.50 USD to Coffee Shop Seoul" in text


def test_pan_masked_unless_revealed(cli: Cli) -> None:
    pan = load_profile("mastercard-cvn16-cda").applications[0].pan
    for args in (("--json",), ("--verbose",), ("--json", "--verbose")):
        out = cli("run", *args).out
        assert pan not in out and pan[:6] in out
    assert pan in cli("run", "--json", "--reveal-pan").out


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "--profile", "no-such-card"),
        ("run", "--fault", "genac:melt"),
        ("run", "--currency", "XYZ"),
        ("run", "--amount", "12.345", "--currency", "USD"),
        ("run", "--amount", "lots"),
        ("run", "--type", "refund"),
        ("run", "--policy", "lenient"),
        ("run", "--transport", "pcsc"),
        ("run", "--transport", "bluetooth"),
        ("run", "--payee", ""),
        ("run", "--bogus"),
    ],
)
def test_bad_arguments_are_one_line_errors(cli: Cli, argv: tuple[str, ...]) -> None:
    one_line_error(cli(*argv))


def test_no_card_on_an_nfc_device_is_a_one_line_error(cli: Cli) -> None:
    one_line_error(cli("run", "--transport", "nfc", "--device", "udp:127.0.0.1:9", "--wait", "0.5"))


def test_help_of_every_command_has_an_example(cli: Cli) -> None:
    for argv in (("run",), ("scenarios",), ("enrol",), ("otp",), ("otp", "cap"), ("otp", "verify"), ("trace",),
                 ("trace", "show"), ("trace", "replay"), ("trace", "save")):  # fmt: skip
        result = cli(*argv, "--help", data=False)
        assert result.code == 0 and "example" in result.out, argv
    assert "--accept-oda-only" in cli("run", "--help", data=False).out


def test_real_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "TRUSTONE_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.run([str(TRUSTONE), "run", "--profile", "visa-cvn18-dda"], env=env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert process.returncode == 0, process.stderr
    assert process.stdout.rstrip().splitlines()[-1].startswith("Verdict: ACCEPT")
    assert process.stderr == ""  # not a terminal: no spinner
    bad = subprocess.run([str(TRUSTONE), "run", "--fault", "genac:corrupt-ac"], env=env, capture_output=True,
                         text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 1 and "ARQC" in bad.stdout
    usage = subprocess.run([str(TRUSTONE), "run", "--amount", "x"], env=env, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and len(usage.stderr.splitlines()) == 1 and "Traceback" not in usage.stderr
    assert load_keystore(tmp_path / "data").issuer_keys  # the run personalised into its own data directory


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_only_when_slow() -> None:
    quiet = io.StringIO()
    with Progress("working", quiet, delay=0.0, interval=0.01):
        time.sleep(0.05)
    assert quiet.getvalue() == ""
    tty = _Tty()
    with Progress("fast", tty, delay=1.0):
        pass
    assert tty.getvalue() == ""
    tty = _Tty()
    with Progress("Waiting for a card", tty, delay=0.0, interval=0.01) as progress:
        time.sleep(0.05)
        progress.update("still waiting")
        time.sleep(0.05)
    shown = tty.getvalue()
    assert "Waiting for a card" in shown and "still waiting" in shown and shown.endswith("\r\033[K")


def test_printer_falls_back_to_ascii() -> None:
    class Latin1(io.StringIO):
        encoding = "latin-1"

        def write(self, text: str) -> int:
            text.encode("latin-1")
            return super().write(text)

    stream = Latin1()
    printer = Printer(stream)
    assert printer.sym["passed"] == "+"
    printer.line("µs ‖ ✓")
    assert "?" in stream.getvalue()
