"""Every key of tests/vectors/capk.json: checksum, loading, and lookups in the shipped list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol.crypto.capk import (
    CaKeyNotFoundError,
    capk_checksum,
    default_store,
    load_capk_json,
)
from protocol.resources import resource_path

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "capk.json"
DOCUMENT = json.loads(VECTORS.read_text(encoding="utf-8"))
KEYS = DOCUMENT["keys"]


def test_the_file_has_the_32_keys_it_announces() -> None:
    assert DOCUMENT["key_count"] == len(KEYS) == 32


@pytest.mark.parametrize("item", KEYS, ids=[f"line{k['line']}-{k['rid']}-{k['index']}" for k in KEYS])
def test_checksum_is_sha1_of_rid_index_modulus_exponent(item: dict) -> None:
    checksum = capk_checksum(
        bytes.fromhex(item["rid"]),
        int(item["index"], 16),
        bytes.fromhex(item["modulus"]),
        bytes.fromhex(item["exponent"]),
    )
    assert checksum.hex().upper() == item["sha1_checksum"]
    assert len(bytes.fromhex(item["modulus"])) * 8 == item["modulus_bits"]


@pytest.mark.parametrize("item", KEYS, ids=[f"line{k['line']}" for k in KEYS])
def test_every_key_loads_with_its_fields(item: dict) -> None:
    store = load_capk_json(VECTORS.read_text(encoding="utf-8"), "tests/vectors/capk.json")
    (entry,) = [e for e in store.entries() if e.key.origin == f"tests/vectors/capk.json line {item['line']}"]
    key = entry.key
    assert key.rid.hex().upper() == item["rid"]
    assert key.index == int(item["index"], 16)
    assert key.public_key.modulus_bytes.hex().upper() == item["modulus"]
    assert key.public_key.exponent_bytes.hex().upper() == item["exponent"]
    assert key.modulus_bits == item["modulus_bits"]
    assert key.checksum.hex().upper() == item["sha1_checksum"]
    assert (key.expiry.isoformat() if key.expiry else None) == item["expiry"]
    assert key.test_key == item["test_key_per_cross_reference"]


def test_shipped_resource_is_the_vector_file() -> None:
    assert resource_path("capk.json").read_bytes() == VECTORS.read_bytes()


def test_default_store_lists_all_32_and_activates_31() -> None:
    store = default_store()
    assert len(store) == 32
    assert len(store.entries()) == 32
    assert len(store.keys()) == 31
    assert store is default_store()  # read once


def test_duplicate_a000000004_05_first_line_wins_and_the_other_stays_listed() -> None:
    store = default_store()
    key = store.get(bytes.fromhex("A000000004"), 0x05)
    assert key.modulus_bits == 1408
    assert key.origin == "resources/capk.json line 10"
    assert key.checksum.hex().upper() == "EBFA0D5D06D8CE702DA3EAE890701D45E274C845"
    shadowed = [e for e in store.entries() if not e.active]
    assert [e.key.origin for e in shadowed] == ["resources/capk.json line 14"]
    assert shadowed[0].key.modulus_bits == 1024
    assert "line 10" in shadowed[0].note


@pytest.mark.parametrize(
    ("rid", "index", "bits"),
    [("A000000003", 0x01, 1024), ("A000000003", 0x09, 1984), ("A000000004", 0xF5, 1984), ("B012345678", 0xF9, 1984)],
)
def test_lookup_by_rid_and_index(rid: str, index: int, bits: int) -> None:
    key = default_store().get(bytes.fromhex(rid), index)
    assert key.modulus_bits == bits
    assert key.label == f"{rid}/{index:02X}"
    assert default_store().get(bytes.fromhex(rid), bytes([index])) is key


def test_lookup_by_aid_uses_the_rid() -> None:
    key = default_store().get_for_aid(bytes.fromhex("A0000000031010"), b"\x08")
    assert key.label == "A000000003/08"


def test_unknown_key_names_rid_and_index() -> None:
    with pytest.raises(CaKeyNotFoundError) as caught:
        default_store().get(bytes.fromhex("A000000025"), 0x0E)
    assert caught.value.rid == bytes.fromhex("A000000025")
    assert caught.value.index == 0x0E
    assert caught.value.check == "CA public key"
    assert "A000000025" in str(caught.value) and "0E" in str(caught.value)
    assert isinstance(caught.value, LookupError)
