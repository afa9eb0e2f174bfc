"""The Qt models over a run: timeline, APDU log, TLV tree, checks — fed with real events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.gui.models.apdu_log import ApduLogModel, Column
from app.gui.models.checks import ChecksModel
from app.gui.models.display import HexMasker, format_elapsed
from app.gui.models.run import ItemKind, RunModel
from app.gui.models.tlv_tree import TlvTreeModel
from app.gui.worker import RunStatus
from protocol.tap.events import (
    ApduExchanged,
    CheckStatus,
    DataDecoded,
    DecodedNode,
    Outcome,
    Step,
    VerdictReached,
)
from card_emulation.profile import load_profile
from tests.gui.support import PROFILE, tap_events

pytestmark = pytest.mark.gui

PAN = load_profile(PROFILE).applications[0].pan  # the emulated card's PAN, which no widget may show


@pytest.fixture(scope="module")
def accepted(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    events, result = tap_events(tmp_path_factory.mktemp("data"))
    assert result.status is RunStatus.VERDICT, result.message
    return events


def filled(events: list[Any]) -> RunModel:
    run = RunModel()
    for event in events:
        run.add(event)
    return run


def test_timeline_files_every_event_in_order(qapp: Any, accepted: list[Any]) -> None:
    run = filled(accepted)
    apdus = [e for e in accepted if isinstance(e, ApduExchanged)]
    assert run.apdu_count == len(apdus) > 5
    assert [i.event for i in run.items if i.kind is ItemKind.APDU] == apdus
    assert [i.apdu_number for i in run.items if i.kind is ItemKind.APDU] == list(range(1, len(apdus) + 1))
    decoded = [e for e in accepted if isinstance(e, DataDecoded)]
    assert sum(len(i.decoded) for i in run.items) == len(decoded)  # attached, not rows
    assert run.verdict is not None and run.verdict.outcome is Outcome.ACCEPT
    assert run.items[-1].kind in (ItemKind.VERDICT, ItemKind.MESSAGE)


def test_detail_of_generate_ac_has_its_data_crypto_and_checks(qapp: Any, accepted: list[Any]) -> None:
    run = filled(accepted)
    index = run.first_index(ItemKind.APDU, Step.GENERATE_AC)
    detail = run.detail(index)
    assert detail is not None
    assert "cryptogram" in detail.explanation.lower() and "EMV" in detail.reference
    assert [d.label for d in detail.decoded] == ["Application cryptogram"]
    assert any("Signed Dynamic Application Data" in c.operation for c in detail.crypto)
    assert {c.check for c in detail.checks} >= {"cryptogram type"}
    assert run.detail(-1) is None and run.detail(len(run)) is None


def test_cursor_steps_within_bounds(qapp: Any, accepted: list[Any]) -> None:
    run = filled(accepted)
    seen: list[int] = []
    run.currentChanged.connect(seen.append)
    run.step_back()
    assert run.current == 0
    run.step_forward()
    run.step_forward()
    assert run.current == 2
    run.set_current(len(run) + 10)
    assert run.current == len(run) - 1
    run.step_forward()
    assert run.current == len(run) - 1
    assert seen == [0, 1, 2, len(run) - 1]
    run.clear()
    assert run.current == -1 and len(run) == 0 and run.apdu_count == 0


def test_apdu_log_model(qapp: Any, qtmodeltester: Any, accepted: list[Any]) -> None:
    run = RunModel()
    model = ApduLogModel(run)
    qtmodeltester.check(model)
    for event in accepted:
        run.add(event)
    qtmodeltester.check(model)
    apdus = [e for e in accepted if isinstance(e, ApduExchanged)]
    assert model.rowCount() == len(apdus)
    assert model.columnCount() == len(Column)
    first = model.index(0, Column.COMMAND)
    assert model.data(first) == "SELECT PPSE"
    assert model.data(model.index(0, Column.SW)) == "9000"
    assert model.data(model.index(0, Column.DIRECTION)) == "Phone → Card"
    assert model.data(model.index(0, Column.COMMAND_BYTES)).startswith("00 A4 04 00")
    row = model.row_for_item(run.first_index(ItemKind.APDU, Step.GENERATE_AC))
    assert model.item_for_row(row).step is Step.GENERATE_AC
    run.clear()
    assert model.rowCount() == 0


def test_no_pan_in_any_cell_of_the_log(qapp: Any, accepted: list[Any]) -> None:
    run = filled(accepted)
    model = ApduLogModel(run)
    spaced = " ".join(PAN[i : i + 2] for i in range(0, len(PAN), 2))
    texts = []
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            for role in (0, 3):  # display, tooltip
                value = model.data(model.index(row, column), role)
                texts.append(str(value))
    blob = "\n".join(texts)
    masked = " ".join(PAN[:6][i : i + 2] for i in (0, 2, 4)) + " ** ** ** " + PAN[-4:-2] + " " + PAN[-2:]
    assert masked in blob  # the masked PAN is shown (first 6 / last 4)...
    assert PAN not in blob and spaced not in blob  # ...the full PAN never is


def test_masker_masks_sensitive_tlv_values() -> None:
    masker = HexMasker()
    record = bytes.fromhex("70 15 5A 08 5599990016000018 5F24 03 320630 9F08 02 0002".replace(" ", ""))
    text = masker.masked(record)
    assert "55 99 99 ** ** ** 00 18" in text and "32 06 30" in text
    track2 = bytes.fromhex("57 13 5599990016000018 D3206201 0000000000000F".replace(" ", ""))
    masked_track = masker.masked(track2)
    assert "55 99 99 ** ** ** 00 18 D3 20 62 01" in masked_track and "00 00 00" not in masked_track
    masker.learn(record)
    echoed = bytes.fromhex("DF01 08 5599990016000018".replace(" ", ""))
    assert masker.masked(echoed) == "DF 01 08 55 99 99 ** ** ** 00 18"  # a known PAN is scrubbed anywhere
    assert masker.masked(b"\x01\x02") == "01 02"  # not TLV: shown as is
    truncated = record[:-3]  # malformed TLV: the PAN is still found and masked
    assert "55 99 99 ** ** ** 00 18" in HexMasker().masked(truncated)
    assert format_elapsed(None) == "—" and format_elapsed(1_720_000) == "1.72 ms" and format_elapsed(108_000) == "108 µs"


def test_tlv_tree_model(qapp: Any, qtmodeltester: Any) -> None:
    leaf = DecodedNode("9F27", "Cryptogram Information Data (CID)", "80", "ARQC")
    node = DecodedNode("77", "Response Message Template Format 2", "9F2701", "1 data object(s)", (leaf,))
    one = DataDecoded(Step.GENERATE_AC, "Application cryptogram", (node,))
    two = DataDecoded(Step.READ_RECORDS, "SFI 1 record 1", (leaf, leaf))
    model = TlvTreeModel()
    qtmodeltester.check(model)
    model.set_data((one,))
    qtmodeltester.check(model)
    assert model.rowCount() == 1 and model.node_count() == 2 and model.labels == ("Application cryptogram",)
    top = model.index(0, 0)
    child = model.index(0, 2, top)
    assert model.data(top) == "77" and model.data(child) == "80" and model.data(model.index(0, 3, top)) == "ARQC"
    assert model.parent(child) == top
    model.set_data((one, two))
    qtmodeltester.check(model)
    assert model.rowCount() == 2 and model.node_count() == 4
    assert model.data(model.index(1, 0)) == "SFI 1 record 1" and model.span_row(model.index(1, 0))


def test_checks_model_shows_the_verdict_checks(qapp: Any, qtmodeltester: Any, accepted: list[Any]) -> None:
    run = RunModel()
    model = ChecksModel(run)
    qtmodeltester.check(model)
    for event in accepted:
        run.add(event)
        if isinstance(event, VerdictReached):
            break
    qtmodeltester.check(model)
    assert model.final
    verdict = run.verdict
    assert verdict is not None
    assert [model.check(r) for r in range(model.rowCount())] == list(verdict.checks)
    assert all(model.check(r).status is CheckStatus.PASSED for r in range(model.rowCount()))
    assert model.data(model.index(0, 0)) == "✓" and model.title().startswith("Verifier checks:")
    run.clear()
    assert model.rowCount() == 0 and not model.final


def test_reject_run_files_the_failed_arqc(qapp: Any, tmp_path: Path) -> None:
    events, result = tap_events(tmp_path, faults="genac:corrupt-ac")
    assert result.status is RunStatus.VERDICT
    run = filled(events)
    assert run.verdict is not None and run.verdict.outcome is Outcome.REJECT
    failed = [c.check for c in run.verdict.checks if c.status is CheckStatus.FAILED]
    assert "ARQC" in failed
    assert any("ARQC" in reason for reason in run.verdict.reasons)
