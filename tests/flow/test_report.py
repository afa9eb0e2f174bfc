"""The one-page HTML report (app/flow/report.py): self-contained, masked, escaped, for every way a run ends."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from app.flow.report import html_report
from app.flow.service import TapService
from app.flow.sources import CardSource
from protocol.tap.events import SessionFailed, Step
from protocol.tap.trace import Trace, from_json, to_json
from protocol.tap.transaction import Transaction, TransactionType

PAN = "5599990016000018"  # the emulated mastercard-cvn16-cda TEST card
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    data = tmp_path_factory.mktemp("report")
    transaction = Transaction(TransactionType.PAYMENT, 50_000, "410", "Café <script>alert(1)</script> & Co", 1_767_225_600)
    with TapService(data, now=lambda: 1_767_225_600.0) as service:
        outcome = service.tap(transaction, CardSource(), user_id="alice")
    assert outcome.accepted
    return Trace(NOW, "0.1.0-test", "Emulated card", "559999******0018", outcome.events, outcome.challenge,
                 outcome.assertion)  # fmt: skip


def test_report_is_self_contained_masked_and_escaped(trace: Trace) -> None:
    page = html_report(trace)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page and "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)\s*=""", page)  # nothing fetched from anywhere
    assert PAN not in page and "559999******0018" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "✓ ACCEPT" in page and "Verifier's checks" in page
    for check in ("challenge unused", "device signature", "transaction binding", "ARQC", "ATC increasing"):
        assert f"<td>{check}</td>" in page
    assert "Generate AC (ARQC)" in page and "GENERATE AC" in page
    assert re.search(r"\d+ APDU exchanges, [\d.]+ ms with the card in total", page)


def test_report_of_a_masked_trace_file_equals_the_report_of_the_run(trace: Trace, tmp_path: Path) -> None:
    reread = from_json(to_json(trace))
    assert html_report(reread) == html_report(trace)


def test_report_of_a_failed_and_of_an_empty_run(trace: Trace) -> None:
    failed = Trace(NOW, "t", "NFC", "card", (*trace.events[:8], SessionFailed(Step.READ_RECORDS, "the card left", "X")))
    page = html_report(failed)
    assert "TAP FAILED" in page and "the card left" in page and "Read records" in page
    empty = html_report(Trace(NOW, "t", "NFC", "card", ()))
    assert "No verdict" in empty and "No APDU was exchanged" in empty and "No checks were reported" in empty
