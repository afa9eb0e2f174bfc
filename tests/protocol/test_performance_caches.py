"""The tap path's caches and prepared forms give exactly what a fresh computation gives.

Each is bounded, hides key material and card data, and never changes a result:
display trees (:mod:`protocol.tap.tlv_view`), P-256 key objects and RSA CRT
parameters (:mod:`protocol.crypto.primitives`), an assertion's encodings
(:mod:`protocol.tap.assertion`) and the verifier's prepared PAN redaction
(:class:`protocol.tap.verifier_result.Recorder`).
"""

from __future__ import annotations

import dataclasses

import pytest

from protocol import tlv
from protocol.crypto import primitives
from protocol.errors import VerificationError
from protocol.tap import tlv_view
from protocol.tap.assertion import Assertion, CardEvidence, RecordRead
from protocol.tap.verifier_result import Recorder

PAN = "4761739001010010"
RECORD = tlv.encode(0x70, b"".join((
    tlv.encode(0x5A, bytes.fromhex(PAN)), tlv.encode(0x5F24, bytes.fromhex("311231")), tlv.encode(0x5F20, b"SMITH/JOHN"),
    tlv.encode(0x57, bytes.fromhex("4761739001010010D31122011143878089")),
)))  # fmt: skip
GPO = bytes.fromhex("800A 1980 08010100 10010200")
GENERATE_AC = bytes.fromhex("8012 80 0001 1122334455667788 06010A03A00000")


def _texts(nodes: tuple) -> str:  # type: ignore[type-arg]
    return " ".join(f"{n.tag} {n.name} {n.value_hex} {n.meaning} {_texts(n.children)}" for n in nodes)


@pytest.mark.parametrize(("data", "layout"), [
    (RECORD, None), (GPO, tlv_view.GPO_FORMAT1), (GENERATE_AC, tlv_view.GENERATE_AC_FORMAT1), (GPO, None),
    (bytes.fromhex("5A08499999"), None), (b"", None),
], ids=["record", "gpo-format1", "generate-ac-format1", "gpo-no-layout", "undecodable", "empty"])  # fmt: skip
def test_a_remembered_tree_is_the_tree_a_fresh_build_gives(data: bytes, layout: tlv_view.Layout | None) -> None:
    tlv_view.clear_tree_cache()
    first = tlv_view.decoded_nodes(data, layout)
    assert first == tlv_view._decoded_nodes(data, layout)
    again = tlv_view.decoded_nodes(bytearray(data), layout)
    assert again is first  # remembered
    assert tlv_view.decoded_nodes(data, None if layout else tlv_view.GPO_FORMAT1) == tlv_view._decoded_nodes(
        data, None if layout else tlv_view.GPO_FORMAT1)  # the layout is part of the key


def test_a_list_layout_is_built_not_remembered() -> None:
    tlv_view.clear_tree_cache()
    nodes = tlv_view.decoded_nodes(GPO, list(tlv_view.GPO_FORMAT1))
    assert nodes == tlv_view.decoded_nodes(GPO, tlv_view.GPO_FORMAT1)
    assert tlv_view.tree_cache_size() == 1


def test_the_tree_cache_is_bounded_and_keeps_the_recent_ones() -> None:
    tlv_view.clear_tree_cache()
    answers = [tlv.encode(0x70, tlv.encode(0x9F36, n.to_bytes(2, "big"))) for n in range(tlv_view.TREE_CACHE_SIZE + 40)]
    hot = tlv_view.decoded_nodes(RECORD)
    for answer in answers:
        assert tlv_view.decoded_nodes(answer) == tlv_view._decoded_nodes(answer, None)
        tlv_view.decoded_nodes(RECORD)  # used on every "tap": stays
        assert tlv_view.tree_cache_size() <= tlv_view.TREE_CACHE_SIZE
    assert tlv_view.tree_cache_size() == tlv_view.TREE_CACHE_SIZE
    assert tlv_view.decoded_nodes(RECORD) is hot
    evicted = tlv_view.decoded_nodes(answers[0])  # the oldest went; rebuilt the same
    assert evicted == tlv_view._decoded_nodes(answers[0], None)


def test_the_tree_cache_holds_no_card_data() -> None:
    tlv_view.clear_tree_cache()
    nodes = tlv_view.decoded_nodes(RECORD)
    assert PAN not in _texts(nodes) and "SMITH" not in _texts(nodes) and "D3112201114" not in _texts(nodes)
    (key, layout), = tlv_view._tree_cache.keys()
    assert len(key) == 64 and layout is None
    assert bytes.fromhex(PAN) not in key and RECORD not in key
    assert repr(list(tlv_view._tree_cache.values())) == repr([nodes])  # only the masked tree


def test_ec_key_objects_are_set_up_once_per_key_and_bounded() -> None:
    primitives.clear_ec_keys()
    keys = [primitives.ec_from_scalar(0x1000 + n) for n in range(primitives.EC_KEY_CACHE_SIZE + 4)]
    for key in keys * 2:
        point = primitives.ec_public_bytes(key)
        signature = primitives.ec_sign(key, b"message")
        primitives.ec_verify(point, signature, b"message")
        assert primitives._ec_private.cache_info().currsize <= primitives.EC_KEY_CACHE_SIZE
    fresh = primitives.ec.derive_private_key(keys[0].scalar, primitives.ec.SECP256R1()).public_key()
    assert primitives.ec_public_bytes(keys[0]) == fresh.public_bytes(
        primitives.serialization.Encoding.X962, primitives.serialization.PublicFormat.UncompressedPoint)
    assert str(keys[0].scalar) not in repr(keys[0]) and f"{keys[0].scalar:x}" not in repr(keys[0])
    assert str(keys[0].scalar) not in repr(primitives._ec_private.cache_info())
    with pytest.raises(VerificationError):  # a wrong signature is still refused with a cached key
        primitives.ec_verify(primitives.ec_public_bytes(keys[1]), primitives.ec_sign(keys[0], b"m"), b"m")
    for _ in range(2):  # a bad point is refused every time, never remembered
        with pytest.raises(VerificationError, match="not a P-256 point"):
            primitives.ec_verify(b"\x04" + bytes(64), bytes(64), b"m")


def test_rsa_crt_parameters_are_computed_once_and_change_nothing_else() -> None:
    key = primitives.rsa_generate(1024)
    before = (repr(key), hash(key), dataclasses.astuple(key))
    block = bytes([0x6A]) + bytes(range(1, 127)) + b"\xbc"
    signed = primitives.rsa_private_raw(key, block)
    assert signed == pow(int.from_bytes(block, "big"), key.private_exponent, key.modulus).to_bytes(128, "big")
    assert primitives.rsa_private_raw(key, block) == signed
    assert key._crt == (key.private_exponent % (key.p - 1), key.private_exponent % (key.q - 1), pow(key.q, -1, key.p))
    assert (repr(key), hash(key), dataclasses.astuple(key)) == before
    assert key == primitives.RsaPrivateKey(key.modulus, key.public_exponent, key.private_exponent, key.p, key.q)
    assert "<secret>" in repr(key) and str(key.p) not in repr(key)
    assert primitives.rsa_public_raw(key.public_key, signed) == block


def _assertion() -> Assertion:
    evidence = CardEvidence(
        aid=bytes.fromhex("A0000000041010"), pdol_data=b"\x01\x02", gpo_response=GPO,
        records=(RecordRead(1, 1, RECORD, True),), ddol_data=b"", internal_authenticate_response=b"",
        cdol1_data=bytes(29), generate_ac_p1=0x80, generate_ac_response=GENERATE_AC, masked_pan="476173******0010",
    )  # fmt: skip
    return Assertion("challenge-1", "alice", "device-1", evidence)


def test_an_assertions_encodings_are_those_of_a_fresh_object() -> None:
    key = primitives.ec_from_scalar(0xA11CE)
    signed = _assertion().signed_by(key)
    fresh = Assertion(signed.challenge_id, signed.user_id, signed.device_id, signed.evidence, signed.signature)
    assert signed.signed_bytes() == fresh.signed_bytes() == _assertion().signed_bytes()
    assert signed.to_bytes() == fresh.to_bytes() and signed.to_bytes() is signed.to_bytes()
    assert Assertion.from_bytes(signed.to_bytes()) == signed
    signed.verify_signature(primitives.ec_public_bytes(key))
    changed = dataclasses.replace(signed, user_id="mallory")  # a new object: its own encodings
    assert changed.to_bytes() != signed.to_bytes() and changed.signed_bytes() != signed.signed_bytes()
    with pytest.raises(VerificationError):
        changed.verify_signature(primitives.ec_public_bytes(key))
    assert changed == Assertion.from_bytes(changed.to_bytes())


def test_the_recorder_prepares_its_redaction_per_pan() -> None:
    rec = Recorder()
    assert rec.clean(f"PAN {PAN}") == f"PAN {PAN}"  # not known yet
    rec.pan = PAN
    assert rec.clean(f"PAN {PAN} / 47 61 73 90 01 01 00 10") == "PAN 476173******0010 / 47 61 73 ** ** ** 00 10"
    rec.pan = "5413330089020011"  # another card: prepared again
    assert rec.clean(f"{PAN} 5413330089020011") == f"{PAN} 541333******0011"
    assert "4761739001010010" not in repr(rec._redactor) and "5413330089020011" not in repr(rec._redactor)


def test_oda_check_names_are_the_same_strings_remembered() -> None:
    from protocol.crypto.oda_common import Step, Subject, check_name

    for subject in Subject:
        for step in Step:
            assert check_name(subject, step) == f"{subject.value} {step.value}"
    assert check_name.cache_info().maxsize is not None and check_name.cache_info().currsize <= len(Subject) * len(Step)


def test_answers_new_on_every_tap_are_built_not_remembered() -> None:
    tlv_view.clear_tree_cache()
    nodes = tlv_view.decoded_nodes(GENERATE_AC, tlv_view.GENERATE_AC_FORMAT1, remember=False)
    assert nodes == tlv_view._decoded_nodes(GENERATE_AC, tlv_view.GENERATE_AC_FORMAT1)
    assert tlv_view.tree_cache_size() == 0


def test_a_tap_remembers_only_the_cards_constant_answers() -> None:
    from tests.flow.support import TRANSACTION, enrol, make_card, make_verifier, tap

    verifier, card = make_verifier(), make_card("visa-cvn18-dda")  # DDA: INTERNAL AUTHENTICATE too
    enrol(verifier, card)
    tlv_view.clear_tree_cache()
    tap(card, verifier.issue_challenge(TRANSACTION))
    constant = tlv_view.tree_cache_size()
    for _ in range(3):
        tap(card, verifier.issue_challenge(TRANSACTION))
    assert constant >= 5 and tlv_view.tree_cache_size() == constant  # PPSE, FCI, GPO, records: nothing new
