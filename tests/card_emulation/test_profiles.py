"""The shipped card profiles and the profile format's validation."""

from __future__ import annotations

import copy
import tomllib

import pytest

from card_emulation.atr import historical_bytes_of, with_tck
from card_emulation.errors import ProfileError
from card_emulation.profile import OdaMethod, list_profiles, load_profile, luhn_valid, parse_profile
from protocol.crypto import capk
from protocol.crypto.cvn import Cvn
from protocol.dol import parse_dol
from protocol.resources import resource_path

TERMINAL_TAGS = {0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37}


def test_the_required_profiles_exist() -> None:
    profiles = [load_profile(n) for n in list_profiles()]
    apps = [a for p in profiles for a in p.applications]
    assert any(a.cryptogram is Cvn.VISA_18 and a.oda == {OdaMethod.DDA} for a in apps)
    assert any(a.cryptogram in (Cvn.MASTERCARD_16, Cvn.MASTERCARD_17) and OdaMethod.CDA in a.oda for a in apps)
    assert any(a.oda == {OdaMethod.SDA} and not a.needs_icc_key for a in apps)
    assert any(0x9F56 in a.data and 0x9F55 in a.data and a.pin and a.aid.endswith(b"\x80\x02") for a in apps)
    aes = [a for a in apps if a.cryptogram is Cvn.AES_CMAC]
    assert aes and all(a.aid[0] == 0xF0 for a in aes)
    assert any(len(p.applications) == 2 for p in profiles)


@pytest.mark.parametrize("name", list_profiles())
def test_profile_rules(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    historical_bytes_of(profile.atr)
    for app in profile.applications:
        assert luhn_valid(app.pan)
        assert "TEST" in app.label.upper()
        assert TERMINAL_TAGS <= {e.tag for e in parse_dol(app.cdol1)}
        assert app.expiry.year >= 2030
        for sfi, record in {(r.sfi, r.record) for r in app.records}:
            assert 1 <= sfi <= 30 and record >= 1


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


def test_atr_parsing() -> None:
    assert historical_bytes_of(bytes.fromhex("3B6A0000") + b"TRUSTONEV1") == b"TRUSTONEV1"
    assert historical_bytes_of(with_tck(bytes.fromhex("3B8A8001") + b"TRUSTONEM1")) == b"TRUSTONEM1"
    for bad in ("", "3B", "3B8A8001", "3B8A80015452555354", "3B6A0000545255", "FF00", "3B00FF"):
        with pytest.raises(ValueError):
            historical_bytes_of(bytes.fromhex(bad))
    with pytest.raises(ValueError):
        historical_bytes_of(bytes.fromhex("3B8A8001") + b"TRUSTONEM1" + b"\x00")  # wrong TCK


def test_simulator_ca_indexes_do_not_collide() -> None:
    from card_emulation.personalise import SIMULATOR_CA_INDEXES

    taken = {(k.rid, k.index) for k in capk.default_store().keys()}
    for profile in map(load_profile, list_profiles()):
        for app in profile.applications:
            if app.oda:
                assert (app.rid, SIMULATOR_CA_INDEXES[app.ca_key_bits]) not in taken


def _raw(name: str = "visa-cvn18-dda") -> dict:
    return tomllib.loads(resource_path("cards", f"{name}.toml").read_text())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(schema="x"),
        lambda d: d.update(atr="3B"),
        lambda d: d.update(application=[]),
        lambda d: d["application"][0].update(pan="4999990018000016"),
        lambda d: d["application"][0].update(label="VISA CREDIT"),
        lambda d: d["application"][0].update(aid="A000"),
        lambda d: d["application"][0].update(cryptogram="visa_cvn99"),
        lambda d: d["application"][0].update(oda=["xda"]),
        lambda d: d["application"][0].update(cdol1="9F0206"),
        lambda d: d["application"][0].update(pdol="9F"),
        lambda d: d["application"][0].update(expiry="31/12"),
        lambda d: d["application"][0].update(pin="12"),
        lambda d: d["application"][0].update(issuer_key_bits=2048),
        lambda d: d["application"][0]["record"].append({"sfi": 1, "record": 1, "tags": ["5A"]}),
        lambda d: d["application"][0]["record"].append({"sfi": 5, "record": 1, "oda": True, "tags": ["90"]}),
        lambda d: d["application"].append(copy.deepcopy(d["application"][0])),
        lambda d: d.update(timing={"warp": 1}),
    ],
)
def test_invalid_profiles(mutate) -> None:
    raw = _raw()
    mutate(raw)
    with pytest.raises(ProfileError):
        parse_profile(raw)


def test_unknown_profile_name() -> None:
    with pytest.raises(ProfileError):
        load_profile("no-such-card")
    with pytest.raises(ProfileError):
        load_profile("../etc/passwd")


def test_repr_hides_the_pan() -> None:
    profile = load_profile("visa-cvn18-dda")
    assert profile.applications[0].pan not in repr(profile.applications[0])
