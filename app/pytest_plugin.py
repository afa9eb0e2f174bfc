"""pytest plugin ``trustone`` (entry point ``pytest11``) for protocol tests.

Command-line options for opt-in hardware tests:

* ``--reader NAME``: run tests marked ``hardware`` against a real card in the
  PC/SC reader whose name contains NAME.
* ``--nfc-device PATH``: run them against a card on an nfcpy device
  (``usb``, ``usb:VID:PID``, ``tty:...``).

Without either option, tests marked ``hardware`` are skipped: real readers are
never required.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("trustone", "TrustOne Tap Simulator")
    group.addoption("--reader", metavar="NAME", default=None,
                    help="run hardware tests against a real card in this PC/SC reader (substring of its name)")
    group.addoption("--nfc-device", metavar="PATH", default=None,
                    help="run hardware tests against a real card on this nfcpy device path (usb, usb:VID:PID, tty:...)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hardware: needs a real reader and card; opt in with --reader or --nfc-device")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--reader") or config.getoption("--nfc-device"):
        return
    skip = pytest.mark.skip(reason="hardware test: pass --reader NAME or --nfc-device PATH to run it")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)
