"""Timing estimates and pacing (card_emulation.timing), with a fake clock: no real sleeping."""

from __future__ import annotations

import pytest

from card_emulation.commands import CommandKind
from card_emulation.timing import BitRate, PacedCard, estimate_exchange
from tests.card_emulation.reader import apdu

SELECT_VISA = apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A0000000031010"))


def test_on_air_estimate_at_106_kbits() -> None:
    t = estimate_exchange(bytes(10), bytes(2), kind=CommandKind.SELECT, processing_ms=4)
    bit = 128 / 13_560_000
    assert t.command_air_ms == pytest.approx(((10 + 3) * 9 + 2) * bit * 1000)
    assert t.response_air_ms == pytest.approx(((2 + 3) * 9 + 2) * bit * 1000)
    assert t.turnaround_ms == pytest.approx(2 * 1172 / 13_560_000 * 1000)
    assert t.total_ms == pytest.approx(t.command_air_ms + t.response_air_ms + t.turnaround_ms + 4)


def test_faster_bit_rates_are_faster() -> None:
    totals = [estimate_exchange(bytes(40), bytes(200), bit_rate=r).air_ms for r in BitRate]
    assert totals == sorted(totals, reverse=True)


def test_chaining_adds_frames() -> None:
    short = estimate_exchange(bytes(10), bytes(250))
    long = estimate_exchange(bytes(10), bytes(300))
    assert long.turnaround_ms > short.turnaround_ms


def test_card_reports_each_exchange(make_card) -> None:
    card = make_card("visa-cvn18-dda")
    card.process(SELECT_VISA)
    t = card.last_timing
    assert t is not None and t.command is CommandKind.SELECT and t.processing_ms == 4
    assert t.command_bytes == len(SELECT_VISA) and t.response_bytes > 2


def test_cda_uses_its_own_processing_time(make_card) -> None:
    card = make_card("mastercard-cvn16-cda")
    card.process(apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A0000000041010")))
    card.process(apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8307") + bytes(7)))
    card.process(apdu(0x80, 0xAE, 0x90, 0x00, bytes(43)))
    assert card.last_timing.processing_ms == 105
    card.power_on()
    card.process(apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A0000000041010")))
    card.process(apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8307") + bytes(7)))
    card.process(apdu(0x80, 0xAE, 0x80, 0x00, bytes(43)))
    assert card.last_timing.processing_ms == 25


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_paced_card_sleeps_the_estimate(make_card) -> None:
    clock = FakeClock()
    paced = PacedCard(make_card("visa-cvn18-dda"), clock=clock, sleep=clock.sleep)
    response = paced.process(SELECT_VISA)
    assert response.endswith(b"\x90\x00")
    assert clock.slept == [pytest.approx(paced.last_timing.total_ms / 1000)]
    assert paced.atr == paced.card.atr and paced.historical_bytes == paced.card.historical_bytes


def test_pacing_off_by_flag(make_card) -> None:
    clock = FakeClock()
    paced = PacedCard(make_card("visa-cvn18-dda"), enabled=False, clock=clock, sleep=clock.sleep)
    paced.process(SELECT_VISA)
    assert clock.slept == [] and paced.last_timing is not None


def test_time_already_spent_counts(make_card) -> None:
    clock = FakeClock()
    card = make_card("visa-cvn18-dda")

    class Slow:
        atr = card.atr
        historical_bytes = card.historical_bytes
        last_timing = None

        def power_on(self) -> None: ...

        def power_off(self) -> None: ...

        def process(self, raw: bytes) -> bytes:
            out = card.process(raw)
            self.last_timing = card.last_timing
            clock.now += 1.0  # took longer than the estimate
            return out

    paced = PacedCard(Slow(), clock=clock, sleep=clock.sleep)
    paced.process(SELECT_VISA)
    assert clock.slept == []
