"""A real card through PC/SC or nfcpy: the whole phone flow, what could be verified, masked files.

Opt-in (``@pytest.mark.hardware``; see ``conftest.py``). The verifier uses the
public scheme CA keys only (``resources/capk.json``) and no issuer keys: offline
data authentication is checked for real, the ARQC is "not checkable". The masked
trace and pcapng are left in pytest's temporary directory; the summary names them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.transports import pcsc
from app.transports.nfc import NfcTransport
from app.transports.pcsc import PcscTransport
from protocol.crypto.capk import default_store
from protocol.keystore import KeyStore
from tests.hardware.conftest import CARD_WAIT_S
from tests.hardware.phone_flow import FlowReport, assert_real_card_report, run_phone_flow

pytestmark = pytest.mark.hardware


def _show(report: FlowReport, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print("\n" + report.summary())


def test_card_in_a_pcsc_reader(reader_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pcsc.wait_for_card(reader_name, CARD_WAIT_S)
    with PcscTransport(reader_name) as transport:
        report = run_phone_flow(transport, tmp_path / "pcsc", keystore=KeyStore(), ca_store=default_store())
    _show(report, capsys)
    assert_real_card_report(report)


def test_card_on_an_nfc_reader(nfc_device: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    transport = NfcTransport(nfc_device, timeout_s=CARD_WAIT_S)
    try:
        report = run_phone_flow(transport, tmp_path / "nfc", keystore=KeyStore(), ca_store=default_store())
    finally:
        transport.close()
    _show(report, capsys)
    assert_real_card_report(report)
