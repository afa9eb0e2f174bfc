"""The assertion the phone sends to the verifier, and its canonical encoding.

DESIGN.md §3 step 6: challenge id, the card's answers and the device signature
over a canonical encoding of all of it. The phone forwards the card's answers
*raw* (GPO, records, INTERNAL AUTHENTICATE and GENERATE AC response data): the
verifier parses AIP, ATC, CID, AC, IAD, certificates and the PAN out of them
itself, so there is no second, derived copy that could disagree with the bytes the
card signed. The PAN travels inside the records (it is part of the static data the
card's certificates sign) and is never stored by the verifier; ``masked_pan`` is
for display only.

Assertions arrive from the network and are hostile until proven otherwise:
:meth:`Assertion.from_bytes` validates every field (types, hex, lengths, counts,
total size) and raises :class:`MalformedAssertion` with a clear message.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, fields
from typing import Any

from protocol.crypto.primitives import EcPrivateKey, ec_public_bytes, ec_sign, ec_verify, sha256
from protocol.errors import PeerError

SIGNATURE_PREFIX = b"TRUSTONE-ASSERTION-v1\n"
VERSION = 1
MAX_ASSERTION_BYTES = 64 * 1024
MAX_RECORDS = 64
MAX_FIELD_BYTES = 1024
MAX_ID_LENGTH = 128


class MalformedAssertion(PeerError):
    """An assertion's bytes do not follow the format; ``field`` names where."""

    def __init__(self, field_name: str, reason: str) -> None:
        self.field = field_name
        self.reason = reason
        super().__init__(f"malformed assertion: {field_name}: {reason}")


def device_id_for(public_point: bytes) -> str:
    """A device's id: the first 16 bytes of SHA-256 of its public key, in hex."""
    return sha256(public_point)[:16].hex()


@dataclass(frozen=True)
class RecordRead:
    """One record read from the card (READ RECORD, EMV 4.4 Book 3 §6.5.11)."""

    sfi: int
    record: int
    data: bytes
    for_oda: bool


@dataclass(frozen=True)
class RelayResistanceEvidence:
    """The relay-resistance exchange and the round trip the phone measured.

    ``response`` is the card's answer to EXCHANGE RELAY RESISTANCE DATA
    (EMV contactless Book C-2 §5.3; the model's simplified version).
    """

    terminal_entropy: bytes
    response: bytes
    measured_us: int


@dataclass(frozen=True)
class CardEvidence:
    """The card's answers exactly as the phone received them."""

    aid: bytes
    pdol_data: bytes
    gpo_response: bytes
    records: tuple[RecordRead, ...]
    ddol_data: bytes
    internal_authenticate_response: bytes
    cdol1_data: bytes
    generate_ac_p1: int
    generate_ac_response: bytes
    masked_pan: str
    relay_resistance: RelayResistanceEvidence | None = None


@dataclass(frozen=True)
class Assertion:
    """What the phone sends: who, for which challenge, the card's answers, a signature."""

    challenge_id: str
    user_id: str
    device_id: str
    evidence: CardEvidence
    signature: bytes = b""

    # ------------------------------------------------------------------ signing

    # An assertion is immutable all the way down (str, int, bytes, tuples of frozen
    # dataclasses), so its two encodings are computed once per object and kept.

    def signed_bytes(self) -> bytes:
        """The exact bytes the device signs: a domain prefix and canonical JSON."""
        return self._signed_bytes

    @functools.cached_property
    def _signed_bytes(self) -> bytes:
        body = _to_jsonable(self)
        body.pop("signature")
        return SIGNATURE_PREFIX + _canonical(body)

    def signed_by(self, device_key: EcPrivateKey) -> Assertion:
        """A copy signed with ``device_key`` (ECDSA P-256 / SHA-256)."""
        message = Assertion(self.challenge_id, self.user_id, self.device_id, self.evidence).signed_bytes()
        signed = Assertion(
            self.challenge_id, self.user_id, self.device_id, self.evidence, ec_sign(device_key, message)
        )
        signed.__dict__["_signed_bytes"] = message  # the same fields but the signature, which is not signed
        return signed

    def verify_signature(self, enrolled_public_point: bytes) -> None:
        """Raise VerificationError("device signature", ...) unless the enrolled key signed it."""
        ec_verify(enrolled_public_point, self.signature, self.signed_bytes())

    # ------------------------------------------------------------------ wire format

    def to_bytes(self) -> bytes:
        return self._wire_bytes

    @functools.cached_property
    def _wire_bytes(self) -> bytes:
        return _canonical(_to_jsonable(self))

    @classmethod
    def from_bytes(cls, data: bytes) -> Assertion:
        """Parse and validate an assertion from untrusted bytes."""
        if not isinstance(data, bytes | bytearray):
            raise MalformedAssertion("assertion", "must be bytes")
        if len(data) > MAX_ASSERTION_BYTES:
            raise MalformedAssertion("assertion", f"larger than {MAX_ASSERTION_BYTES} bytes")
        try:
            obj = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedAssertion("assertion", f"not UTF-8 JSON ({exc})") from None
        return _parse_assertion(obj)


def device_key_id(device_key: EcPrivateKey) -> str:
    return device_id_for(ec_public_bytes(device_key))


# ---------------------------------------------------------------------- encoding helpers


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # per dataclass: its field names, looked up once


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, tuple | list):
        return [_to_jsonable(item) for item in value]
    names = _FIELD_NAMES.get(type(value))
    if names is None and hasattr(value, "__dataclass_fields__"):
        names = tuple(f.name for f in fields(value))
        if not isinstance(value, type):  # an instance: its class's fields, the same for every instance
            _FIELD_NAMES[type(value)] = names
    if names is not None:
        out = {name: _to_jsonable(getattr(value, name)) for name in names}
        if isinstance(value, Assertion):
            out["version"] = VERSION
        return out
    return value


def _obj(value: Any, name: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedAssertion(name, "must be an object")
    missing = keys - value.keys()
    if missing:
        raise MalformedAssertion(name, f"lacks {', '.join(sorted(missing))}")
    extra = value.keys() - keys
    if extra:
        raise MalformedAssertion(name, f"has unexpected fields {', '.join(sorted(extra))}")
    return value


def _hex(value: Any, name: str, *, min_len: int = 0, max_len: int = MAX_FIELD_BYTES, exact: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise MalformedAssertion(name, "must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise MalformedAssertion(name, "is not valid hex") from None
    if exact is not None and len(raw) != exact:
        raise MalformedAssertion(name, f"must be {exact} bytes, got {len(raw)}")
    if not min_len <= len(raw) <= max_len:
        raise MalformedAssertion(name, f"must be {min_len}..{max_len} bytes, got {len(raw)}")
    return raw


def _int(value: Any, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MalformedAssertion(name, f"must be an integer {low}..{high}")
    return value


def _text(value: Any, name: str, max_len: int = MAX_ID_LENGTH) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise MalformedAssertion(name, f"must be a non-empty string of at most {max_len} characters")
    return value


def _parse_assertion(obj: Any) -> Assertion:
    top = _obj(obj, "assertion", {"version", "challenge_id", "user_id", "device_id", "evidence", "signature"})
    if top["version"] != VERSION:
        raise MalformedAssertion("version", f"unsupported version {top['version']!r} (expected {VERSION})")
    ev = _obj(
        top["evidence"], "evidence",
        {f.name for f in fields(CardEvidence)},
    )
    records_raw = ev["records"]
    if not isinstance(records_raw, list) or len(records_raw) > MAX_RECORDS:
        raise MalformedAssertion("evidence.records", f"must be a list of at most {MAX_RECORDS} records")
    records = []
    for i, rec in enumerate(records_raw):
        r = _obj(rec, f"evidence.records[{i}]", {"sfi", "record", "data", "for_oda"})
        if not isinstance(r["for_oda"], bool):
            raise MalformedAssertion(f"evidence.records[{i}].for_oda", "must be true or false")
        records.append(
            RecordRead(
                _int(r["sfi"], f"evidence.records[{i}].sfi", 1, 30),
                _int(r["record"], f"evidence.records[{i}].record", 1, 255),
                _hex(r["data"], f"evidence.records[{i}].data", min_len=1, max_len=258),
                r["for_oda"],
            )
        )
    rr_raw = ev["relay_resistance"]
    relay = None
    if rr_raw is not None:
        rr = _obj(rr_raw, "evidence.relay_resistance", {"terminal_entropy", "response", "measured_us"})
        relay = RelayResistanceEvidence(
            _hex(rr["terminal_entropy"], "evidence.relay_resistance.terminal_entropy", exact=4),
            _hex(rr["response"], "evidence.relay_resistance.response", max_len=64),
            _int(rr["measured_us"], "evidence.relay_resistance.measured_us", 0, 60_000_000),
        )
    evidence = CardEvidence(
        aid=_hex(ev["aid"], "evidence.aid", min_len=5, max_len=16),
        pdol_data=_hex(ev["pdol_data"], "evidence.pdol_data", max_len=255),
        gpo_response=_hex(ev["gpo_response"], "evidence.gpo_response", min_len=1, max_len=258),
        records=tuple(records),
        ddol_data=_hex(ev["ddol_data"], "evidence.ddol_data", max_len=255),
        internal_authenticate_response=_hex(
            ev["internal_authenticate_response"], "evidence.internal_authenticate_response", max_len=258
        ),
        cdol1_data=_hex(ev["cdol1_data"], "evidence.cdol1_data", min_len=1, max_len=255),
        generate_ac_p1=_int(ev["generate_ac_p1"], "evidence.generate_ac_p1", 0, 255),
        generate_ac_response=_hex(ev["generate_ac_response"], "evidence.generate_ac_response", min_len=1, max_len=258),
        masked_pan=_text(ev["masked_pan"], "evidence.masked_pan", 32),
        relay_resistance=relay,
    )
    return Assertion(
        challenge_id=_text(top["challenge_id"], "challenge_id"),
        user_id=_text(top["user_id"], "user_id"),
        device_id=_text(top["device_id"], "device_id"),
        evidence=evidence,
        signature=_hex(top["signature"], "signature", exact=64),
    )
