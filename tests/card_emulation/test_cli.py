"""``trustone card``: list, personalise, info and serve."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.main import main
from card_emulation.image import ImageFile
from card_emulation.keystore_files import load_keystore
from tests.card_emulation.reader import PPSE, apdu

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys) -> None:
    code, out, _ = run(capsys, "card", "list", "--json")
    assert code == 0
    names = [p["name"] for p in json.loads(out)["profiles"]]
    assert {"visa-cvn18-dda", "mastercard-cvn16-cda", "legacy-sda", "cap-visa-dpa", "trustone-aes"} <= set(names)
    code, out, _ = run(capsys, "card", "list")
    assert code == 0 and "A0000000031010" in out


def test_personalise_info_and_keystore(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "card", "personalise", "--profile", "legacy-sda", "--seed", "cli", "--data-dir",
                       str(tmp_path), "--json")  # fmt: skip
    assert code == 0
    image = Path(json.loads(out)["image"])
    assert image.parent == tmp_path / "cards" and image.exists()
    assert load_keystore(tmp_path).issuer_keys_for(bytes.fromhex("A0000000031010"), "4999990010000013")
    code, out, _ = run(capsys, "card", "info", str(image))
    assert code == 0
    assert "499999******0013" in out and "4999990010000013" not in out
    keys = ImageFile(image).load().applications[0].keys
    assert keys.mk_ac.hex().upper() not in out
    code, out, _ = run(capsys, "card", "info", "--json", str(image))
    assert json.loads(out)["applications"][0]["pan"] == "499999******0013"


def test_personalise_to_a_file(capsys, tmp_path: Path) -> None:
    target = tmp_path / "card.json"
    args = ("card", "personalise", "--profile", "cap-visa-dpa", "--out", str(target), "--data-dir", str(tmp_path))
    assert run(capsys, *args)[0] == 0
    assert ImageFile(target).load().profile.name == "cap-visa-dpa"
    code, _, err = run(capsys, *args)
    assert code == 2 and "--force" in err
    assert run(capsys, *args, "--force")[0] == 0


def test_errors_are_one_line(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "card", "info", str(tmp_path / "missing.json"))
    assert code == 2 and err.count("\n") == 1
    (tmp_path / "bad.json").write_text("{}")
    assert run(capsys, "card", "info", str(tmp_path / "bad.json"))[0] == 2
    assert run(capsys, "card", "personalise", "--profile", "nope")[0] == 2
    code, _, err = run(capsys, "card", "serve", "--nfc", "udp:127.0.0.1:0", "--fault", "explode", "--data-dir",
                       str(tmp_path))  # fmt: skip
    assert code == 2 and "unknown fault" in err


@pytest.mark.nfc
def test_serve_over_nfc(tmp_path: Path) -> None:
    from app.transports.nfc import NfcTransport

    env = dict(os.environ, TRUSTONE_DATA_DIR=str(tmp_path))
    command = [sys.executable, "-m", "app.cli.main", "card", "serve", "--nfc", "udp:127.0.0.1:0", "--profile",
               "legacy-sda", "--fault", "any:sw=6A81@2"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"on (udp:127\.0\.0\.1:\d+)", line)
        assert match, line
        reader = NfcTransport(match.group(1), timeout_s=3.0, apdu_timeout_s=5.0)
        try:
            assert reader.transmit(apdu(0x00, 0xA4, 0x04, 0x00, PPSE))[-2:] == b"\x90\x00"
            assert reader.transmit(apdu(0x00, 0xA4, 0x04, 0x00, PPSE)) == b"\x6a\x81"  # the scripted fault
        finally:
            reader.close()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
