"""Card profiles: what an emulated card *is* before it is personalised.

A profile is a readable TOML file under ``resources/cards/`` (format documented in
``docs/card-profiles.md``). It names the applications, their AIDs, labels and
priorities (EMV 4.4 Book 1 §12.2), the cryptogram version (CVN), the offline data
authentication methods (Book 2 §5, §6), the key sizes, the data object lists
(PDOL, CDOL1, CDOL2, DDOL — Book 3 §5.4), the record layout that gives the AFL
(Book 3 §10.2), the CVM list (Book 3 §10.5), the ATR (Book 1 §8) and per-command
processing times. It holds no keys: keys come from personalisation
(:mod:`card_emulation.personalise`), which turns a profile and a seed into a card
image.

The same dictionary shape is read from TOML and from the JSON card image (which
embeds the profile it was made from), so :func:`parse_profile` serves both.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from card_emulation.atr import historical_bytes_of
from card_emulation.errors import ProfileError
from card_emulation.profile_fields import (
    check_cdol1,
    dol_field,
    hex_field,
    int_field,
    luhn_valid,
    month_field,
    tag_field,
    text_field,
)
from protocol.crypto.cvn import Cvn
from protocol.errors import UsageError
from protocol.resources import load_toml, resource_path

PROFILE_SCHEMA = "trustone-card-profile/1"
PROFILE_DIR = "cards"


class OdaMethod(enum.StrEnum):
    """Offline data authentication methods (EMV 4.4 Book 2 §5 SDA, §6.5 DDA, §6.6 CDA)."""

    SDA = "sda"
    DDA = "dda"
    CDA = "cda"


#: Command names used for processing times, fault targets and timing estimates.
COMMAND_NAMES = (
    "select",
    "read-record",
    "gpo",
    "get-data",
    "internal-authenticate",
    "generate-ac",
    "generate-ac-cda",
    "verify",
    "get-challenge",
    "exchange-relay-resistance",
    "other",
)

_DEFAULT_TIMES_MS = {
    "select": 4.0,
    "read-record": 5.0,
    "gpo": 12.0,
    "get-data": 4.0,
    "internal-authenticate": 70.0,
    "generate-ac": 30.0,
    "generate-ac-cda": 95.0,
    "verify": 20.0,
    "get-challenge": 4.0,
    "exchange-relay-resistance": 0.5,  # answered from RAM: the point of the command
    "other": 2.0,
}


@dataclass(frozen=True)
class ProcessingTimes:
    """Card processing time in milliseconds per command (realistic pacing, never crypto)."""

    times_ms: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_TIMES_MS))

    def for_command(self, name: str) -> float:
        return float(self.times_ms.get(name, self.times_ms.get("other", 0.0)))


@dataclass(frozen=True)
class RecordLayout:
    """One record of the application: SFI, record number, the tags it holds, and
    whether it is part of the static data to be authenticated (AFL byte 4, Book 3 §10.2)."""

    sfi: int
    record: int
    tags: tuple[int, ...]
    oda: bool = False


@dataclass(frozen=True)
class RelayResistanceTimes:
    """What the card announces in EXCHANGE RELAY RESISTANCE DATA (Book C-2 §5.3), in µs.

    ``min_us``/``max_us``: the card's minimum and maximum time to process the
    command; ``transmission_us``: its estimate of the time to send the answer.
    The card encodes them in units of 100 µs.
    """

    min_us: int
    max_us: int
    transmission_us: int


@dataclass(frozen=True, repr=False)
class ApplicationProfile:
    """One payment application of a card (``[[application]]`` in the TOML)."""

    aid: bytes
    label: str
    priority: int
    language: str
    preferred_name: str | None
    pan: str
    psn: str | None
    cardholder_name: str
    expiry: datetime.date
    effective: datetime.date
    service_code: str
    cryptogram: Cvn
    oda: frozenset[OdaMethod]
    response_format: int
    aip: bytes
    pdol: bytes
    cdol1: bytes
    cdol2: bytes
    ddol: bytes
    cvm_list: bytes
    records: tuple[RecordLayout, ...]
    data: Mapping[int, bytes]
    pin: str | None
    pin_try_limit: int
    initial_atc: int
    ca_key_bits: int
    issuer_key_bits: int
    icc_key_bits: int
    rsa_exponent: int
    dki: int
    kernel_id: bytes | None
    relay_resistance: RelayResistanceTimes | None = None

    def __repr__(self) -> str:
        return f"ApplicationProfile(aid={self.aid.hex().upper()}, label={self.label!r}, cryptogram={self.cryptogram.value})"

    @property
    def rid(self) -> bytes:
        return self.aid[:5]

    @property
    def issuer_identifier(self) -> str:
        """Leftmost PAN digits certified by the issuer certificate (Book 2 Table 6)."""
        return self.pan[:8] if len(self.pan) >= 8 else self.pan[:6]

    @property
    def needs_icc_key(self) -> bool:
        return bool(self.oda & {OdaMethod.DDA, OdaMethod.CDA})

    @property
    def needs_issuer_key(self) -> bool:
        return bool(self.oda)


@dataclass(frozen=True)
class CardProfile:
    """A whole card: its ATR and its applications (``name`` is the file stem)."""

    name: str
    title: str
    description: str
    atr: bytes
    applications: tuple[ApplicationProfile, ...]
    times: ProcessingTimes
    pse: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def historical_bytes(self) -> bytes:
        return historical_bytes_of(self.atr)

    def application(self, aid: bytes) -> ApplicationProfile:
        for app in self.applications:
            if app.aid == aid:
                return app
        raise ProfileError(f"profile {self.name} has no application {aid.hex().upper()}")


# --------------------------------------------------------------------------- parsing


def _aip(oda: frozenset[OdaMethod], raw: Mapping[str, Any], what: str) -> bytes:
    """Application Interchange Profile (Book 3 Annex C1): computed unless given."""
    if "aip" in raw:
        aip = hex_field(raw["aip"], f"{what}.aip")
        if len(aip) != 2:
            raise ProfileError(f"{what}.aip must be 2 bytes")
        return aip
    byte1 = 0x10 | 0x08  # cardholder verification supported, terminal risk management
    if OdaMethod.SDA in oda:
        byte1 |= 0x40
    if OdaMethod.DDA in oda:
        byte1 |= 0x20
    if OdaMethod.CDA in oda:
        byte1 |= 0x01
    byte2 = hex_field(raw.get("aip_byte2", "80"), f"{what}.aip_byte2")
    if len(byte2) != 1:
        raise ProfileError(f"{what}.aip_byte2 must be 1 byte")
    if "relay_resistance" in raw:
        byte2 = bytes([byte2[0] | 0x01])  # Book C-2 Annex A: relay resistance protocol supported
    return bytes([byte1]) + byte2


def _relay_resistance(raw: Any, what: str) -> RelayResistanceTimes | None:
    """``[application.relay_resistance]``: min_us, max_us, transmission_us (multiples of 100)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{what}.relay_resistance must be a table")
    values = {}
    for key in ("min_us", "max_us", "transmission_us"):
        value = int_field(raw.get(key), f"{what}.relay_resistance.{key}", 0, 6_553_500)
        if value % 100:
            raise ProfileError(f"{what}.relay_resistance.{key} must be a multiple of 100 µs")
        values[key] = value
    if values["min_us"] > values["max_us"]:
        raise ProfileError(f"{what}.relay_resistance: min_us is above max_us")
    return RelayResistanceTimes(**values)


def _records(raw: Any, what: str) -> tuple[RecordLayout, ...]:
    if not isinstance(raw, list) or not raw:
        raise ProfileError(f"{what}.record must be a non-empty array of tables")
    out: list[RecordLayout] = []
    seen: set[tuple[int, int]] = set()
    for i, item in enumerate(raw):
        where = f"{what}.record[{i}]"
        if not isinstance(item, dict):
            raise ProfileError(f"{where} must be a table")
        sfi = int_field(item.get("sfi"), f"{where}.sfi", 1, 30)
        number = int_field(item.get("record"), f"{where}.record", 1, 254)
        tags = tuple(tag_field(t, f"{where}.tags") for t in item.get("tags", ()))
        if not tags:
            raise ProfileError(f"{where}.tags must list at least one tag")
        if (sfi, number) in seen:
            raise ProfileError(f"{where}: SFI {sfi} record {number} is defined twice")
        seen.add((sfi, number))
        oda = bool(item.get("oda", False))
        if oda and sfi > 10:
            raise ProfileError(f"{where}: ODA records must use SFI 1..10 in this simulator")
        if oda and {0x90, 0x93, 0x9F46} & set(tags):
            raise ProfileError(f"{where}: a record signed for ODA cannot hold certificates (90/93/9F46)")
        out.append(RecordLayout(sfi, number, tags, oda))
    return tuple(sorted(out, key=lambda r: (r.sfi, r.record)))


def _application(raw: Any, index: int) -> ApplicationProfile:
    what = f"application[{index}]"
    if not isinstance(raw, dict):
        raise ProfileError(f"{what} must be a table")
    aid = hex_field(raw.get("aid", ""), f"{what}.aid", allow_empty=False)
    if not 5 <= len(aid) <= 16:
        raise ProfileError(f"{what}.aid must be 5..16 bytes (Book 1 §12.2.1)")
    label = text_field(raw.get("label"), f"{what}.label", max_len=16)
    if "TEST" not in label.upper():
        raise ProfileError(f"{what}.label must say TEST (it is a simulator card)")
    pan = str(raw.get("pan", ""))
    if not (pan.isdigit() and 12 <= len(pan) <= 19 and luhn_valid(pan)):
        raise ProfileError(f"{what}.pan must be 12..19 digits with a valid Luhn check digit")
    psn = raw.get("psn")
    if psn is not None and not (isinstance(psn, str) and re.fullmatch(r"\d{2}", psn)):
        raise ProfileError(f"{what}.psn must be two digits")
    try:
        cryptogram = Cvn.parse(str(raw.get("cryptogram")))
    except UsageError:
        names = ", ".join(v.value for v in Cvn)
        raise ProfileError(f"{what}.cryptogram must be one of {names}") from None
    try:
        oda = frozenset(OdaMethod(m) for m in raw.get("oda", ()))
    except ValueError:
        raise ProfileError(f"{what}.oda lists an unknown method (sda, dda, cda)") from None
    response_format = int_field(raw.get("response_format", 2), f"{what}.response_format", 1, 2)
    data = {
        tag_field(k, f"{what}.data key"): hex_field(v, f"{what}.data[{k}]") for k, v in dict(raw.get("data", {})).items()
    }
    pin = raw.get("pin")
    if pin is not None and not (isinstance(pin, str) and pin.isdigit() and 4 <= len(pin) <= 12):
        raise ProfileError(f"{what}.pin must be 4..12 digits")
    ca_bits = int_field(raw.get("ca_key_bits", 1408), f"{what}.ca_key_bits", 512, 1984)
    issuer_bits = int_field(raw.get("issuer_key_bits", 1152), f"{what}.issuer_key_bits", 512, 1984)
    icc_bits = int_field(raw.get("icc_key_bits", 1024), f"{what}.icc_key_bits", 512, 1984)
    if any(b % 8 for b in (ca_bits, issuer_bits, icc_bits)):
        raise ProfileError(f"{what}: RSA key sizes must be whole bytes")
    if issuer_bits > ca_bits or (oda - {OdaMethod.SDA} and icc_bits > issuer_bits):
        raise ProfileError(f"{what}: key sizes must not grow down the chain (Book 2 §5.1, §6.1)")
    kernel = raw.get("kernel_id")
    cdol1 = dol_field(raw.get("cdol1", ""), f"{what}.cdol1", allow_empty=False)
    check_cdol1(cdol1, what)
    return ApplicationProfile(
        aid=aid,
        label=label,
        priority=int_field(raw.get("priority", 1), f"{what}.priority", 1, 15),
        language=text_field(raw.get("language", "en"), f"{what}.language", max_len=8),
        preferred_name=text_field(raw["preferred_name"], f"{what}.preferred_name", max_len=16)
        if "preferred_name" in raw
        else None,
        pan=pan,
        psn=psn,
        cardholder_name=text_field(raw.get("cardholder_name", "TEST/CARDHOLDER"), f"{what}.cardholder_name", max_len=26),
        expiry=month_field(raw.get("expiry", ""), f"{what}.expiry", last_day=True),
        effective=month_field(raw.get("effective", "2024-01"), f"{what}.effective", last_day=False),
        service_code=str(raw.get("service_code", "201")),
        cryptogram=cryptogram,
        oda=oda,
        response_format=response_format,
        aip=_aip(oda, raw, what),
        pdol=dol_field(raw.get("pdol", ""), f"{what}.pdol"),
        cdol1=cdol1,
        cdol2=dol_field(raw.get("cdol2", ""), f"{what}.cdol2"),
        ddol=dol_field(raw.get("ddol", ""), f"{what}.ddol"),
        cvm_list=hex_field(raw.get("cvm_list", ""), f"{what}.cvm_list"),
        records=_records(raw.get("record"), what),
        data=data,
        pin=pin,
        pin_try_limit=int_field(raw.get("pin_try_limit", 3), f"{what}.pin_try_limit", 1, 15),
        initial_atc=int_field(raw.get("atc", 0), f"{what}.atc", 0, 0xFFFF),
        ca_key_bits=ca_bits,
        issuer_key_bits=issuer_bits,
        icc_key_bits=icc_bits,
        rsa_exponent=int_field(raw.get("rsa_exponent", 3), f"{what}.rsa_exponent", 3, 65537),
        dki=int_field(raw.get("dki", 1), f"{what}.dki", 0, 255),
        kernel_id=hex_field(kernel, f"{what}.kernel_id") if kernel is not None else None,
        relay_resistance=_relay_resistance(raw.get("relay_resistance"), what),
    )


def parse_profile(raw: Mapping[str, Any], *, name: str | None = None) -> CardProfile:
    """Build a :class:`CardProfile` from a TOML/JSON dictionary; raise :class:`ProfileError`."""
    if not isinstance(raw, Mapping):
        raise ProfileError("a profile must be a table")
    if raw.get("schema") != PROFILE_SCHEMA:
        raise ProfileError(f"profile schema must be {PROFILE_SCHEMA!r}, got {raw.get('schema')!r}")
    profile_name = text_field(raw.get("name"), "name", max_len=64)
    if name is not None and profile_name != name:
        raise ProfileError(f"profile file {name}.toml declares name {profile_name!r}")
    atr = hex_field(raw.get("atr", ""), "atr", allow_empty=False)
    try:
        historical_bytes_of(atr)
    except ValueError as exc:
        raise ProfileError(f"atr: {exc}") from None
    apps_raw = raw.get("application")
    if not isinstance(apps_raw, list) or not apps_raw:
        raise ProfileError("a profile needs at least one [[application]]")
    apps = tuple(_application(a, i) for i, a in enumerate(apps_raw))
    if len({a.aid for a in apps}) != len(apps):
        raise ProfileError("two applications share an AID")
    times = dict(_DEFAULT_TIMES_MS)
    for key, value in dict(raw.get("timing", {})).items():
        if key not in COMMAND_NAMES:
            raise ProfileError(f"timing.{key} is not one of {', '.join(COMMAND_NAMES)}")
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 10_000:
            raise ProfileError(f"timing.{key} must be 0..10000 ms")
        times[key] = float(value)
    return CardProfile(
        name=profile_name,
        title=text_field(raw.get("title", profile_name), "title", max_len=120),
        description=str(raw.get("description", "")),
        atr=atr,
        applications=apps,
        times=ProcessingTimes(times),
        pse=bool(raw.get("pse", True)),
        raw=dict(raw),
    )


def list_profiles() -> tuple[str, ...]:
    """Names of the profiles shipped in ``resources/cards/`` (file stems, sorted)."""
    folder = resource_path(PROFILE_DIR)
    return tuple(sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml")))


def load_profile(name: str) -> CardProfile:
    """Load ``resources/cards/<name>.toml``; :class:`ProfileError` if missing or invalid."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name or ""):
        raise ProfileError(f"{name!r} is not a profile name")
    if name not in list_profiles():
        raise ProfileError(f"no card profile {name!r}; known: {', '.join(list_profiles())}")
    try:
        raw = load_toml(PROFILE_DIR, f"{name}.toml")
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ProfileError(f"{name}.toml: {exc}") from None
    return parse_profile(raw, name=name)
