"""The authenticator back to back with the real emulated card, for every shipped profile.

Each application of each profile: the session ends with an assertion signed by the
device key, carrying the card's answers exactly as sent (records, PDOL and CDOL1
data built from T and the UN), the phone's offline data authentication passes with
the simulator CA from the key store, and the card's ARQC recomputed from the issuer
master key covers the terminal data the phone sent.
"""

from __future__ import annotations

import pytest

from protocol import tlv
from protocol.crypto.cryptogram import verify_ac
from protocol.crypto.cvn import Cvn, ac_input, build_terminal_data
from protocol.crypto.primitives import ec_public_bytes
from protocol.dol import parse_dol, split_dol_data
from protocol.masking import mask_pan
from protocol.tap.assertion import Assertion, device_id_for
from protocol.tap.events import (
    ApduExchanged,
    CheckCompleted,
    CheckStatus,
    CryptoComputed,
    DataDecoded,
    MessageSent,
    SessionFailed,
    Step,
    StepStarted,
)
from tests.tap.support import (
    DEVICE_KEY,
    PROFILES,
    TRANSACTION,
    challenge,
    keystore,
    make_card,
    new_session,
    personalised,
    pump,
)

CASES = [
    (name, app.aid)
    for name in PROFILES
    for app in personalised(name).image.applications
]


def _tap(name: str, aid: bytes, **kwargs: object):
    card = make_card(name)
    session = new_session(application_choice="ask", **kwargs)
    pump(session, card, choose=lambda _s: aid)
    return card, session


@pytest.mark.parametrize(("name", "aid"), CASES, ids=[f"{n}-{a.hex().upper()}" for n, a in CASES])
def test_tap_ends_with_a_signed_assertion(name: str, aid: bytes) -> None:
    card, session = _tap(name, aid)
    assert session.failure is None, session.failure
    assertion = session.assertion
    assert assertion is not None and session.done
    assertion.verify_signature(ec_public_bytes(DEVICE_KEY))
    assert Assertion.from_bytes(assertion.to_bytes()) == assertion
    assert assertion.challenge_id == "challenge-1" and assertion.user_id == "alice"
    assert assertion.device_id == device_id_for(ec_public_bytes(DEVICE_KEY))

    app = card.image.application(aid)
    evidence = assertion.evidence
    assert evidence.aid == aid
    assert [(r.sfi, r.record, r.data) for r in evidence.records] == sorted(
        (sfi, number, data) for (sfi, number), data in app.records.items()
    )
    assert [r.for_oda for r in evidence.records] == [
        layout.oda for layout in sorted(app.profile.records, key=lambda l: (l.sfi, l.record))
    ]
    assert evidence.masked_pan == mask_pan(app.profile.pan)
    assert app.profile.pan not in evidence.masked_pan


@pytest.mark.parametrize(("name", "aid"), CASES, ids=[f"{n}-{a.hex().upper()}" for n, a in CASES])
def test_pdol_and_cdol1_data_carry_t_and_the_un(name: str, aid: bytes) -> None:
    card, session = _tap(name, aid)
    evidence = session.assertion.evidence  # type: ignore[union-attr]
    profile = card.image.application(aid).profile
    ch = challenge()
    expected = {
        **TRANSACTION.bound_terminal_data(), 0x9F37: ch.un, 0x9F1A: bytes.fromhex("0410"), 0x9F03: bytes(6),
        0x95: bytes(5), 0x9F35: b"\x34", 0x9F34: bytes.fromhex("1F0302"), 0x9F66: bytes.fromhex("21800000"),
    }  # fmt: skip
    cdol1 = split_dol_data(parse_dol(profile.cdol1), evidence.cdol1_data)
    for tag, value in cdol1.items():
        if tag in expected:
            assert value == expected[tag], f"CDOL1 {tlv.tag_hex(tag)}"
    assert cdol1[0x9F02] == bytes.fromhex("000000050000") and cdol1[0x9F37] == ch.un
    pdol = split_dol_data(parse_dol(profile.pdol), evidence.pdol_data)
    for tag, value in pdol.items():
        assert value == expected.get(tag, value), f"PDOL {tlv.tag_hex(tag)}"


@pytest.mark.parametrize(("name", "aid"), CASES, ids=[f"{n}-{a.hex().upper()}" for n, a in CASES])
def test_phone_oda_passes_and_cda_is_requested_when_supported(name: str, aid: bytes) -> None:
    card, session = _tap(name, aid)
    events = session.drain_events()
    evidence = session.assertion.evidence  # type: ignore[union-attr]
    profile = card.image.application(aid).profile
    checks = {e.check: e for e in events if isinstance(e, CheckCompleted)}
    assert checks["offline data authentication"].status is CheckStatus.PASSED
    assert checks["CA key found"].status is CheckStatus.PASSED
    assert checks["issuer certificate"].status is CheckStatus.PASSED
    methods = {m.value for m in profile.oda}
    if "cda" in methods:
        assert evidence.generate_ac_p1 == 0x90
        assert checks["signed dynamic data (CDA)"].status is CheckStatus.PASSED
        assert evidence.internal_authenticate_response == b""
    else:
        assert evidence.generate_ac_p1 == 0x80
    if methods == {"dda"}:
        assert checks["ICC certificate"].status is CheckStatus.PASSED
        assert checks["signed dynamic data (DDA)"].status is CheckStatus.PASSED
        assert evidence.ddol_data == challenge().un  # DDOL 9F37 04
        assert evidence.internal_authenticate_response
    if methods == {"sda"}:
        assert checks["signed static data (SDA)"].status is CheckStatus.PASSED
        assert evidence.ddol_data == evidence.internal_authenticate_response == b""
    assert not any(c.status is CheckStatus.FAILED for c in checks.values())


@pytest.mark.parametrize(("name", "aid"), CASES, ids=[f"{n}-{a.hex().upper()}" for n, a in CASES])
def test_card_arqc_covers_the_data_the_phone_sent(name: str, aid: bytes) -> None:
    """Recompute the ARQC from the issuer master key over the CDOL1 values in the assertion."""
    card, session = _tap(name, aid)
    events = session.drain_events()
    evidence = session.assertion.evidence  # type: ignore[union-attr]
    profile = card.image.application(aid).profile
    answer = tlv.decode_one(evidence.generate_ac_response)
    gpo = tlv.decode_one(evidence.gpo_response)
    aip = gpo.value[:2] if gpo.tag == 0x80 else gpo.find(0x82).value  # type: ignore[union-attr]
    if answer.tag == 0x80:
        atc, ac, iad = answer.value[1:3], answer.value[3:11], answer.value[11:]
    else:
        fields = {child.tag: child.value for child in answer.children}
        atc, iad = fields[0x9F36], fields.get(0x9F10, b"")
        ac = fields.get(0x9F26) or bytes.fromhex(next(
            value for e in events if isinstance(e, CryptoComputed) for label, value in e.outputs
            if label == "Application Cryptogram"
        ))  # fmt: skip
    values = split_dol_data(parse_dol(profile.cdol1), evidence.cdol1_data)
    entry = keystore().issuer_keys_for(aid, profile.pan)
    assert entry is not None
    cvn = Cvn.parse(entry.cryptogram)
    data = ac_input(cvn, terminal_data=build_terminal_data(values), aip=aip, atc=atc, iad=iad)
    verify_ac(cvn, entry.keys.ac, profile.pan, profile.psn, atc=atc, un=challenge().un, ac_input=data, cryptogram=ac)


def test_event_sequence_of_an_honest_dda_tap() -> None:
    _card, session = _tap("visa-cvn18-dda", bytes.fromhex("A0000000031010"))
    events = session.drain_events()
    steps = [e.step for e in events if isinstance(e, StepStarted)]
    assert steps == [
        Step.SELECT_PPSE, Step.SELECT_AID, Step.GET_PROCESSING_OPTIONS, Step.RELAY_RESISTANCE, Step.READ_RECORDS,
        Step.OFFLINE_DATA_AUTHENTICATION, Step.INTERNAL_AUTHENTICATE, Step.GENERATE_AC,
        Step.ASSERTION,
    ]  # fmt: skip
    names = [e.command_name for e in events if isinstance(e, ApduExchanged)]
    assert names == [
        "SELECT PPSE", "SELECT A0000000031010", "GET PROCESSING OPTIONS", "READ RECORD SFI 1 #1",
        "READ RECORD SFI 2 #1", "READ RECORD SFI 2 #2", "READ RECORD SFI 3 #1", "READ RECORD SFI 3 #2",
        "INTERNAL AUTHENTICATE", "GENERATE AC (ARQC)",
    ]  # fmt: skip
    assert all(e.sw == 0x9000 and e.elapsed_ns == 500_000 for e in events if isinstance(e, ApduExchanged))
    assert isinstance(events[-1], MessageSent) and events[-1].payload_size > 0
    assert not any(isinstance(e, SessionFailed) for e in events)
    assert session.drain_events() == []
    for event in events:
        if isinstance(event, StepStarted):
            assert event.explanation
            assert "EMV" in event.reference or "TrustOne" in event.reference


def test_decoded_records_mask_the_pan() -> None:
    card, session = _tap("visa-cvn18-dda", bytes.fromhex("A0000000031010"))
    pan = card.image.applications[0].profile.pan
    decoded = [e for e in session.drain_events() if isinstance(e, DataDecoded)]
    assert any(e.step is Step.READ_RECORDS for e in decoded)

    def texts(nodes):
        for node in nodes:
            yield node.value_hex
            yield node.meaning
            yield from texts(node.children)

    everything = " ".join(t for e in decoded for t in texts(e.nodes))
    assert pan not in everything and mask_pan(pan) in everything
