"""The ``trustone`` pytest plugin, tested with pytester on the example of docs/pytest-plugin.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

# Imported here so that pytester's in-process runs share them: pytester restores sys.modules after each
# run, and the cryptography bindings (OpenSSL's legacy provider for 3DES) cannot be initialised twice.
import app.flow.service  # noqa: F401

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytest-plugin.md"


def _example() -> str:
    match = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert match, "docs/pytest-plugin.md has no python example"
    return match.group(1)


def test_the_documented_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_my_card=_example())
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, skipped=1)  # the hardware test is skipped without --reader


def test_fixtures_and_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixtures="""
        from app.flow.sources import SourceKind

        def test_clock_service_and_factories(trustone_clock, trustone_service, trustone_card, trustone_transaction):
            assert trustone_clock.now() == 1_767_225_600
            assert trustone_service.store.schema_version() == 1
            t = trustone_transaction(1250, "USD", "Book Store", "transfer")
            assert (t.amount_minor, t.currency, t.kind.label, t.timestamp) == (1250, "840", "transfer", 1_767_225_600)
            source = trustone_card("legacy-sda", "atc-rollback=1")
            assert (source.kind, source.profile, source.faults) == (SourceKind.EMULATED, "legacy-sda", "atc-rollback=1")
            card = trustone_card.emv("legacy-sda")
            assert card.process(bytes.fromhex("00A404000E325041592E5359532E444446303100"))[-2:] == b"\\x90\\x00"
            trustone_clock.advance(30)
            assert trustone_service.now() == 1_767_225_630

        def test_tap_options(trustone_tap, trustone_card):
            assert trustone_tap().accepted
            relay = trustone_tap(policy="relay-bound")
            assert relay.accepted
            rolled = trustone_tap(trustone_card(), faults="atc-rollback=2")
            assert rolled.verification.status("ATC increasing").value == "failed"

        def test_reader(trustone_reader):
            assert trustone_reader.kind is SourceKind.PCSC and trustone_reader.reader == "ACS ACR1252"
        """
    )
    plain = pytester.runpytest("-p", "no:cacheprovider", "-k", "not reader")
    plain.assert_outcomes(passed=2)
    skipped = pytester.runpytest("-p", "no:cacheprovider", "-k", "reader", "-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*pass --reader NAME or --nfc-device PATH*"])
    with_reader = pytester.runpytest("-p", "no:cacheprovider", "-k", "reader", "--reader", "ACS ACR1252")
    with_reader.assert_outcomes(passed=1)


def test_nfc_device_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_nfc="""
        import pytest
        from app.flow.sources import SourceKind

        @pytest.mark.hardware
        def test_device(trustone_reader):
            assert trustone_reader.kind is SourceKind.NFC and trustone_reader.device == "usb:072f:2200"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(skipped=1)
    pytester.runpytest("-p", "no:cacheprovider", "--nfc-device", "usb:072f:2200").assert_outcomes(passed=1)
