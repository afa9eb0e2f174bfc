"""Property tests: no input crashes the card or corrupts its state."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card_emulation.applet import EmvCard
from card_emulation.image import ImageFile, image_from_json, image_to_json
from tests.card_emulation.conftest import Counter

VISA = bytes.fromhex("A0000000031010")

# Commands that are likely to reach deep into the card, mixed with random bytes.
_PREFIXES = [
    bytes.fromhex("00A4040007A000000003101000"),
    bytes.fromhex("00A404000E325041592E5359532E444446303100"),
    bytes.fromhex("80A80000128310") + bytes(16) + b"\x00",
    bytes.fromhex("80AE80001D") + bytes(29) + b"\x00",
    bytes.fromhex("80AE00001F") + bytes(31) + b"\x00",
    bytes.fromhex("0088000004") + bytes(4) + b"\x00",
    bytes.fromhex("00B2010C00"),
    bytes.fromhex("80CA9F3600"),
    bytes.fromhex("0020008008241234FFFFFFFFFF"),
    bytes.fromhex("0084000000"),
]
commands = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(_PREFIXES),
    st.builds(lambda head, tail: head + tail, st.sampled_from([p[:4] for p in _PREFIXES]), st.binary(max_size=64)),
    st.builds(
        lambda ins, p1, p2, data: bytes([0x80 if ins in (0xA8, 0xAE, 0xCA) else 0x00, ins, p1, p2, len(data)]) + data,
        st.sampled_from([0xA4, 0xB2, 0xA8, 0xCA, 0x88, 0xAE, 0x20, 0x84]),
        st.integers(0, 255),
        st.integers(0, 255),
        st.binary(min_size=1, max_size=40),
    ),
)


def _check_response(response: bytes) -> None:
    assert isinstance(response, bytes)
    assert len(response) >= 2
    sw1 = response[-2]
    assert sw1 in (0x90, 0x62, 0x63, 0x67, 0x69, 0x6A, 0x6C, 0x6D, 0x6E), response.hex()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(commands, max_size=25), power_cycles=st.lists(st.booleans(), max_size=25))
def test_no_sequence_crashes_or_lowers_the_atc(personalised, sequence, power_cycles) -> None:
    for name in ("visa-cvn18-dda", "mastercard-cvn16-cda", "cap-visa-dpa"):
        image = personalised[name].image
        card = EmvCard(image, random_bytes=Counter())
        card.power_on()
        before = {a.aid: image.counters_for(a.aid) for a in image.applications}
        last = dict(before)
        for i, command in enumerate(sequence):
            if i < len(power_cycles) and power_cycles[i]:
                card.power_on()
            _check_response(card.process(command))
            for app in image.applications:
                now = card.image.counters_for(app.aid)
                assert now.atc >= last[app.aid].atc  # never decreases without a rollback fault
                assert now.pin_tries_left <= last[app.aid].pin_tries_left or now.pin_tries_left == (
                    app.profile.pin_try_limit
                )
                last[app.aid] = now
        text = image_to_json(card.image)
        assert image_to_json(image_from_json(text)) == text  # the image stays loadable


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(commands, max_size=15))
def test_image_file_always_loadable(personalised, tmp_path_factory, sequence) -> None:
    path = tmp_path_factory.mktemp("prop") / "card.json"
    ImageFile(path).save(personalised["visa-cvn18-dda"].image)
    card = EmvCard.from_file(path, random_bytes=Counter())
    card.power_on()
    for command in sequence:
        _check_response(card.process(command))
    loaded = ImageFile(path).load()
    assert loaded.counters == card.image.counters


@given(raw=st.binary(max_size=600))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_any_state(make_card, raw) -> None:
    card = make_card("dual-mastercard-maestro")
    _check_response(card.process(raw))
    card.process(bytes.fromhex("00A4040007A000000004101000"))
    _check_response(card.process(raw))


def test_non_bytes_input(make_card) -> None:
    card = make_card("visa-cvn18-dda")
    for junk in (5, None, "00A40400", [0, 0xA4]):
        assert card.process(junk) == b"\x67\x00"  # type: ignore[arg-type]
