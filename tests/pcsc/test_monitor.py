"""Reader and card events through :class:`PcscMonitor` (real pcscd + vpcd)."""

from __future__ import annotations

import threading

import pytest

from app.errors import DriverMissingError
from app.transports.pcsc import PcscEventKind, PcscMonitor
from card_emulation.vpcd import VpcdBridge
from tests.pcsc.helpers import wait_event
from tests.support.pcscd import PrivatePcscd
from tests.support.simple_card import ATR_T1, SimpleCard

pytestmark = pytest.mark.pcsc


def test_card_insert_and_remove_events(pcsc_stack: PrivatePcscd) -> None:
    reader = pcsc_stack.reader_name
    with PcscMonitor() as monitor:
        # The current state comes first: both readers, no card.
        wait_event(monitor, PcscEventKind.READER_ADDED, pcsc_stack.reader_names[1])
        assert monitor.poll(0) == []
        bridge = VpcdBridge(SimpleCard(), port=pcsc_stack.port)
        bridge.start()
        try:
            inserted = wait_event(monitor, PcscEventKind.CARD_INSERTED, reader)
            assert inserted.atr == ATR_T1
            bridge.remove()
            wait_event(monitor, PcscEventKind.CARD_REMOVED, reader)
            bridge.insert()
            wait_event(monitor, PcscEventKind.CARD_INSERTED, reader)
        finally:
            bridge.stop()
        wait_event(monitor, PcscEventKind.CARD_REMOVED, reader)
        assert monitor.error is None


def test_events_are_consumed_on_the_callers_thread(pcsc_stack: PrivatePcscd) -> None:
    with PcscMonitor() as monitor:
        event = wait_event(monitor, PcscEventKind.READER_ADDED, pcsc_stack.reader_name)
        assert event.reader == pcsc_stack.reader_name
        names = {t.name for t in threading.enumerate()}
        assert "pcsc-monitor" in names  # produced there, handed over by a queue
    assert "pcsc-monitor" not in {t.name for t in threading.enumerate()}


def test_readers_vanish_and_return_with_pcscd(pcsc_stack: PrivatePcscd) -> None:
    """pcscd stopping removes its readers; the monitor reconnects when it is back."""
    reader = pcsc_stack.reader_name
    with PcscMonitor(retry=0.1) as monitor:
        wait_event(monitor, PcscEventKind.READER_ADDED, reader)
        pcsc_stack.stop()
        try:
            wait_event(monitor, PcscEventKind.READER_REMOVED, reader)
            # The monitor keeps retrying; while pcscd is still shutting down a retry can
            # meet a transient refusal, so wait for the error to settle (bounded).
            settled = threading.Event()
            for _ in range(100):
                if isinstance(monitor.error, DriverMissingError):
                    break
                settled.wait(0.05)
            assert isinstance(monitor.error, DriverMissingError), monitor.error
            assert "sudo apt install pcscd" in str(monitor.error)
        finally:
            pcsc_stack.start(pcsc_stack.port)
        wait_event(monitor, PcscEventKind.READER_ADDED, reader)
