"""``trustone run`` over the real reader stacks: PC/SC (pcscd + vpcd) and nfcpy's udp driver.

* PC/SC: the private pcscd of the test session (``tests/support/pcscd.py``); the
  card is served by ``trustone card serve --vpcd`` in one subprocess, ``trustone
  run --transport pcsc`` runs in another with the private pcscd's environment.
* NFC: :class:`card_emulation.nfc_bridge.NfcBridge` serves the emulated card on
  ``udp:127.0.0.1:PORT``; ``trustone run --transport nfc`` runs in-process.

Both must reach the verdict the in-process emulated run reaches, with the same
checks. Under ``CI=true`` they must run (``tests/support/require.py``).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import DriverMissingError
from app.transports import pcsc
from card_emulation.applet import EmvCard
from card_emulation.keystore_files import load_keystore, save_keystore
from card_emulation.nfc_bridge import NfcBridge
from card_emulation.personalise import DEFAULT_SEED, ensure_card_image
from protocol.keystore import KeyStore
from tests.cli.conftest import TRUSTONE, Cli
from tests.support.pcscd import PrivatePcscd
from tests.support.require import missing

PROFILE = "visa-cvn18-dda"


def _checks(document: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(c["check"], c["status"]) for c in document["checks"]]


def _in_process(cli: Cli) -> dict:  # type: ignore[type-arg]
    result = cli("run", "--profile", PROFILE, "--json")
    assert result.code == 0
    return result.json()  # type: ignore[no-any-return]


def _wait_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError("trustone card serve did not start")
    return process.stdout.readline()


@pytest.fixture
def served_card(private_pcscd: PrivatePcscd, tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """``trustone card serve --vpcd`` in a subprocess: the reader name, the data dir, the environment."""
    try:
        pcsc.list_readers()
    except DriverMissingError as exc:
        missing(str(exc))
    data = tmp_path / "pcsc-data"
    env = private_pcscd.env({**os.environ, "TRUSTONE_DATA_DIR": str(data)})
    command = [str(TRUSTONE), "card", "serve", "--vpcd", f"127.0.0.1:{private_pcscd.port}", "--profile", PROFILE,
               "--data-dir", str(data)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _wait_line(process, 30)
        assert line.startswith("serving TEST card"), (line, process.stderr.read() if process.poll() else "")
        pcsc.wait_for_card(private_pcscd.reader_name, 10)
        yield private_pcscd.reader_name, data, env
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        pcsc.wait_for_removal(private_pcscd.reader_name, 10)


@pytest.mark.pcsc
def test_run_over_pcsc_in_a_subprocess(served_card: tuple[str, Path, dict[str, str]], cli: Cli) -> None:
    reader, data, env = served_card
    command = [str(TRUSTONE), "run", "--transport", "pcsc", "--reader", reader, "--data-dir", str(data), "--json"]
    process = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr
    document = json.loads(process.stdout)
    assert document["verdict"] == "ACCEPT" and document["enrolled"] is not None  # first tap with this phone
    assert _checks(document) == _checks(_in_process(cli))  # the same checks, the same verdict
    again = subprocess.run([*command[:-1]], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "Verdict: ACCEPT" in again.stdout and "PC/SC reader" in again.stdout


@pytest.fixture
def nfc_card(tmp_path: Path) -> Iterator[tuple[NfcBridge, Path]]:
    """The emulated card on nfcpy's udp driver; its keys in its own data directory."""
    data = tmp_path / "nfc-data"
    card = EmvCard.from_file(ensure_card_image(PROFILE, DEFAULT_SEED, data_dir=data))
    with NfcBridge(card, "127.0.0.1", 0) as bridge:
        assert bridge.wait_ready(5.0)
        yield bridge, data


@pytest.mark.nfc
def test_run_over_nfc_udp(nfc_card: tuple[NfcBridge, Path], cli: Cli) -> None:
    bridge, data = nfc_card
    result = cli("run", "--transport", "nfc", "--device", bridge.device_path, "--json", data=False)
    result_data = cli("run", "--transport", "nfc", "--device", bridge.device_path, "--data-dir", str(data), "--json",
                      data=False)  # fmt: skip
    assert result_data.code == 0, result_data.out
    document = result_data.json()
    assert document["verdict"] == "ACCEPT" and _checks(document) == _checks(_in_process(cli))
    # without the card's keys in its data directory, the verifier cannot trust it at all
    assert result.code == 1 and "offline data authentication" in result.out


@pytest.mark.nfc
def test_oda_only_without_the_issuer_keys(nfc_card: tuple[NfcBridge, Path], tmp_path: Path, cli: Cli) -> None:
    """A verifier with the CA keys but not the issuer's: ODA ONLY, exit 1 unless --accept-oda-only."""
    bridge, data = nfc_card
    verifier_dir = tmp_path / "verifier-data"
    save_keystore(KeyStore(ca_keys=load_keystore(data).ca_keys), verifier_dir)
    args = ("run", "--transport", "nfc", "--device", bridge.device_path, "--data-dir", str(verifier_dir))
    strict = cli(*args, "--json", data=False)
    document = strict.json()
    assert strict.code == 1 and document["verdict"] == "OFFLINE DATA AUTHENTICATION ONLY"
    assert ("ARQC", "not checkable") in _checks(document)
    lenient = cli(*args, "--accept-oda-only", data=False)
    assert lenient.code == 0 and "not checked" in lenient.out
