"""Cross-check every symmetric algorithm pyemv also implements, on seeded random inputs.

pyemv (test-only dependency) is an independent implementation; agreement on a few
hundred random inputs per algorithm covers what the published vectors do not:
Visa CVN 18 and Mastercard CVN 17/21 have no vector, long PANs for option B,
every MAC length and padding boundary. Our code is written from EMV Book 2 Annex A,
not from pyemv's.
"""

from __future__ import annotations

import random
import string

import pytest

pyemv = pytest.importorskip("pyemv")
from pyemv import ac as pe_ac  # noqa: E402
from pyemv import cvn as pe_cvn  # noqa: E402
from pyemv import kd as pe_kd  # noqa: E402
from pyemv import mac as pe_mac  # noqa: E402
from pyemv import sm as pe_sm  # noqa: E402
from pyemv import tools as pe_tools  # noqa: E402

from protocol.crypto.cryptogram import (  # noqa: E402
    Cvn,
    ac_input,
    application_cryptogram,
    arpc_method_1,
    arpc_method_2,
    build_iad,
    generate_ac,
    generate_arpc,
    verify_ac,
)
from protocol.crypto.keys import (  # noqa: E402
    IssuerMasterKeys,
    derive_icc_mk_a,
    derive_icc_mk_b,
    session_key_common,
    session_key_emv2000_tree,
    session_key_visa_sm,
)
from protocol.crypto.mac import (  # noqa: E402
    Padding,
    adjust_des_parity,
    key_check_value,
    mac_iso9797_1_alg3,
    pad_iso9797_1_method_1,
    pad_iso9797_1_method_2,
)
from protocol.crypto.secure_messaging import (  # noqa: E402
    command_mac,
    encrypt_command_data,
    pin_block_iso9564_format2,
    pin_block_vis,
    pin_change_command,
    script_mac,
)
from protocol.crypto.cvn import SmEncryption  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

N = 300


def rng(seed: int) -> random.Random:
    return random.Random(f"trustone-pyemv-{seed}")


def rb(r: random.Random, n: int) -> bytes:
    return r.randbytes(n)


def digits(r: random.Random, n: int) -> str:
    return "".join(r.choice(string.digits) for _ in range(n))


def pan(r: random.Random) -> str:
    return digits(r, r.randint(12, 19))


def psn(r: random.Random) -> str | None:
    return None if r.random() < 0.2 else digits(r, 2)


# --------------------------------------------------------------------------- helpers and MAC


def test_parity_kcv_padding() -> None:
    r = rng(1)
    for _ in range(N):
        key = rb(r, r.choice((8, 16, 24)))
        assert adjust_des_parity(key) == pe_tools.adjust_key_parity(key)
        length = r.randint(1, 8)
        assert key_check_value(key, length) == pe_tools.key_check_digits(key, length)
        data = rb(r, r.randint(0, 40))
        if data:  # ISO 9797-1 method 1 of empty data: we give one zero block
            assert pad_iso9797_1_method_1(data) == pe_mac.pad_iso9797_1(data)
        assert pad_iso9797_1_method_2(data) == pe_mac.pad_iso9797_2(data)
        assert pad_iso9797_1_method_2(data, 16) == pe_mac.pad_iso9797_2(data, 16)


@pytest.mark.parametrize("key_len", [8, 16])
def test_mac_iso9797_1_alg3(key_len: int) -> None:
    r = rng(2 + key_len)
    for _ in range(N):
        k1, k2, data = rb(r, key_len), rb(r, key_len), rb(r, r.randint(1, 70))
        padding, length = r.choice((1, 2)), r.randint(4, 8)
        assert mac_iso9797_1_alg3(k1, k2, data, padding, length) == pe_mac.mac_iso9797_3(k1, k2, data, padding, length)


# --------------------------------------------------------------------------- key derivation


def test_icc_master_keys_and_session_keys() -> None:
    r = rng(3)
    for _ in range(N):
        imk, p, s = rb(r, 16), pan(r), psn(r)
        assert derive_icc_mk_a(imk, p, s) == pe_kd.derive_icc_mk_a(imk, p, s)
        assert derive_icc_mk_b(imk, p, s) == pe_kd.derive_icc_mk_b(imk, p, s)
        mk, rr, atc = rb(r, 16), rb(r, 8), rb(r, 2)
        assert session_key_common(mk, rr) == pe_kd.derive_common_sk(mk, rr)
        assert session_key_visa_sm(mk, atc) == pe_kd.derive_visa_sm_sk(mk, atc)


def test_emv2000_tree() -> None:
    r = rng(4)
    for i in range(N // 3):
        height, branch = ((8, 4), (16, 2))[i % 2]
        mk, atc, iv = rb(r, 16), rb(r, 2), rb(r, 16) if i % 3 else bytes(16)
        ours = session_key_emv2000_tree(mk, atc, height=height, branch_factor=branch, iv=iv)
        assert ours == pe_kd.derive_emv2000_tree_sk(mk, atc, height, branch, iv)


# --------------------------------------------------------------------------- cryptograms and ARPC


def test_generic_ac_and_arpc() -> None:
    r = rng(5)
    for _ in range(N):
        sk, data = rb(r, 16), rb(r, r.randint(1, 64))
        assert application_cryptogram(sk, data, Padding.METHOD_2) == pe_ac.generate_ac(sk, data, pe_ac.PaddingType.EMV)
        assert application_cryptogram(sk, data, Padding.METHOD_1) == pe_ac.generate_ac(sk, data, pe_ac.PaddingType.VISA)
        arqc, arc, csu, prop = rb(r, 8), rb(r, 2), rb(r, 4), rb(r, r.randint(0, 8))
        assert arpc_method_1(sk, arqc, arc) == pe_ac.generate_arpc_1(sk, arqc, arc)
        assert arpc_method_2(sk, arqc, csu, prop) == pe_ac.generate_arpc_2(sk, arqc, csu, prop)


PYEMV_CVN = {
    Cvn.VISA_10: pe_cvn.VisaCVN10,
    Cvn.VISA_18: pe_cvn.VisaCVN18,
    Cvn.VISA_22: pe_cvn.VisaCVN22,
    Cvn.INTERAC_133: pe_cvn.InteracCVN133,
    Cvn.MASTERCARD_16: pe_cvn.MasterCardCVN16,
    Cvn.MASTERCARD_17: pe_cvn.MasterCardCVN17,
    Cvn.MASTERCARD_20: pe_cvn.MasterCardCVN20,
    Cvn.MASTERCARD_21: pe_cvn.MasterCardCVN21,
}
TAG_LENGTHS = ((0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2), (0x9A, 3), (0x9C, 1), (0x9F37, 4),
               (0x82, 2), (0x9F36, 2))


def _random_card_iad(cvn: Cvn, r: random.Random) -> tuple[bytes, dict[str, bytes]]:
    """A random IAD for ``cvn`` and the pyemv keyword arguments it corresponds to."""
    if cvn is Cvn.VISA_10:
        cvr = b"\x03" + rb(r, 3)
        return build_iad(cvn, cvr=cvr, dki=r.randint(0, 255)), {"cvr": cvr}
    if cvn in (Cvn.MASTERCARD_16, Cvn.MASTERCARD_20, Cvn.MASTERCARD_17, Cvn.MASTERCARD_21):
        cvr, counters = rb(r, 6), rb(r, 8)
        iad = build_iad(cvn, cvr=cvr, dac_idn=rb(r, 2), counters=counters)
        extra = {"counters": counters} if cvn in (Cvn.MASTERCARD_17, Cvn.MASTERCARD_21) else {}
        return iad, {"cvr": cvr, **extra}
    iad = rb(r, r.choice((7, 18, 22, 32)))
    return iad, {"tag_9f10": iad}


@pytest.mark.parametrize("cvn", list(PYEMV_CVN), ids=lambda c: c.name)
def test_cvn_against_pyemv(cvn: Cvn) -> None:
    r = rng(100 + list(PYEMV_CVN).index(cvn))
    for _ in range(N // 2):
        keys = IssuerMasterKeys(rb(r, 16), rb(r, 16), rb(r, 16))
        p, s = pan(r), digits(r, 2)
        card = PYEMV_CVN[cvn](keys.ac, keys.smi, keys.smc, p, s)
        tags = {t: rb(r, n) for t, n in TAG_LENGTHS}
        atc, un = tags[0x9F36], tags[0x9F37]
        iad, extra = _random_card_iad(cvn, r)
        terminal = b"".join(tags[t] for t, _ in TAG_LENGTHS[:8])
        data = ac_input(cvn, terminal_data=terminal, aip=tags[0x82], atc=atc, iad=iad)
        arqc = generate_ac(cvn, keys.ac, p, s, atc=atc, un=un, ac_input=data)
        pe_args = {f"tag_{t:x}": v for t, v in tags.items()}
        assert arqc == card.generate_ac(**pe_args, **extra)
        verify_ac(cvn, keys.ac, p, s, atc=atc, un=un, ac_input=data, cryptogram=arqc)

        arc, csu, prop = rb(r, 2), rb(r, 4), rb(r, r.randint(0, 8))
        ours = generate_arpc(cvn, keys.ac, p, s, arqc=arqc, atc=atc, un=un, arc=arc, csu=csu, prop_auth_data=prop)
        if cvn in (Cvn.VISA_18, Cvn.VISA_22):
            theirs = card.generate_arpc(arqc, atc, csu, prop)
        elif cvn is Cvn.INTERAC_133:
            theirs = card.generate_arpc(arqc, un, atc, arc)
        elif cvn in (Cvn.MASTERCARD_20, Cvn.MASTERCARD_21):
            theirs = card.generate_arpc(arqc, atc, arc)
        else:
            theirs = card.generate_arpc(arqc, arc)
        assert ours == theirs

        header = bytes([0x84, r.choice((0x18, 0x1E, 0x24, 0xDA)), 0, 0, r.randint(8, 40)])
        cmd_data = rb(r, r.randint(0, 24))
        mac = script_mac(cvn, keys.smi, p, s, command_header=header, atc=atc, arqc=arqc, command_data=cmd_data)
        if cvn is Cvn.INTERAC_133:
            assert mac == card.generate_command_mac(header, arqc, cmd_data)
        else:
            assert mac == card.generate_command_mac(header, arqc, atc, cmd_data)

        new_pin = digits(r, r.randint(4, 12))
        visa = cvn in (Cvn.VISA_10, Cvn.VISA_18, Cvn.VISA_22)
        current = digits(r, r.randint(4, 12)) if visa and r.random() < 0.5 else None
        command = pin_change_command(cvn, keys, p, s, new_pin=new_pin, atc=atc, arqc=arqc, current_pin=current)
        if visa:
            assert command == card.generate_pin_change_command(new_pin, arqc, atc, current)
        elif cvn is Cvn.INTERAC_133:
            assert command == card.generate_pin_change_command(new_pin, arqc)
        else:
            assert command == card.generate_pin_change_command(new_pin, arqc, atc)


# --------------------------------------------------------------------------- secure messaging


def test_secure_messaging_primitives() -> None:
    r = rng(6)
    modes = {SmEncryption.EMV: pe_sm.EncryptionType.EMV, SmEncryption.MASTERCARD: pe_sm.EncryptionType.MASTERCARD,
             SmEncryption.VISA: pe_sm.EncryptionType.VISA}
    for _ in range(N):
        sk, data = rb(r, 16), rb(r, r.randint(1, 40))
        length = r.randint(4, 8)
        assert command_mac(sk, data, length) == pe_sm.generate_command_mac(sk, data, length)
        for ours, theirs in modes.items():
            assert encrypt_command_data(sk, data, ours) == pe_sm.encrypt_command_data(sk, data, theirs)
        new_pin = digits(r, r.randint(4, 12))
        current = digits(r, r.randint(4, 12)) if r.random() < 0.5 else None
        assert pin_block_iso9564_format2(new_pin) == pe_sm.format_iso9564_2_pin_block(new_pin)
        assert pin_block_vis(sk, new_pin, current) == pe_sm.format_vis_pin_block(sk, new_pin, current)
