"""Certification Authority public keys (CAPK) by RID and index (EMV 4.4 Book 2 §5.1, §6.1, Annex B2).

A terminal holds the payment systems' CA public keys and picks one with the RID
(the first five bytes of the AID) and the CA Public Key Index the card gives in
tag ``8F``. Each key comes with a SHA-1 checksum over
``RID ‖ index ‖ modulus ‖ exponent`` (the Certification Authority Public Key
Check Sum of Book 2's CA public key management; SHA-1 per Annex B3): a key whose
checksum does not match is never used. :class:`CaPublicKey` verifies it when it is created, so every key in a
:class:`CapkStore` has passed.

The public list is ``resources/capk.json`` (parsed from proxmark3 ``capk.txt``,
see ``tests/vectors/SOURCES.md``). Extra keys, such as the simulator's own test
CA made by personalisation, are added with :meth:`CapkStore.with_key`.

**Duplicates.** The list has one (RID, index) pair twice: A000000004 index 05 on
line 10 (1408-bit, the Mastercard live key, used by the ODA worked examples) and
line 14 (1024-bit, whose modulus is Mastercard's *test* key F8). The rule is
deterministic and simple: **the first entry in file order wins**; later entries
with the same RID and index are kept, marked as shadowed, and still listed by
:meth:`CapkStore.entries` so that a user sees both.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from protocol.crypto.primitives import RsaPublicKey, sha1
from protocol.errors import MalformedDataError, UsageError, VerificationError
from protocol.resources import resource_path

#: Hash Algorithm Indicator ``01`` = SHA-1 and CA Public Key Algorithm Indicator
#: ``01`` = RSA (Book 2 Annex B3 and B2), the only values EMV defines.
SHA1_INDICATOR = 0x01
RSA_INDICATOR = 0x01


def capk_checksum(rid: bytes, index: int, modulus: bytes, exponent: bytes) -> bytes:
    """The CA Public Key Check Sum: SHA-1(RID ‖ CA PK index ‖ modulus ‖ exponent)."""
    return sha1(bytes(rid) + bytes([index]) + bytes(modulus) + bytes(exponent))


def _index_int(index: int | bytes) -> int:
    if isinstance(index, bytes | bytearray):
        if len(index) != 1:
            raise UsageError(f"a CA public key index is 1 byte, got {len(index)}")
        return index[0]
    if not isinstance(index, int) or not 0 <= index <= 0xFF:
        raise UsageError(f"a CA public key index is 0..255, got {index!r}")
    return index


class CaKeyNotFoundError(VerificationError, LookupError):
    """No CA public key with this RID and index: offline data authentication cannot
    be performed (Book 2 §5.3 / §6.3: the terminal must hold the key the card names)."""

    def __init__(self, rid: bytes, index: int) -> None:
        self.rid = bytes(rid)
        self.index = index
        super().__init__(
            "CA public key", f"no CA public key for RID {self.rid.hex().upper()} index {index:02X}"
        )


@dataclass(frozen=True)
class CaPublicKey:
    """One CA public key. The checksum is verified on construction.

    ``origin`` says where the key came from (``"resources/capk.json line 10"``,
    ``"simulator test CA"``); ``test_key`` is ``True``/``False`` when known.
    """

    rid: bytes
    index: int
    public_key: RsaPublicKey
    checksum: bytes
    expiry: datetime.date | None = None
    origin: str = ""
    test_key: bool | None = None
    hash_algorithm: int = SHA1_INDICATOR
    public_key_algorithm: int = RSA_INDICATOR

    def __post_init__(self) -> None:
        if not isinstance(self.rid, bytes) or len(self.rid) != 5:
            raise UsageError(f"a RID is 5 bytes, got {self.rid!r}")
        if not isinstance(self.index, int) or not 0 <= self.index <= 0xFF:
            raise UsageError(f"a CA public key index is an int 0..255, got {self.index!r}")
        if self.hash_algorithm != SHA1_INDICATOR or self.public_key_algorithm != RSA_INDICATOR:
            raise UsageError("only SHA-1 (01) and RSA (01) CA keys are defined by EMV")
        if self.public_key.exponent not in (3, 65537):
            raise UsageError(f"CA public key exponent must be 3 or 65537, got {self.public_key.exponent}")
        expected = capk_checksum(
            self.rid, self.index, self.public_key.modulus_bytes, self.public_key.exponent_bytes
        )
        if bytes(self.checksum) != expected:
            raise VerificationError(
                "CA public key checksum",
                f"{self.label}{' (' + self.origin + ')' if self.origin else ''}: listed checksum "
                f"{bytes(self.checksum).hex().upper()} but SHA-1(RID‖index‖modulus‖exponent) is "
                f"{expected.hex().upper()}",
            )

    @classmethod
    def create(
        cls,
        rid: bytes,
        index: int,
        public_key: RsaPublicKey,
        *,
        expiry: datetime.date | None = None,
        origin: str = "",
        test_key: bool | None = None,
    ) -> CaPublicKey:
        """A key whose checksum is computed here (for keys we make ourselves)."""
        checksum = capk_checksum(rid, index, public_key.modulus_bytes, public_key.exponent_bytes)
        return cls(bytes(rid), index, public_key, checksum, expiry, origin, test_key)

    @property
    def label(self) -> str:
        """``"A000000004/05"``: how the key is named in messages and listings."""
        return f"{self.rid.hex().upper()}/{self.index:02X}"

    @property
    def modulus_bits(self) -> int:
        return self.public_key.modulus.bit_length()

    def check_not_expired(self, *, today: datetime.date) -> None:
        """Raise if the key expired before ``today`` (valid through its expiry date)."""
        if self.expiry is not None and today > self.expiry:
            raise VerificationError(
                "CA public key expiry", f"{self.label} expired on {self.expiry.isoformat()}"
            )


@dataclass(frozen=True)
class CapkEntry:
    """One line of a listing: the key, whether lookups return it, and why not."""

    key: CaPublicKey
    active: bool
    note: str = ""


@dataclass(frozen=True)
class CapkStore:
    """An immutable set of CA public keys; lookups by (RID, index).

    Keys keep their insertion order; for a duplicated (RID, index) the first one
    added is active and the later ones are shadowed (see the module docstring).
    """

    _keys: tuple[CaPublicKey, ...] = field(default=())

    @classmethod
    def from_keys(cls, keys: Iterable[CaPublicKey]) -> CapkStore:
        return cls(tuple(keys))

    def _active(self) -> dict[tuple[bytes, int], CaPublicKey]:
        active: dict[tuple[bytes, int], CaPublicKey] = {}
        for key in self._keys:
            active.setdefault((key.rid, key.index), key)
        return active

    def get(self, rid: bytes, index: int | bytes, *, today: datetime.date | None = None) -> CaPublicKey:
        """The active key for ``rid`` (5 bytes) and ``index`` (an int or tag 8F's byte).

        With ``today``, an expired key raises ``VerificationError("CA public key
        expiry", ...)``. An unknown pair raises :class:`CaKeyNotFoundError`.
        """
        if not isinstance(rid, bytes | bytearray) or len(rid) != 5:
            raise UsageError(f"a RID is 5 bytes, got {rid!r}")
        number = _index_int(index)
        key = self._active().get((bytes(rid), number))
        if key is None:
            raise CaKeyNotFoundError(bytes(rid), number)
        if today is not None:
            key.check_not_expired(today=today)
        return key

    def get_for_aid(self, aid: bytes, index: int | bytes, *, today: datetime.date | None = None) -> CaPublicKey:
        """Like :meth:`get`, with the RID taken from the first 5 bytes of the AID."""
        if len(aid) < 5:
            raise UsageError(f"an AID is 5..16 bytes, got {len(aid)}")
        return self.get(bytes(aid[:5]), index, today=today)

    def keys(self) -> tuple[CaPublicKey, ...]:
        """The active keys, in insertion order."""
        active = set(map(id, self._active().values()))
        return tuple(key for key in self._keys if id(key) in active)

    def entries(self) -> tuple[CapkEntry, ...]:
        """Every key, active or shadowed, in insertion order, for listings."""
        active = self._active()
        result = []
        for key in self._keys:
            winner = active[(key.rid, key.index)]
            if winner is key:
                result.append(CapkEntry(key, True))
            else:
                note = f"shadowed: lookups of {winner.label} return {winner.origin or 'an added key'}"
                result.append(CapkEntry(key, False, note))
        return tuple(result)

    def with_key(self, key: CaPublicKey, *, replace: bool = False) -> CapkStore:
        """A new store with ``key`` added.

        A key for an existing (RID, index) is refused (``UsageError``) unless it is
        the same key or ``replace`` is set; with ``replace`` the new key becomes
        the active one and the old one stays listed as shadowed.
        """
        current = self._active().get((key.rid, key.index))
        if current is None:
            return CapkStore(self._keys + (key,))
        if current.public_key == key.public_key:
            return self
        if not replace:
            raise UsageError(f"a different CA public key {key.label} is already present ({current.origin})")
        return CapkStore((key,) + self._keys)

    def __len__(self) -> int:
        return len(self._keys)


# --------------------------------------------------------------------------- loading


def _parse_key(item: Any, source: str) -> CaPublicKey:
    if not isinstance(item, dict):
        raise MalformedDataError(f"{source}: a key entry is not an object", what="CA public key list")
    where = f"{source} line {item.get('line', '?')}"
    try:
        rid = bytes.fromhex(item["rid"])
        index = int(item["index"], 16)
        modulus = int(item["modulus"], 16)
        exponent = int(item["exponent"], 16)
        checksum = bytes.fromhex(item["sha1_checksum"])
        expiry = datetime.date.fromisoformat(item["expiry"]) if item.get("expiry") else None
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedDataError(f"{where}: {exc}", what="CA public key list") from exc
    if item.get("algorithm", "RSA") != "RSA" or item.get("hash_algorithm", "SHA-1") != "SHA-1":
        raise MalformedDataError(f"{where}: only RSA keys with SHA-1 are supported", what="CA public key list")
    test_key = item.get("test_key")
    if test_key is None:
        test_key = item.get("test_key_per_cross_reference")
    try:
        return CaPublicKey(rid, index, RsaPublicKey(modulus, exponent), checksum, expiry, where, test_key)
    except UsageError as exc:
        raise MalformedDataError(f"{where}: {exc}", what="CA public key list") from exc


def load_capk_json(text: str, source: str = "capk.json") -> CapkStore:
    """Parse a ``capk.json`` document (schema ``emv-capk/1``), checking every checksum.

    A checksum mismatch raises ``VerificationError("CA public key checksum", ...)``
    naming the line; unparsable content raises :class:`MalformedDataError`.
    """
    try:
        document = json.loads(text)
        items = document["keys"]
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedDataError(str(exc), what="CA public key list") from exc
    if not isinstance(items, list):
        raise MalformedDataError("'keys' is not a list", what="CA public key list")
    return CapkStore(tuple(_parse_key(item, source) for item in items))


@cache
def default_store() -> CapkStore:
    """The public scheme CA keys shipped in ``resources/capk.json`` (read once)."""
    text = resource_path("capk.json").read_text(encoding="utf-8")
    return load_capk_json(text, "resources/capk.json")
