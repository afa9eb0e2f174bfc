"""The attack lab page: every scenario of DESIGN.md §3 runs, both verdicts and the failed checks are shown."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.gui.main_window import MainWindow
from app.gui.page_data import ScenarioView

pytestmark = pytest.mark.gui

#: DESIGN.md §3's attack table: (OTP verdict or None for n/a, tap verdict, failed checks the tap must show).
TABLE: dict[str, tuple[str | None, str, set[str]]] = {
    "phishing-relay": ("ACCEPT", "REJECT", {"transaction binding", "ARQC"}),
    "replay": (None, "REJECT", {"challenge unused", "ATC increasing"}),
    "cloned-card": (None, "REJECT", {"ARQC"}),
    "malware-amount": ("ACCEPT", "REJECT", {"transaction binding", "ARQC"}),
    "expired-challenge": (None, "REJECT", {"challenge unexpired"}),
    "other-device": (None, "REJECT", {"device signature"}),
    "atc-rollback": (None, "REJECT", {"ATC increasing"}),
    "aip-downgrade": (None, "REJECT", {"policy"}),
    "sim-swap": ("ACCEPT", "REJECT", {"device signature"}),
    "nfc-relay": (None, "ACCEPT", set()),
}


def run_all(qtbot: Any, window: MainWindow) -> dict[str, ScenarioView]:
    page = window.pages.attacks
    window.tabs.setCurrentWidget(page)
    qtbot.mouseClick(page.run_all, Qt.MouseButton.LeftButton)
    assert not page.run_all.isEnabled()
    qtbot.waitUntil(lambda: not window.pages.lab_running, timeout=120_000)
    return page.results


def test_run_all_shows_both_verdicts_as_in_design(qtbot: Any, window: MainWindow) -> None:
    page = window.pages.attacks
    assert page.list.topLevelItemCount() == len(TABLE)
    results = run_all(qtbot, window)
    assert set(results) == set(TABLE)
    for scenario_id, (otp, tap, failed) in TABLE.items():
        view = results[scenario_id]
        assert (view.otp.verdict if view.otp else None) == otp, scenario_id
        assert view.tap.verdict == tap, scenario_id
        assert failed <= {f.check for f in view.tap.attack.failures}, (scenario_id, view.tap.attack.failures)
        assert view.as_expected, view.mismatches
        item = page.item(scenario_id)
        assert item is not None
        assert (otp or "n/a") in item.text(1) and tap in item.text(2) and item.text(3) == "✓ yes"
    assert "10 of 10 as in DESIGN.md" in page.progress.text()
    assert page.run_all.isEnabled()


def test_the_nfc_relay_is_accepted_unless_the_relay_bound_policy_is_enforced(qtbot: Any, window: MainWindow) -> None:
    results = run_all(qtbot, window)
    relay = results["nfc-relay"]
    assert relay.tap.verdict == "ACCEPT" and not relay.tap.attack.failures
    bounded = [v for v in relay.tap.variants if v.policy == "relay-bound"]
    assert bounded and bounded[0].verdict == "REJECT" and {f.check for f in bounded[0].failures} == {"policy"}
    page = window.pages.attacks
    page.select("nfc-relay")
    text = page.detail.toPlainText()
    assert "does NOT stop this attack by default" in text and "relay-bound" in text
    assert "†" in page.item("nfc-relay").text(2)  # type: ignore[union-attr]
    # the phishing relay: the OTP side says why (the code carries no transaction)
    page.select("phishing-relay")
    text = page.detail.toPlainText()
    assert "transaction binding" in text and "One-time password: ⚠ ACCEPT" in text


def test_run_one_and_double_click_opens_the_tap_side_step_by_step(qtbot: Any, window: MainWindow) -> None:
    page = window.pages.attacks
    window.tabs.setCurrentWidget(page)
    page.select("malware-amount")
    qtbot.mouseClick(page.run_one, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.pages.lab_running, timeout=60_000)
    assert set(page.results) == {"malware-amount"}
    item = page.item("malware-amount")
    assert item is not None
    page.list.itemDoubleClicked.emit(item, 0)
    assert window.tabs.currentWidget() is window.page
    assert window.run.verdict is not None and window.run.verdict.outcome.value == "REJECT"
    assert window.run.apdu_count > 5
    failed = {c.check for c in window.run.verdict.checks if c.status.value == "failed"}
    assert {"transaction binding", "ARQC"} <= failed
    assert "REJECT" in window.page.banner.headline.text()
