"""The benchmarks' private deployment: a temporary data directory with every card personalised.

Nothing touches the user's data directory: the key store, card images, the phone's
device key and the verifier databases live in a temporary directory made for the
run (``TRUSTONE_DATA_DIR`` is never read). Cards used for timing are
:class:`~card_emulation.applet.EmvCard` objects over an image *in memory* (their
ATC is not written to disk on every GENERATE AC) unless a benchmark says
otherwise; the soak and the ``TapService.tap()`` figure use the image files, as
the app does.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.flow.service import TapOutcome, TapService
from app.flow.sources import CardSource, prepare_emulated
from app.transports.emulated import EmulatedTransport
from card_emulation.applet import EmvCard
from card_emulation.image import CardImage, load_image
from card_emulation.keystore_files import load_keystore
from card_emulation.profile import list_profiles
from protocol.crypto.capk import CapkStore, default_store
from protocol.keystore import KeyStore
from protocol.tap.assertion import Assertion
from protocol.tap.events import ApduExchanged
from protocol.tap.transaction import Transaction, TransactionType
from protocol.tap.verifier_card import CardFacts, parse_card_evidence

BENCH_USER = "bench-user"


def transaction(amount_minor: int = 50_000) -> Transaction:
    """The T every benchmark tap authenticates (a payment in KRW, now)."""
    return Transaction(TransactionType.PAYMENT, amount_minor, "410", "Coffee Shop Seoul", int(time.time()))


@dataclass
class Reference:
    """One accepted authentication tap of a profile, used to build floors and replay loops."""

    profile: str
    outcome: TapOutcome
    assertion: Assertion
    facts: CardFacts
    commands: tuple[bytes, ...]
    device_public_key: bytes


@dataclass
class Workspace:
    """A temporary data directory shared by the benchmarks of one run."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="trustone-bench-")))
    _images: dict[str, Path] = field(default_factory=dict)
    _references: dict[str, Reference] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def profiles(self) -> list[str]:
        return list_profiles()

    def image_path(self, profile: str) -> Path:
        """Personalise ``profile`` into the workspace once; the path of its card image file."""
        if profile not in self._images:
            self._images[profile] = prepare_emulated(CardSource(profile=profile), self.data_dir)
        return self._images[profile]

    def image(self, profile: str) -> CardImage:
        return load_image(self.image_path(profile))

    def prepare_all(self) -> None:
        for profile in self.profiles():
            self.image_path(profile)

    def keystore(self) -> KeyStore:
        return load_keystore(self.data_dir)

    def ca_store(self) -> CapkStore:
        return self.keystore().capk_store(default_store())

    def card(self, profile: str) -> EmvCard:
        """A fresh emulated card whose counters live in memory only."""
        return EmvCard(self.image(profile))

    def service(self, store: str | Path) -> TapService:
        """A TapService on the workspace's keys; ``store`` is ``":memory:"`` or a database file."""
        self.prepare_all()
        return TapService(self.data_dir, store_path=store)

    def db_path(self, name: str) -> Path:
        return self.root / f"{name}.sqlite3"

    def reference(self, profile: str) -> Reference:
        """An accepted tap of ``profile`` (memory store, in-memory card), made once per run."""
        if profile not in self._references:
            self.image_path(profile)
            service = self.service(":memory:")
            with EmulatedTransport(self.card(profile)) as link:
                enrolled = service.enrol(BENCH_USER, link)
                if enrolled.enrolled is None:
                    raise RuntimeError(f"{profile}: the reference enrolment failed: {enrolled.message}")
                outcome = service.authenticate(BENCH_USER, transaction(), link)
            if not outcome.accepted or outcome.assertion is None:
                raise RuntimeError(f"{profile}: the reference tap was not accepted: {outcome.message}")
            from protocol.crypto.primitives import ec_public_bytes

            self._references[profile] = Reference(
                profile, outcome, outcome.assertion, parse_card_evidence(outcome.assertion.evidence),
                commands_of(outcome), ec_public_bytes(service.device_key),
            )  # fmt: skip
            service.close()
        return self._references[profile]

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def commands_of(outcome: TapOutcome) -> tuple[bytes, ...]:
    """The command APDUs of a tap, in order, as the phone sent them."""
    return tuple(e.command for e in outcome.events if isinstance(e, ApduExchanged))


def apdu_times(outcome: TapOutcome) -> list[float]:
    """The round trips (seconds) the runner measured for every APDU of a tap."""
    return [e.elapsed_ns / 1e9 for e in outcome.events if isinstance(e, ApduExchanged) and e.elapsed_ns is not None]
