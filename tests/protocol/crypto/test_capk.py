"""CapkStore behaviour: added keys, conflicts, checksums on load, expiry."""

from __future__ import annotations

import datetime
import json

import pytest

from protocol.crypto.capk import CaPublicKey, CapkStore, default_store, load_capk_json
from protocol.crypto.keygen import derive_rsa_key
from protocol.errors import MalformedDataError, UsageError, VerificationError

RID = bytes.fromhex("A000000999")


@pytest.fixture(scope="module")
def simulator_ca() -> CaPublicKey:
    key = derive_rsa_key(b"capk tests", "simulator CA", 1024)
    return CaPublicKey.create(RID, 0x92, key.public_key, origin="simulator test CA", test_key=True)


def _document(**changes: object) -> str:
    item = {
        "line": 1,
        "rid": "A000000003",
        "index": "01",
        "expiry": "2009-12-31",
        "algorithm": "RSA",
        "hash_algorithm": "SHA-1",
        "exponent": "03",
        "modulus": default_store().get(bytes.fromhex("A000000003"), 1).public_key.modulus_bytes.hex().upper(),
        "sha1_checksum": "D34A6A776011C7E7CE3AEC5F03AD2F8CFC5503CC",
    }
    item.update(changes)
    return json.dumps({"keys": [item]})


def test_added_key_is_found_and_the_original_store_is_unchanged(simulator_ca: CaPublicKey) -> None:
    base = default_store()
    store = base.with_key(simulator_ca)
    assert store.get(RID, 0x92) is simulator_ca
    assert len(store) == len(base) + 1
    with pytest.raises(VerificationError):
        base.get(RID, 0x92)


def test_adding_the_same_key_twice_is_a_no_op(simulator_ca: CaPublicKey) -> None:
    store = CapkStore().with_key(simulator_ca)
    assert store.with_key(simulator_ca) is store


def test_a_different_key_for_a_taken_pair_is_refused_unless_replacing(simulator_ca: CaPublicKey) -> None:
    store = CapkStore().with_key(simulator_ca)
    other = CaPublicKey.create(RID, 0x92, derive_rsa_key(b"capk tests", "other CA", 1024).public_key, origin="other")
    with pytest.raises(UsageError):
        store.with_key(other)
    replaced = store.with_key(other, replace=True)
    assert replaced.get(RID, 0x92) is other
    assert [(e.key.origin, e.active) for e in replaced.entries()] == [("other", True), ("simulator test CA", False)]


def test_checksum_mismatch_is_a_verification_error_naming_the_line() -> None:
    with pytest.raises(VerificationError) as caught:
        load_capk_json(_document(sha1_checksum="00" * 20), "x.json")
    assert caught.value.check == "CA public key checksum"
    assert "x.json line 1" in caught.value.detail


def test_a_modified_modulus_fails_its_checksum() -> None:
    modulus = _document()
    text = json.loads(modulus)["keys"][0]["modulus"]
    with pytest.raises(VerificationError, match="checksum"):
        load_capk_json(_document(modulus=text[:-2] + "77"))


def test_loaded_key_keeps_its_expiry_and_expired_lookups_raise() -> None:
    store = load_capk_json(_document())
    key = store.get(bytes.fromhex("A000000003"), 1, today=datetime.date(2009, 12, 31))
    assert key.expiry == datetime.date(2009, 12, 31)
    with pytest.raises(VerificationError) as caught:
        store.get(bytes.fromhex("A000000003"), 1, today=datetime.date(2010, 1, 1))
    assert caught.value.check == "CA public key expiry"


def test_keys_without_expiry_never_expire(simulator_ca: CaPublicKey) -> None:
    simulator_ca.check_not_expired(today=datetime.date(2999, 1, 1))


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "{}",
        '{"keys": 3}',
        '{"keys": [1]}',
        _document(index="zz"),
        _document(rid="A0000000"),
        _document(algorithm="ECC"),
        _document(exponent="05"),
    ],
)
def test_malformed_lists_raise_malformed_data(text: str) -> None:
    with pytest.raises((MalformedDataError, VerificationError)):
        load_capk_json(text)


def test_bad_lookup_arguments_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        default_store().get(b"\xa0\x00", 1)
    with pytest.raises(UsageError):
        default_store().get(bytes.fromhex("A000000003"), 256)
    with pytest.raises(UsageError):
        default_store().get(bytes.fromhex("A000000003"), b"\x01\x02")
