"""EXCHANGE RELAY RESISTANCE DATA (EMV Contactless Book C-2 §5.3; the simulator's model).

``80 EA 00 00 04 <Terminal Relay Resistance Entropy> 00``: the card answers at once
with ``80 {Device Relay Resistance Entropy (4) ‖ Min Time For Processing Relay
Resistance APDU (2) ‖ Max Time For Processing Relay Resistance APDU (2) ‖ Device
Estimated Transmission Time For Relay Resistance R-APDU (2)}``, times in units of
100 µs, so that the reader can bound the round trip and expose a relay.

The card offers the command when its (signed) AIP says so — byte 2 bit 1, set by
the profile's ``[application.relay_resistance]`` table — and only after GET
PROCESSING OPTIONS, where Book C-2 places it. Status words: ``6D00`` the
application does not offer relay resistance, ``6985`` before GPO, ``6A86``
P1/P2 not 00, ``6700`` entropy not 4 bytes.
"""

from __future__ import annotations

from card_emulation.applet.runtime import CardRuntime, Phase
from card_emulation.applet.status import CardStatus, Reply, Sw
from protocol import tlv
from protocol.apdu import CommandApdu

ENTROPY_LENGTH = 4
UNIT_US = 100
AIP_RELAY_RESISTANCE = 0x01  # AIP byte 2, Book C-2 Annex A


def exchange_relay_resistance_data(rt: CardRuntime, cmd: CommandApdu) -> Reply:
    if cmd.p1 != 0x00 or cmd.p2 != 0x00:
        raise CardStatus(Sw.WRONG_P1P2)
    app = rt.app
    if app is None or rt.session.phase in (Phase.IDLE, Phase.DIRECTORY):
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    times = app.profile.relay_resistance
    if times is None or not app.aip[1] & AIP_RELAY_RESISTANCE:
        raise CardStatus(Sw.INS_NOT_SUPPORTED)
    if rt.session.phase is Phase.SELECTED:
        raise CardStatus(Sw.CONDITIONS_NOT_SATISFIED)
    if len(cmd.data) != ENTROPY_LENGTH:
        raise CardStatus(Sw.WRONG_LENGTH)
    answer = (
        rt.random_bytes(ENTROPY_LENGTH)
        + (times.min_us // UNIT_US).to_bytes(2, "big")
        + (times.max_us // UNIT_US).to_bytes(2, "big")
        + (times.transmission_us // UNIT_US).to_bytes(2, "big")
    )
    return Reply(tlv.encode(0x80, answer))
