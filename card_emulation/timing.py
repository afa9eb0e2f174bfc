"""Realistic timing: an estimate of each exchange's duration, and optional pacing.

The estimate (for display, and for pacing when it is switched on) models an ISO/IEC
14443 Type A contactless exchange carrying one APDU in ISO-DEP I-blocks:

* **On-air bytes.** Each frame carries the APDU (or a chained part of it) plus the
  ISO-DEP prologue (PCB, 1 byte) and CRC_A (2 bytes) (ISO/IEC 14443-4 §7.1).
  Each byte costs 9 bit periods (8 data bits and an odd parity bit) plus 2 bit
  periods per frame for start and end of communication (ISO/IEC 14443-3 §6.2).
* **Bit period.** 128/fc at 106 kbit/s, 64/fc at 212, 32/fc at 424, 16/fc at 848
  (fc = 13.56 MHz, ISO/IEC 14443-2 §8).
* **Turnaround.** One frame delay time of 1172/fc (≈ 86 µs, ISO/IEC 14443-3
  §6.2.1.1) before each frame.
* **Chaining.** A frame holds at most FSC (or FSD) − 3 APDU bytes (256-byte frames by
  default); each extra chained block adds an R(ACK) frame (3 bytes) and two turnarounds
  (ISO/IEC 14443-4 §7.5.2).
* **Processing.** The card's per-command processing time from its profile (RSA
  signatures take tens of milliseconds on real chips), plus any fault delay.

This ignores anticollision, waiting-time extensions, retransmissions and the reader's
own latency; it is a plausible lower bound, not a measurement. Contact readers
(T=0/T=1 at 9600 baud and up) are slower still.

:class:`PacedCard` wraps an :class:`~card_emulation.applet.card.EmvCard` and, when
switched on, sleeps so that each answer takes about the estimated time. Clock and
sleep are injected so tests never sleep.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from card_emulation.commands import CommandKind

FC_HZ = 13_560_000
FRAME_DELAY_CYCLES = 1172
FRAME_OVERHEAD = 3  # PCB + CRC_A
BITS_PER_BYTE = 9  # 8 data bits + parity
FRAME_BITS = 2  # start and end of communication
ACK_FRAME_BYTES = 3  # R(ACK): PCB + CRC_A
DEFAULT_FRAME_SIZE = 256


class BitRate(enum.IntEnum):
    """ISO/IEC 14443 bit rates in kbit/s."""

    KBPS_106 = 106
    KBPS_212 = 212
    KBPS_424 = 424
    KBPS_848 = 848

    @property
    def bit_period_s(self) -> float:
        return (128 / (self.value // 106)) / FC_HZ


@dataclass(frozen=True)
class ExchangeTiming:
    """The estimated duration of one command/response exchange, in milliseconds."""

    command: CommandKind
    bit_rate: BitRate
    command_bytes: int
    response_bytes: int
    command_air_ms: float
    response_air_ms: float
    turnaround_ms: float
    processing_ms: float
    fault_delay_ms: float = 0.0

    @property
    def air_ms(self) -> float:
        return self.command_air_ms + self.response_air_ms + self.turnaround_ms

    @property
    def total_ms(self) -> float:
        return self.air_ms + self.processing_ms + self.fault_delay_ms


def _frames(length: int, frame_size: int) -> int:
    room = frame_size - FRAME_OVERHEAD
    return max(1, -(-length // room))


def _air_s(length: int, frames: int, rate: BitRate) -> float:
    bits = (length + frames * FRAME_OVERHEAD) * BITS_PER_BYTE + frames * FRAME_BITS
    return bits * rate.bit_period_s


def estimate_exchange(
    command: bytes,
    response: bytes,
    *,
    kind: CommandKind = CommandKind.OTHER,
    processing_ms: float = 0.0,
    fault_delay_ms: float = 0.0,
    bit_rate: BitRate = BitRate.KBPS_106,
    frame_size: int = DEFAULT_FRAME_SIZE,
) -> ExchangeTiming:
    """Estimate one exchange (see the module docstring for the model)."""
    rate = BitRate(bit_rate)
    cmd_frames, rsp_frames = _frames(len(command), frame_size), _frames(len(response), frame_size)
    acks = (cmd_frames - 1) + (rsp_frames - 1)
    ack_s = acks * _air_s(0, 1, rate)  # an R(ACK) is a frame with no APDU bytes
    fdt_s = FRAME_DELAY_CYCLES / FC_HZ
    turnaround_s = (2 + 2 * acks) * fdt_s + ack_s
    return ExchangeTiming(
        command=kind,
        bit_rate=rate,
        command_bytes=len(command),
        response_bytes=len(response),
        command_air_ms=_air_s(len(command), cmd_frames, rate) * 1000,
        response_air_ms=_air_s(len(response), rsp_frames, rate) * 1000 if response else 0.0,
        turnaround_ms=turnaround_s * 1000,
        processing_ms=float(processing_ms),
        fault_delay_ms=float(fault_delay_ms),
    )


class TimedCard(Protocol):
    """What :class:`PacedCard` needs: an ApduCard that reports its last exchange's estimate."""

    @property
    def atr(self) -> bytes: ...

    @property
    def historical_bytes(self) -> bytes: ...

    @property
    def last_timing(self) -> ExchangeTiming | None: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def process(self, apdu: bytes) -> bytes: ...


class PacedCard:
    """An ApduCard that answers no sooner than the estimate says (when ``enabled``).

    Time already spent (computing, fault delays) counts towards the estimate, so a
    paced answer takes about ``last_timing.total_ms`` in all.
    """

    def __init__(
        self,
        card: TimedCard,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.card = card
        self.enabled = enabled
        self._clock = clock
        self._sleep = sleep

    @property
    def atr(self) -> bytes:
        return self.card.atr

    @property
    def historical_bytes(self) -> bytes:
        return self.card.historical_bytes

    @property
    def last_timing(self) -> ExchangeTiming | None:
        return self.card.last_timing

    def power_on(self) -> None:
        self.card.power_on()

    def power_off(self) -> None:
        self.card.power_off()

    def process(self, apdu: bytes) -> bytes:
        start = self._clock()
        response = self.card.process(apdu)
        timing = self.card.last_timing
        if self.enabled and timing is not None:
            remaining = timing.total_ms / 1000 - (self._clock() - start)
            if remaining > 0:
                self._sleep(remaining)
        return response
