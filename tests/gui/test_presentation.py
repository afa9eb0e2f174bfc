"""Presentation mode: F11 / Ctrl+P, large one-step slides stepped with the keyboard, real-card timing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.gui.main_window import MainWindow
from app.gui.worker import RunResult, run_tap
from protocol.tap.events import Step
from tests.gui.conftest import TAP_TIMEOUT_MS

pytestmark = pytest.mark.gui


class Recording:
    """A real tap that remembers the requests it was given."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def __call__(self, request: Any, **kwargs: Any) -> RunResult:
        self.requests.append(request)
        return run_tap(request, **kwargs)


@pytest.fixture
def recorded(make_window: Callable[..., MainWindow]) -> tuple[MainWindow, Recording]:
    recording = Recording()
    window = make_window(tap=recording)
    window.prefs.settings.setValue("view/presentation_full_screen", "false")
    return window, recording


def test_presentation_steps_with_keys(qtbot: Any, recorded: tuple[MainWindow, Recording]) -> None:
    window, recording = recorded
    view = window.presentation.view
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.presentation.active and window.stack.currentWidget() is view
    assert view.title.text() == "Ready to tap" and not window.menuBar().isVisible()
    with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS):
        qtbot.keyClick(view, Qt.Key.Key_T)
    assert recording.requests[-1].source.timing  # the emulated card answers with a real card's pacing
    deck = view.deck
    assert len(deck) > 8
    assert deck.position == len(deck) - 1 and view.title.text().startswith("Verdict: ACCEPT")  # the verdict last
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert deck.position == 0 and view.counter.text() == f"Step 1 of {len(deck)}"
    first_title = view.title.text()
    qtbot.keyClick(view, Qt.Key.Key_Space)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert deck.position == 2 and view.title.text() != first_title
    assert window.run.current == deck.slides[2].first  # the step views follow the presentation
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert deck.position == 1
    generate = next(i for i, s in enumerate(deck.slides) if s.step is Step.GENERATE_AC)
    deck.go(generate)
    assert "seals the transaction" in view.caption.text() and "Card" in view.flow.text()
    assert view.title.font().pointSizeF() > 2 * window.page.font().pointSizeF()  # large type
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not window.presentation.active and window.stack.currentIndex() == 0 and window.menuBar().isVisible()
    # Ctrl+P also toggles it; outside presentation, taps are not paced unless View ▸ Realistic card timing
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert window.presentation.active
    window.presentation.leave()
    with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS):
        window.tap()
    assert not recording.requests[-1].source.timing
    window.timing_action.setChecked(True)
    with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS):
        window.tap()
    assert recording.requests[-1].source.timing


def test_a_failed_tap_ends_on_its_failure_slide(qtbot: Any, recorded: tuple[MainWindow, Recording]) -> None:
    from app.gui.requests import CardSource

    window, _ = recorded
    window.page.source.set_source(CardSource(faults="tear-after=6"))
    window.presentation.enter()
    with qtbot.waitSignal(window.runFinished, timeout=TAP_TIMEOUT_MS):
        window.presentation.view.tapRequested.emit()
    view = window.presentation.view
    assert view.title.text() == "The tap failed" and "did not answer" in view.explanation.text()
    window.presentation.leave()
