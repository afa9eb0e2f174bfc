"""pytest plugin ``trustone`` (entry point ``pytest11``) for protocol tests (docs/pytest-plugin.md).

Fixtures for automated tests against the emulated card — no reader, no mocks:
the real phone session, the real emulated card, the real verifier (SQLite in
memory), a clock fixed at 2026-01-01T00:00:00Z:

* ``trustone_clock`` — the fixed clock (``.now()``, ``.advance(seconds)``);
* ``trustone_service`` — a :class:`~app.flow.service.TapService` in ``tmp_path``
  with an in-memory store and that clock;
* ``trustone_card`` — a factory: ``trustone_card("visa-cvn18-dda", "genac:corrupt-ac")``
  gives a :class:`~app.flow.sources.CardSource`; ``trustone_card.emv(...)`` the
  :class:`~card_emulation.applet.EmvCard` itself;
* ``trustone_transaction`` — a factory of :class:`~protocol.tap.transaction.Transaction`
  (default: a 50,000 KRW payment to Coffee Shop Seoul, at the clock's time);
* ``trustone_tap`` — taps a card for a transaction and returns the
  :class:`~app.flow.service.TapOutcome` (the first tap of a card enrols it);
* ``trustone_reader`` — for hardware tests: the card source of ``--reader NAME``
  (PC/SC) or ``--nfc-device PATH`` (nfcpy); skips the test without either.

Command-line options for opt-in hardware tests:

* ``--reader NAME``: run tests marked ``hardware`` against a real card in the
  PC/SC reader whose name contains NAME.
* ``--nfc-device PATH``: run them against a card on an nfcpy device
  (``usb``, ``usb:VID:PID``, ``tty:...``).

Without either option, tests marked ``hardware`` are skipped: real readers are
never required. The project's modules are imported inside the fixtures, so
loading the plugin costs nothing to a test session that does not use them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from app.card_source import DEFAULT_PROFILE  # light: no card emulation or crypto at plugin load

if TYPE_CHECKING:
    from app.flow.service import TapOutcome, TapService
    from app.flow.sources import CardSource
    from card_emulation.applet import EmvCard
    from protocol.tap.policy import Policy
    from protocol.tap.transaction import Transaction

#: The fixed time of the fixtures: 2026-01-01T00:00:00Z.
TRUSTONE_NOW = 1_767_225_600


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
        if item.get_closest_marker("hardware") is not None:  # not item.keywords: folder names count there
            item.add_marker(skip)


# --------------------------------------------------------------------------- fixtures


class TrustoneClock:
    """A clock that stands still at :data:`TRUSTONE_NOW` unless a test moves it (Unix seconds)."""

    def __init__(self, now: int = TRUSTONE_NOW) -> None:
        self.t = now

    def now(self) -> float:
        return float(self.t)

    def advance(self, seconds: int) -> None:
        self.t += int(seconds)


class CardFactory:
    """Emulated cards personalised into the service's data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def __call__(self, profile: str = DEFAULT_PROFILE, faults: str = "", *, seed: str | None = None,
                 timing: bool = False) -> CardSource:  # fmt: skip
        """The emulated card ``profile`` with the fault plan ``faults`` (docs/faults.md) as a card source."""
        from app.flow.sources import CardSource
        from card_emulation.personalise import DEFAULT_SEED

        return CardSource(profile=profile, seed=seed or DEFAULT_SEED, faults=faults, timing=timing)

    def emv(self, profile: str = DEFAULT_PROFILE, faults: str = "", *, seed: str | None = None) -> EmvCard:
        """The :class:`EmvCard` itself (``process(apdu) -> bytes``), its counters saved in its image file."""
        from app.flow.sources import emulated_card

        return emulated_card(self(profile, faults, seed=seed), self.data_dir)


class Tapper:
    """``trustone_tap(card, transaction, ...)``: one tap through the fixture's service."""

    def __init__(self, service: TapService, cards: CardFactory, transactions: Any) -> None:
        self.service, self.cards, self.transactions = service, cards, transactions

    def __call__(
        self, card: CardSource | str | None = None, transaction: Transaction | None = None, *,
        faults: str = "", user: str | None = None, policy: str | Policy | None = None,
        card_transaction: Transaction | None = None, relay_resistance: bool = True, request_cda: bool = True,
        transport_wrapper: Any = None, auto_enrol: bool = True, wait_s: float | None = 30.0,
    ) -> TapOutcome:  # fmt: skip
        """Tap ``card`` (a profile name, a CardSource, default the Mastercard CDA card) for ``transaction``."""
        from app.flow.service import TapOptions
        from protocol.tap.policy import policy_named

        if isinstance(card, str) or card is None:
            source = self.cards(card or DEFAULT_PROFILE, faults)
        else:
            source = dataclasses.replace(card, faults=faults) if faults else card
        options = TapOptions(
            card_transaction=card_transaction, relay_resistance=relay_resistance, request_cda=request_cda,
            policy=policy_named(policy) if isinstance(policy, str) else policy, transport_wrapper=transport_wrapper,
        )  # fmt: skip
        return self.service.tap(transaction or self.transactions(), source, user_id=user, options=options,
                                auto_enrol=auto_enrol, wait_s=wait_s)  # fmt: skip


@pytest.fixture
def trustone_clock() -> TrustoneClock:
    """The fixed clock of the other fixtures: 2026-01-01T00:00:00Z, moved only by ``advance``."""
    return TrustoneClock()


@pytest.fixture
def trustone_service(tmp_path: Path, trustone_clock: TrustoneClock) -> Iterator[TapService]:
    """A TapService (verifier, phone, key store) in ``tmp_path``, in-memory store, fixed clock."""
    from app.flow.service import TapService

    with TapService(tmp_path / "trustone-data", store_path=":memory:", now=trustone_clock.now) as service:
        yield service


@pytest.fixture
def trustone_card(trustone_service: TapService) -> CardFactory:
    """Factory: ``trustone_card(profile, faults)`` -> CardSource; ``trustone_card.emv(...)`` -> EmvCard."""
    return CardFactory(trustone_service.data_dir)


@pytest.fixture
def trustone_transaction(trustone_clock: TrustoneClock) -> Any:
    """Factory: ``trustone_transaction(amount_minor=50_000, currency="KRW", payee=..., kind="payment")``."""
    from protocol.decoders.codes import currency, currency_by_alpha
    from protocol.tap.transaction import Transaction, TransactionType

    def make(amount_minor: int = 50_000, currency_code: str = "KRW", payee: str = "Coffee Shop Seoul",
             kind: str = "payment", timestamp: int | None = None) -> Transaction:  # fmt: skip
        text = str(currency_code).strip()
        found = currency(int(text)) if text.isdigit() else currency_by_alpha(text)
        if found is None:
            raise ValueError(f"unknown ISO 4217 currency {currency_code!r}")
        return Transaction(TransactionType.parse(kind), amount_minor, f"{found.numeric:03d}", payee,
                           trustone_clock.t if timestamp is None else timestamp)  # fmt: skip

    return make


@pytest.fixture
def trustone_tap(trustone_service: TapService, trustone_card: CardFactory, trustone_transaction: Any) -> Tapper:
    """Callable: ``trustone_tap("visa-cvn18-dda", faults="genac:corrupt-ac")`` -> TapOutcome."""
    return Tapper(trustone_service, trustone_card, trustone_transaction)


@pytest.fixture
def trustone_reader(request: pytest.FixtureRequest) -> CardSource:
    """The real card of ``--reader NAME`` or ``--nfc-device PATH`` as a card source; skips without either."""
    from app.flow.sources import CardSource, SourceKind

    reader, device = request.config.getoption("--reader"), request.config.getoption("--nfc-device")
    if reader:
        return CardSource(SourceKind.PCSC, reader=str(reader))
    if device:
        return CardSource(SourceKind.NFC, device=str(device))
    pytest.skip("hardware test: pass --reader NAME or --nfc-device PATH to run it")
