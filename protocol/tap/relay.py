"""Relay resistance: the timed EXCHANGE RELAY RESISTANCE DATA (EMV Contactless Book C-2 §5.3, model).

A relay of the victim's own live tap (NGate-style) carries genuine answers, so
every cryptographic check passes. What a relay cannot hide is time: it adds
network latency (tens of milliseconds) to each exchange, far above a local tap
(well under 1-2 ms for this short command). Book C-2 therefore has the reader
time one tiny exchange:

* command ``80 EA 00 00 04 <Terminal Relay Resistance Entropy> 00``;
* answer ``80 {Device Relay Resistance Entropy (4) ‖ Min Time For Processing
  Relay Resistance APDU (2) ‖ Max Time … (2) ‖ Device Estimated Transmission
  Time For Relay Resistance R-APDU (2)}``, times in units of 100 µs.

The phone runs it when the AIP says the card supports it (byte 2 bit 1, Book C-2
Annex A.1.16) and the feature is on, records the round trip the runner measured
in the signed assertion (:class:`~protocol.tap.assertion.RelayResistanceEvidence`)
and reports its own informative check; the verifier's policy (``max_relay_us``)
decides. A card that does not implement the command (``6D00``, or any error) is
skipped gracefully: the tap goes on without a measurement.

The entropy is fresh random bytes from the session's random source; unlike in
Book C-2, it is *not* used as the UN (the UN is bound to T and the challenge).
"""

from __future__ import annotations

from protocol import status_words
from protocol.apdu import CommandApdu
from protocol.decoders.aip import Aip
from protocol.errors import MalformedDataError
from protocol.tap.assertion import RelayResistanceEvidence
from protocol.tap.events import CheckCompleted, CheckStatus, DataDecoded, Lane, Step
from protocol.tap.tap_context import CardAnswerError, Flow, TapContext, decode_template, transmit
from protocol.tap.tlv_view import RELAY_RESISTANCE_FORMAT1, decoded_nodes, split_format1

ENTROPY_LENGTH = 4
ANSWER_LENGTH = 10
UNIT_US = 100
MAX_MEASURED_US = 60_000_000
CHECK = "relay resistance time"


def _note(ctx: TapContext, status: CheckStatus, detail: str) -> None:
    ctx.emit(CheckCompleted(Step.RELAY_RESISTANCE, Lane.PHONE, CHECK, status, detail))


def exchange_relay_resistance(ctx: TapContext, aip: Aip) -> Flow[RelayResistanceEvidence | None]:
    ctx.start(
        Step.RELAY_RESISTANCE,
        "The phone times one very short exchange with the card. A relay that forwards this tap to a "
        "distant card (NGate-style) cannot make the round trip faster than the network allows, so a "
        "time bound can expose it; the measured time goes into the signed assertion.",
        "EMV Contactless Book C-2 §5.3 EXCHANGE RELAY RESISTANCE DATA (TrustOne model)",
    )
    if not ctx.relay_resistance:
        _note(ctx, CheckStatus.SKIPPED, "relay resistance is switched off on the phone: a relay of this tap "
              "cannot be told apart from a local one")  # fmt: skip
        return None
    if not aip.relay_resistance:
        _note(ctx, CheckStatus.SKIPPED, "the card does not offer the relay resistance protocol (AIP byte 2 bit 1 "
              "is clear): a relay of this tap cannot be told apart from a local one")  # fmt: skip
        return None
    entropy = bytes(ctx.random_bytes(ENTROPY_LENGTH))
    if len(entropy) != ENTROPY_LENGTH:
        raise CardAnswerError("The phone's random source did not give 4 bytes of terminal entropy.")
    name = "EXCHANGE RELAY RESISTANCE DATA"
    reply = yield from transmit(ctx, name, CommandApdu(0x80, 0xEA, 0x00, 0x00, entropy, le=256).encode())
    if not reply.ok:
        _note(ctx, CheckStatus.SKIPPED, f"the card answered {reply.sw:04X} ({status_words.describe(reply.sw)}): it "
              "does not implement the exchange, so the tap goes on without a time measurement")  # fmt: skip
        return None
    nodes = decoded_nodes(reply.data, RELAY_RESISTANCE_FORMAT1, remember=False)  # the card's entropy: new every tap
    ctx.emit(DataDecoded(Step.RELAY_RESISTANCE, "Relay resistance data", nodes))
    try:
        template = decode_template(reply.data, name, (0x80,))
    except (CardAnswerError, MalformedDataError) as exc:
        _note(ctx, CheckStatus.FAILED, f"the card's answer is unusable: {exc}")
        return None
    if len(template.value) != ANSWER_LENGTH:
        _note(ctx, CheckStatus.FAILED, f"the card's answer is {len(template.value)} bytes, not {ANSWER_LENGTH}")
        return None
    if reply.elapsed_ns is None:
        _note(ctx, CheckStatus.NOT_CHECKABLE, "the exchange was not timed (no clock), so no measurement is recorded")
        return None
    measured_us = min(max(reply.elapsed_ns, 0) // 1000, MAX_MEASURED_US)
    parts = dict(split_format1(template.value, RELAY_RESISTANCE_FORMAT1))
    max_us = int.from_bytes(parts[0xDF8304], "big") * UNIT_US
    transmission_us = int.from_bytes(parts[0xDF8305], "big") * UNIT_US
    processing_us = max(0, measured_us - transmission_us)
    bound_us = max_us + ctx.terminal.relay_grace_us
    within = processing_us <= bound_us
    _note(
        ctx,
        CheckStatus.PASSED if within else CheckStatus.FAILED,
        f"measured {measured_us} µs; minus the card's estimated transmission time {transmission_us} µs that is "
        f"{processing_us} µs, {'within' if within else 'above'} the card's maximum {max_us} µs plus "
        f"{ctx.terminal.relay_grace_us} µs grace (informative: the verifier's policy decides)",
    )
    return RelayResistanceEvidence(entropy, reply.data, measured_us)
