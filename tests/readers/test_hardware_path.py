"""The hardware tests' code (tests/hardware), run in CI against the emulated card behind real stacks.

(It lives here, not in ``tests/hardware``: the pytest plugin skips every test
whose keywords include "hardware", and a package name is a keyword.)

* In process: :func:`run_phone_flow` through the private pcscd + vpcd (pyscard's
  real PC/SC path), with the emulated card's keys known to the verifier (so the
  ARQC is checked and the verdict is ACCEPT).
* As the engineer would run them: ``pytest tests/hardware/test_real_card.py
  --reader "Virtual PCD 00 00" --nfc-device udp:127.0.0.1:PORT`` in a child
  process, the emulated card served by this process over vpcd and nfcpy's udp
  driver. There the verifier has only the public scheme CA keys, as with a real
  card: ODA fails (unknown test CA), the ARQC is not checkable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.transports import pcsc
from app.transports.pcsc import PcscTransport
from card_emulation.applet import EmvCard
from card_emulation.nfc_bridge import NfcBridge
from card_emulation.personalise import Personalisation, personalise
from card_emulation.vpcd import VpcdBridge
from protocol.crypto.capk import default_store
from protocol.keystore import KeyStore
from protocol.tap.events import CheckStatus, Outcome
from tests.hardware.phone_flow import assert_nothing_leaks, assert_real_card_report, run_phone_flow
from tests.support.pcscd import PrivatePcscd

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "visa-cvn18-dda"


@pytest.fixture(scope="module")
def card_keys() -> Personalisation:
    return personalise(PROFILE, "hardware-path")


def new_card(card_keys: Personalisation) -> EmvCard:
    return EmvCard(card_keys.image, sleep=lambda _s: None)


@pytest.mark.pcsc
@pytest.mark.parametrize("issuer_keys", [True, False], ids=["issuer-keys", "ca-keys-only"])
def test_phone_flow_through_pcscd_and_vpcd(
    pcsc_stack: PrivatePcscd, card_keys: Personalisation, tmp_path: Path, issuer_keys: bool
) -> None:
    """With the card's CA key trusted: ACCEPT with its issuer keys, ODA ONLY without (a real card's case)."""
    ca_store = card_keys.keystore.capk_store(default_store())
    keystore = card_keys.keystore if issuer_keys else KeyStore()
    with VpcdBridge(new_card(card_keys), port=pcsc_stack.port):
        pcsc.wait_for_card(pcsc_stack.reader_name, 5.0)
        with PcscTransport(pcsc_stack.reader_name) as transport:
            report = run_phone_flow(transport, tmp_path, keystore=keystore, ca_store=ca_store)
    pcsc.wait_for_removal(pcsc_stack.reader_name, 5.0)
    assert report.transport.startswith("PC/SC reader Virtual PCD 00 00")
    assert report.check("offline data authentication").status is CheckStatus.PASSED, report.summary()
    if issuer_keys:
        assert report.enrolment_outcome is Outcome.ACCEPT and report.outcome is Outcome.ACCEPT, report.summary()
        assert report.check("ARQC").status is CheckStatus.PASSED
        assert_nothing_leaks(report)
    else:
        assert report.enrolment_outcome is Outcome.ODA_ONLY and report.outcome is Outcome.ODA_ONLY, report.summary()
        assert_real_card_report(report)


@pytest.mark.pcsc
@pytest.mark.nfc
def test_the_hardware_tests_pass_against_virtual_readers(pcsc_stack: PrivatePcscd, card_keys: Personalisation) -> None:
    with VpcdBridge(new_card(card_keys), port=pcsc_stack.port), NfcBridge(new_card(card_keys)) as nfc_bridge:
        assert nfc_bridge.wait_ready(2.0)
        pcsc.wait_for_card(pcsc_stack.reader_name, 5.0)
        env = pcsc_stack.env()
        env["PYTHONPATH"] = str(ROOT)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/hardware/test_real_card.py", "-p", "no:cacheprovider",
             "-q", "-s", "--reader", pcsc_stack.reader_name, "--nfc-device", nfc_bridge.device_path],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "2 passed" in output, output
    assert "ARQC: not checkable" in output and "Verdict: REJECT" in output
    assert "offline data authentication: failed" in output  # the test CA is not a scheme CA
    assert os.environ.get("PCSCLITE_CSOCK_NAME") == env["PCSCLITE_CSOCK_NAME"]
