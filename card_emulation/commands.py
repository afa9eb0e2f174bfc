"""Names of the commands the emulated card knows (EMV 4.4 Book 3 §6.5; Book 1 §11).

One name per command, shared by processing times (profiles), fault targets
(:mod:`card_emulation.faults`) and timing estimates (:mod:`card_emulation.timing`).
"""

from __future__ import annotations

import enum


class CommandKind(enum.StrEnum):
    """A command by CLA/INS (Book 3 Table 5 "Coding of the instruction byte")."""

    SELECT = "select"  # 00 A4, Book 1 §11.3
    READ_RECORD = "read-record"  # 00 B2, Book 1 §11.2
    GPO = "gpo"  # 80 A8, Book 3 §6.5.8
    GET_DATA = "get-data"  # 80 CA, Book 3 §6.5.7
    INTERNAL_AUTHENTICATE = "internal-authenticate"  # 00 88, Book 3 §6.5.9
    GENERATE_AC = "generate-ac"  # 80 AE, Book 3 §6.5.5
    VERIFY = "verify"  # 00 20, Book 3 §6.5.12
    GET_CHALLENGE = "get-challenge"  # 00 84, Book 3 §6.5.6
    EXCHANGE_RELAY_RESISTANCE_DATA = "exchange-relay-resistance"  # 80 EA, contactless Book C-2 §5.3
    OTHER = "other"


#: INS byte -> (command, the CLA it needs: 00 for ISO inter-industry, 80 for EMV proprietary)
INSTRUCTIONS: dict[int, tuple[CommandKind, int]] = {
    0xA4: (CommandKind.SELECT, 0x00),
    0xB2: (CommandKind.READ_RECORD, 0x00),
    0xA8: (CommandKind.GPO, 0x80),
    0xCA: (CommandKind.GET_DATA, 0x80),
    0x88: (CommandKind.INTERNAL_AUTHENTICATE, 0x00),
    0xAE: (CommandKind.GENERATE_AC, 0x80),
    0x20: (CommandKind.VERIFY, 0x00),
    0x84: (CommandKind.GET_CHALLENGE, 0x00),
    0xEA: (CommandKind.EXCHANGE_RELAY_RESISTANCE_DATA, 0x80),
}


def classify(apdu: bytes) -> CommandKind:
    """The command an APDU's header names (``OTHER`` for unknown or short input)."""
    if len(apdu) < 2:
        return CommandKind.OTHER
    entry = INSTRUCTIONS.get(apdu[1])
    return entry[0] if entry else CommandKind.OTHER
