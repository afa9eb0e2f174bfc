"""The key store: data model and JSON (protocol.keystore), files (card_emulation.keystore_files)."""

from __future__ import annotations

import json

import pytest

from card_emulation.errors import KeyStoreFileError
from card_emulation.keystore_files import data_dir, keystore_path, load_keystore, merge_into_keystore, save_keystore
from protocol.crypto.capk import default_store
from protocol.crypto.keys import IssuerMasterKeys
from protocol import keystore as ks
from protocol.errors import MalformedDataError, VerificationError
from protocol.keystore import IssuerKeyEntry, KeyStore


def test_json_round_trip(keystore: KeyStore) -> None:
    text = ks.dumps(keystore)
    assert ks.loads(text) == keystore
    assert ks.dumps(ks.loads(text)) == text
    assert "TEST" in json.loads(text)["note"]


def test_lookup_longest_prefix() -> None:
    keys = IssuerMasterKeys(bytes(16), bytes(16), bytes(16))
    aid = bytes.fromhex("A0000000031010")
    store = KeyStore().with_issuer_keys(IssuerKeyEntry(aid, "4999", "visa_cvn18", "tdes", keys, "range"))
    store = store.with_issuer_keys(IssuerKeyEntry(aid, "49999900", "visa_cvn18", "tdes", keys, "narrow"))
    assert store.issuer_keys_for(aid, "4999990018000015").label == "narrow"
    assert store.issuer_keys_for(aid, "4999000000000000").label == "range"
    assert store.issuer_keys_for(aid, "5999990018000015") is None
    assert store.issuer_keys_for(bytes.fromhex("A0000000041010"), "4999990018000015") is None
    replaced = store.with_issuer_keys(IssuerKeyEntry(aid, "4999", "visa_cvn18", "tdes", keys, "new"))
    assert len(replaced.issuer_keys) == 2 and replaced.issuer_keys_for(aid, "4999000000000000").label == "new"


def test_reprs_hide_keys(keystore: KeyStore) -> None:
    entry = keystore.issuer_keys[0]
    assert entry.keys.ac.hex().upper() not in repr(entry) and entry.pan_prefix not in repr(entry)


def test_simulator_ca_keys_extend_the_public_list(keystore: KeyStore) -> None:
    combined = keystore.capk_store(default_store())
    for key in keystore.ca_keys:
        assert combined.get(key.rid, key.index).public_key == key.public_key
        assert key.test_key is True and "TEST" in key.origin


@pytest.mark.parametrize(
    "text",
    [
        "nope",
        "[]",
        '{"schema": "other"}',
        '{"schema": "trustone-keystore/1", "ca_keys": {}}',
        '{"schema": "trustone-keystore/1", "issuer_keys": [{"aid": "A0"}]}',
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(MalformedDataError):
        ks.loads(text)


def test_bad_ca_checksum(keystore: KeyStore) -> None:
    document = json.loads(ks.dumps(keystore))
    document["ca_keys"][0]["checksum"] = "00" * 20
    with pytest.raises(VerificationError):
        ks.loads(json.dumps(document))


def test_files(tmp_path, keystore: KeyStore, monkeypatch) -> None:
    assert load_keystore(tmp_path) == KeyStore()
    path = save_keystore(keystore, tmp_path)
    assert path == keystore_path(tmp_path) == tmp_path / "keystore.json"
    assert load_keystore(tmp_path) == keystore
    assert merge_into_keystore(KeyStore(), tmp_path) == keystore
    path.write_text("{broken")
    with pytest.raises(KeyStoreFileError):
        load_keystore(tmp_path)
    monkeypatch.setenv("TRUSTONE_DATA_DIR", str(tmp_path / "x"))
    assert data_dir() == tmp_path / "x"
    assert data_dir(tmp_path / "y") == tmp_path / "y"
    monkeypatch.delenv("TRUSTONE_DATA_DIR")
    assert data_dir().name == "trustone"


def test_an_unchanged_file_is_not_parsed_again_and_any_change_is_seen(tmp_path, keystore: KeyStore) -> None:
    from card_emulation import keystore_files

    path = save_keystore(keystore, tmp_path)
    first = load_keystore(tmp_path)
    assert load_keystore(tmp_path) is first  # same text: the key store parsed from it (immutable)
    smaller = KeyStore(ca_keys=keystore.ca_keys)
    save_keystore(smaller, tmp_path)  # a new text, even within the same clock tick: seen at once
    assert load_keystore(tmp_path) == smaller != first
    path.write_text(path.read_text() + " ")  # same size class, different text
    assert load_keystore(tmp_path) == smaller
    path.write_text("{broken")
    for _ in range(2):  # an invalid text is refused every time, never remembered
        with pytest.raises(KeyStoreFileError):
            load_keystore(tmp_path)
    path.unlink()
    assert load_keystore(tmp_path) == KeyStore()
    assert keystore_files._parse.cache_info().maxsize == 4  # bounded
