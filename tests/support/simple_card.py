"""A small ISO 7816-4 test card: a stand-in behind the vpcd bridge and transports.

It is *not* the EMV card; it exercises the transport paths (vpcd, PC/SC, wrappers)
with behaviour a test can request per command:

======================  ==========================================================
command                 answer
======================  ==========================================================
SELECT by AID           ``00 A4 04 00 Lc AID [Le]``: FCI ``6F (84 AID)`` + ``9000``,
                        ``6A82`` for an unknown AID
ECHO                    ``80 EE 00 00 Lc data [Le]``: data + ``9000``
ECHO via 61xx           ``80 EE 61 nn Lc data``: ``61xx``, then the data through
                        GET RESPONSE in chunks of ``nn`` bytes (``00`` = 256)
ECHO checking Le        ``80 EE 6C 00 Lc data Le``: ``6C len`` unless Le == len
ENDLESS 61xx            ``80 EE 66 00 ...``: ``6101``, and every GET RESPONSE
                        answers one byte + ``6101`` again (a hostile card)
ENDLESS 6Cxx            ``80 EE 6D 00 ...``: always ``6C`` + a different length
GET RESPONSE            ``00 C0 00 00 Le``: next chunk of pending data
======================  ==========================================================

``delay`` (seconds) makes every APDU slow; ``commands`` records what arrived.
"""

from __future__ import annotations

import time

from protocol.apdu import CommandApdu
from protocol.errors import MalformedDataError

# T=1 ATR: TS=3B, T0=88 (TD1 follows, 8 historical bytes), TD1=80 (TD2 follows,
# T=0), TD2=01 (T=1), historical bytes, TCK (XOR of T0..last historical byte).
_HISTORICAL = b"TRUSTONE"


def _with_tck(body: bytes) -> bytes:
    tck = 0
    for b in body[1:]:
        tck ^= b
    return body + bytes([tck])


ATR_T1 = _with_tck(bytes([0x3B, 0x88, 0x80, 0x01]) + _HISTORICAL)
ATR_T0 = bytes([0x3B, 0x08]) + _HISTORICAL  # T=0 only: no TD1, no TCK
TEST_AID = bytes.fromhex("F0010203040506")

INS_SELECT = 0xA4
INS_ECHO = 0xEE
INS_GET_RESPONSE = 0xC0


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")


class SimpleCard:
    """An :class:`~card_emulation.interface.ApduCard` for transport tests."""

    def __init__(
        self,
        *,
        atr: bytes = ATR_T1,
        aids: tuple[bytes, ...] = (TEST_AID,),
        delay: float = 0.0,
        name: str = "simple test card",
    ) -> None:
        self._atr = atr
        self.aids = aids
        self.delay = delay
        self.name = name
        self.selected: bytes | None = None
        self.powered = False
        self.power_ons = 0
        self.commands: list[bytes] = []
        self._pending = b""
        self._chunk = 256
        self._endless = 0

    @property
    def atr(self) -> bytes:
        return self._atr

    @property
    def historical_bytes(self) -> bytes:
        return _HISTORICAL

    def power_on(self) -> None:
        self.powered = True
        self.power_ons += 1
        self.selected = None
        self._pending = b""
        self._endless = 0

    def power_off(self) -> None:
        self.powered = False
        self.selected = None
        self._pending = b""

    def process(self, apdu: bytes) -> bytes:
        self.commands.append(bytes(apdu))
        if self.delay:
            time.sleep(self.delay)
        try:
            command = CommandApdu.parse(apdu)
        except MalformedDataError:
            return _sw(0x6700)
        if command.ins == INS_GET_RESPONSE:
            return self._get_response(command)
        self._pending = b""
        if command.ins == INS_SELECT and command.p1 == 0x04:
            return self._select(command)
        if command.ins == INS_ECHO:
            return self._echo(command)
        return _sw(0x6D00)

    def _select(self, command: CommandApdu) -> bytes:
        if command.data not in self.aids:
            return _sw(0x6A82)
        self.selected = command.data
        fci_body = bytes([0x84, len(command.data)]) + command.data
        return bytes([0x6F, len(fci_body)]) + fci_body + _sw(0x9000)

    def _echo(self, command: CommandApdu) -> bytes:
        data = command.data
        if command.p1 == 0x61:
            self._pending, self._chunk = data, command.p2 or 256
            return bytes([0x61, min(len(data), self._chunk) % 256])
        if command.p1 == 0x6C and command.le != len(data):
            return bytes([0x6C, len(data) % 256])
        if command.p1 == 0x66:
            self._endless = 1
            return _sw(0x6101)
        if command.p1 == 0x6D:
            return bytes([0x6C, ((command.le or 0) % 255) + 1])
        return data + _sw(0x9000)

    def _get_response(self, command: CommandApdu) -> bytes:
        if self._endless:
            return b"\x00" + _sw(0x6101)
        if not self._pending:
            return _sw(0x6985)
        want = command.le or 256
        if want > len(self._pending) or want > self._chunk:
            return bytes([0x6C, min(len(self._pending), self._chunk) % 256])
        out, self._pending = self._pending[:want], self._pending[want:]
        if self._pending:
            return out + bytes([0x61, min(len(self._pending), self._chunk) % 256])
        return out + _sw(0x9000)
