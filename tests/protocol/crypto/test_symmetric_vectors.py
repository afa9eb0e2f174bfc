"""Every vector of tests/vectors/emv_symmetric.json (pyemv tests and docstrings).

Each vector computes, through our public API, a value for *every* key of its
``expected`` block (exact comparison; full DES keys parity-insensitively, ``*_kcv``
as 2-byte and ``*_kcv3`` as 3-byte key check values) and of its ``derived`` block
(the independent re-run's intermediate values: extra checks). A vector whose
``expected``/``derived`` holds a name the handler does not compute fails, so no
assertion can be silently skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from protocol.crypto import primitives
from protocol.crypto.cryptogram import (
    Cvn,
    application_cryptogram,
    arpc_method_1,
    arpc_method_2,
    build_iad,
    build_terminal_data,
    compute_ac,
    compute_arpc,
    derive_icc_master_key,
    verify_ac,
)
from protocol.crypto.cvn import SmEncryption
from protocol.crypto.keys import (
    IssuerMasterKeys,
    derive_icc_mk_a,
    derive_icc_mk_b,
    session_key_common,
    session_key_emv2000_tree,
    session_key_visa_sm,
)
from protocol.crypto.mac import (
    Padding,
    adjust_des_parity,
    des_keys_equal,
    key_check_value,
    mac_iso9797_1_alg3,
    pad_iso9797_1_method_1,
    pad_iso9797_1_method_2,
    tdes_key24,
)
from protocol.crypto.secure_messaging import (
    command_mac,
    compute_pin_change_command,
    compute_script_mac,
    decrypt_command_data,
    encrypt_command_data,
    pin_block_iso9564_format2,
    pin_block_vis,
    pin_from_iso9564_format2,
    pin_from_vis,
)
from protocol.errors import VerificationError

VECTORS_FILE = Path(__file__).resolve().parents[2] / "vectors" / "emv_symmetric.json"
DATA = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DATA["vectors"]

KEY_NAMES = {"icc_mk", "sk", "key", "icc_mk_ac", "sk_ac", "icc_mk_smi", "sk_smi", "icc_mk_smc", "sk_smc"}


def h(value: str | None) -> bytes:
    return bytes.fromhex(value or "")


class Key(bytes):
    """A computed DES key: compared ignoring parity bits."""


def check(computed: dict[str, bytes], block: dict[str, str], what: str) -> None:
    for name, want in block.items():
        if name.endswith("_kcv") or name.endswith("_kcv3"):
            base = name.rsplit("_", 1)[0]
            assert base in computed, f"{what}: handler does not compute {base!r} for {name!r}"
            length = 3 if name.endswith("_kcv3") else 2
            got = key_check_value(computed[base], length).hex().upper()
            assert got == want, f"{what} {name}: {got} != {want}"
            continue
        assert name in computed, f"{what}: handler does not compute {name!r}"
        got_b, want_b = computed[name], h(want)
        if isinstance(got_b, Key) or name in KEY_NAMES:
            assert des_keys_equal(got_b, want_b), f"{what} {name}: {got_b.hex().upper()} != {want}"
        else:
            assert got_b == want_b, f"{what} {name}: {got_b.hex().upper()} != {want}"


# --------------------------------------------------------------------------- handlers


def _icc_mk(v: dict[str, Any], derive: Callable[..., bytes]) -> dict[str, bytes]:
    i = v["inputs"]
    mk = derive(h(i["iss_mk"]), i["pan"], i["psn"])
    out = {"icc_mk": Key(mk), "iss_mk": h(i["iss_mk"])}
    return out


def _cvn_card(v: dict[str, Any]) -> tuple[Cvn, dict[str, Any]]:
    return Cvn(v["inputs"]["cvn"]), v["inputs"]["card"]


def _arqc(v: dict[str, Any]) -> dict[str, bytes]:
    cvn, card = _cvn_card(v)
    i = v["inputs"]
    tags = {int(t, 16): h(x) for t, x in i["tags"].items()}
    iad = h(i["9F10"]) if "9F10" in i else build_iad(cvn, cvr=h(i["cvr"]))
    from protocol.crypto.cryptogram import ac_input

    data = ac_input(cvn, terminal_data=build_terminal_data(tags), aip=tags[0x82], atc=tags[0x9F36], iad=iad)
    comp = compute_ac(cvn, h(card["iss_mk_ac"]), card["pan"], card["psn"], atc=tags[0x9F36], un=tags[0x9F37],
                      ac_input=data)
    verify_ac(cvn, h(card["iss_mk_ac"]), card["pan"], card["psn"], atc=tags[0x9F36], un=tags[0x9F37],
              ac_input=data, cryptogram=h(v["expected"]["arqc"]))
    bad = bytes([comp.cryptogram[0] ^ 1]) + comp.cryptogram[1:]
    with pytest.raises(VerificationError) as info:
        comp.verify(bad)
    assert info.value.check == "ARQC"
    return {"arqc": comp.cryptogram, "icc_mk_ac": Key(comp.icc_master_key), "sk_ac": Key(comp.session_key),
            "ac_input": comp.mac_input}


def _arpc_cvn(v: dict[str, Any]) -> dict[str, bytes]:
    cvn, card = _cvn_card(v)
    i = v["inputs"]
    comp = compute_arpc(
        cvn, h(card["iss_mk_ac"]), card["pan"], card["psn"], arqc=h(i["arqc"]), atc=h(i.get("atc", "0000")),
        un=h(i["un"]) if "un" in i else None, arc=h(i["arpc_rc"]) if "arpc_rc" in i else None,
        csu=h(i["csu"]) if "csu" in i else None,
    )
    return {"arpc": comp.arpc, "key": Key(comp.key)}


def _script_mac_cvn(v: dict[str, Any]) -> dict[str, bytes]:
    cvn, card = _cvn_card(v)
    i = v["inputs"]
    comp = compute_script_mac(cvn, h(card["iss_mk_smi"]), card["pan"], card["psn"],
                              command_header=h(i["command_header"]), atc=h(i["atc"]), arqc=h(i["arqc"]))
    return {"mac": comp.mac, "icc_mk_smi": Key(comp.icc_master_key), "sk_smi": Key(comp.session_key),
            "mac_input": comp.mac_input}


def _pin_change_cvn(v: dict[str, Any]) -> dict[str, bytes]:
    cvn, card = _cvn_card(v)
    i = v["inputs"]
    keys = IssuerMasterKeys(h(card["iss_mk_ac"]), h(card["iss_mk_smi"]), h(card["iss_mk_smc"]))
    comp = compute_pin_change_command(cvn, keys, card["pan"], card["psn"], new_pin=i["pin"], atc=h(i["atc"]),
                                      arqc=h(i["arqc"]), current_pin=i.get("current_pin"))
    return {
        "command": comp.command, "icc_mk_smc": Key(comp.icc_master_key_smc), "sk_smc": Key(comp.session_key_smc),
        "sk_smi": Key(comp.session_key_smi), "pin_block": comp.pin_block,
        "enc_pin_block": comp.encrypted_pin_block,
        "icc_mk_ac": Key(derive_icc_master_key(cvn, h(card["iss_mk_ac"]), card["pan"], card["psn"])),
    }


def _enc(v: dict[str, Any]) -> dict[str, bytes]:
    i = v["inputs"]
    mode = SmEncryption[i["encryption_type"].upper()]
    key, data = h(i["sk_smc"]), h(i["data"])
    ciphertext = encrypt_command_data(key, data, mode)
    assert decrypt_command_data(key, ciphertext, mode)[: len(data)] == data
    return {"ciphertext": ciphertext}


def _iso2(v: dict[str, Any]) -> dict[str, bytes]:
    block = pin_block_iso9564_format2(v["inputs"]["pin"])
    assert pin_from_iso9564_format2(block) == v["inputs"]["pin"]
    return {"pin_block": block}


def _vis(v: dict[str, Any]) -> dict[str, bytes]:
    i = v["inputs"]
    block = pin_block_vis(h(i["icc_mk_ac"]), i["pin"], i.get("current_pin"))
    assert pin_from_vis(h(i["icc_mk_ac"]), block, i.get("current_pin")) == i["pin"]
    return {"pin_block": block}


def _sk(fn: Callable[[dict[str, Any]], bytes]) -> Callable[[dict[str, Any]], dict[str, bytes]]:
    return lambda v: {"sk": Key(fn(v["inputs"]))}


HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, bytes]]] = {
    "key_check_value": lambda v: {"kcv": key_check_value(h(v["inputs"]["key"]), v["inputs"]["length"])},
    "des_key_parity": lambda v: {"key": adjust_des_parity(h(v["inputs"]["key"]))},
    "tdes_ecb": lambda v: {"ciphertext": primitives.tdes_ecb_encrypt(tdes_key24(h(v["inputs"]["key"])),
                                                                     h(v["inputs"]["data"]))},
    "tdes_cbc": lambda v: {"ciphertext": primitives.tdes_cbc_encrypt(
        tdes_key24(h(v["inputs"]["key"])), h(v["inputs"]["data"]), h(v["inputs"]["iv"]))},
    "pad_iso9797_1_method_1": lambda v: {"padded": pad_iso9797_1_method_1(h(v["inputs"]["data"]))},
    "pad_iso9797_1_method_2": lambda v: {"padded": pad_iso9797_1_method_2(h(v["inputs"]["data"]))},
    "mac_iso9797_1_alg3": lambda v: {"mac": mac_iso9797_1_alg3(
        h(v["inputs"]["key1"]), h(v["inputs"]["key2"]), h(v["inputs"]["data"]), v["inputs"]["padding"])},
    "icc_mk_option_a": lambda v: _icc_mk(v, derive_icc_mk_a),
    "icc_mk_option_b": lambda v: _icc_mk(v, derive_icc_mk_b),
    "session_key_common": _sk(lambda i: session_key_common(h(i["icc_mk"]), h(i["r"]))),
    "session_key_visa_sm": _sk(lambda i: session_key_visa_sm(h(i["icc_mk"]), h(i["atc"]))),
    "session_key_emv2000_tree": _sk(lambda i: session_key_emv2000_tree(
        h(i["icc_mk"]), h(i["atc"]), height=i["height"], branch_factor=i["branch_factor"], iv=h(i["iv"]))),
    "application_cryptogram": lambda v: {"ac": application_cryptogram(
        h(v["inputs"]["sk_ac"]), h(v["inputs"]["data"]),
        {"emv": Padding.METHOD_2, "visa": Padding.METHOD_1}[v["inputs"]["padding"]])},
    "arpc_method_1": lambda v: {"arpc": arpc_method_1(
        h(v["inputs"]["key"]), h(v["inputs"]["arqc"]), h(v["inputs"]["arpc_rc"]))},
    "arpc_method_2": lambda v: {"arpc": arpc_method_2(
        h(v["inputs"]["sk_ac"]), h(v["inputs"]["arqc"]), h(v["inputs"]["csu"]), h(v["inputs"]["prop_auth_data"]))},
    "sm_command_mac": lambda v: {"mac": command_mac(h(v["inputs"]["sk_smi"]), h(v["inputs"]["data"]))},
    "sm_encrypt_command_data": _enc,
    "pin_block_iso9564_format2": _iso2,
    "pin_block_vis": _vis,
}
for _cvn in ("visa_cvn10", "visa_cvn22", "interac_cvn133", "mastercard_cvn16", "mastercard_cvn20"):
    HANDLERS[f"arqc_{_cvn}"] = _arqc
    HANDLERS[f"arpc_{_cvn}"] = _arpc_cvn
    HANDLERS[f"script_mac_{_cvn}"] = _script_mac_cvn
    HANDLERS[f"pin_change_command_{_cvn}"] = _pin_change_cvn


def test_vector_file_is_complete() -> None:
    assert DATA["vector_count"] == len(VECTORS) == 81
    assert len({v["id"] for v in VECTORS}) == len(VECTORS)
    assert {v["algorithm"] for v in VECTORS} <= set(HANDLERS), "an algorithm in the file has no handler"


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    computed = HANDLERS[vector["algorithm"]](vector)
    assert vector["expected"], "a vector without expected values tests nothing"
    check(computed, vector["expected"], "expected")
    check(computed, vector.get("derived", {}), "derived")
    # input_checks: KCVs upstream asserts on the inputs (e.g. the issuer master key)
    for name, want in vector.get("input_checks", {}).items():
        base, length = name.rsplit("_", 1)[0], 3 if name.endswith("_kcv3") else 2
        assert key_check_value(computed[base], length).hex().upper() == want
