"""The crypto calculator page: known vectors computed on a worker thread, bad input refused inline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from app.gui.calculator_backend import compute
from app.gui.calculator_spec import OPERATIONS, FieldError
from app.gui.main_window import MainWindow
from app.gui.widgets.calculator_page import CalculatorPage

pytestmark = pytest.mark.gui

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "emv_symmetric.json").read_text(encoding="utf-8"))


def vector(vector_id: str) -> dict[str, Any]:
    return next(v for v in VECTORS["vectors"] if v["id"] == vector_id)


def editor(page: CalculatorPage, key: str) -> QLineEdit:
    widget = page.editors[key]
    assert isinstance(widget, QLineEdit)
    return widget


def compute_on_page(qtbot: Any, window: MainWindow) -> None:
    page = window.pages.calculator
    before = page.result
    qtbot.mouseClick(page.compute, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.result is not before and page.compute.isEnabled(), timeout=20_000)


def test_icc_master_key_vector(qtbot: Any, window: MainWindow) -> None:
    v = vector("pyemv.ac_emv_arpc1.mk")  # ICC MK option A, KCV 1DA5; the key is the ARPC vector's
    page = window.pages.calculator
    window.tabs.setCurrentWidget(page)
    page.set_operation("derive-mk")
    page.fill({"imk": v["inputs"]["iss_mk"], "pan": v["inputs"]["pan"], "psn": v["inputs"]["psn"], "option": "A"})
    compute_on_page(qtbot, window)
    assert page.result_value("ICC master key KCV", ).startswith(v["expected"]["icc_mk_kcv"])  # type: ignore[union-attr]
    assert page.result_value("ICC master key") == vector("pyemv.ac_emv_arpc1.arpc")["inputs"]["key"]
    assert page.results.rowCount() == len(page.result.rows)  # type: ignore[union-attr]


def test_arqc_by_cvn_vector_with_intermediate_values(qtbot: Any, window: MainWindow) -> None:
    v = vector("pyemv.cvn_visa_10.arqc")
    tags = v["inputs"]["tags"]
    terminal = "".join(tags[t] for t in ("9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37"))
    page = window.pages.calculator
    page.set_operation("arqc")
    page.fill({"cvn": "10", "imk": v["inputs"]["card"]["iss_mk_ac"], "pan": v["inputs"]["card"]["pan"],
               "psn": v["inputs"]["card"]["psn"], "atc": tags["9F36"], "terminal_data": terminal,
               "aip": tags["82"], "iad": "06010A" + v["inputs"]["cvr"]})  # Visa IAD: length, DKI, CVN 0A, CVR; fmt: skip
    compute_on_page(qtbot, window)
    assert page.result_value("ARQC") == v["expected"]["arqc"]
    assert page.result_value("ICC MK KCV", ).startswith(v["expected"]["icc_mk_ac_kcv"])  # type: ignore[union-attr]
    assert page.result_value("Cryptogram input") and page.result_value("Padded input")
    # verification of the same vector: OK, and FAIL with one bit changed
    page.set_operation("verify-arqc")
    page.fill_example()
    compute_on_page(qtbot, window)
    assert page.result is not None and page.result.verdict == "OK" and "OK" in page.verdict.text()
    editor(page, "arqc").setText("29CCA15AE665FA2F")
    compute_on_page(qtbot, window)
    assert page.result.verdict == "FAIL" and "FAIL" in page.verdict.text()  # type: ignore[union-attr]


def test_bad_hex_is_refused_inline_and_nothing_is_computed(qtbot: Any, window: MainWindow) -> None:
    page = window.pages.calculator
    page.set_operation("derive-mk")
    page.fill_example()
    field = editor(page, "imk")
    field.setText("0123456789ABCDEFFEDCBA98765432G0")
    error = page.errors["imk"]
    assert not error.isHidden() and "not hex" in error.text() and "character 31" in error.text()
    field.setText("0123")
    assert "must be 16 bytes, got 2" in error.text()
    field.setText("012")
    assert "odd number of hex digits" in error.text()
    with qtbot.assertNotEmitted(page.computeRequested):
        qtbot.mouseClick(page.compute, Qt.MouseButton.LeftButton)
    assert "Correct the fields" in page.form_error.text() and page.result is None
    field.setText("0123456789ABCDEFFEDCBA9876543210")
    assert error.isHidden()


def test_problems_found_by_the_computation_come_back_to_their_field(qtbot: Any, window: MainWindow) -> None:
    page = window.pages.calculator
    page.set_operation("arqc")
    page.fill_example()
    editor(page, "icc_mk").setText("00" * 16)  # both the IMK and the ICC MK: ambiguous
    qtbot.mouseClick(page.compute, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.errors["imk"].isHidden(), timeout=20_000)
    assert "either" in page.errors["imk"].text() and page.result is None


def test_every_operation_computes_its_example() -> None:
    for op in OPERATIONS:
        result = compute(op.id, op.example)
        assert result.rows and result.verdict in (None, "OK"), op.id
    with pytest.raises(FieldError) as caught:
        compute("totp", {"secret": "zz"})
    assert caught.value.key == "secret"
