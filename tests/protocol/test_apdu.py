"""Command and response APDUs (ISO/IEC 7816-4 §5.1): cases 1-4, short and extended."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.apdu import ApduError, CommandApdu, ResponseApdu
from protocol.errors import UsageError


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


SELECT_PPSE = h("00 A4 04 00 0E 325041592E5359532E4444463031 00")


@pytest.mark.parametrize(
    ("apdu", "encoded", "case"),
    [
        (CommandApdu(0x00, 0xB2, 0x01, 0x0C), "00 B2 01 0C", 1),
        (CommandApdu(0x00, 0xB2, 0x01, 0x0C, le=256), "00 B2 01 0C 00", 2),
        (CommandApdu(0x80, 0xCA, 0x9F, 0x36, le=5), "80 CA 9F 36 05", 2),
        (CommandApdu(0x00, 0x20, 0x00, 0x80, data=h("241234FFFFFFFFFF")), "00 20 00 80 08 241234FFFFFFFFFF", 3),
        (CommandApdu(0x00, 0xA4, 0x04, 0x00, data=b"2PAY.SYS.DDF01", le=256), SELECT_PPSE.hex(), 4),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=65536, extended=True), "00 B0 00 00 00 00 00", 2),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=300, extended=True), "00 B0 00 00 00 01 2C", 2),
        (CommandApdu(0x00, 0xD6, 0x00, 0x00, data=b"\xAA" * 300, extended=True),
         "00 D6 00 00 00 01 2C" + "AA" * 300, 3),
        (CommandApdu(0x80, 0xAE, 0x80, 0x00, data=b"\x01\x02", le=65536, extended=True),
         "80 AE 80 00 00 00 02 0102 00 00", 4),
    ],
)
def test_encode_parse_known_cases(apdu: CommandApdu, encoded: str, case: int) -> None:
    raw = h(encoded)
    assert apdu.encode() == raw
    assert bytes(apdu) == raw
    assert apdu.case == case
    assert CommandApdu.parse(raw) == apdu


def test_header() -> None:
    assert CommandApdu(0x80, 0xA8, 0x00, 0x00, data=h("8300"), le=256).header == h("80A80000")


@pytest.mark.parametrize(
    ("raw", "offset", "words"),
    [
        ("00 A4 04", 3, "at least 4"),
        ("", 0, "at least 4"),
        ("00 A4 04 00 00 01", 4, "short Lc of 0"),
        ("00 A4 04 00 05 0102", 4, "Lc says 5"),
        ("00 A4 04 00 02 010203 04", 4, "Lc says 2"),
        ("00 A4 04 00 00 00 00 01", 5, "extended Lc of 0"),
        ("00 A4 04 00 00 00 03 0102", 5, "extended Lc says 3"),
        ("00 A4 04 00 00 00 02 0102 00", 5, "extended Lc says 2"),
    ],
)
def test_malformed_commands(raw: str, offset: int, words: str) -> None:
    with pytest.raises(ApduError) as info:
        CommandApdu.parse(h(raw))
    assert info.value.offset == offset
    assert words in info.value.reason


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cla": 256, "ins": 0, "p1": 0, "p2": 0},
        {"cla": 0, "ins": -1, "p1": 0, "p2": 0},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "data": b"\x00" * 256},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "le": 257},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "le": 0},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "le": 65537, "extended": True},
        {"cla": 0, "ins": 0, "p1": 0, "p2": 0, "data": bytearray(b"\x01")},
    ],
)
def test_invalid_commands_are_usage_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        CommandApdu(**kwargs)  # type: ignore[arg-type]


def test_parse_rejects_non_bytes() -> None:
    with pytest.raises(TypeError):
        CommandApdu.parse(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ResponseApdu.parse(2)  # type: ignore[arg-type]


def test_response() -> None:
    response = ResponseApdu.parse(h("6F 00 90 00"))
    assert response.data == h("6F00") and response.sw == 0x9000 and response.ok
    assert ResponseApdu.parse(h("6A82")).sw == 0x6A82
    assert not ResponseApdu.from_sw(0x6A82).ok
    assert ResponseApdu.from_sw(0x6C10, b"x").encode() == b"x\x6c\x10"
    with pytest.raises(ApduError):
        ResponseApdu.parse(b"\x90")
    with pytest.raises(UsageError):
        ResponseApdu.from_sw(0x19000)
    with pytest.raises(UsageError):
        ResponseApdu(b"", 0x100, 0)


# --- property tests -------------------------------------------------------------------

@st.composite
def commands(draw: st.DrawFn) -> CommandApdu:
    extended = draw(st.booleans())
    max_lc, max_le = (65535, 65536) if extended else (255, 256)
    data = draw(st.binary(max_size=min(max_lc, 400)))
    le = draw(st.none() | st.integers(1, max_le))
    header = draw(st.tuples(*[st.integers(0, 255)] * 4))
    return CommandApdu(*header, data=data, le=le, extended=extended)


@given(commands())
@settings(max_examples=500)
def test_round_trip_cases_1_to_4(apdu: CommandApdu) -> None:
    raw = apdu.encode()
    parsed = CommandApdu.parse(raw)
    assert parsed.encode() == raw
    assert (parsed.cla, parsed.ins, parsed.p1, parsed.p2, parsed.data, parsed.le) == (
        apdu.cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, apdu.le,
    )
    if apdu.case != 1:  # a case 1 APDU has no length field to tell short from extended
        assert parsed.extended == apdu.extended


@given(st.binary(max_size=300))
@settings(max_examples=1500)
def test_arbitrary_command_bytes_parse_canonically_or_raise(raw: bytes) -> None:
    try:
        parsed = CommandApdu.parse(raw)
    except ApduError as exc:
        assert exc.offset is not None
        return
    assert parsed.encode() == raw


@given(st.binary(min_size=4, max_size=8).map(lambda b: b[:4] + b"\x00" + b[4:]))
def test_extended_looking_bodies(raw: bytes) -> None:
    try:
        assert CommandApdu.parse(raw).encode() == raw
    except ApduError:
        pass


@given(st.binary(max_size=300))
def test_arbitrary_response_bytes(raw: bytes) -> None:
    try:
        response = ResponseApdu.parse(raw)
    except ApduError:
        assert len(raw) < 2
        return
    assert response.encode() == raw
    assert 0 <= response.sw <= 0xFFFF
