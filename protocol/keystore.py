"""The verifier's key store: simulator CA public keys and issuer master keys (data model only).

What a verifier (and the phone, for offline data authentication) needs to check an
emulated card:

* **CA public keys** (EMV 4.4 Book 2 §5.1, §6.1), by RID and CA Public Key Index
  (tag ``8F``): the simulator's own *test* CA keys, made by personalisation with
  indexes that do not collide with the public list in ``resources/capk.json``.
* **Issuer master keys** (IMK AC, SMI, SMC; Book 2 Annex A1.4): the symmetric keys
  from which the verifier derives a card's ICC master keys to recompute its ARQC.
  An entry applies to an AID and to the PANs that start with its ``pan_prefix``
  (the longest matching prefix wins, as a BIN range table would).

This module is sans-I/O: :func:`dumps` and :func:`loads` convert to and from JSON
text; reading and writing files is :mod:`card_emulation.keystore_files`' job.
Format (``"schema": "trustone-keystore/1"``)::

    {"schema": "trustone-keystore/1",
     "note": "...",
     "ca_keys": [{"rid": "A000000003", "index": "54", "modulus": "…", "exponent": "03",
                  "checksum": "…", "expiry": "2035-12-31", "origin": "…"}],
     "issuer_keys": [{"label": "…", "aid": "A0000000031010", "pan_prefix": "476173900101",
                      "cryptogram": "visa-18", "algorithm": "tdes",
                      "imk_ac": "…", "imk_smi": "…", "imk_smc": "…", "origin": "…"}]}

All keys in a key store are **test keys**; ``repr`` never shows key material.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from protocol.crypto.capk import CaPublicKey, CapkStore
from protocol.crypto.keys import IssuerMasterKeys
from protocol.crypto.primitives import RsaPublicKey
from protocol.errors import MalformedDataError, UsageError, VerificationError

SCHEMA = "trustone-keystore/1"
KEY_ALGORITHMS = ("tdes", "aes")


class KeyStoreFormatError(MalformedDataError):
    """The key store text is not a valid ``trustone-keystore/1`` document."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, what="key store")


@dataclass(frozen=True, repr=False)
class IssuerKeyEntry:
    """Issuer master keys for one application and PAN range.

    ``cryptogram`` names the cryptogram version (``"visa-18"``, ``"mastercard-16"``,
    ``"aes-cmac"`` …) and ``algorithm`` the key type (``"tdes"`` or ``"aes"``).
    """

    aid: bytes
    pan_prefix: str
    cryptogram: str
    algorithm: str
    keys: IssuerMasterKeys
    label: str = ""
    origin: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.aid, bytes) or not 5 <= len(self.aid) <= 16:
            raise UsageError("an AID is 5..16 bytes")
        if not (isinstance(self.pan_prefix, str) and self.pan_prefix.isdigit() and 1 <= len(self.pan_prefix) <= 19):
            raise UsageError("pan_prefix must be 1..19 decimal digits")
        if self.algorithm not in KEY_ALGORITHMS:
            raise UsageError(f"algorithm must be one of {KEY_ALGORITHMS}, got {self.algorithm!r}")
        if not isinstance(self.keys, IssuerMasterKeys):
            raise UsageError("keys must be IssuerMasterKeys")

    def __repr__(self) -> str:
        shown = self.pan_prefix[:6] + "…" if len(self.pan_prefix) > 6 else self.pan_prefix
        return (
            f"IssuerKeyEntry(aid={self.aid.hex().upper()}, pan_prefix={shown}, "
            f"cryptogram={self.cryptogram!r}, label={self.label!r}, <keys hidden>)"
        )

    def matches(self, aid: bytes, pan: str) -> bool:
        return self.aid == bytes(aid) and pan.startswith(self.pan_prefix)


@dataclass(frozen=True)
class KeyStore:
    """An immutable key store; the ``with_*`` methods return updated copies.

    Adding a CA key with the same RID and index, or issuer keys with the same AID
    and PAN prefix, *replaces* the old entry (re-personalising a card with another
    seed replaces its keys).
    """

    ca_keys: tuple[CaPublicKey, ...] = field(default=())
    issuer_keys: tuple[IssuerKeyEntry, ...] = field(default=())

    def with_ca_key(self, key: CaPublicKey) -> KeyStore:
        kept = tuple(k for k in self.ca_keys if (k.rid, k.index) != (key.rid, key.index))
        return KeyStore(kept + (key,), self.issuer_keys)

    def with_issuer_keys(self, entry: IssuerKeyEntry) -> KeyStore:
        kept = tuple(e for e in self.issuer_keys if (e.aid, e.pan_prefix) != (entry.aid, entry.pan_prefix))
        return KeyStore(self.ca_keys, kept + (entry,))

    def merged(self, other: KeyStore) -> KeyStore:
        """This store with every entry of ``other`` added (``other`` wins on conflicts)."""
        result = self
        for key in other.ca_keys:
            result = result.with_ca_key(key)
        for entry in other.issuer_keys:
            result = result.with_issuer_keys(entry)
        return result

    def ca_key(self, rid: bytes, index: int) -> CaPublicKey | None:
        for key in self.ca_keys:
            if key.rid == bytes(rid) and key.index == index:
                return key
        return None

    def issuer_keys_for(self, aid: bytes, pan: str) -> IssuerKeyEntry | None:
        """The entry for ``aid`` whose PAN prefix is the longest prefix of ``pan``, if any."""
        best: IssuerKeyEntry | None = None
        for entry in self.issuer_keys:
            if entry.matches(aid, pan) and (best is None or len(entry.pan_prefix) > len(best.pan_prefix)):
                best = entry
        return best

    def capk_store(self, base: CapkStore | None = None) -> CapkStore:
        """``base`` (default: empty) with the simulator CA keys added.

        A simulator key that collides with a *different* key already in ``base``
        is refused: :class:`~protocol.errors.UsageError` (personalisation picks
        indexes that are free in ``resources/capk.json``).
        """
        store = base if base is not None else CapkStore()
        for key in self.ca_keys:
            store = store.with_key(key)
        return store


# --------------------------------------------------------------------------- JSON


def _ca_to_json(key: CaPublicKey) -> dict[str, Any]:
    return {
        "rid": key.rid.hex().upper(),
        "index": f"{key.index:02X}",
        "modulus": key.public_key.modulus_bytes.hex().upper(),
        "exponent": key.public_key.exponent_bytes.hex().upper(),
        "checksum": bytes(key.checksum).hex().upper(),
        "expiry": key.expiry.isoformat() if key.expiry else None,
        "origin": key.origin,
        "test_key": key.test_key,
    }


def _ca_from_json(raw: dict[str, Any]) -> CaPublicKey:
    return CaPublicKey(
        bytes.fromhex(raw["rid"]),
        int(raw["index"], 16),
        RsaPublicKey(int(raw["modulus"], 16), int(raw["exponent"], 16)),
        bytes.fromhex(raw["checksum"]),
        datetime.date.fromisoformat(raw["expiry"]) if raw.get("expiry") else None,
        str(raw.get("origin", "")),
        raw.get("test_key", True),
    )


def _issuer_to_json(entry: IssuerKeyEntry) -> dict[str, Any]:
    return {
        "label": entry.label,
        "aid": entry.aid.hex().upper(),
        "pan_prefix": entry.pan_prefix,
        "cryptogram": entry.cryptogram,
        "algorithm": entry.algorithm,
        "imk_ac": entry.keys.ac.hex().upper(),
        "imk_smi": entry.keys.smi.hex().upper(),
        "imk_smc": entry.keys.smc.hex().upper(),
        "origin": entry.origin,
    }


def _issuer_from_json(raw: dict[str, Any]) -> IssuerKeyEntry:
    keys = IssuerMasterKeys(bytes.fromhex(raw["imk_ac"]), bytes.fromhex(raw["imk_smi"]), bytes.fromhex(raw["imk_smc"]))
    return IssuerKeyEntry(
        aid=bytes.fromhex(raw["aid"]),
        pan_prefix=str(raw["pan_prefix"]),
        cryptogram=str(raw["cryptogram"]),
        algorithm=str(raw["algorithm"]),
        keys=keys,
        label=str(raw.get("label", "")),
        origin=str(raw.get("origin", "")),
    )


def dumps(store: KeyStore) -> str:
    """The key store as JSON text (stable order and formatting)."""
    document = {
        "schema": SCHEMA,
        "note": "TrustOne Tap Simulator key store: TEST keys of emulated cards only.",
        "ca_keys": [_ca_to_json(k) for k in store.ca_keys],
        "issuer_keys": [_issuer_to_json(e) for e in store.issuer_keys],
    }
    return json.dumps(document, indent=1) + "\n"


def loads(text: str) -> KeyStore:
    """Parse key store JSON; raise :class:`KeyStoreFormatError` for anything malformed.

    A CA key whose checksum does not match raises
    :class:`~protocol.errors.VerificationError` ("CA public key checksum").
    """
    try:
        document = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise KeyStoreFormatError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise KeyStoreFormatError(f"schema must be {SCHEMA!r}")
    try:
        ca = tuple(_ca_from_json(item) for item in _list(document, "ca_keys"))
        issuers = tuple(_issuer_from_json(item) for item in _list(document, "issuer_keys"))
    except VerificationError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise KeyStoreFormatError(f"{type(exc).__name__}: {exc}") from None
    store = KeyStore()
    for key in ca:
        store = store.with_ca_key(key)
    for entry in issuers:
        store = store.with_issuer_keys(entry)
    return store


def _list(document: dict[str, Any], name: str) -> Iterable[dict[str, Any]]:
    items = document.get(name, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise KeyStoreFormatError(f"{name!r} must be a list of objects")
    return items
