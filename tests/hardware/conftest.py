"""Opt-in hardware tests: a real card in a real reader.

Run them with a card in a PC/SC reader or on a USB NFC reader nfcpy drives::

    .venv/bin/python -m pytest tests/hardware --reader "ACS ACR1252" -s
    .venv/bin/python -m pytest tests/hardware --nfc-device usb -s

Without ``--reader`` / ``--nfc-device`` the ``app.pytest_plugin`` skips them.
This conftest deliberately does not pick a private pcscd socket: with
``--reader`` the tests talk to whatever pcscd ``PCSCLITE_CSOCK_NAME`` (default:
the system's) points at. Run this directory on its own: in a run that also
collects ``tests/pcsc`` or ``tests/readers``, their conftests point the process at
the private test pcscd, where no real reader is.
"""

from __future__ import annotations

import pytest

#: How long a test waits for the card to be inserted or tapped.
CARD_WAIT_S = 30.0


@pytest.fixture
def reader_name(request: pytest.FixtureRequest) -> str:
    name = request.config.getoption("--reader")
    if not name:
        pytest.skip("PC/SC hardware test: pass --reader NAME")
    return str(name)


@pytest.fixture
def nfc_device(request: pytest.FixtureRequest) -> str:
    path = request.config.getoption("--nfc-device")
    if not path:
        pytest.skip("NFC hardware test: pass --nfc-device PATH")
    return str(path)
