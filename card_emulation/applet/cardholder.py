"""VERIFY, GET DATA and GET CHALLENGE (EMV 4.4 Book 3 §6.5.12, §6.5.7, §6.5.6).

VERIFY (``00 20 00 80 08 <PIN block>``): offline plaintext PIN only (P2 = 80;
enciphered PIN, P2 = 88, is not supported: ``6A86``). The PIN block is ISO 9564
format 2 as EMV uses it (Book 3 §6.5.12.2): ``2N`` then N (4–12) digits, ``F``
filler, 8 bytes (``6700`` otherwise, ``6A80`` if malformed). A wrong PIN
decrements the PIN Try Counter (persisted before answering) and answers ``63Cx``
with the tries left, ``63C0`` on the try that exhausts it; once the counter is 0
every VERIFY answers ``6983`` (authentication method blocked). A right PIN resets
the counter. VERIFY without data answers ``63Cx`` with the tries left, or
``6983`` (ISO/IEC 7816-4 §11.5.6). No PIN personalised: ``6A88``.

GET DATA (``80 CA P1P2 00``): ATC ``9F36``, Last Online ATC Register ``9F13``,
PIN Try Counter ``9F17`` (``6A88`` if the application has no PIN), Log Format
``9F4F`` when personalised; anything else ``6A88``. The answer is the data
object itself (tag, length, value). Needs a selected application (``6985``).

GET CHALLENGE (``00 84 00 00 00``): 8 random bytes (Le absent, 00 or 08; other Le
``6700``), in any state — a terminal asks for it before enciphering a PIN.
"""

from __future__ import annotations

from card_emulation.applet.runtime import CardRuntime, Phase
from card_emulation.applet.selection import check_le
from card_emulation.applet.status import CardStatus, Reply, Sw, pin_tries_sw
from card_emulation.image import ApplicationCounters
from protocol import tlv
from protocol.apdu import CommandApdu
from protocol.crypto.primitives import constant_time_equal

CHALLENGE_LENGTH = 8


def parse_pin_block(block: bytes) -> str | None:
    """PIN digits of a plaintext PIN block (control 2, length 4..12, F filler), or None."""
    text = block.hex().upper()
    if len(block) != 8 or text[0] != "2":
        return None
    length = int(text[1], 16)
    if not 4 <= length <= 12:
        return None
    digits, filler = text[2 : 2 + length], text[2 + length :]
    if not digits.isdigit() or set(filler) - {"F"}:
        return None
    return digits


def verify(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    if cmd.p1 != 0x00 or cmd.p2 != 0x80:
        raise CardStatus(Sw.WRONG_P1P2)
    app = rt.app
    if app is None or rt.session.phase in (Phase.IDLE, Phase.DIRECTORY):
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    if app.profile.pin is None:
        raise CardStatus(Sw.DATA_NOT_FOUND)
    counters = rt.counters(app)
    if counters.pin_tries_left == 0:
        raise CardStatus(Sw.AUTH_METHOD_BLOCKED)
    if not cmd.data:
        raise CardStatus(pin_tries_sw(counters.pin_tries_left))
    if len(cmd.data) != 8:
        raise CardStatus(Sw.WRONG_LENGTH)
    pin = parse_pin_block(cmd.data)
    if pin is None:
        raise CardStatus(Sw.WRONG_DATA)
    if constant_time_equal(pin.encode(), app.profile.pin.encode()):
        if counters.pin_tries_left != app.profile.pin_try_limit:
            rt.store_counters(app, _tries(counters, app.profile.pin_try_limit))
        rt.session.pin_verified, rt.session.pin_failed = True, False
        return Reply()
    left = counters.pin_tries_left - 1
    rt.store_counters(app, _tries(counters, left))
    rt.session.pin_verified, rt.session.pin_failed = False, True
    raise CardStatus(pin_tries_sw(left))


def _tries(counters: ApplicationCounters, left: int) -> ApplicationCounters:
    return ApplicationCounters(counters.atc, counters.last_online_atc, left)


def get_data(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    if cmd.data:
        raise CardStatus(Sw.WRONG_LENGTH)
    app = rt.app
    if app is None:
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    tag = (cmd.p1 << 8) | cmd.p2
    counters = rt.counters(app)
    if tag == 0x9F36:
        value = counters.atc.to_bytes(2, "big")
    elif tag == 0x9F13:
        value = counters.last_online_atc.to_bytes(2, "big")
    elif tag == 0x9F17 and app.profile.pin is not None:
        value = bytes([counters.pin_tries_left])
    elif tag == 0x9F4F and 0x9F4F in app.profile.data:
        value = app.profile.data[0x9F4F]
    else:
        raise CardStatus(Sw.DATA_NOT_FOUND)
    return check_le(Reply(tlv.encode(tag, value)), cmd.le)


def get_challenge(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    if cmd.p1 != 0x00 or cmd.p2 != 0x00:
        raise CardStatus(Sw.WRONG_P1P2)
    if cmd.data or cmd.le not in (None, CHALLENGE_LENGTH, 256, 65536):
        raise CardStatus(Sw.WRONG_LENGTH)
    return Reply(rt.random_bytes(CHALLENGE_LENGTH))
