"""``trustone readers`` and app.transports.discovery: what is here, and why the rest is not."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main
from app.cli.readers_cmd import render
from app.errors import DriverMissingError, TransportError
from app.transports import discovery, nfc, pcsc
from app.transports.discovery import Backend, Problem
from card_emulation.profile import list_profiles
from card_emulation.vpcd import VpcdBridge
from tests.support.pcscd import PrivatePcscd
from tests.support.simple_card import SimpleCard

ROOT = Path(__file__).resolve().parents[2]
NO_SUCH_SOCKET = "/nonexistent/trustone-test/pcscd.comm"


def run_cli(*args: str, env: dict[str, str] | None = None, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """``trustone readers ...`` in a fresh process (its own PC/SC client state)."""
    code = f"{prelude}\nimport sys\nfrom app.cli.main import main\nsys.exit(main({['readers', *args]!r}))"
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=environment, cwd=ROOT, check=False)  # fmt: skip


def absent_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PCSCLITE_CSOCK_NAME"] = NO_SUCH_SOCKET
    return env


def json_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- nothing here


def test_no_pcsc_and_no_nfc_at_all_still_exits_0_with_fixes() -> None:
    found = json_of(run_cli("--json", "--nfc-device", "usb:999:999", env=absent_env()))
    assert found["pcsc"]["available"] is False and found["pcsc"]["readers"] == []
    (problem,) = found["pcsc"]["problems"]
    assert "pcscd) is not running" in problem["problem"]
    assert "systemctl start pcscd" in problem["fix"]
    assert found["nfc"]["available"] is False
    (device,) = found["nfc"]["readers"]
    assert device["name"] == "usb:999:999" and device["usable"] is False
    assert "no NFC reader nfcpy can drive at 'usb:999:999'" in device["problem"]["problem"]
    assert found["emulated"]["available"] is True
    assert [r["use"] for r in found["emulated"]["readers"]] == [f"--profile {p}" for p in list_profiles()]


def test_the_text_listing_names_each_fix() -> None:
    done = run_cli("--nfc-device", "tty:NOPE:pn532", env=absent_env())
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "PC/SC readers (pyscard + pcscd):\n  not available: The PC/SC service (pcscd) is not running" in text
    assert "    fix: " in text and "tty:NOPE:pn532: no NFC reader" in text
    assert "Emulated card:\n  always available" in text
    assert done.stderr == ""


def test_pyscard_that_does_not_import_is_explained() -> None:
    found = json_of(run_cli("--json", env=absent_env(), prelude="import sys; sys.modules['smartcard'] = None"))
    (problem,) = found["pcsc"]["problems"]
    assert "pyscard, the Python PC/SC binding, is not importable" in problem["problem"]
    assert problem["fix"].startswith("Install it: pip install pyscard")
    assert "libpcsclite-dev" in problem["fix"]


LIBPCSCLITE_MISSING = """
import importlib.abc, sys
class NoPcscLite(importlib.abc.MetaPathFinder):  # what importing pyscard does without libpcsclite1
    def find_spec(self, name, path, target=None):
        if name == "smartcard" or name.startswith("smartcard."):
            raise OSError("libpcsclite.so.1: cannot open shared object file: No such file or directory")
sys.meta_path.insert(0, NoPcscLite())
"""
LIBUSB_MISSING = """
import usb1
def missing(*args, **kwargs):  # what usb1 raises when libusb-1.0.so.0 is not installed
    raise OSError("libusb-1.0.so.0: cannot open shared object file: No such file or directory")
usb1.loadLibrary = missing
"""


def test_a_missing_libpcsclite_is_explained() -> None:
    found = json_of(run_cli("--json", env=absent_env(), prelude=LIBPCSCLITE_MISSING))
    (problem,) = found["pcsc"]["problems"]
    assert problem["problem"].startswith("The PC/SC client library libpcsclite could not be loaded")
    assert problem["fix"] == "Install it: sudo apt install libpcsclite1 pcscd"


def test_a_missing_libusb_is_explained() -> None:
    found = json_of(run_cli("--json", env=absent_env(), prelude=LIBUSB_MISSING))
    (problem,) = found["nfc"]["problems"]
    assert problem["problem"].startswith("libusb-1.0 is not available")
    assert problem["fix"] == "install it: sudo apt-get install libusb-1.0-0 (Debian/Ubuntu)"


def test_nfcpy_that_does_not_import_is_explained() -> None:
    found = json_of(run_cli("--json", env=absent_env(), prelude="import sys; sys.modules['nfc'] = None"))
    (problem,) = found["nfc"]["problems"]
    assert "nfcpy cannot be imported" in problem["problem"] and problem["fix"] == "pip install nfcpy"
    assert found["emulated"]["available"] is True


def test_no_usb_nfc_reader_is_explained() -> None:
    report = discovery.discover_nfc(probe=False)
    if report.readers:  # pragma: no cover - a developer machine with a reader plugged in
        pytest.skip("a USB NFC reader is connected")
    (problem,) = report.problems
    assert problem.what == "no USB NFC reader that nfcpy can drive is connected"
    assert "python -m nfc" in problem.fix


def test_driver_problems_are_split_into_what_and_fix() -> None:
    libusb = nfc._libusb_missing(OSError("libusb-1.0.so.0: cannot open shared object file"))
    problem = discovery._driver_problem(libusb)
    assert problem == Problem(
        "libusb-1.0 is not available (libusb-1.0.so.0: cannot open shared object file)",
        "install it: sudo apt-get install libusb-1.0-0 (Debian/Ubuntu)",
    )
    denied = nfc._open_error(PermissionError(13, "Permission denied"), "usb:001:004", 0x054C, 0x06C1)
    assert isinstance(denied, DriverMissingError)
    problem = discovery._driver_problem(denied)
    assert problem.what == "access to the NFC reader at usb:001:004 is denied"
    assert "udev" in problem.fix and "054c" in problem.fix and "plugdev" in problem.fix
    polkit = discovery._pcsc_problem(TransportError("PC/SC error connecting: Access denied (0x8010006A)"))
    assert "polkit" in polkit.fix


def test_render_marks_unusable_readers() -> None:
    found = discovery.Discovery((
        discovery.BackendReport(Backend.PCSC, (discovery.FoundReader(
            Backend.PCSC, "Reader X", '--reader "Reader X"', card_present=True, atr=b"\x3b\x00", detail="card present"),
        )),
        discovery.BackendReport(Backend.NFC, (discovery.FoundReader(
            Backend.NFC, "RC-S380", "--nfc-device usb:001:004", usable=False, detail="busy",
            problem=Problem("busy", "stop pcscd")),
        )),
        discovery.discover_emulated(),
    ))  # fmt: skip
    out = io.StringIO()
    render(found, out)
    text = out.getvalue()
    assert '  Reader X: card present, ATR 3B00\n    use: --reader "Reader X"\n' in text
    assert "  RC-S380: busy\n    fix: stop pcscd\n" in text


# --------------------------------------------------------------------------- the private pcscd


@pytest.mark.pcsc
def test_the_private_pcscd_readers_and_a_card(pcsc_stack: PrivatePcscd) -> None:
    empty = json_of(run_cli("--json", "--no-probe", env=pcsc_stack.env()))
    names = [r["name"] for r in empty["pcsc"]["readers"]]
    assert names == list(pcsc_stack.reader_names)
    assert all(r["card_present"] is False and r["atr"] is None for r in empty["pcsc"]["readers"])
    card = SimpleCard()
    with VpcdBridge(card, port=pcsc_stack.port):  # started on entry
        pcsc.wait_for_card(pcsc_stack.reader_name, 5.0)
        found = json_of(run_cli("--json", "--no-probe", env=pcsc_stack.env()))
        text = run_cli("--no-probe", env=pcsc_stack.env()).stdout
    slot0 = found["pcsc"]["readers"][0]
    assert slot0["card_present"] is True and slot0["atr"] == card.atr.hex().upper()
    assert slot0["use"] == '--reader "Virtual PCD 00 00"' and found["pcsc"]["available"] is True
    assert f"Virtual PCD 00 00: card present, ATR {card.atr.hex().upper()}" in text
    assert "Virtual PCD 00 01: no card" in text
    pcsc.wait_for_removal(pcsc_stack.reader_name, 5.0)


@pytest.mark.pcsc
def test_discovery_in_process_matches(pcsc_stack: PrivatePcscd) -> None:
    report = discovery.discover_pcsc()
    assert [r.name for r in report.readers] == list(pcsc_stack.reader_names)
    assert main(["readers", "--no-probe"]) == 0
