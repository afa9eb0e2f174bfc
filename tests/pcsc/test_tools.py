"""Independent PC/SC clients see the emulated card: ``pcsc_scan`` and ``opensc-tool``.

They are child processes, so they get ``PCSCLITE_CSOCK_NAME`` through
:meth:`PrivatePcscd.env` and talk to the private pcscd only. ``pcsc_scan`` without
``-r``/``-c``/``-t`` never exits; ``-r`` and ``-c`` return at once, ``-t N`` after
about N seconds.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.pcscd import PrivatePcscd
from tests.support.require import require_executable
from tests.support.simple_card import ATR_T1

pytestmark = pytest.mark.pcsc

ATR_SPACED = " ".join(f"{b:02X}" for b in ATR_T1)


def run(pcscd: PrivatePcscd, *argv: str) -> str:
    tool = require_executable(argv[0], "sudo apt install pcsc-tools opensc")
    result = subprocess.run(
        [tool, *argv[1:]], env=pcscd.env(), capture_output=True, text=True, timeout=20, check=False
    )
    assert result.returncode == 0, f"{argv} failed ({result.returncode}): {result.stderr}"
    return result.stdout


def test_pcsc_scan_lists_the_private_readers(pcsc_stack: PrivatePcscd) -> None:
    out = run(pcsc_stack, "pcsc_scan", "-r")
    assert "0: Virtual PCD 00 00" in out and "1: Virtual PCD 00 01" in out


def test_pcsc_scan_shows_the_card_and_its_atr(pcsc_stack: PrivatePcscd, inserted: object) -> None:
    out = run(pcsc_stack, "pcsc_scan", "-c")
    assert "Virtual PCD 00 00" in out and "Card inserted" in out
    assert f"ATR: {ATR_SPACED}" in out
    timed = run(pcsc_stack, "pcsc_scan", "-n", "-t", "1")  # the plug-and-play loop, ends after 1 s
    assert f"ATR: {ATR_SPACED}" in timed


def test_opensc_tool_reads_the_atr_and_sends_an_apdu(pcsc_stack: PrivatePcscd, inserted: object) -> None:
    out = run(pcsc_stack, "opensc-tool", "-a")
    assert ATR_T1.hex(":") in out
    out = run(pcsc_stack, "opensc-tool", "-r", "0", "-s", "80EE000002ABCD00")
    assert "SW1=0x90, SW2=0x00" in out and "AB CD" in out
