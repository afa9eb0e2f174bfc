"""Cards coming and going through the real stack: no card, removal mid-session, slow cards."""

from __future__ import annotations

import pytest

from app.errors import CardRemovedError, NoCardError, TransportTimeoutError
from app.transports import pcsc
from app.transports.pcsc import PcscTransport
from card_emulation.vpcd import VpcdBridge
from tests.pcsc.helpers import CARD_TIMEOUT
from tests.support.pcscd import PrivatePcscd
from tests.support.simple_card import ATR_T1, SimpleCard

pytestmark = pytest.mark.pcsc

ECHO = bytes.fromhex("80EE0000020A0B00")


def test_no_card_in_the_reader(pcsc_stack: PrivatePcscd) -> None:
    reader = pcsc_stack.reader_name
    with pytest.raises(NoCardError, match="No card in reader 'Virtual PCD 00 00'"):
        PcscTransport(reader)
    with pytest.raises(NoCardError, match=r"within 0\.1 s"):
        pcsc.wait_for_card(reader, 0.1)
    pcsc.wait_for_removal(reader, 0.1)  # nothing to wait for


def test_card_removed_mid_session(pcsc_stack: PrivatePcscd, inserted: VpcdBridge) -> None:
    transport = PcscTransport(pcsc_stack.reader_name)
    try:
        assert transport.transmit(ECHO) == bytes.fromhex("0A0B9000")
        inserted.remove()
        with pytest.raises(CardRemovedError, match="removed from 'Virtual PCD 00 00'"):
            transport.transmit(ECHO)
        with pytest.raises(CardRemovedError):
            transport.transmit(ECHO)
    finally:
        transport.close()


def test_reinserted_card_needs_a_new_connection(pcsc_stack: PrivatePcscd, inserted: VpcdBridge) -> None:
    reader = pcsc_stack.reader_name
    old = PcscTransport(reader)
    try:
        inserted.remove()
        pcsc.wait_for_removal(reader, CARD_TIMEOUT)
        inserted.insert()
        assert pcsc.wait_for_card(reader, CARD_TIMEOUT) == ATR_T1
        with pytest.raises(CardRemovedError):
            old.transmit(ECHO)
        with PcscTransport(reader) as new:
            assert new.transmit(ECHO) == bytes.fromhex("0A0B9000")
    finally:
        old.close()


def test_a_slow_card_is_waited_for(pcsc_stack: PrivatePcscd, inserted: VpcdBridge, card: SimpleCard) -> None:
    card.delay = 0.3
    with PcscTransport(pcsc_stack.reader_name) as transport:
        assert transport.transmit(ECHO) == bytes.fromhex("0A0B9000")
    card.delay = 0.0


def test_wait_for_removal_times_out_while_the_card_stays(
    pcsc_stack: PrivatePcscd, inserted: VpcdBridge
) -> None:
    with pytest.raises(TransportTimeoutError):
        pcsc.wait_for_removal(pcsc_stack.reader_name, 0.2)
