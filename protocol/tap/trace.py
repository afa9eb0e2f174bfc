"""Trace files: one run of the tap model as JSON, masked by default (docs/traces.md).

A :class:`Trace` holds what a person needs to replay and study a run: when and
with which tool version it was made, the transport and the card, the verifier's
challenge (with the transaction T), every typed event
(:mod:`protocol.tap.events`) in order, and the phone's assertion when there was
one.

Writing (:func:`to_json`) masks card data unless ``reveal=True`` (DESIGN.md §7):
every APDU through :func:`protocol.trace_masking.mask_exchanges`, the values of
decoded nodes and the assertion's card answers through the same byte-level rules,
and every PAN seen in the session is scrubbed from all text. A masked trace says
so (``"masked": true``); its assertion no longer matches its device signature,
and offline data authentication cannot be re-checked from it (the ICC public key
certificate is zeroed): it is for reading, not for re-verification.

Reading (:func:`from_json`) treats the file as hostile: size limits first, strict
JSON (no duplicate keys, no NaN, no floats), then an exact schema — every object
has exactly the expected fields, with the expected types, bounded lengths and
counts — and a :class:`TraceFormatError` that says what is wrong and where
(``"event 12: unknown type 'Foo'"``). Nothing else escapes.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import Any

from protocol.errors import MalformedDataError, ProtocolError, UsageError
from protocol.masking import redact_pan
from protocol.tap import events as ev
from protocol.tap.assertion import Assertion, MalformedAssertion
from protocol.tap.challenge import NONCE_LENGTH, Challenge
from protocol.tap.transaction import Transaction
from protocol.trace_masking import mask_assertion, mask_decoded_node, mask_exchanges, scrub_texts, session_pans

FORMAT_ID = "trustone-trace"
FORMAT_VERSION = 1
MAX_TRACE_CHARS = 16 * 1024 * 1024
MAX_EVENTS = 10_000
MAX_ITEMS = 4_096  # any other list (reasons, checks, inputs, nodes, children)
MAX_NODES = 200_000  # decoded nodes in the whole trace
MAX_NODE_DEPTH = 64  # nesting levels of lists and objects inside one event
MAX_TEXT = 140_000  # characters of one string (a decoded value of 64 KiB in hex fits)
MAX_BYTES = 65_544  # one APDU: extended case 4 (7 + 65535 + 2) or 65536 + SW
MAX_INT = 2**63 - 1
MAX_LABEL = 256  # tool version, challenge id

EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        ev.StepStarted, ev.MessageSent, ev.ApduExchanged, ev.DataDecoded,
        ev.CryptoComputed, ev.CheckCompleted, ev.VerdictReached, ev.SessionFailed,
    )
}  # fmt: skip
_TOP_FIELDS = ("format", "version", "created", "tool_version", "masked", "transport", "card",
               "challenge", "events", "assertion")  # fmt: skip


class TraceFormatError(MalformedDataError):
    """A trace file is not what this program writes; ``where`` and ``reason`` say why.

    ``where`` is a path into the file (``"event 12 (ApduExchanged): command"``),
    empty when the problem concerns the whole file.
    """

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason, None, what="TrustOne trace")
        self.where = where
        self.args = (f"{where}: {reason}" if where else reason,)


@dataclass(frozen=True)
class Trace:
    """One run: context, challenge, events in order, and the assertion if one was made.

    ``created`` is a timezone-aware time (written as UTC). ``masked`` is true for a
    trace read from a masked file (or masked with :func:`masked_trace`): its card
    data cannot be revealed again.
    """

    created: datetime
    tool_version: str
    transport: str
    card: str
    events: tuple[ev.Event, ...]
    challenge: Challenge | None = None
    assertion: Assertion | None = None
    masked: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.created, datetime) or self.created.tzinfo is None:
            raise UsageError("created must be a timezone-aware datetime")

    def apdu_exchanges(self) -> tuple[ev.ApduExchanged, ...]:
        return tuple(e for e in self.events if isinstance(e, ev.ApduExchanged))


# --------------------------------------------------------------------------- masking


def masked_trace(trace: Trace) -> Trace:
    """``trace`` with its card data masked for export (idempotent)."""
    apdus = trace.apdu_exchanges()
    pairs = [(e.command, e.response) for e in apdus]
    pans = set(session_pans(pairs))
    if trace.assertion is not None:
        pans |= session_pans([(b"", r.data + b"\x90\x00") for r in trace.assertion.evidence.records])
    masked_pairs = iter(mask_exchanges(pairs))

    def text(value: str) -> str:
        for pan in pans:
            value = redact_pan(value, pan)
        return value

    def event(item: ev.Event) -> ev.Event:
        if isinstance(item, ev.ApduExchanged):
            command, response = next(masked_pairs)
            return dataclasses.replace(scrub_texts(item, text), command=command, response=response)
        if isinstance(item, ev.DataDecoded):
            return dataclasses.replace(scrub_texts(item, text), nodes=tuple(mask_decoded_node(n, text) for n in item.nodes))
        return scrub_texts(item, text)

    return Trace(
        trace.created, trace.tool_version, text(trace.transport), text(trace.card),
        tuple(event(e) for e in trace.events), trace.challenge,
        None if trace.assertion is None else mask_assertion(trace.assertion, pans), masked=True,
    )  # fmt: skip


# --------------------------------------------------------------------------- writing


def to_json(trace: Trace, *, reveal: bool = False) -> str:
    """The trace file's text; card data masked unless ``reveal`` (then marked unmasked)."""
    shown = trace if reveal else masked_trace(trace)
    document = {
        "format": FORMAT_ID,
        "version": FORMAT_VERSION,
        "created": trace.created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "tool_version": trace.tool_version,
        "masked": shown.masked,
        "transport": shown.transport,
        "card": shown.card,
        "challenge": None if trace.challenge is None else trace.challenge.to_dict(),
        "events": [{"type": type(e).__name__, **_encode(e)} for e in shown.events],
        "assertion": None if shown.assertion is None else json.loads(shown.assertion.to_bytes()),
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _encode(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode_field(f.name, getattr(value, f.name)) for f in fields(value)}
    return value


def _encode_field(name: str, value: Any) -> Any:
    """Status words are written as people read them (``"9000"``), everything else by type."""
    return f"{value:04X}" if name == "sw" and isinstance(value, int) else _encode(value)


# --------------------------------------------------------------------------- reading


def from_json(text: str | bytes) -> Trace:
    """Parse and validate a trace file's text; raises :class:`TraceFormatError` only."""
    if isinstance(text, bytes | bytearray):
        if len(text) > MAX_TRACE_CHARS:
            raise TraceFormatError("", f"the file is larger than {MAX_TRACE_CHARS} bytes")
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TraceFormatError("", f"not a TrustOne trace: not UTF-8 text (byte {exc.start})") from None
    if not isinstance(text, str):
        raise TraceFormatError("", f"expected the file's text, got {type(text).__name__}")
    if len(text) > MAX_TRACE_CHARS:
        raise TraceFormatError("", f"the file is larger than {MAX_TRACE_CHARS} characters")
    document = _load(text)
    if not isinstance(document, dict) or document.get("format") != FORMAT_ID:
        raise TraceFormatError("", f'not a TrustOne trace (no "format": "{FORMAT_ID}" at the top)')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TraceFormatError("version", f"must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise TraceFormatError(
            "", f"written by a newer TrustOne: format version {version}; this program reads version {FORMAT_VERSION}"
        )
    _exact_keys(document, _TOP_FIELDS, "the top-level object")
    masked = document["masked"]
    if not isinstance(masked, bool):
        raise TraceFormatError("masked", "must be true or false")
    raw_events = document["events"]
    if not isinstance(raw_events, list):
        raise TraceFormatError("events", "must be a list")
    if len(raw_events) > MAX_EVENTS:
        raise TraceFormatError("events", f"{len(raw_events)} events; at most {MAX_EVENTS} are read")
    budget = [MAX_NODES]
    return Trace(
        created=_created(document["created"]),
        tool_version=_text(document["tool_version"], "tool_version", MAX_LABEL),
        transport=_text(document["transport"], "transport", MAX_TEXT),
        card=_text(document["card"], "card", MAX_TEXT),
        events=tuple(_event(item, i, budget) for i, item in enumerate(raw_events)),
        challenge=None if document["challenge"] is None else _challenge(document["challenge"]),
        assertion=None if document["assertion"] is None else _assertion(document["assertion"]),
        masked=masked,
    )


def _load(text: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise TraceFormatError("", f"not a TrustOne trace: the key {key[:40]!r} appears twice in one object")
            result[key] = value
        return result

    def no_constant(name: str) -> Any:
        raise TraceFormatError("", f"not a TrustOne trace: {name} is not a JSON number this format uses")

    def no_float(literal: str) -> Any:
        raise TraceFormatError("", f"not a TrustOne trace: {literal[:20]!r} is not an integer")

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant, parse_float=no_float)
    except RecursionError:
        raise TraceFormatError("", "not a TrustOne trace: JSON nested too deeply") from None
    except TraceFormatError:
        raise
    except json.JSONDecodeError as exc:
        raise TraceFormatError("", f"not a TrustOne trace: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise TraceFormatError("", f"not a TrustOne trace: {exc}") from None


def _exact_keys(obj: Any, expected: tuple[str, ...] | set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise TraceFormatError(where, "must be an object")
    missing = sorted(set(expected) - obj.keys())
    if missing:
        raise TraceFormatError(where, f"lacks {', '.join(missing)}")
    extra = sorted(obj.keys() - set(expected))
    if extra:
        raise TraceFormatError(where, f"has unexpected field(s) {', '.join(repr(k[:40]) for k in extra[:5])}")
    return obj


def _text(value: Any, where: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise TraceFormatError(where, f"must be a string, got {_kind(value)}")
    if len(value) > limit:
        raise TraceFormatError(where, f"longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise TraceFormatError(where, "is not valid Unicode (lone surrogate)") from None
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null",
            int: "an integer"}.get(type(value), type(value).__name__)  # fmt: skip


def _created(value: Any) -> datetime:
    text = _text(value, "created", 64)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TraceFormatError("created", f"is not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        raise TraceFormatError("created", "has no time zone (write it in UTC, ending in Z)")
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise TraceFormatError("created", f"is out of range: {text!r}") from None


def _event(item: Any, index: int, budget: list[int]) -> ev.Event:
    where = f"event {index}"
    if not isinstance(item, dict):
        raise TraceFormatError(where, "must be an object")
    kind = item.get("type")
    if not isinstance(kind, str):
        raise TraceFormatError(where, 'lacks its "type"')
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise TraceFormatError(where, f"unknown type {kind[:40]!r}")
    body = {k: v for k, v in item.items() if k != "type"}
    return _decode_dataclass(cls, body, f"{where} ({kind})", 0, budget)  # type: ignore[no-any-return]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode_dataclass(cls: type, obj: Any, where: str, depth: int, budget: list[int]) -> Any:
    if depth > MAX_NODE_DEPTH:
        raise TraceFormatError(where, f"nested more than {MAX_NODE_DEPTH} levels deep")
    names = tuple(f.name for f in fields(cls))
    _exact_keys(obj, names, where)
    if cls is ev.DecodedNode:
        budget[0] -= 1
        if budget[0] < 0:
            raise TraceFormatError(where, f"more than {MAX_NODES} decoded nodes in the trace")
    hints = _hints(cls)
    values = {
        name: _sw(obj[name], f"{where}: sw") if name == "sw" and hints[name] is int
        else _decode(hints[name], obj[name], f"{where}: {name}", depth, budget)
        for name in names
    }  # fmt: skip
    try:
        return cls(**values)
    except (ProtocolError, ValueError, TypeError) as exc:
        raise TraceFormatError(where, f"inconsistent values ({exc})") from None


def _decode(hint: Any, value: Any, where: str, depth: int, budget: list[int]) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None and len(options) < len(typing.get_args(hint)):
            return None
        return _decode(options[0], value, where, depth, budget)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise TraceFormatError(where, f"must be a list, got {_kind(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            if len(value) > MAX_ITEMS:
                raise TraceFormatError(where, f"more than {MAX_ITEMS} items")
            return tuple(_decode(args[0], v, f"{where}[{i}]", depth + 1, budget) for i, v in enumerate(value))
        if len(value) != len(args):
            raise TraceFormatError(where, f"must have exactly {len(args)} items")
        return tuple(_decode(a, v, f"{where}[{i}]", depth + 1, budget) for i, (a, v) in enumerate(zip(args, value)))
    if hint is str:
        return _text(value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise TraceFormatError(where, "must be true or false")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INT:
            raise TraceFormatError(where, f"must be a non-negative integer, got {_kind(value)}")
        return value
    if hint is bytes:
        return _hex(value, where)
    if isinstance(hint, type) and issubclass(hint, Enum):
        if not isinstance(value, str) or value not in hint.__members__:
            raise TraceFormatError(where, f"must be one of {', '.join(hint.__members__)}")
        return hint[value]
    if isinstance(hint, type) and is_dataclass(hint):
        return _decode_dataclass(hint, value, where, depth + 1, budget)
    raise TraceFormatError(where, f"this program cannot read values of type {hint!r}")  # pragma: no cover


def _sw(value: Any, where: str) -> int:
    if not isinstance(value, str) or len(value) != 4:
        raise TraceFormatError(where, 'must be a status word of 4 hex digits ("9000")')
    return int.from_bytes(_hex(value, where), "big")


def _hex(value: Any, where: str, limit: int = MAX_BYTES) -> bytes:
    if not isinstance(value, str):
        raise TraceFormatError(where, f"must be a hex string, got {_kind(value)}")
    if len(value) > 2 * limit:
        raise TraceFormatError(where, f"longer than {limit} bytes")
    if not value.isascii():
        raise TraceFormatError(where, "is not valid hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise TraceFormatError(where, "is not valid hex") from None


_CHALLENGE_FIELDS = {"challenge_id": str, "nonce": bytes, "transaction": None, "issued_at": int, "expires_at": int}
_TRANSACTION_FIELDS = {"type": str, "amount_minor": int, "currency": str, "payee": str, "timestamp": int}


def _challenge(obj: Any) -> Challenge:
    body = _exact_keys(obj, tuple(_CHALLENGE_FIELDS), "challenge")
    t = _exact_keys(body["transaction"], tuple(_TRANSACTION_FIELDS), "challenge: transaction")
    for key, kind in _TRANSACTION_FIELDS.items():
        _decode(kind, t[key], f"challenge: transaction: {key}", 0, [0])
    v = {key: _decode(kind, body[key], f"challenge: {key}", 0, [0]) for key, kind in _CHALLENGE_FIELDS.items() if kind}
    if len(v["nonce"]) != NONCE_LENGTH:
        raise TraceFormatError("challenge: nonce", f"must be {NONCE_LENGTH} bytes")
    if len(v["challenge_id"]) > MAX_LABEL:
        raise TraceFormatError("challenge: challenge_id", f"longer than {MAX_LABEL} characters")
    try:
        return Challenge(v["challenge_id"], v["nonce"], Transaction.from_dict(t), v["issued_at"], v["expires_at"])
    except ProtocolError as exc:
        raise TraceFormatError("challenge", str(exc)) from None


def _assertion(obj: Any) -> Assertion:
    if not isinstance(obj, dict):
        raise TraceFormatError("assertion", "must be an object")
    try:
        return Assertion.from_bytes(json.dumps(obj).encode("utf-8"))
    except MalformedAssertion as exc:
        raise TraceFormatError(f"assertion: {exc.field}", exc.reason) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise TraceFormatError("assertion", f"unreadable ({type(exc).__name__})") from None


__all__ = ["FORMAT_ID", "FORMAT_VERSION", "Trace", "TraceFormatError", "from_json", "masked_trace", "to_json"]
