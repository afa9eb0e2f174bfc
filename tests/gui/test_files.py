"""File ▸ Export (JSON, pcapng, HTML) and File ▸ Open trace; hostile files give a message, the app stays usable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox

from app.flow.pcapng import read_pcapng
from app.gui.jobs import JobDone
from app.gui.main_window import MainWindow
from app.gui.models.run import ItemKind
from app.gui.widgets.export_dialog import REVEAL_TEXT, ExportDialog
from app.gui.worker import RunStatus
from protocol.tap.trace import from_json
from tests.gui.conftest import tap_and_wait

pytestmark = pytest.mark.gui

PAN = "5599990016000018"  # the emulated mastercard-cvn16-cda TEST card
MASKED = "559999******0018"


def file_job(qtbot: Any, window: MainWindow, start: Any) -> JobDone:
    with qtbot.waitSignal(window.files.finished, timeout=20_000) as blocker:
        start()
    done = blocker.args[0]
    assert isinstance(done, JobDone)
    return done


def test_export_json_pcapng_html_then_reopen_the_json(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    tap_and_wait(qtbot, window)
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT
    rows, apdus, verdict = len(window.run), window.run.apdu_count, window.run.verdict
    assert window.current_trace is not None and window.export_actions["json"].isEnabled()

    done = file_job(qtbot, window, lambda: window.files.export_to("json", tmp_path / "tap"))
    assert done.ok and done.result.path == tmp_path / "tap.json" and done.result.masked
    text = (tmp_path / "tap.json").read_text(encoding="utf-8")
    assert PAN not in text and from_json(text).masked
    assert "Saved" in window.statusBar().currentMessage()

    assert file_job(qtbot, window, lambda: window.files.export_to("pcapng", tmp_path / "tap.pcapng")).ok
    capture = read_pcapng(tmp_path / "tap.pcapng")
    assert len(capture.exchanges) == apdus
    assert bytes.fromhex(PAN) not in (tmp_path / "tap.pcapng").read_bytes()

    assert file_job(qtbot, window, lambda: window.files.export_to("html", tmp_path / "tap.html")).ok
    page = (tmp_path / "tap.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "✓ ACCEPT" in page
    assert MASKED in page and PAN not in page and "http" not in page.replace("http-equiv", "")
    assert "Verifier's checks" in page and "ARQC" in page and "ms with the card in total" in page

    # revealing is explicit: the file says so and holds the real PAN
    assert file_job(qtbot, window, lambda: window.files.export_to("json", tmp_path / "raw.json", reveal=True)).ok
    raw = from_json((tmp_path / "raw.json").read_text(encoding="utf-8"))
    assert not raw.masked

    window.run.clear()
    done = file_job(qtbot, window, lambda: window.files.open_path(tmp_path / "tap.json"))
    assert done.ok and window.tabs.currentWidget() is window.page
    assert (len(window.run), window.run.apdu_count) == (rows, apdus)  # the same steps, step by step
    assert window.run.verdict is not None and window.run.verdict.outcome is verdict.outcome  # type: ignore[union-attr]
    assert window.run.current == window.run.first_index(ItemKind.VERDICT)
    assert "Opened trace" in window.page.banner.detail.text() and "masked" in window.page.banner.detail.text()
    window.run.set_current(0)
    for _ in range(rows - 1):
        window.run.step_forward()
    assert window.run.current == rows - 1
    # an opened trace can be exported again
    assert file_job(qtbot, window, lambda: window.files.export_to("html", tmp_path / "again.html")).ok


def _hostile_files(folder: Path) -> dict[str, tuple[Path, str]]:
    png = folder / "picture.json"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    noise = folder / "noise.json"
    noise.write_bytes(os.urandom(2048))
    other = folder / "other.json"
    other.write_text(json.dumps({"name": "not a trace", "items": [1, 2, 3]}), encoding="utf-8")
    newer = folder / "newer.json"
    newer.write_text(json.dumps({"format": "trustone-trace", "version": 99}), encoding="utf-8")
    broken = folder / "broken.json"
    broken.write_text('{"format": "trustone-trace", "version": 1, "events": [', encoding="utf-8")
    return {"png": (png, "PNG image"), "noise": (noise, "not"), "other": (other, "not a TrustOne trace"),
            "newer": (newer, "newer TrustOne"), "broken": (broken, "not a trace"),
            "missing": (folder / "missing.json", "could not be read")}  # fmt: skip


def test_corrupt_or_foreign_files_give_a_message_and_the_app_stays_usable(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    tap_and_wait(qtbot, window)
    rows = len(window.run)
    for name, (path, words) in _hostile_files(tmp_path).items():
        done = file_job(qtbot, window, lambda p=path: window.files.open_path(p))
        assert not done.ok, name
        box = window.last_message
        assert isinstance(box, QMessageBox) and box.isVisible(), name
        assert words in box.text() and path.name in box.text(), (name, box.text())
        assert box.windowTitle() == "Cannot open this file"
        box.close()
        assert len(window.run) == rows  # the run on screen is untouched
    assert tap_and_wait(qtbot, window).status is RunStatus.VERDICT  # and the app still taps


def test_export_with_nothing_on_screen_says_so(qtbot: Any, make_window: Any) -> None:
    window = make_window(prepare_on_start=False)
    window.files.export_dialog("json")
    assert window.last_message is not None and "Nothing to export" in window.last_message.windowTitle()
    window.last_message.close()
    assert not window.files.export_to("json", "/nonexistent/x.json")


def test_the_save_dialog_offers_revealing_with_a_warning(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    dialog = ExportDialog(window, "Export JSON trace", "TrustOne trace (*.json)", str(tmp_path), "tap.json", True)
    qtbot.addWidget(dialog)
    assert dialog.reveal.text() == REVEAL_TEXT and not dialog.reveal.isChecked()  # masked by default
    assert dialog.warning.isHidden()
    dialog.reveal.setChecked(True)
    assert not dialog.warning.isHidden() and "full number" in dialog.warning.text()
    html_dialog = ExportDialog(window, "Export HTML report", "HTML (*.html)", str(tmp_path), "tap.html", False)
    qtbot.addWidget(html_dialog)
    assert html_dialog.reveal.isHidden()
