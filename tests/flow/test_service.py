"""The composition service end to end: real emulated cards, the real phone session, the SQLite verifier.

What ``trustone run``, the desktop app and the attack lab rely on: the first tap of a
card enrols it once, later taps authenticate it, faults and a changed amount are
rejected with the verifier's reasons, a cancelled tap says so, and the phone's
device key survives a restart of the service with mode 0600.
"""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from app.errors import ConfigurationError
from app.flow.service import TapOptions, TapService, TapStatus
from app.flow.sources import CardSource
from card_emulation.profile import list_profiles
from protocol.tap.events import ApduExchanged, Step, StepStarted, VerdictReached
from protocol.tap.transaction import Transaction, TransactionType

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
T = Transaction(TransactionType.PAYMENT, 50_000, "410", "Coffee Shop Seoul", NOW)


@pytest.fixture
def service(tmp_path: Path):
    with TapService(tmp_path, now=lambda: NOW) as svc:
        yield svc


@pytest.mark.parametrize("profile", list_profiles())
def test_first_tap_enrols_then_every_tap_is_accepted(service: TapService, profile: str) -> None:
    first = service.tap(T, CardSource(profile=profile))
    assert first.status is TapStatus.VERDICT and first.accepted, first.message
    assert first.enrolled is not None
    assert any(isinstance(e, StepStarted) and e.step is Step.CHALLENGE for e in first.events)
    verdicts = [e for e in first.events if isinstance(e, VerdictReached)]
    assert [v.accepted for v in verdicts] == [True, True]  # the enrolment tap, then the authentication
    second = service.tap(T, CardSource(profile=profile))
    assert second.accepted and second.enrolled is None, second.message


def test_faults_and_a_changed_amount_are_rejected_with_reasons(service: TapService) -> None:
    service.tap(T, CardSource(profile="visa-cvn18-dda"))
    corrupt = service.tap(T, CardSource(profile="visa-cvn18-dda", faults="genac:corrupt-ac"))
    assert corrupt.status is TapStatus.VERDICT and not corrupt.accepted
    assert corrupt.verification is not None and corrupt.verification.status("ARQC").value == "failed"
    malware = Transaction(TransactionType.PAYMENT, 90_000, "410", "Coffee Shop Seoul", NOW)
    changed = service.tap(T, CardSource(profile="visa-cvn18-dda"), options=TapOptions(card_transaction=malware))
    assert not changed.accepted and "9F02" in changed.message


def test_a_muted_card_fails_the_session_not_the_service(service: TapService) -> None:
    service.tap(T, CardSource(profile="mastercard-cvn16-cda"))
    outcome = service.tap(T, CardSource(profile="mastercard-cvn16-cda", faults="tear-after=4"))
    assert outcome.status is TapStatus.FAILED and "failed during" in outcome.message
    assert service.tap(T, CardSource(profile="mastercard-cvn16-cda")).accepted  # the next tap works


def test_cancelled_tap(service: TapService) -> None:
    service.tap(T, CardSource(profile="legacy-sda"))
    cancelled = threading.Event()
    cancelled.set()
    outcome = service.tap(T, CardSource(profile="legacy-sda"), cancelled=cancelled)
    assert outcome.status is TapStatus.CANCELLED
    assert not any(isinstance(e, ApduExchanged) for e in outcome.events)


def test_bad_profile_and_bad_fault_spec_are_configuration_errors(service: TapService) -> None:
    with pytest.raises(ConfigurationError, match="unknown card profile"):
        service.tap(T, CardSource(profile="no-such-card"))
    service.tap(T, CardSource(profile="legacy-sda"))
    with pytest.raises(ConfigurationError, match="fault spec"):
        service.tap(T, CardSource(profile="legacy-sda", faults="genac:melt"))


def test_device_key_persists_privately_across_restarts(tmp_path: Path) -> None:
    with TapService(tmp_path, now=lambda: NOW) as first:
        device = first.device_id
        assert first.tap(T, CardSource(profile="legacy-sda")).enrolled is not None
    key_file = tmp_path / "phones" / "demo-phone.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with TapService(tmp_path, now=lambda: NOW) as again:
        assert again.device_id == device
        outcome = again.tap(T, CardSource(profile="legacy-sda"))
        assert outcome.accepted and outcome.enrolled is None  # still enrolled: same phone, same store
    key_file.write_text("not json")
    with TapService(tmp_path, now=lambda: NOW) as broken, pytest.raises(ConfigurationError, match="device key"):
        broken.device_id


def test_the_light_card_source_uses_the_cards_default_seed() -> None:
    """app.card_source repeats the seed so widgets need not import the card; they must agree."""
    from app.card_source import DEFAULT_SEED
    from card_emulation.personalise import DEFAULT_SEED as CARD_DEFAULT_SEED

    assert DEFAULT_SEED == CARD_DEFAULT_SEED


def test_a_tap_reads_the_card_image_once(service: TapService, monkeypatch: pytest.MonkeyPatch) -> None:
    from card_emulation.image import ImageFile

    source = CardSource(profile="mastercard-cvn16-cda")
    assert service.tap(T, source).enrolled is not None
    reads: list[Path] = []
    real_load = ImageFile.load
    monkeypatch.setattr(ImageFile, "load", lambda self: reads.append(self.path) or real_load(self))
    for n in range(1, 4):
        before = len(reads)
        outcome = service.tap(T, source)
        assert outcome.accepted, outcome.message
        assert len(reads) - before == 1  # was 5: prepare, is_enrolled (prepare + load), open (prepare + load)
        assert outcome.verification is not None and outcome.verification.atc == 2 + n  # the ATC still persists


def test_taps_after_the_first_show_the_same_masked_trees(service: TapService) -> None:
    """Display trees are remembered across taps (protocol.tap.tlv_view): still masked, in events and traces."""
    from datetime import UTC, datetime

    from card_emulation.personalise import personalise
    from protocol.tap.events import DataDecoded
    from protocol.tap.trace import Trace, to_json

    source = CardSource(profile="visa-cvn18-dda")
    pan = personalise("visa-cvn18-dda", source.seed).image.applications[0].profile.pan
    outcomes = [service.tap(T, source) for _ in range(3)]
    per_tap = {Step.INTERNAL_AUTHENTICATE, Step.GENERATE_AC}  # signed dynamic data, ATC, AC: new every tap
    trees = [[e for e in o.events if isinstance(e, DataDecoded) and e.step not in per_tap] for o in outcomes]
    assert len(trees[1]) >= 5 and trees[1] == trees[2]
    for outcome in outcomes[1:]:
        trace = Trace(datetime.now(UTC), "test", "emulated", "card", outcome.events, outcome.challenge,
                      outcome.assertion)  # fmt: skip
        for text in (repr(outcome.events), to_json(trace)):
            assert pan not in text and pan[:-4] not in text and pan[6:] not in text
