"""OTP vs tap: one transaction authenticated with TOTP, EMV CAP and a tap; three verdicts, computed by the worker."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.gui.main_window import MainWindow
from app.gui.requests import TransactionInput
from protocol.tap.events import CheckStatus

pytestmark = pytest.mark.gui

TIMEOUT_MS = 60_000


def compare(qtbot: Any, window: MainWindow, mode: str = "sign") -> None:
    page = window.pages.otp
    page.set_cap_mode(mode)
    window.tabs.setCurrentWidget(page)
    before = page.comparison
    qtbot.mouseClick(page.compare, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.comparison is not before and not window.controller.busy, timeout=TIMEOUT_MS)


def checks(window: MainWindow, key: str) -> dict[str, CheckStatus]:
    column = window.pages.otp.columns[key]
    return {c.check: c.status for c in column.checks.checks}


def test_three_verdicts_for_one_transaction(qtbot: Any, window: MainWindow) -> None:
    page = window.pages.otp
    assert window.tabs.tabText(window.tabs.indexOf(page)) == "OTP vs tap"
    page.transaction.set_transaction(TransactionInput("transfer", "12.50", "USD", "Landlord"))
    compare(qtbot, window, "sign")
    comparison = page.comparison
    assert comparison is not None and comparison.transaction == "Transfer of 12.50 USD to Landlord"
    assert [m.key for m in comparison.methods] == ["totp", "cap", "tap"]
    for key in ("totp", "cap", "tap"):
        column = page.columns[key]
        assert column.badge.verdict == "ACCEPT" and "ACCEPT" in column.badge.text()
        assert column.checks.topLevelItemCount() == len(column.result.checks) > 3  # type: ignore[union-attr]
        assert "ms measured" in column.time.text()
    totp, cap, tap = checks(window, "totp"), checks(window, "cap"), checks(window, "tap")
    assert totp["TOTP code"] is CheckStatus.PASSED and totp["transaction binding"] is CheckStatus.NOT_CHECKABLE
    assert cap["CAP code"] is CheckStatus.PASSED and cap["transaction binding"] is CheckStatus.PASSED  # Sign
    assert tap["ARQC"] is CheckStatus.PASSED and tap["transaction binding"] is CheckStatus.PASSED
    # what the user does and types, from the worker (the authenticator's code included)
    code = comparison.method("totp").typed.split(" (")[0]
    assert len(code.replace(" ", "")) == 6 and code.replace(" ", "").isdigit()
    assert comparison.method("totp").digits_typed == 6 and comparison.method("tap").digits_typed == 0
    assert "1250" in page.columns["cap"].steps.text()  # the amount keyed into the reader (minor units)
    assert "499999******2015" in page.columns["cap"].typed.text()  # the card number is shown masked
    assert "4999990048002015" not in page.columns["cap"].typed.text()
    assert page.columns["totp"].binding.text().startswith("?") and page.columns["tap"].binding.text().startswith("✓")
    assert "Card tap" in page.summary.text() and "EMV CAP Sign" in page.summary.text()


def test_cap_identify_is_not_bound_and_a_second_run_works(qtbot: Any, window: MainWindow) -> None:
    compare(qtbot, window, "identify")
    assert checks(window, "cap")["transaction binding"] is CheckStatus.NOT_CHECKABLE
    assert window.pages.otp.columns["cap"].title.text().startswith("EMV CAP Identify")
    compare(qtbot, window, "respond")  # again at once: a fresh TOTP window, the CAP card's next ATC
    page = window.pages.otp
    assert all(page.columns[k].badge.verdict == "ACCEPT" for k in ("totp", "cap", "tap"))
    assert "challenge" in page.columns["cap"].typed.text()


def test_show_the_steps_opens_the_tap_in_the_step_views(qtbot: Any, window: MainWindow) -> None:
    compare(qtbot, window)
    column = window.pages.otp.columns["tap"]
    assert column.show_steps.isEnabled()
    qtbot.mouseClick(column.show_steps, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.page
    assert window.run.apdu_count > 5 and window.run.verdict is not None
    assert window.current_trace is not None and "OTP vs tap" in window.current_trace.transport


def test_a_bad_transaction_is_explained_and_nothing_runs(qtbot: Any, window: MainWindow) -> None:
    page = window.pages.otp
    page.transaction.amount.setText("abc")
    qtbot.mouseClick(page.compare, Qt.MouseButton.LeftButton)
    assert "not a number" in page.status.text() and not window.controller.busy
    assert page.comparison is None
