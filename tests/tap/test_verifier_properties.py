"""Hostile input never breaks the verifier: arbitrary bytes and mutated valid assertions.

For any input, :meth:`Verifier.verify` returns a REJECT (or, for a harmless
mutation of a fresh valid assertion, whatever the checks decide) and never
raises; the store stays consistent (``integrity_report`` clean) and no card's ATC
ever goes down.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.flow.store import SqliteVerifierStore
from protocol.tap.assertion import Assertion, RecordRead
from protocol.tap.events import Outcome
from protocol.tap.verifier import Verifier
from protocol.tap.verifier_result import TAP_CHECKS
from tests.flow.support import DEVICE_KEY, TRANSACTION, enrol, make_card, make_verifier, tap

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILES = ("visa-cvn18-dda", "mastercard-cvn16-cda", "legacy-sda")


class World:
    """One verifier with the three cards enrolled, shared by the examples of this module."""

    def __init__(self) -> None:
        self.store = SqliteVerifierStore(":memory:")
        self.verifier: Verifier = make_verifier(self.store)
        self.cards = {name: make_card(name) for name in PROFILES}
        for card in self.cards.values():
            assert enrol(self.verifier, card).accepted
        self.atc: dict[bytes, int] = self._atcs()

    def _atcs(self) -> dict[bytes, int]:
        rows = self.store._read("SELECT card_ref, last_atc FROM cards")
        return {bytes(r[0]): r[1] for r in rows}

    def check(self) -> None:
        now = self._atcs()
        for ref, atc in self.atc.items():
            assert now[ref] >= atc, "an ATC went down"
        self.atc = now
        report = self.store.integrity_report()
        assert report.ok, report.problems

    def fresh(self, name: str) -> Assertion:
        return tap(self.cards[name], self.verifier.issue_challenge(TRANSACTION))


@cache
def world() -> World:
    return World()


def _verify(data: Any) -> None:
    w = world()
    result = w.verifier.verify(data)
    assert [c.check for c in result.checks] == list(TAP_CHECKS)
    assert result.verdict.outcome in Outcome
    if result.outcome is Outcome.REJECT:
        assert result.reasons
    assert not any("internal error" in c.detail for c in result.checks), result.reasons  # the safety net stays unused
    w.check()


@SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    _verify(data)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


@SETTINGS
@given(JSON)
def test_arbitrary_json(value: Any) -> None:
    _verify(json.dumps(value).encode())


HEX_FIELDS = ("aid", "pdol_data", "gpo_response", "ddol_data", "internal_authenticate_response", "cdol1_data",
              "generate_ac_response")  # fmt: skip


@st.composite
def mutation(draw: st.DrawFn) -> tuple[str, str, int, bytes, bool]:
    field = draw(st.sampled_from((*HEX_FIELDS, "record", "p1", "json")))
    op = draw(st.sampled_from(("flip", "truncate", "extend", "replace")))
    index = draw(st.integers(min_value=0, max_value=300))
    extra = draw(st.binary(min_size=1, max_size=40))
    resign = draw(st.booleans())
    return field, op, index, extra, resign


def _mutate(value: bytes, op: str, index: int, extra: bytes) -> bytes:
    if op == "flip":
        if not value:
            return extra[:1]
        i = index % len(value)
        return value[:i] + bytes([value[i] ^ (extra[0] or 1)]) + value[i + 1 :]
    if op == "truncate":
        return value[: index % (len(value) + 1)]
    if op == "extend":
        i = index % (len(value) + 1)
        return value[:i] + extra + value[i:]
    return extra


@SETTINGS
@given(st.sampled_from(PROFILES), mutation())
def test_mutated_valid_assertions(name: str, change: tuple[str, str, int, bytes, bool]) -> None:
    field, op, index, extra, resign = change
    good = world().fresh(name)
    evidence = good.evidence
    if field == "json":
        raw = good.to_bytes()
        _verify(_mutate(raw, op, index * 37, extra))
        return
    if field == "record":
        i = index % len(evidence.records)
        old = evidence.records[i]
        records = list(evidence.records)
        records[i] = RecordRead(old.sfi, old.record, _mutate(old.data, op, index, extra), old.for_oda)
        evidence = dataclasses.replace(evidence, records=tuple(records))
    elif field == "p1":
        evidence = dataclasses.replace(evidence, generate_ac_p1=extra[0])
    else:
        evidence = dataclasses.replace(evidence, **{field: _mutate(getattr(evidence, field), op, index, extra)})
    mutated = dataclasses.replace(good, evidence=evidence)
    if resign:
        mutated = dataclasses.replace(mutated, signature=b"").signed_by(DEVICE_KEY)
    _verify(mutated.to_bytes())
