"""The window with a real PC/SC stack: private pcscd + vpcd reader, the emulated card connected to it.

The reader appears in the live list (hot-plug through PcscMonitor); pressing Tap
with no card says what the window waits for; inserting the card starts the run,
which ends with the verifier's verdict. Skips locally without pcscd/vpcd/pyscard,
fails under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.errors import DriverMissingError
from app.gui.main_window import MainWindow
from app.gui.requests import CardSource, SourceKind
from app.gui.widgets.verdict_banner import BannerState
from app.gui.worker import RunStatus
from app.transports import pcsc
from card_emulation.applet import EmvCard
from card_emulation.personalise import ensure_card_image
from card_emulation.vpcd import VpcdBridge
from tests.gui.conftest import TAP_TIMEOUT_MS
from tests.support.pcscd import PrivatePcscd, client_socket_path, private_pcscd
from tests.support.require import missing

__all__ = ["private_pcscd"]
pytestmark = [pytest.mark.gui, pytest.mark.pcsc]

client_socket_path()  # before the first PC/SC call of this process (read once by pcsc-lite)


@pytest.fixture
def stack(private_pcscd: PrivatePcscd) -> PrivatePcscd:
    try:
        pcsc.list_readers()
    except DriverMissingError as exc:
        missing(str(exc))
    return private_pcscd


@pytest.fixture
def card(data_dir: Path) -> EmvCard:
    return EmvCard.from_file(ensure_card_image("visa-cvn18-dda", data_dir=data_dir))


@pytest.fixture
def bridge(stack: PrivatePcscd, card: EmvCard) -> Iterator[VpcdBridge]:
    """The card, not yet in the reader (``bridge.insert()`` puts it in)."""
    bridge = VpcdBridge(card, port=stack.port, inserted=False)
    bridge.start()
    yield bridge
    bridge.stop()


def test_tap_waits_for_the_card_then_runs(qtbot: Any, make_window: Callable[..., MainWindow], stack: PrivatePcscd,
                                          bridge: VpcdBridge) -> None:  # fmt: skip
    window = make_window(prepare_on_start=False)
    panel = window.page.source
    panel.set_source(CardSource(kind=SourceKind.PCSC, reader=stack.reader_name))
    qtbot.waitUntil(lambda: panel.reader.findText(stack.reader_name) >= 0, timeout=10_000)
    panel.reader.setCurrentText(stack.reader_name)
    assert window.page.problem() is None
    assert window.tap()
    banner = window.page.banner
    qtbot.waitUntil(lambda: banner.state is BannerState.WAITING, timeout=10_000)
    assert banner.headline.text() == f"Waiting for a card on {stack.reader_name}…"
    with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS) as blocker:
        bridge.insert()
    result = blocker.args[0]
    assert result.status is RunStatus.VERDICT, result.message
    assert banner.state is BannerState.ACCEPT
    qtbot.waitUntil(lambda: "a card is present" in panel.reader_status.text(), timeout=10_000)
    assert window.run.apdu_count == window.page.log_model.rowCount() > 5


def test_a_second_real_card_is_enrolled_from_the_run_menu(qtbot: Any, make_window: Callable[..., MainWindow],
                                                          stack: PrivatePcscd, data_dir: Path) -> None:  # fmt: skip
    """Real cards share one demo user: a second card is REJECTed as not enrolled until Run ▸ Enrol this card."""
    window = make_window(prepare_on_start=False)
    panel = window.page.source
    panel.set_source(CardSource(kind=SourceKind.PCSC, reader=stack.reader_name))
    qtbot.waitUntil(lambda: panel.reader.findText(stack.reader_name) >= 0, timeout=10_000)
    panel.reader.setCurrentText(stack.reader_name)

    messages: list[str] = []  # for the assertion messages

    def tap_with(profile: str, action: Callable[[], bool]) -> RunStatus:
        bridge = VpcdBridge(EmvCard.from_file(ensure_card_image(profile, data_dir=data_dir)), port=stack.port)
        bridge.start()
        try:  # pcscd sees a swapped card ~0.4 s after it connects: tap once the reader reports it
            qtbot.waitUntil(lambda: "a card is present" in panel.reader_status.text(), timeout=10_000)
            for _attempt in range(2):  # a card just swapped in may fail its first exchange: tap again, as a user would
                with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS) as blocker:
                    assert action()
                qtbot.waitUntil(lambda: not window.controller.busy, timeout=TAP_TIMEOUT_MS)
                messages.append(blocker.args[0].message)
                if blocker.args[0].status is not RunStatus.FAILED:
                    break
            return blocker.args[0].status
        finally:
            bridge.stop()
            qtbot.waitUntil(lambda: "no card yet" in panel.reader_status.text(), timeout=10_000)

    assert tap_with("visa-cvn18-dda", window.tap) is RunStatus.VERDICT, messages  # the first real card enrols itself
    assert window.page.banner.state is BannerState.ACCEPT and not window.enrol_action.isEnabled()
    assert tap_with("mastercard-cvn16-cda", window.tap) is RunStatus.VERDICT, messages
    assert window.page.banner.state is BannerState.REJECT and "card enrolled" in window.page.banner.detail.text()
    assert window.enrol_action.isEnabled() and "Enrol this card" in window.statusBar().currentMessage()
    assert tap_with("mastercard-cvn16-cda", window.enrol) is RunStatus.VERDICT, messages
    assert window.page.banner.state is BannerState.ACCEPT and not window.enrol_action.isEnabled()
    assert tap_with("mastercard-cvn16-cda", window.tap) is RunStatus.VERDICT, messages
    assert window.page.banner.state is BannerState.ACCEPT
