"""The Wireshark post-dissector shipped in resources/wireshark decodes EMV's proprietary-class commands."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.flow.pcapng import records_from_exchanges, write_pcapng
from protocol.trace_masking import mask_exchanges
from tests.support.require import require_executable
from tests.trace.support import tap

SCRIPT = Path(__file__).resolve().parents[2] / "resources" / "wireshark" / "trustone_emv.lua"
FIELDS = ("frame.number", "trustone_emv.command", "trustone_emv.cla", "trustone_emv.ins", "trustone_emv.p1",
          "trustone_emv.p2", "trustone_emv.lc", "trustone_emv.data", "trustone_emv.le")  # fmt: skip


def test_the_shipped_lua_decodes_gpo_and_generate_ac(tmp_path: Path) -> None:
    tshark = require_executable("tshark", "sudo apt install tshark")
    script = SCRIPT
    session = tap("mastercard-cvn16-cda")
    records = records_from_exchanges(session.exchanges, session.outcome.events)
    capture = write_pcapng(tmp_path / "tap.pcapng", records, origin=session.origin)
    done = subprocess.run(
        [tshark, "-X", f"lua_script:{script}", "-r", str(capture), "-T", "fields", "-E", "separator=|",
         *(x for f in FIELDS for x in ("-e", f))],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "Lua" not in done.stderr.replace('Running as user "root"', ""), done.stderr
    rows = {int(r[0]): r for r in (line.split("|") for line in done.stdout.splitlines()) if r[1]}
    masked = mask_exchanges([(r.command, r.response) for r in records])
    decoded = {}
    for number, row in rows.items():
        command = masked[(number - 1) // 2][0]
        assert number % 2 == 1 and command[0] >= 0x80  # commands of the proprietary class only
        assert [int(v, 16) for v in row[2:6]] == list(command[:4])
        assert int(row[6]) == command[4] and bytes.fromhex(row[7]) == command[5 : 5 + command[4]]
        assert int(row[8]) == (command[-1] or 256)
        decoded[row[1]] = command
    assert "GET PROCESSING OPTIONS" in decoded
    assert any(name.startswith("GENERATE AC (ARQC") for name in decoded), decoded
