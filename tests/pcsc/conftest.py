"""PC/SC path tests: a private pcscd + vpcd for the whole session.

``PCSCLITE_CSOCK_NAME`` is exported when this conftest is imported (collection
time), i.e. before any test makes its first PC/SC call: the client library reads
it only once per process. See ``tests/support/pcscd.py`` and ``docs/pcsc.md``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.errors import DriverMissingError
from app.transports import pcsc
from card_emulation.vpcd import VpcdBridge
from tests.pcsc.helpers import CARD_TIMEOUT
from tests.support.pcscd import PrivatePcscd, client_socket_path, private_pcscd
from tests.support.require import missing
from tests.support.simple_card import SimpleCard

__all__ = ["private_pcscd"]  # the session fixture, re-exported for this directory

client_socket_path()


@pytest.fixture(scope="session")
def pcsc_stack(private_pcscd: PrivatePcscd) -> PrivatePcscd:
    """The private pcscd, once pyscard is known to be usable (skip locally, fail in CI)."""
    try:
        pcsc.list_readers()
    except DriverMissingError as exc:
        missing(str(exc))
    return private_pcscd


@pytest.fixture
def card() -> SimpleCard:
    return SimpleCard()


@pytest.fixture
def inserted(pcsc_stack: PrivatePcscd, card: SimpleCard) -> Iterator[VpcdBridge]:
    """``card`` in slot 0 of the private reader, visible to PC/SC clients."""
    bridge = VpcdBridge(card, port=pcsc_stack.port)
    bridge.start()
    try:
        pcsc.wait_for_card(pcsc_stack.reader_name, CARD_TIMEOUT)
        yield bridge
    finally:
        bridge.stop()
        pcsc.wait_for_removal(pcsc_stack.reader_name, CARD_TIMEOUT)
