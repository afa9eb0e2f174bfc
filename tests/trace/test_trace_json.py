"""JSON trace files (protocol.tap.trace): round trips, masking, and hostile input."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import MalformedDataError, UsageError
from protocol.tap.events import ApduExchanged, SessionFailed, Step
from protocol.tap.trace import (
    FORMAT_ID,
    MAX_TRACE_CHARS,
    Trace,
    TraceFormatError,
    from_json,
    masked_trace,
    to_json,
)
from tests.trace.support import CHALLENGE, pan_of, tap

PROFILES = ("visa-cvn18-dda", "mastercard-cvn16-cda", "legacy-sda")


@pytest.fixture(scope="module")
def trace() -> Trace:
    return tap().trace()


@pytest.fixture(scope="module")
def document(trace: Trace) -> dict[str, Any]:
    return json.loads(to_json(trace))  # type: ignore[no-any-return]


def error_of(text: str | bytes) -> str:
    with pytest.raises(TraceFormatError) as caught:
        from_json(text)
    return str(caught.value)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("profile", PROFILES)
def test_revealed_round_trip_is_exact(profile: str) -> None:
    original = tap(profile).trace()
    text = to_json(original, reveal=True)
    assert json.loads(text)["masked"] is False
    assert from_json(text) == original
    assert from_json(text.encode("utf-8")) == original


@pytest.mark.parametrize("profile", PROFILES)
def test_masked_round_trip_and_idempotence(profile: str) -> None:
    original = tap(profile).trace()
    text = to_json(original)
    back = from_json(text)
    assert back.masked and back == masked_trace(original)
    assert to_json(back) == text and to_json(back, reveal=True) == text  # masked stays masked
    assert masked_trace(back) == back


@pytest.mark.parametrize("profile", PROFILES)
def test_a_masked_trace_carries_no_pan_and_no_certificate(profile: str) -> None:
    original = tap(profile).trace()
    pan = pan_of(profile)
    text = to_json(original)
    assert pan not in text and pan[:-4] not in text and pan[6:] not in text
    revealed = to_json(original, reveal=True)
    assert pan in revealed  # the test would be vacuous otherwise
    back = from_json(text)
    for event in back.apdu_exchanges():
        assert len(event.command) == len(_raw(original, event).command)
    if back.assertion is not None:
        records = b"".join(r.data for r in back.assertion.evidence.records).hex().upper()
        assert pan not in records and pan[:-4] not in records and pan[6:] not in records


def _raw(original: Trace, masked_event: ApduExchanged) -> ApduExchanged:
    index = [e for e in original.events if isinstance(e, ApduExchanged)]
    position = [e for e in from_json(to_json(original)).events if isinstance(e, ApduExchanged)].index(masked_event)
    return index[position]


def test_the_document_says_what_it_is(document: dict[str, Any], trace: Trace) -> None:
    assert document["format"] == FORMAT_ID and document["version"] == 1
    assert document["created"].endswith("Z") and document["masked"] is True
    assert document["challenge"]["transaction"]["payee"] == "Coffee Shop Seoul"
    kinds = {event["type"] for event in document["events"]}
    assert {"StepStarted", "ApduExchanged", "DataDecoded", "CryptoComputed", "CheckCompleted", "MessageSent"} <= kinds
    first_apdu = next(e for e in document["events"] if e["type"] == "ApduExchanged")
    assert first_apdu["sw"] == "9000" and first_apdu["command"].startswith("00A40400")
    assert document["assertion"]["challenge_id"] == CHALLENGE.challenge_id


def test_decoded_certificate_nodes_are_zeroed(document: dict[str, Any]) -> None:
    def nodes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [n for item in items for n in (item, *nodes(item["children"]))]

    decoded = [n for e in document["events"] if e["type"] == "DataDecoded" for n in nodes(e["nodes"])]
    certificates = [n for n in decoded if n["tag"] == "9F46"]
    assert certificates and all(set(n["value_hex"]) <= {"0"} for n in certificates)


def test_a_trace_without_challenge_or_assertion() -> None:
    failure = SessionFailed(Step.SELECT_PPSE, "The card was removed.", "CardRemovedError")
    trace = Trace(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), "0.1.0", "NFC udp:127.0.0.1:1", "?", (failure,))
    assert from_json(to_json(trace)) == dataclasses.replace(trace, masked=True)
    with pytest.raises(UsageError):  # naive times are refused when building a trace
        Trace(datetime.datetime(2026, 1, 1), "0.1.0", "x", "y", ())


# --------------------------------------------------------------------------- hostile input


def test_not_a_trace() -> None:
    assert "not a TrustOne trace" in error_of("[1, 2, 3]")
    assert "not a TrustOne trace" in error_of('{"format": "pcapng"}')
    assert "not a TrustOne trace: not JSON" in error_of("{")
    assert "not UTF-8" in error_of(b"\xff\xfe{}")
    assert "nested too deeply" in error_of("[" * 100_000 + "]" * 100_000)
    assert "larger than" in error_of(" " * (MAX_TRACE_CHARS + 1))


def test_newer_version_is_named(document: dict[str, Any]) -> None:
    newer = dict(document, version=3)
    assert error_of(json.dumps(newer)) == (
        "written by a newer TrustOne: format version 3; this program reads version 1"
    )
    assert error_of(json.dumps(dict(document, version=0))).startswith("version: must be a positive integer")


def mutate(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> str:
    changed = copy.deepcopy(document)
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(changed)


def test_errors_say_what_and_where(document: dict[str, Any]) -> None:
    apdu = next(i for i, e in enumerate(document["events"]) if e["type"] == "ApduExchanged")
    decoded = next(i for i, e in enumerate(document["events"]) if e["type"] == "DataDecoded")
    cases = {
        ("events", 12, "type"): ("Foo", "event 12: unknown type 'Foo'"),
        ("events", apdu, "command"): ("00A4XYZ", f"event {apdu} (ApduExchanged): command: is not valid hex"),
        ("events", apdu, "sw"): (36864, f"event {apdu} (ApduExchanged): sw: must be a status word"),
        ("events", apdu, "elapsed_ns"): (True, f"event {apdu} (ApduExchanged): elapsed_ns: must be a non-negative"),
        ("events", apdu, "step"): ("SELECT", f"event {apdu} (ApduExchanged): step: must be one of ENROL"),
        ("events", apdu, "extra"): (1, f"event {apdu} (ApduExchanged): has unexpected field(s) 'extra'"),
        ("events", apdu, "response"): (KeyError, f"event {apdu} (ApduExchanged): lacks response"),
        ("events", decoded, "nodes", 0, "children"): ({}, f"event {decoded} (DataDecoded): nodes[0]: children: must be a list"),
        ("created",): ("2026-01-01T00:00:00", "created: has no time zone"),
        ("masked",): ("yes", "masked: must be true or false"),
        ("challenge", "nonce"): ("00", "challenge: nonce: must be 16 bytes"),
        ("challenge", "transaction", "amount_minor"): (-5, "challenge: transaction: amount_minor: must be a non-negative"),
        ("challenge", "transaction", "currency"): ("KRW", "challenge: currency must be an ISO 4217 numeric code"),
        ("assertion", "signature"): ("00", "assertion: signature: must be 64 bytes"),
        ("events",): ({}, "events: must be a list"),
    }
    for path, (value, expected) in cases.items():
        message = error_of(mutate(document, path, value))
        assert message.startswith(expected), (path, message)


def test_strict_json(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert "appears twice" in error_of(text.replace('"masked": true', '"masked": true, "masked": true', 1))
    assert "not an integer" in error_of(text.replace('"version": 1', '"version": 1.0', 1))
    assert "NaN" in error_of(text.replace('"version": 1', '"version": NaN', 1))
    assert "integer" in error_of(text.replace('"version": 1', '"version": ' + "9" * 5000, 1))
    assert "lone surrogate" in error_of(text.replace('"card": "', '"card": "\\ud800', 1))
    assert "out of range" in error_of(text.replace(document["created"], "0001-01-01T00:00:00+14:00", 1))


def test_counts_are_bounded(document: dict[str, Any]) -> None:
    event = next(e for e in document["events"] if e["type"] == "StepStarted")
    assert "at most 10000" in error_of(mutate(document, ("events",), [event] * 10_001))
    deep: dict[str, Any] = {"tag": "70", "name": "", "value_hex": "", "meaning": "", "children": []}
    for _ in range(100):
        deep = {"tag": "70", "name": "", "value_hex": "", "meaning": "", "children": [deep]}
    nested = {"type": "DataDecoded", "step": "READ_RECORDS", "label": "x", "nodes": [deep]}
    assert "nested more than" in error_of(mutate(document, ("events", 0), nested))


def test_the_error_is_a_malformed_data_error() -> None:
    with pytest.raises(MalformedDataError) as caught:
        from_json("[]")
    assert isinstance(caught.value, TraceFormatError) and isinstance(caught.value, ValueError)
    assert caught.value.where == ""


# --------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
HYPOTHESIS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_error(text: str | bytes) -> None:
    try:
        result = from_json(text)
    except TraceFormatError:
        return
    assert isinstance(result, Trace)
    assert from_json(to_json(result, reveal=True)) == result  # whatever was read can be written again
    assert from_json(to_json(result)).masked


@HYPOTHESIS
@given(json_values)
def test_random_json_is_a_trace_or_a_trace_format_error(value: Any) -> None:
    _parse_or_error(json.dumps(value))
    _parse_or_error(json.dumps({"format": FORMAT_ID, "version": 1, "x": value}))


@HYPOTHESIS
@given(st.binary(max_size=200))
def test_random_bytes_are_a_trace_format_error(data: bytes) -> None:
    _parse_or_error(data)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value[:3]):
            found += _paths(child, (*prefix, i))
    return found


@HYPOTHESIS
@given(st.data())
def test_mutated_traces_parse_or_fail_cleanly(document: dict[str, Any], data: st.DataObject) -> None:
    paths = _paths(document)
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(json_values | st.just(KeyError))
    _parse_or_error(mutate(document, path, replacement))


@HYPOTHESIS
@given(st.data())
def test_truncated_and_spliced_text_fails_cleanly(trace: Trace, data: st.DataObject) -> None:
    text = to_json(trace)
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.text(max_size=8))
    _parse_or_error(text[:cut] + insert + text[cut + data.draw(st.integers(0, 8)) :])
