"""The emulated EMV card over the contactless path: nfcpy udp reader → ISO-DEP bridge → EmvCard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.transports.nfc import NfcTransport
from app.transports.wrappers import wrap
from card_emulation.applet import EmvCard
from card_emulation.nfc_bridge import NfcBridge
from card_emulation.timing import PacedCard
from tests.card_emulation.reader import Reader, Transaction

pytestmark = pytest.mark.nfc


@pytest.fixture
def card(personalised) -> EmvCard:
    return EmvCard(personalised["trustone-aes"].image)


@pytest.fixture
def transport(card: EmvCard) -> Iterator[NfcTransport]:
    with NfcBridge(PacedCard(card, enabled=False), "127.0.0.1", 0) as bridge:
        assert bridge.wait_ready(2.0)
        reader = NfcTransport(bridge.device_path, timeout_s=3.0, apdu_timeout_s=5.0)
        try:
            yield reader
        finally:
            reader.close()


def test_tap_over_iso_dep(transport: NfcTransport, card: EmvCard, keystore) -> None:
    reader = Reader(transmit=wrap(transport).transmit)
    result = reader.tap(reader.applications()[0][1], Transaction(), keystore)
    assert result.cda and result.atc == 1
    assert card.last_timing is not None and card.last_timing.processing_ms == 70  # generate-ac-cda
