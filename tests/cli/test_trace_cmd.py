"""``trustone trace show|replay|save`` and ``run --save-trace/--pcapng``."""

from __future__ import annotations

import json
from pathlib import Path

from app.flow.pcapng import read_pcapng
from card_emulation.profile import load_profile
from protocol.tap.trace import from_json
from tests.cli.conftest import Cli, one_line_error

PAN = load_profile("visa-cvn18-dda").applications[0].pan


def test_run_saves_a_masked_trace_and_capture(cli: Cli, tmp_path: Path) -> None:
    trace, capture = tmp_path / "tap.json", tmp_path / "tap.pcapng"
    result = cli("run", "--profile", "visa-cvn18-dda", "--save-trace", str(trace), "--pcapng", str(capture), "--json")
    assert result.code == 0 and result.json()["files"] == {"trace": str(trace), "pcapng": str(capture)}
    loaded = from_json(trace.read_text())
    assert loaded.masked and loaded.challenge is not None and loaded.assertion is not None
    names = [e.command_name for e in loaded.apdu_exchanges()]
    assert names[0] == "SELECT PPSE" and names[-1].startswith("GENERATE AC")  # the authentication tap only
    assert PAN not in trace.read_text()
    packets = read_pcapng(capture)
    assert [x.name for x in packets.exchanges] == names
    assert not any(PAN.encode() in x.response or bytes.fromhex(PAN) in x.response for x in packets.exchanges)


def test_show_json_trace_and_pcapng(cli: Cli, tmp_path: Path) -> None:
    trace, capture = tmp_path / "tap.json", tmp_path / "tap.pcapng"
    cli("run", "--profile", "visa-cvn18-dda", "--save-trace", str(trace), "--pcapng", str(capture), "--reveal-pan")
    shown = cli("trace", "show", str(trace), data=False)
    assert shown.code == 0 and "Verdict: ACCEPT" in shown.out and "INTERNAL AUTHENTICATE" in shown.out
    assert PAN not in shown.out  # an unmasked file is masked on screen
    assert PAN in cli("trace", "show", str(trace), "--reveal-pan", "--json", data=False).out
    document = cli("trace", "show", str(trace), "--json", data=False).json()
    assert document["format"] == "trace" and document["verdict"] == "ACCEPT" and document["masked"] is True
    pcap = cli("trace", "show", str(capture), data=False)
    assert pcap.code == 0 and "GENERATE AC" in pcap.out and "9000" in pcap.out and PAN not in pcap.out
    rows = cli("trace", "show", str(capture), "--json", data=False).json()["exchanges"]
    assert rows[0]["name"] == "SELECT PPSE" and rows[0]["sw"] == "9000"


def test_replay_is_identical_for_an_unmasked_trace_and_detects_a_change(cli: Cli, tmp_path: Path,
                                                                         data_dir: Path) -> None:  # fmt: skip
    trace = tmp_path / "tap.json"
    assert cli("trace", "save", str(trace), "--profile", "mastercard-cvn16-cda", "--reveal-pan").code == 0
    replay = cli("trace", "replay", str(trace), "--json")
    document = replay.json()
    assert replay.code == 0 and document["identical"] and document["evidence"] == "identical"
    assert document["commands_replayed"] == document["commands_recorded"] > 5
    assert "IDENTICAL" in cli("trace", "replay", str(trace)).out
    changed = json.loads(trace.read_text())
    changed["challenge"]["transaction"]["amount_minor"] += 1  # another T: another UN and amount for the card
    other = tmp_path / "changed.json"
    other.write_text(json.dumps(changed))
    differs = cli("trace", "replay", str(other), "--json")
    assert differs.code == 1 and "GET PROCESSING OPTIONS" in differs.json()["differences"][0]


def test_trace_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    masked, capture = tmp_path / "masked.json", tmp_path / "tap.pcapng"
    cli("run", "--save-trace", str(masked), "--pcapng", str(capture))
    one_line_error(cli("trace", "replay", str(masked)))  # masked: the PAN and certificates are gone
    one_line_error(cli("trace", "replay", str(capture)))
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "trustone-trace", "version": 99}')
    one_line_error(cli("trace", "show", str(bad), data=False))
    one_line_error(cli("trace", "show", str(tmp_path / "missing.json"), data=False))
    (tmp_path / "junk.pcapng").write_bytes(b"\x0a\x0d\x0d\x0a" + b"\x00" * 20)
    one_line_error(cli("trace", "show", str(tmp_path / "junk.pcapng"), data=False))
    one_line_error(cli("run", "--save-trace", str(tmp_path / "no" / "such" / "dir.json")))
