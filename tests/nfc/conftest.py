"""Fixtures for the NFC tests: an emulated card behind nfcpy's udp driver on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from card_emulation.nfc_bridge import NfcBridge
from tests.nfc.support_card import SupportCard


@pytest.fixture
def card() -> SupportCard:
    return SupportCard()


@pytest.fixture
def bridge(card: SupportCard) -> Iterator[NfcBridge]:
    """The test card served on 127.0.0.1 at a port the system chose (no race for a free port)."""
    with NfcBridge(card, "127.0.0.1", 0) as served:
        assert served.wait_ready(2.0), "the bridge did not come up"
        yield served
