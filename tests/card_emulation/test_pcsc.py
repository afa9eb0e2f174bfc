"""The emulated EMV card through the real PC/SC stack: pyscard → pcscd → vpcd → EmvCard.

The same reader as the in-process tests, over :class:`app.transports.pcsc.PcscTransport`
(T=0 for the contact-style ATRs, as contact tools such as python-emv require).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.errors import DriverMissingError
from app.transports import pcsc
from app.transports.pcsc import PcscTransport
from app.transports.wrappers import wrap
from card_emulation.applet import EmvCard
from card_emulation.vpcd import VpcdBridge
from tests.card_emulation.reader import PPSE, Reader, Transaction, apdu
from tests.support.pcscd import PrivatePcscd, client_socket_path, private_pcscd
from tests.support.require import missing

__all__ = ["private_pcscd"]
pytestmark = pytest.mark.pcsc
client_socket_path()

CARD_TIMEOUT = 5.0


@pytest.fixture
def served(private_pcscd: PrivatePcscd, personalised, request) -> Iterator[tuple[str, EmvCard]]:
    try:
        pcsc.list_readers()
    except DriverMissingError as exc:
        missing(str(exc))
    card = EmvCard(personalised[request.param].image)
    bridge = VpcdBridge(card, port=private_pcscd.port)
    bridge.start()
    try:
        pcsc.wait_for_card(private_pcscd.reader_name, CARD_TIMEOUT)
        yield private_pcscd.reader_name, card
    finally:
        bridge.stop()
        pcsc.wait_for_removal(private_pcscd.reader_name, CARD_TIMEOUT)


@pytest.mark.parametrize("served", ["visa-cvn18-dda", "mastercard-cvn16-cda"], indirect=True)
def test_tap_over_pcsc(served: tuple[str, EmvCard], keystore) -> None:
    reader_name, card = served
    with PcscTransport(reader_name) as transport:
        assert transport.atr == card.atr
        reader = Reader(transmit=wrap(transport).transmit)
        apps = reader.applications()
        result = reader.tap(apps[0][1], Transaction(), keystore)
    assert result.cid == 0x80 and result.atc == 1


@pytest.mark.parametrize("served", ["cap-visa-dpa"], indirect=True)
def test_contact_flow_with_pse_over_t0(served: tuple[str, EmvCard]) -> None:
    """What a contact-era tool does (python-emv's emvtool): PSE, its directory, the AID."""
    reader_name, _card = served
    with PcscTransport(reader_name) as transport:
        assert transport.protocol == "T0"
        link = wrap(transport)
        fci = link.transmit(apdu(0x00, 0xA4, 0x04, 0x00, b"1PAY.SYS.DDF01"))
        assert fci[-2:] == b"\x90\x00" and bytes.fromhex("880101") in fci
        directory = link.transmit(apdu(0x00, 0xB2, 0x01, 0x0C))
        assert directory[-2:] == b"\x90\x00" and bytes.fromhex("A0000000038002") in directory
        assert link.transmit(apdu(0x00, 0xA4, 0x04, 0x00, bytes.fromhex("A0000000038002")))[-2:] == b"\x90\x00"
        assert link.transmit(apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8300")))[-2:] == b"\x90\x00"
        assert link.transmit(apdu(0x00, 0x20, 0x00, 0x80, bytes.fromhex("241234FFFFFFFFFF"))) == b"\x90\x00"
        assert link.transmit(apdu(0x80, 0xCA, 0x9F, 0x17)) == bytes.fromhex("9F1701039000")
        assert link.transmit(apdu(0x00, 0xA4, 0x04, 0x00, PPSE))[-2:] == b"\x90\x00"
