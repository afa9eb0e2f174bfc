"""A small ISO 7816-4 test card for the NFC path, until the EMV applet lands.

It answers SELECT by AID, echoes data (short or extended APDUs, to force command
chaining), returns large responses (to force response chaining) and can be slow
(to force S(WTX)). It implements :class:`card_emulation.interface.ApduCard`, so the
EMV card will later go through exactly the same bridge.

Instructions (CLA 80 unless said):

=========  ===================================  =====================================
INS        command                              answer
=========  ===================================  =====================================
A4 (00)    SELECT by name (P1 04), data = AID   FCI ``6F 84 <AID> A5 00`` 9000 / 6A82
EE         ECHO, data                           data 9000
4C         LARGE, length = P1 P2                bytes 00 01 02 … (mod 256) 9000
5A         SLOW, milliseconds = P1 P2           9000 after that delay
=========  ===================================  =====================================

Commands other than SELECT need the application selected (else 6985); unknown
INS 6D00, unknown CLA 6E00, malformed lengths 6700.
"""

from __future__ import annotations

import threading
import time

DEFAULT_AID = bytes.fromhex("F0544F4E4554455354")  # proprietary RID F0…: "TONETEST"


def parse_apdu(apdu: bytes) -> tuple[int, int, int, int, bytes] | None:
    """(CLA, INS, P1, P2, data) of a short or extended APDU (ISO 7816-4 §5.1), None if malformed."""
    if len(apdu) < 4:
        return None
    header, body = apdu[:4], apdu[4:]
    cla, ins, p1, p2 = header
    if len(body) <= 1:  # case 1, case 2 short
        return cla, ins, p1, p2, b""
    if body[0] != 0:  # short Lc
        lc = body[0]
        if len(body) in (1 + lc, 2 + lc):
            return cla, ins, p1, p2, bytes(body[1 : 1 + lc])
        return None
    if len(body) == 3:  # case 2 extended
        return cla, ins, p1, p2, b""
    lc = int.from_bytes(body[1:3], "big")
    if lc and len(body) in (3 + lc, 5 + lc):
        return cla, ins, p1, p2, bytes(body[3 : 3 + lc])
    return None


class SupportCard:
    """A test :class:`~card_emulation.interface.ApduCard` (thread-safe counters)."""

    def __init__(self, *, aid: bytes = DEFAULT_AID, historical_bytes: bytes = b"TONE-NFC") -> None:
        self.aid = aid
        self._historical = historical_bytes
        self._selected = False
        self._lock = threading.Lock()
        self.power_ons = 0
        self.power_offs = 0
        self.commands: list[bytes] = []

    @property
    def atr(self) -> bytes:
        return bytes.fromhex("3B80800101")  # T=1, no historical bytes

    @property
    def historical_bytes(self) -> bytes:
        return self._historical

    def power_on(self) -> None:
        with self._lock:
            self.power_ons += 1
            self._selected = False

    def power_off(self) -> None:
        with self._lock:
            self.power_offs += 1
            self._selected = False

    def process(self, apdu: bytes) -> bytes:
        with self._lock:
            self.commands.append(bytes(apdu))
        parsed = parse_apdu(apdu)
        if parsed is None:
            return b"\x67\x00"
        cla, ins, p1, p2, data = parsed
        if cla == 0x00 and ins == 0xA4:
            if p1 != 0x04:
                return b"\x6a\x86"
            if data != self.aid:
                return b"\x6a\x82"
            self._selected = True
            fci_body = b"\x84" + bytes([len(self.aid)]) + self.aid + b"\xa5\x00"
            return b"\x6f" + bytes([len(fci_body)]) + fci_body + b"\x90\x00"
        if cla != 0x80:
            return b"\x6e\x00"
        if ins not in (0xEE, 0x4C, 0x5A):
            return b"\x6d\x00"
        if not self._selected:
            return b"\x69\x85"
        n = (p1 << 8) | p2
        if ins == 0xEE:
            return data + b"\x90\x00"
        if ins == 0x4C:
            return bytes(i & 0xFF for i in range(n)) + b"\x90\x00"
        time.sleep(n / 1000)
        return b"\x90\x00"


def select(aid: bytes = DEFAULT_AID) -> bytes:
    return bytes([0x00, 0xA4, 0x04, 0x00, len(aid)]) + aid + b"\x00"


def echo(data: bytes) -> bytes:
    """ECHO as a short APDU when it fits, else extended (forces command chaining)."""
    if len(data) <= 255:
        return bytes([0x80, 0xEE, 0x00, 0x00, len(data)]) + data + b"\x00"
    return bytes([0x80, 0xEE, 0x00, 0x00, 0x00]) + len(data).to_bytes(2, "big") + data + b"\x00\x00"


def large(length: int) -> bytes:
    return bytes([0x80, 0x4C, length >> 8, length & 0xFF, 0x00])


def slow(milliseconds: int) -> bytes:
    return bytes([0x80, 0x5A, milliseconds >> 8, milliseconds & 0xFF])
