"""``trustone scenarios``: the attack table, as text and as JSON, reproduces DESIGN.md §3."""

from __future__ import annotations

import pytest

from app.flow.attack_lab import SCENARIOS
from card_emulation.profile import list_profiles, load_profile
from tests.attacks.design_table import DESIGN_TABLE
from tests.cli.conftest import Cli, one_line_error

TEST_PANS = {app.pan for name in list_profiles() for app in load_profile(name).applications}


def test_json_reproduces_the_design_table(cli: Cli) -> None:
    result = cli("scenarios", "--json", data=False)
    assert result.code == 0, result.out
    document = result.json()
    assert document["all_as_expected"] is True
    rows = {row["id"]: row for row in document["scenarios"]}
    assert list(rows) == list(DESIGN_TABLE)
    for scenario_id, (otp, tap, checks, countermeasure) in DESIGN_TABLE.items():
        row = rows[scenario_id]
        assert (row["otp"] or {}).get("verdict") == (otp.value if otp else None), scenario_id
        assert row["tap"]["verdict"] == tap.value and set(checks) <= set(row["tap"]["failed_checks"]), scenario_id
        assert row["tap"]["honest"]["verdict"] == "ACCEPT" and row["as_expected"] and row["why"]
        if row["otp"] is not None:
            assert row["otp"]["honest"]["verdict"] == "ACCEPT"
        if countermeasure is not None:
            bounded = [v for v in row["tap"]["variants"] if v["policy"] == countermeasure[0]]
            assert bounded[0]["verdict"] == "REJECT" and set(countermeasure[1]) <= set(bounded[0]["failed_checks"])
        assert "events" not in row["tap"]["attack"]  # only with --verbose


def test_the_ascii_table(cli: Cli) -> None:
    result = cli("scenarios", "--width", "120", data=False)
    assert result.code == 0
    lines = result.out.splitlines()
    table = [line for line in lines if line.startswith(("|", "+"))]
    assert table and all(len(line) == len(table[0]) <= 120 for line in table)
    assert all(line.isascii() or "✗" in line or "·" in line or "§" in line for line in table)
    header = table[1]
    for word in ("attack", "OTP", "card tap", "why"):
        assert word in header
    for item in SCENARIOS:
        assert item.title.split()[0] in result.out
    assert "| ACCEPT (REJECT     |" in result.out and "| under relay-bound) |" in result.out  # the NFC relay row
    assert "All 10 scenarios end as DESIGN.md §3 expects" in result.out


def test_only_and_verbose_show_each_runs_events(cli: Cli) -> None:
    result = cli("scenarios", "--only", "replay", "--verbose", data=False)
    assert result.code == 0
    assert "Replay of a captured assertion" in result.out and "Real-time phishing" not in result.out
    for word in ("events of the honest run", "events of the attack run", "GENERATE AC", "✗ challenge unused"):
        assert word in result.out, word
    document = cli("scenarios", "--only", "phishing-relay", "--only", "sim-swap", "--json", "--verbose",
                   data=False).json()  # fmt: skip
    assert [row["id"] for row in document["scenarios"]] == ["phishing-relay", "sim-swap"]
    events = document["scenarios"][0]["tap"]["attack"]["events"]
    assert any(e["type"] == "ApduExchanged" for e in events)
    text = str(document)
    assert not any(pan in text for pan in TEST_PANS)  # card data masked


@pytest.mark.parametrize(
    "argv",
    [("scenarios", "--only", "nope"), ("scenarios", "--relay-latency", "-5"), ("scenarios", "--relay-latency", "x")],
)
def test_bad_arguments(cli: Cli, argv: tuple[str, ...]) -> None:
    one_line_error(cli(*argv, data=False))


def test_a_scenario_that_differs_from_the_table_exits_1(cli: Cli) -> None:
    result = cli("scenarios", "--only", "nfc-relay", "--relay-latency", "0", data=False)
    assert result.code == 1 and "relay-bound" in result.out
