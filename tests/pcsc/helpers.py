"""Helpers shared by the PC/SC tests."""

from __future__ import annotations

import time

from app.transports import pcsc

CARD_TIMEOUT = 5.0
"""Upper bound for pcscd to notice a card change (it polls vpcd about every 0.4 s)."""


def wait_event(
    monitor: pcsc.PcscMonitor, kind: pcsc.PcscEventKind, reader: str, timeout: float = CARD_TIMEOUT
) -> pcsc.PcscEvent:
    """Poll ``monitor`` until an event of ``kind`` for ``reader`` arrives."""
    deadline = time.monotonic() + timeout
    seen: list[pcsc.PcscEvent] = []
    while (remaining := deadline - time.monotonic()) > 0:
        for event in monitor.poll(remaining):
            seen.append(event)
            if event.kind is kind and event.reader == reader:
                return event
    raise AssertionError(f"no {kind.value} event for {reader!r} within {timeout} s; saw {seen}")
