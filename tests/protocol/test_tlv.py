"""BER-TLV codec (EMV 4.4 Book 3 Annex B): unit tests and property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import tlv
from protocol.tlv import Tlv, TlvError


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- tags -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("encoded", "tag", "consumed"),
    [("82", 0x82, 1), ("9F02", 0x9F02, 2), ("5F2A", 0x5F2A, 2), ("DF8117", 0xDF8117, 3), ("BF0C", 0xBF0C, 2),
     ("DF818101", 0xDF818101, 4)],
)
def test_read_tag_multi_byte(encoded: str, tag: int, consumed: int) -> None:
    assert tlv.read_tag(h(encoded) + b"\x01", 0) == (tag, consumed)


def test_tag_longer_than_four_bytes_is_rejected_at_its_offset() -> None:
    with pytest.raises(TlvError) as info:
        tlv.decode(h("820100 DF81818101 00"))
    assert info.value.offset == 3
    assert "longer than 4" in info.value.reason


def test_tag_cut_short_reports_its_start() -> None:
    with pytest.raises(TlvError) as info:
        tlv.decode(h("8200 9F"))
    assert info.value.offset == 2
    assert "past end" in info.value.reason


def test_tag_helpers() -> None:
    assert tlv.tag_bytes(0x9F02) == h("9F02")
    assert tlv.tag_hex(0xDF8117) == "DF8117"
    assert tlv.is_constructed(0x70) and tlv.is_constructed(0xBF0C) and tlv.is_constructed(0xFF8101)
    assert not tlv.is_constructed(0x9F02) and not tlv.is_constructed(0x80) and not tlv.is_constructed(0xDF8117)


@pytest.mark.parametrize("bad", [0x9F, 0x5F, 0x9F81, 0x0102, 0x829F02])
def test_encode_refuses_malformed_tags(bad: int) -> None:
    with pytest.raises(ValueError):
        tlv.encode(bad, b"\x01")


# --- lengths ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("length", "encoded"),
    [(0, "00"), (127, "7F"), (128, "8180"), (255, "81FF"), (256, "820100"), (65535, "82FFFF"),
     (65536, "83010000"), (2**24, "8401000000"), (2**32 - 1, "84FFFFFFFF")],
)
def test_length_encoding_is_minimal_and_reads_back(length: int, encoded: str) -> None:
    assert tlv.encode_length(length) == h(encoded)
    assert tlv.read_length(h(encoded), 0) == (length, len(h(encoded)))


def test_length_too_large_for_four_bytes() -> None:
    with pytest.raises(ValueError):
        tlv.encode_length(2**32)


@pytest.mark.parametrize("form", ["81", "82", "83", "84"])
def test_long_form_lengths_decode(form: str) -> None:
    count = int(form, 16) & 0x7F
    value = bytes(range(200))
    data = h("C1") + h(form) + len(value).to_bytes(count, "big") + value
    (obj,) = tlv.decode(data)
    assert obj.value == value
    assert obj.header_length == 2 + count


def test_non_minimal_length_is_accepted_and_reencoded_minimally() -> None:
    (obj,) = tlv.decode(h("5A 81 02 1234"))
    assert obj.value == h("1234")
    assert obj.encode() == h("5A 02 1234")


@pytest.mark.parametrize(("data", "offset", "words"), [
    ("9F02 80", 2, "indefinite"), ("9F02 85 0000000001 00", 2, "at most 4"), ("9F02 82 01", 2, "past end"),
    ("9F02", 2, "expected a length"),
])
def test_bad_lengths(data: str, offset: int, words: str) -> None:
    with pytest.raises(TlvError) as info:
        tlv.decode(h(data))
    assert info.value.offset == offset
    assert words in info.value.reason


def test_value_overrun_reports_tag_offset_and_counts() -> None:
    with pytest.raises(TlvError) as info:
        tlv.decode(h("5F2A 02 0978 9F02 06 0000"))
    assert info.value.offset == 5
    assert "declares 6 value bytes but only 2 remain" in info.value.reason
    assert "at offset 5" in str(info.value)


def test_nested_error_offset_is_absolute() -> None:
    with pytest.raises(TlvError) as info:
        tlv.decode(h("70 06 5A 02 12 34 57 05"))
    assert info.value.offset == 6


# --- constructed objects, depth, padding ----------------------------------------------

FCI = h("6F 1E 84 0E 325041592E5359532E4444463031 A5 0C BF0C 09 61 07 4F 05 A000000003")


def test_constructed_nesting_and_offsets() -> None:
    (fci,) = tlv.decode(FCI)
    assert fci.tag == 0x6F and fci.constructed
    assert [(d, n.tag) for d, n in fci.walk()] == [(0, 0x6F), (1, 0x84), (1, 0xA5), (2, 0xBF0C), (3, 0x61), (4, 0x4F)]
    aid = fci.find(0x4F)
    assert aid is not None and aid.value == h("A000000003")
    assert aid.offset == 25 and aid.header_length == 2
    assert FCI[aid.offset + aid.header_length :][:5] == aid.value
    assert fci.encode() == FCI
    assert tlv.find_all([fci], 0x84)[0].value == b"2PAY.SYS.DDF01"
    assert tlv.flatten([fci]) == {0x84: b"2PAY.SYS.DDF01", 0x4F: h("A000000003")}


def _nest(depth: int) -> bytes:
    data = tlv.encode(0x5A, b"\x12")
    for _ in range(depth):
        data = tlv.encode(0x70, data)
    return data


def test_depth_limit() -> None:
    assert len(list(tlv.iter_all(tlv.decode(_nest(tlv.MAX_DEPTH))))) == tlv.MAX_DEPTH + 1
    with pytest.raises(TlvError) as info:
        tlv.decode(_nest(tlv.MAX_DEPTH + 1))
    assert "nested too deeply" in info.value.reason
    with pytest.raises(TlvError):
        tlv.decode(_nest(3), max_depth=2)
    assert tlv.decode(_nest(3), max_depth=3)


def test_deep_hostile_nesting_fails_cleanly() -> None:
    data = b"".join([b"\x70\x81\xff"] * 300)  # far deeper than any real response
    with pytest.raises(TlvError):
        tlv.decode(data)


def test_padding_between_objects_is_skipped() -> None:
    data = h("00 00 5A 01 12 00 70 05 00 9F36 01 01 00 00")
    objects = tlv.decode(data)
    assert [o.tag for o in objects] == [0x5A, 0x70]
    assert objects[1].children[0].tag == 0x9F36
    assert objects[1].offset == 6


def test_padding_rejected_when_not_allowed() -> None:
    with pytest.raises(TlvError) as info:
        tlv.decode(h("5A 01 12 00 00"), skip_padding=False)
    assert info.value.offset == 3
    assert tlv.decode(h("5A 01 12"), skip_padding=False)[0].value == h("12")


def test_decode_one() -> None:
    assert tlv.decode_one(h("00 9F36 02 0001 00")).value == h("0001")
    with pytest.raises(TlvError):
        tlv.decode_one(h("9F36 02 0001 9F36 02 0002"))
    with pytest.raises(TlvError):
        tlv.decode_one(b"\x00\x00")


def test_input_types() -> None:
    assert tlv.decode(bytearray(h("5A0112")))[0].value == h("12")
    assert tlv.decode(memoryview(h("5A0112")))[0].value == h("12")
    with pytest.raises(TypeError):
        tlv.decode("5A0112")  # type: ignore[arg-type]


def test_constructed_helper() -> None:
    assert tlv.constructed(0x77, tlv.encode(0x9F27, b"\x80")) == h("77 04 9F27 01 80")
    with pytest.raises(ValueError):
        tlv.constructed(0x9F27, b"")


# --- property tests -------------------------------------------------------------------

def _tag(constructed: bool) -> st.SearchStrategy[int]:
    cons = 0x20 if constructed else 0x00
    single = st.integers(0, 0xFF).filter(lambda b: b & 0x1F != 0x1F and b & 0x20 == cons and b != 0)
    first = st.sampled_from([b for b in range(256) if b & 0x1F == 0x1F and b & 0x20 == cons])
    middle = st.lists(st.integers(0x80, 0xFF), max_size=2)
    last = st.integers(0x00, 0x7F)
    multi = st.tuples(first, middle, last).map(lambda t: int.from_bytes(bytes([t[0], *t[1], t[2]]), "big"))
    return st.one_of(single.map(int), multi)


primitive = st.builds(lambda tag, value: Tlv(tag, value), _tag(False), st.binary(max_size=300))
trees = st.recursive(
    primitive,
    lambda children: st.builds(
        lambda tag, kids: Tlv(tag, b"".join(k.encode() for k in kids), tuple(kids)),
        _tag(True), st.lists(children, max_size=4),
    ),
    max_leaves=20,
)


def _shape(obj: Tlv) -> tuple[object, ...]:
    return (obj.tag, obj.value if not obj.children else None, tuple(_shape(c) for c in obj.children))


@given(st.lists(trees, max_size=4))
@settings(max_examples=300)
def test_round_trip_of_generated_trees(objects: list[Tlv]) -> None:
    data = b"".join(o.encode() for o in objects)
    decoded = tlv.decode(data)
    assert [_shape(o) for o in decoded] == [_shape(o) for o in objects]
    assert b"".join(o.encode() for o in decoded) == data
    for node in tlv.iter_all(decoded):
        assert data[node.offset + node.header_length :][: len(node.value)] == node.value


@given(st.binary(max_size=600), st.booleans())
@settings(max_examples=1500)
def test_arbitrary_bytes_decode_or_raise_tlv_error(data: bytes, padding: bool) -> None:
    try:
        objects = tlv.decode(data, skip_padding=padding)
    except TlvError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(data)
        return
    reencoded = b"".join(o.encode() for o in objects)
    again = tlv.decode(reencoded, skip_padding=padding)
    assert [(n.tag, n.value) for n in tlv.iter_all(again) if not n.children] == [
        (n.tag, n.value) for n in tlv.iter_all(objects) if not n.children
    ]


@given(st.lists(st.sampled_from([b"\x70\x84", b"\x77\x83\xff\xff", b"\x9f", b"\x00", b"\x81\x84"]), max_size=80))
def test_hostile_prefixes_never_crash(parts: list[bytes]) -> None:
    try:
        tlv.decode(b"".join(parts))
    except TlvError:
        pass


def _decode_reference(data: bytes, start: int, end: int, depth_left: int, skip_padding: bool) -> tuple[tlv.Tlv, ...]:
    """The decoder as it was before its inline fast paths: read_tag/read_length for every object."""
    objects: list[tlv.Tlv] = []
    offset = start
    while offset < end:
        if skip_padding and data[offset] == 0x00:
            offset += 1
            continue
        tag, after_tag = tlv.read_tag(data, offset, end)
        if tag == 0:
            raise tlv.TlvError("00 is padding, not a tag", offset)
        length, value_start = tlv.read_length(data, after_tag, end)
        value_end = value_start + length
        if value_end > end:
            raise tlv.TlvError(
                f"tag {tlv.tag_hex(tag)} declares {length} value bytes but only {end - value_start} remain", offset
            )
        children: tuple[tlv.Tlv, ...] = ()
        if tlv.is_constructed(tag):
            if depth_left <= 0:
                raise tlv.TlvError("constructed data objects nested too deeply", offset)
            children = _decode_reference(data, value_start, value_end, depth_left - 1, skip_padding)
        objects.append(tlv.Tlv(tag, data[value_start:value_end], children, offset, value_start - offset))
        offset = value_end
    return tuple(objects)


def _outcome(decoder, data: bytes, depth: int, skip_padding: bool) -> object:  # type: ignore[no-untyped-def]
    try:
        return decoder(data, 0, len(data), depth, skip_padding)
    except tlv.TlvError as exc:
        return ("error", exc.reason, exc.offset)


_TLV_PIECES = st.sampled_from([b"\x00", b"\x70", b"\x77", b"\x5a", b"\x9f", b"\x1f", b"\x81", b"\x82", b"\x84",
                               b"\x80", b"\x7f", b"\x01", b"\x02", b"\x05", b"\xbf\x0c", b"\x9f\x4b", b"\xff"])


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=64), st.lists(_TLV_PIECES, max_size=30).map(b"".join)),
       st.integers(0, 3), st.booleans())  # fmt: skip
def test_decoder_fast_paths_agree_with_the_reference(data: bytes, depth: int, skip_padding: bool) -> None:
    assert _outcome(tlv._decode, data, depth, skip_padding) == _outcome(_decode_reference, data, depth, skip_padding)


def test_decoder_fast_paths_agree_on_real_answers() -> None:
    nested = tlv.encode(0x77, tlv.encode(0x9F27, b"\x80") + tlv.encode(0x9F4B, bytes(200))
                        + tlv.encode(0x9F36, b"\x00\x02"))  # fmt: skip
    record = tlv.encode(0x70, tlv.encode(0x5A, bytes.fromhex("4761739001010010")) + tlv.encode(0x8C, bytes(30)))
    for data in (nested, record, b"\x00\x00" + record + b"\x00", record[:-1], nested[:5]):
        for skip in (True, False):
            fast, reference = (_outcome(f, data, tlv.MAX_DEPTH, skip) for f in (tlv._decode, _decode_reference))
            assert fast == reference
