"""Status words the card answers with (ISO/IEC 7816-4 §5.1.3; EMV 4.4 Book 3 §6.3.5)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Sw(enum.IntEnum):
    OK = 0x9000
    SELECTED_FILE_INVALIDATED = 0x6283  # Book 1 §12.3.3: blocked application
    WRONG_LENGTH = 0x6700
    AUTH_METHOD_BLOCKED = 0x6983
    CONDITIONS_NOT_SATISFIED = 0x6985
    WRONG_DATA = 0x6A80
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    WRONG_P1P2 = 0x6A86
    DATA_NOT_FOUND = 0x6A88
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


def pin_tries_sw(tries_left: int) -> int:
    """``63Cx``: verification failed, ``x`` tries left (ISO/IEC 7816-4 Table 6)."""
    return 0x63C0 | min(max(tries_left, 0), 15)


def wrong_le_sw(exact: int) -> int:
    """``6Cxx``: wrong Le, ``xx`` is the exact length available (ISO/IEC 7816-4 Table 6)."""
    return 0x6C00 | (exact & 0xFF)


@dataclass(frozen=True)
class Reply:
    """A response APDU before encoding: data field and status word."""

    data: bytes = b""
    sw: int = Sw.OK

    def encode(self) -> bytes:
        return self.data + int(self.sw).to_bytes(2, "big")


class CardStatus(Exception):
    """Raised inside a command handler to answer ``sw`` with no data."""

    def __init__(self, sw: int) -> None:
        self.sw = sw
        super().__init__(f"{sw:04X}")
