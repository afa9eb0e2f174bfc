"""Card and reader back to back, no mocks: every profile, every application.

The reader (tests/card_emulation/reader.py) selects the PPSE and the AID, runs
GET PROCESSING OPTIONS, reads every AFL record, verifies the certificate chain to
the simulator CA key, runs INTERNAL AUTHENTICATE (DDA) and GENERATE AC (with CDA
when offered), and recomputes the ARQC from the issuer master key in the key store.
"""

from __future__ import annotations

import pytest

from card_emulation.interface import ApduCard
from card_emulation.personalise import Personalisation
from card_emulation.profile import load_profile
from protocol.crypto.cryptogram import verify_ac
from protocol.crypto.cvn import Cvn, ac_input, build_terminal_data
from protocol.errors import VerificationError
from tests.card_emulation.conftest import PROFILES
from tests.card_emulation.reader import Reader, Transaction, apdu

CASES = [(name, i) for name in PROFILES for i in range(len(load_profile(name).applications))]


@pytest.mark.parametrize(("name", "index"), CASES)
def test_tap_verifies(name: str, index: int, make_card, keystore, personalised: dict[str, Personalisation]) -> None:
    card = make_card(name)
    assert isinstance(card, ApduCard)
    reader = Reader(card)
    apps = reader.applications()
    profile = personalised[name].image.profile
    assert [aid for _, aid in apps] == [a.aid for a in sorted(profile.applications, key=lambda a: a.priority)]
    app = profile.applications[index]
    result = reader.tap(app.aid, Transaction(), keystore)
    assert result.cid == 0x80  # ARQC
    assert result.atc == app.initial_atc + 1
    if app.oda:
        assert "issuer certificate hash" in result.oda_checks
    if "sda" in app.oda:
        assert "signed static data hash" in result.oda_checks
    if "dda" in app.oda:
        assert "ICC certificate hash" in result.oda_checks
        assert "signed dynamic data hash" in result.oda_checks
    assert result.cda == ("cda" in app.oda)
    if result.cda:
        assert "signed dynamic data transaction data hash code" in result.oda_checks


@pytest.mark.parametrize("name", PROFILES)
def test_arqc_is_bound_to_the_transaction(name: str, make_card, keystore) -> None:
    """An ARQC made for one amount does not verify for another (the relay/phishing case)."""
    card = make_card(name)
    reader = Reader(card)
    aid = reader.applications()[0][1]
    result = reader.tap(aid, Transaction(), keystore)
    other = Transaction(amount=bytes.fromhex("000000099999"))
    pan = result.records[0x5A].hex().upper().rstrip("F")
    psn = result.records[0x5F34].hex() if 0x5F34 in result.records else None
    entry = keystore.issuer_keys_for(aid, pan)
    cvn = Cvn.parse(entry.cryptogram)
    atc = result.atc.to_bytes(2, "big")
    data = ac_input(cvn, terminal_data=build_terminal_data(other.values()), aip=result.aip, atc=atc, iad=result.iad)
    with pytest.raises(VerificationError):
        verify_ac(cvn, entry.keys.ac, pan, psn, atc=atc, un=other.un, ac_input=data, cryptogram=result.ac)


def test_atc_increases_per_transaction(make_card, keystore) -> None:
    card = make_card("visa-cvn18-dda")
    reader = Reader(card)
    atcs = []
    for _ in range(3):
        card.power_on()
        atcs.append(reader.tap(bytes.fromhex("A0000000031010"), Transaction(), keystore).atc)
    assert atcs == [1, 2, 3]


def test_second_generate_ac_completes_the_transaction(make_card, keystore) -> None:
    card = make_card("mastercard-cvn16-cda")
    reader = Reader(card)
    first = reader.tap(bytes.fromhex("A0000000041010"), Transaction(), keystore)
    cdol2 = bytes(10) + b"00" + bytes(5) + bytes(4) + bytes(8)  # 91, 8A "00", 95, 9F37, 9F4C
    data, sw = reader.send(apdu(0x80, 0xAE, 0x40, 0x00, cdol2))
    assert sw == 0x9000
    assert data[0] == 0x77 and bytes.fromhex("9F270140") in data  # TC
    assert bytes.fromhex("9F3602") + first.atc.to_bytes(2, "big") in data  # same transaction, same ATC
    _, sw = reader.send(apdu(0x80, 0xAE, 0x40, 0x00, cdol2))
    assert sw == 0x6985
    data, sw = reader.send(apdu(0x80, 0xCA, 0x9F, 0x13))
    assert (data, sw) == (bytes.fromhex("9F1302") + first.atc.to_bytes(2, "big"), 0x9000)
    assert card.image.counters_for(bytes.fromhex("A0000000041010")).last_online_atc == first.atc
