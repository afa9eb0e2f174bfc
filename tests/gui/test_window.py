"""The main window end to end: real emulated taps through the worker thread, as a user drives them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt

from app.flow import service as service_module
from app.gui.main_window import APP_TITLE, DISCLAIMER, MainWindow
from app.gui.models.run import ItemKind
from app.gui.requests import CardSource, SourceKind, TransactionInput
from app.gui.widgets.verdict_banner import BannerState
from app.gui.worker import RunResult, RunStatus
from protocol.tap.events import ApduExchanged, CheckStatus, Event, Step
from tests.gui.conftest import TAP_TIMEOUT_MS, tap_and_wait
from tests.support.transports import RemovedAfter

pytestmark = pytest.mark.gui


def collect(window: MainWindow) -> list[Event]:
    """Every event the worker emits from now on (as the UI thread receives them)."""
    seen: list[Event] = []
    window.worker.eventReady.connect(seen.append)
    return seen


def set_faults(window: MainWindow, faults: str) -> None:
    window.page.source.set_source(CardSource(profile="mastercard-cvn16-cda", faults=faults))


def test_opens_on_the_emulated_card_and_prepares_it(qtbot: Any, window: MainWindow, data_dir: Path) -> None:
    assert window.windowTitle() == APP_TITLE
    assert DISCLAIMER in window.disclaimer.text()
    icon = window.windowIcon()
    assert not icon.isNull() and not icon.pixmap(32, 32).isNull()  # the SVG icon renders
    assert window.page.source.kind() is SourceKind.EMULATED
    assert window.page.source.profile.currentData() == "mastercard-cvn16-cda"
    assert window.page.source.profile.currentText().startswith("TEST ")  # titles, not file names
    assert window.page.transaction.currency.currentText() == "KRW"
    qtbot.waitUntil(lambda: window.page.banner.state is BannerState.READY, timeout=TAP_TIMEOUT_MS)
    assert list((data_dir / "cards").glob("mastercard-cvn16-cda--*.json"))
    assert window.tabs.count() >= 1 and window.tabs.tabText(0) == "Card tap"


def test_a_full_tap_fills_diagram_log_detail_and_verdict(qtbot: Any, window: MainWindow) -> None:
    events = collect(window)
    with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(window.page.tap_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert result.status is RunStatus.VERDICT, result.message
    qtbot.waitUntil(lambda: not window.controller.busy)
    page = window.page
    apdus = [e for e in events if isinstance(e, ApduExchanged)]
    assert page.log_model.rowCount() == len(apdus) == window.run.apdu_count > 5
    assert len(window.run) > len(apdus)  # steps, checks, crypto, messages too
    diagram = page.sequence.diagram
    assert diagram.minimumHeight() >= diagram.content_height() > 30 * len(apdus)
    assert page.banner.state is BannerState.ACCEPT and "ACCEPT" in page.banner.headline.text()
    assert page.checks_model.final and page.checks_model.rowCount() >= 10
    assert all(page.checks_model.check(r).status is CheckStatus.PASSED for r in range(page.checks_model.rowCount()))
    assert window.run.current == window.run.first_index(ItemKind.VERDICT)  # the verdict is selected at the end
    # the detail pane on GENERATE AC: TLV tree, crypto and checks of that step
    window.run.set_current(window.run.first_index(ItemKind.APDU, Step.GENERATE_AC))
    detail = page.detail
    assert "GENERATE AC" in detail.title.text()
    assert "cryptogram" in detail.explanation.text().lower() and "Book" in detail.reference.text()
    assert detail.tlv_model.node_count() >= 4
    assert detail.crypto.topLevelItemCount() >= 2
    assert detail.tabs.currentIndex() == 0 and detail.tabs.isTabEnabled(2)
    assert "GENERATE AC" in detail.bytes.toPlainText()
    selected = page.log.selectionModel().currentIndex()
    assert page.log_model.item_for_row(selected.row()).step is Step.GENERATE_AC  # the log follows


def test_stepping_back_and_forth_through_a_finished_run(qtbot: Any, window: MainWindow) -> None:
    tap_and_wait(qtbot, window)
    run, page = window.run, window.page
    run.set_current(0)
    first_title = page.detail.title.text()
    qtbot.mouseClick(page.navigator.next, Qt.MouseButton.LeftButton)
    assert run.current == 1 and page.detail.title.text() != first_title
    qtbot.mouseClick(page.navigator.back, Qt.MouseButton.LeftButton)
    assert run.current == 0 and not page.navigator.back.isEnabled()
    page.sequence.diagram.setFocus()
    qtbot.keyClick(page.sequence.diagram, Qt.Key.Key_Right)
    qtbot.keyClick(page.sequence.diagram, Qt.Key.Key_Right)
    assert run.current == 2
    qtbot.keyClick(page.sequence.diagram, Qt.Key.Key_Left)
    assert run.current == 1
    qtbot.keyClick(page.sequence.diagram, Qt.Key.Key_End)
    assert run.current == len(run) - 1 and not page.navigator.next.isEnabled()
    assert f"{len(run)} of {len(run)}" in page.navigator.position.text()
    # selecting an APDU in the log moves the cursor to that exchange
    target = page.log_model.index(2, 0)
    page.log.selectionModel().setCurrentIndex(target, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert run.item(run.current).apdu_number == 3
    # clicking a row of the diagram selects it
    rect = page.sequence.diagram.row_rect(4)
    qtbot.mouseClick(page.sequence.diagram, Qt.MouseButton.LeftButton, pos=rect.center())
    assert run.current == 4


def test_verifier_rejects_a_corrupted_cryptogram(qtbot: Any, window: MainWindow) -> None:
    set_faults(window, "genac:corrupt-ac")
    assert "corrupt the cryptogram" in window.page.source.fault_status.text()
    result = tap_and_wait(qtbot, window)
    assert result.status is RunStatus.VERDICT
    banner = window.page.banner
    assert banner.state is BannerState.REJECT and "REJECT" in banner.headline.text()
    assert "ARQC" in banner.detail.text()
    model = window.page.checks_model
    failed = [model.check(r).check for r in range(model.rowCount()) if model.check(r).status is CheckStatus.FAILED]
    assert failed == ["ARQC"]
    row = [model.check(r).check for r in range(model.rowCount())].index("ARQC")
    assert model.data(model.index(row, 0)) == "✗"  # a cross, not only a colour


def test_card_torn_away_mid_run_then_the_next_tap_works(qtbot: Any, window: MainWindow) -> None:
    set_faults(window, "tear-after=6")
    result = tap_and_wait(qtbot, window)
    assert result.status is RunStatus.FAILED
    banner = window.page.banner
    assert banner.state is BannerState.FAILED and "did not answer" in banner.detail.text()
    assert window.run.failure is not None
    assert window.run.current == window.run.first_index(ItemKind.FAILURE)
    assert window.page.tap_button.isEnabled() and window.page.source.isEnabled()  # still usable
    set_faults(window, "")
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT
    assert window.page.banner.state is BannerState.ACCEPT


def test_transport_reporting_card_removed(qtbot: Any, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    tap_and_wait(qtbot, window)  # enrols the card, then an ordinary tap
    real_open = service_module.open_transport  # the engine opens the card; the card leaves after 4 commands
    monkeypatch.setattr(service_module, "open_transport", lambda *a, **k: RemovedAfter(real_open(*a, **k), 4))
    result = tap_and_wait(qtbot, window)
    assert result.status is RunStatus.FAILED and "card left the NFC field" in result.message
    assert window.page.banner.state is BannerState.FAILED
    assert window.run.failure is not None and window.run.failure.error_type == "CardRemovedError"
    monkeypatch.setattr(service_module, "open_transport", real_open)
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT


def waiting_reader(request: Any, *, waiting: Callable[[str], None], cancelled: threading.Event, **_: Any) -> RunResult:
    """Stands in for a real reader with no card: waits until cancelled."""
    waiting("Waiting for a card on ACS ACR122U PICC Interface…")
    cancelled.wait(30)
    return RunResult(RunStatus.CANCELLED, "Cancelled: no card was tapped.")


def test_waiting_for_a_card_says_so_and_can_be_cancelled(qtbot: Any, make_window: Callable[..., MainWindow]) -> None:
    window = make_window(tap=waiting_reader, prepare_on_start=False)
    banner = window.page.banner
    assert window.tap()
    qtbot.waitUntil(lambda: banner.state is BannerState.WAITING, timeout=5000)
    assert banner.headline.text() == "Waiting for a card on ACS ACR122U PICC Interface…"
    assert banner.cancel.isVisible() and window.cancel_action.isEnabled()
    assert not window.tap()  # one run at a time
    with qtbot.waitSignal(window.runFinished, timeout=5000):
        qtbot.mouseClick(banner.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.controller.busy)
    assert banner.state is BannerState.CANCELLED and window.page.tap_button.isEnabled()


def test_problems_are_explained_before_a_tap(qtbot: Any, window: MainWindow) -> None:
    page = window.page
    page.source.faults.setText("genac:nonsense")
    assert "✗" in page.source.fault_status.text()
    assert not window.tap()
    assert window.page.banner.state is BannerState.ERROR and "Faults" in window.page.banner.detail.text()
    assert page.input_problem.isVisible()
    page.source.faults.clear()
    page.transaction.amount.setText("12.5")  # KRW has no minor unit
    assert "decimal" in (page.problem() or "")
    assert not window.tap()
    page.transaction.currency.setCurrentText("USD")
    assert page.problem() is None
    page.transaction.payee.setText("   ")
    assert "payee" in (page.problem() or "").lower()


def test_a_tap_that_cannot_start_leaves_the_app_usable(qtbot: Any, window: MainWindow) -> None:
    window.page.source.set_source(CardSource(kind=SourceKind.NFC, device="udp:127.0.0.1:9"))
    result = tap_and_wait(qtbot, window, timeout=60_000)
    assert result.status in (RunStatus.ERROR, RunStatus.CANCELLED)
    window.page.source.set_source(CardSource())
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT


def test_settings_survive_recreating_the_window(qtbot: Any, make_window: Callable[..., MainWindow]) -> None:
    first = make_window(prepare_on_start=False)
    first.page.source.set_source(CardSource(kind=SourceKind.NFC, profile="visa-cvn18-dda", faults="tear-after=5",
                                            device="usb:054c:06c1"))  # fmt: skip
    first.page.transaction.set_transaction(TransactionInput("transfer", "12.50", "USD", "Landlord"))
    first.resize(1100, 700)
    first.set_theme(first.theme)
    first.close()
    second = make_window(prepare_on_start=False)
    source = second.page.source.source()
    assert (source.kind, source.profile, source.faults, source.device) == (
        SourceKind.NFC, "visa-cvn18-dda", "tear-after=5", "usb:054c:06c1")  # fmt: skip
    assert second.page.transaction.transaction() == TransactionInput("transfer", "12.50", "USD", "Landlord")
    assert second.prefs.load_bytes("geometry") is not None


def test_shortcuts_and_tooltips(qtbot: Any, window: MainWindow) -> None:
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in window.findChildren(type(window.tap_action))}
    assert shortcuts["Tap card"] == "Ctrl+T"
    assert shortcuts["Re-run last tap"] == "F5"
    assert shortcuts["Back"] == "Left" and shortcuts["Next"] == "Right"
    assert shortcuts["Quit"] == "Ctrl+Q"
    assert shortcuts["Cancel"] == "Esc"
    assert window.page.tap_button.toolTip() and window.page.source.faults.toolTip()
    assert window.page.transaction.amount.toolTip()
    window.activateWindow()
    with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS):
        window.tap_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.busy)
    first = window._last_request
    window.page.transaction.payee.setText("Someone else")
    with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS):
        window.rerun_action.trigger()  # F5: the same request again
    assert window._last_request == first


def test_dark_and_light_palettes(qtbot: Any, window: MainWindow) -> None:
    from app.gui.theme import Theme, is_dark

    window.set_theme(Theme.DARK)
    assert is_dark()
    qtbot.waitUntil(lambda: is_dark(window.palette()))
    window.set_theme(Theme.LIGHT)
    assert not is_dark()
    window.toggle_dark()
    assert is_dark() and window.theme is Theme.DARK
    window.set_theme(Theme.LIGHT)


def test_application_identity(qapp: Any) -> None:
    from app.gui.main import APPLICATION, ORGANISATION, create_application

    app = create_application([])
    assert app is qapp  # reuses the running application
    assert (app.organizationName(), app.applicationName()) == (ORGANISATION, APPLICATION)
    assert app.style().name().lower() == "fusion" and not app.windowIcon().isNull()
