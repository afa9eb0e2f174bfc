"""Each fault kind has the observable effect it promises (card_emulation.faults)."""

from __future__ import annotations

import pytest

from card_emulation.applet import EmvCard
from card_emulation.commands import CommandKind
from card_emulation.errors import FaultSpecError
from card_emulation.faults import (
    AlterAip,
    CloneKeys,
    CloneStaticData,
    CorruptCryptogram,
    CorruptSignature,
    Delay,
    FaultPlan,
    Mute,
    OverrideStatus,
    RollbackAtc,
    TearAfter,
    Trigger,
)
from card_emulation.image import ImageFile
from protocol.errors import VerificationError
from tests.card_emulation.reader import Reader, Transaction, apdu

VISA = bytes.fromhex("A0000000031010")
MC = bytes.fromhex("A0000000041010")
SELECT_VISA = apdu(0x00, 0xA4, 0x04, 0x00, VISA)


def tap(card: EmvCard, aid: bytes, keystore, **kwargs):
    return Reader(card).tap(aid, Transaction(), keystore, **kwargs)


def test_no_faults_taps_cleanly(make_card, keystore) -> None:
    assert tap(make_card("mastercard-cvn16-cda", faults=FaultPlan()), MC, keystore).cda


def test_override_status_word_on_nth_command(make_card) -> None:
    card = make_card("visa-cvn18-dda", faults=FaultPlan.parse("any:sw=6985@3"))
    answers = [card.process(SELECT_VISA)[-2:] for _ in range(4)]
    assert answers == [b"\x90\x00", b"\x90\x00", b"\x69\x85", b"\x90\x00"]


def test_override_does_not_execute_the_command(make_card, keystore) -> None:
    card = make_card("visa-cvn18-dda", faults=FaultPlan((OverrideStatus(0x6A81, Trigger(CommandKind.GENERATE_AC)),)))
    with pytest.raises(Exception, match="6A81"):
        tap(card, VISA, keystore)
    assert card.image.counters_for(VISA).atc == 0


@pytest.mark.parametrize("name,aid", [("visa-cvn18-dda", VISA), ("mastercard-cvn16-cda", MC)])
def test_corrupt_cryptogram_fails_the_arqc_check(make_card, keystore, name: str, aid: bytes) -> None:
    card = make_card(name, faults=FaultPlan.parse("genac:corrupt-ac"))
    with pytest.raises(VerificationError) as failure:
        tap(card, aid, keystore)  # with CDA: the signature over the wrong AC still verifies
    assert failure.value.check == "ARQC"


@pytest.mark.parametrize("name,aid", [("visa-cvn18-dda", VISA), ("mastercard-cvn16-cda", MC)])
def test_corrupt_signature_fails_dynamic_data_authentication(make_card, keystore, name: str, aid: bytes) -> None:
    card = make_card(name, faults=FaultPlan((CorruptSignature(),)))
    with pytest.raises(VerificationError) as failure:
        tap(card, aid, keystore)
    assert failure.value.check.startswith("signed dynamic data")


def test_corrupt_cda_signature_only(make_card, keystore) -> None:
    card = make_card("mastercard-cvn16-cda", faults=FaultPlan.parse("genac:corrupt-sig"))
    reader = Reader(card)
    with pytest.raises(VerificationError) as failure:
        reader.tap(MC, Transaction(), keystore)  # INTERNAL AUTHENTICATE passed; the CDA signature did not
    assert failure.value.check.startswith("signed dynamic data")
    assert reader.log[-1][0][1] == 0xAE


def test_delay_sleeps_and_shows_in_the_timing(make_card) -> None:
    slept: list[float] = []
    card = make_card("visa-cvn18-dda", faults=FaultPlan.parse("select:delay=120ms"), sleep=slept.append)
    card.process(SELECT_VISA)
    assert slept == [0.12]
    assert card.last_timing is not None and card.last_timing.fault_delay_ms == 120
    card.process(apdu(0x80, 0xCA, 0x9F, 0x36))
    assert slept == [0.12]


def test_mute_answers_nothing(make_card) -> None:
    card = make_card("visa-cvn18-dda", faults=FaultPlan((Mute(Trigger(CommandKind.GET_DATA)),)))
    assert card.process(SELECT_VISA).endswith(b"\x90\x00")
    assert card.process(apdu(0x80, 0xCA, 0x9F, 0x36)) == b""
    assert card.process(SELECT_VISA).endswith(b"\x90\x00")


def test_tear_after_n_commands_until_power_on(make_card) -> None:
    card = make_card("visa-cvn18-dda", faults=FaultPlan.parse("tear-after=2"))
    assert [card.process(SELECT_VISA)[-2:] for _ in range(4)] == [b"\x90\x00", b"\x90\x00", b"", b""]
    card.power_on()
    assert card.process(SELECT_VISA).endswith(b"\x90\x00")


def test_tear_during_transaction_keeps_the_image_consistent(image_file) -> None:
    path = image_file("visa-cvn18-dda")
    card = EmvCard.from_file(path, faults=FaultPlan((TearAfter(3),)))
    card.power_on()
    card.process(SELECT_VISA)
    card.process(apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8310") + bytes(16)))
    assert card.process(apdu(0x80, 0xAE, 0x80, 0x00, bytes(29))).endswith(b"\x90\x00")
    assert card.process(apdu(0x80, 0xCA, 0x9F, 0x36)) == b""
    assert ImageFile(path).load().counters_for(VISA).atc == 1


def test_atc_rollback(image_file, keystore) -> None:
    path = image_file("visa-cvn18-dda")
    card = EmvCard.from_file(path)
    card.power_on()
    for _ in range(3):
        card.power_on()
        tap(card, VISA, keystore)
    rolled = EmvCard.from_file(path, faults=FaultPlan((RollbackAtc(2),)))
    rolled.power_on()
    assert tap(rolled, VISA, keystore).atc == 2  # 3 was already seen: a verifier rejects it


def test_aip_downgrade_breaks_the_signed_static_data(make_card, keystore) -> None:
    card = make_card("mastercard-cvn16-cda", faults=FaultPlan.parse("gpo:aip-clear=dda+cda"))
    reader = Reader(card)
    with pytest.raises(VerificationError) as failure:
        reader.tap(MC, Transaction(), keystore)
    assert failure.value.check == "ICC certificate hash"  # the AIP is part of the signed static data
    gpo = next(rsp for cmd, rsp in reader.log if cmd[1] == 0xA8)
    assert gpo[4:6] == bytes([0x39 & ~0x21, 0x81])  # byte 2: EMV mode + relay resistance, untouched


def test_aip_value(make_card) -> None:
    card = make_card("visa-cvn18-dda", faults=FaultPlan((AlterAip(clear=0, value=b"\x40\x00"),)))
    card.process(SELECT_VISA)
    response = card.process(apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8310") + bytes(16)))
    assert response[2:4] == b"\x40\x00"


def test_clone_with_own_keys(make_card, personalised, keystore) -> None:
    victim = personalised["visa-cvn18-dda"].image
    card = make_card("mastercard-cvn16-cda", faults=FaultPlan((CloneStaticData(victim, CloneKeys.OWN),)))
    reader = Reader(card)
    with pytest.raises(VerificationError) as failure:
        reader.tap(VISA, Transaction(), keystore)  # the victim's AID, records and certificates...
    assert failure.value.check.startswith("signed dynamic data")  # ...but not its ICC key
    card.power_on()
    with pytest.raises(VerificationError) as failure:
        Reader(card).tap(VISA, Transaction(), keystore, cda=False)
    assert failure.value.check.startswith("signed dynamic data")


def test_sda_era_copy_passes_sda_but_not_the_arqc(make_card, personalised, keystore, image_file) -> None:
    victim_path = image_file("legacy-sda")
    card = make_card("visa-cvn18-dda", faults=FaultPlan.parse(f"clone-keyless={victim_path}"))
    reader = Reader(card)
    with pytest.raises(VerificationError) as failure:
        reader.tap(VISA, Transaction(), keystore)
    # ODA runs before the ARQC check in the reader: the copied SSAD verified, the cryptogram did not
    assert failure.value.check == "ARQC"
    assert ImageFile(victim_path).load().counters_for(VISA).atc == 0  # the victim's file is untouched


# ------------------------------------------------------------------ text syntax


def test_parse_examples(tmp_path) -> None:
    plan = FaultPlan.parse(" genac:corrupt-ac ; any:sw=6985@3; tear-after=5 ;gpo:aip-clear=dda+cda; ia:delay=50 ")
    assert plan.faults == (
        CorruptCryptogram(Trigger(CommandKind.GENERATE_AC)),
        OverrideStatus(0x6985, Trigger(None, 3)),
        TearAfter(5),
        AlterAip(clear=0x21, when=Trigger(CommandKind.GPO)),
        Delay(50.0, Trigger(CommandKind.INTERNAL_AUTHENTICATE)),
    )
    assert FaultPlan.parse("corrupt-ac").faults == (CorruptCryptogram(),)
    assert FaultPlan.parse("aip=0000").faults == (AlterAip(clear=0, value=b"\x00\x00"),)
    assert FaultPlan.parse("verify:mute@2").faults == (Mute(Trigger(CommandKind.VERIFY, 2)),)
    assert FaultPlan.parse("atc-rollback=4").faults == (RollbackAtc(4),)
    assert FaultPlan.parse("").faults == ()
    assert FaultPlan.parse("sw=6A81") + FaultPlan.parse("mute") == FaultPlan((OverrideStatus(0x6A81), Mute()))


@pytest.mark.parametrize(
    "spec",
    [
        "explode", "genac:explode", "nowhere:mute", "sw=69", "sw=6101", "sw=zzzz", "delay=soon", "tear-after=x",
        "tear-after=-1", "any:mute@0", "aip-clear=everything", "aip=12", "atc-rollback=0", "clone=",
        "clone=/nonexistent/image.json", "corrupt-ac=1",
    ],
)
def test_parse_errors(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        FaultPlan.parse(spec)
