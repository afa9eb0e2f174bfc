"""The attack lab's isolated world: one verifier, one enrolled phone, emulated cards, a fixed clock.

Each scenario runs in a fresh :class:`Lab`: a :class:`~app.flow.service.TapService`
in a temporary data directory with an in-memory SQLite store, a clock fixed at
:data:`LAB_NOW` (that the expired-challenge scenario moves), the verifier's random
source and the phones' device keys derived from a seed. So a scenario is isolated
(nothing of the user's data directory is read or written) and deterministic: the
same nonces, UNs, ATCs and cryptograms on every run. The one exception is the
relay scenario, whose latency is real time (a real ``sleep``): its measured
microseconds vary a little, its verdicts do not.

The lab uses the service's public parts (``verifier``, ``session``, ``store``) to
play the attackers: a phone with another device key, a challenge rewritten on its
way to the phone, an assertion held back or re-signed, a relay in the card link.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from app.card_source import DEFAULT_PROFILE
from app.flow.attack_results import Attempt, from_outcome, from_verification
from app.flow.runner import RunOutcome, run_authentication
from app.flow.service import TapOptions, TapOutcome, TapService
from app.flow.sources import CardSource, parse_faults, prepare_emulated
from app.transports.base import Transport
from app.transports.emulated import EmulatedTransport
from card_emulation.applet import EmvCard
from card_emulation.personalise import DEFAULT_SEED
from protocol.crypto.primitives import EcPrivateKey, ec_from_scalar, sha256
from protocol.tap.assertion import Assertion
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.challenge import Challenge
from protocol.tap.events import Event
from protocol.tap.policy import policy_named
from protocol.tap.transaction import Transaction, TransactionType
from protocol.tap.verifier import Verifier

EventSink = Callable[[Event], None]

#: The lab's fixed "now": 2026-01-01T00:00:00Z.
LAB_NOW = 1_767_225_600
LAB_USER = "victim"
#: One network round trip added by the relay, per exchange (NGate-style relays add tens of ms).
DEFAULT_RELAY_LATENCY_MS = 40.0
MAX_RELAY_LATENCY_MS = 1000.0

#: What the victim means to authorise, and what attackers want instead.
VICTIM_T = Transaction(TransactionType.PAYMENT, 50_000, "410", "Coffee Shop Seoul", LAB_NOW)
ATTACKER_T = Transaction(TransactionType.TRANSFER, 9_000_000, "410", "Phisher Ltd (mule account)", LAB_NOW)


@dataclass(frozen=True)
class LabConfig:
    """How the lab runs: the victim's card profile, the relay's latency, the seeds, the clock."""

    profile: str = DEFAULT_PROFILE
    relay_latency_ms: float = DEFAULT_RELAY_LATENCY_MS
    seed: str = "trustone-attack-lab"
    card_seed: str = DEFAULT_SEED
    now: int = LAB_NOW

    def __post_init__(self) -> None:
        if not 0 <= self.relay_latency_ms <= MAX_RELAY_LATENCY_MS:
            raise ValueError(f"relay latency must be 0..{MAX_RELAY_LATENCY_MS:g} ms, got {self.relay_latency_ms}")


class LabClock:
    """A clock that stands still unless a scenario moves it (Unix seconds)."""

    def __init__(self, now: int) -> None:
        self.t = now

    def now(self) -> float:
        return float(self.t)

    def advance(self, seconds: int) -> None:
        self.t += seconds


class DeterministicRandom:
    """Bytes from SHA-256 in counter mode over a seed: the same sequence on every run (lab only)."""

    def __init__(self, seed: str) -> None:
        self._seed, self._counter, self._buffer = seed.encode("utf-8"), 0, b""

    def __call__(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._counter += 1
            self._buffer += sha256(self._seed + self._counter.to_bytes(8, "big"))
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        return out


def lab_device_key(seed: str, phone: str) -> EcPrivateKey:
    """A P-256 device key derived from the lab seed (255 bits: always below the group order)."""
    return ec_from_scalar((int.from_bytes(sha256(f"{seed}/{phone}".encode()), "big") >> 1) or 1)


class RelayTransport:
    """An NGate-style relay in the card link: every exchange crosses a network and back.

    ``latency_s`` is added to each round trip (a real sleep, so the phone's timer
    measures it, as it would measure a real relay). Everything else is passed on
    unchanged: the card's answers are genuine.
    """

    def __init__(self, inner: Transport, latency_s: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.inner, self.latency_s, self._sleep = inner, latency_s, sleep
        self.exchanges = 0

    @property
    def description(self) -> str:
        return f"{self.inner.description} through a network relay (+{self.latency_s * 1000:g} ms per exchange)"

    def transmit(self, apdu: bytes) -> bytes:
        self.exchanges += 1
        if self.latency_s > 0:
            self._sleep(self.latency_s)
        return self.inner.transmit(apdu)

    def close(self) -> None:
        self.inner.close()


def relay_wrapper(latency_ms: float) -> Callable[[Transport], Transport]:
    """A :class:`TapOptions` ``transport_wrapper`` that puts a relay of ``latency_ms`` in the card link."""
    return lambda transport: RelayTransport(transport, latency_ms / 1000.0)


class _LabService(TapService):
    """A TapService whose verifier draws from a seeded random source and whose phone key is fixed."""

    def __init__(self, data_dir: Path, *, random_bytes: Callable[[int], bytes], device_key: EcPrivateKey,
                 clock: LabClock) -> None:  # fmt: skip
        self._lab_random, self._lab_key = random_bytes, device_key
        super().__init__(data_dir, store_path=":memory:", phone="victim-phone", now=clock.now)
        self.reload_keys()

    @property
    def device_key(self) -> EcPrivateKey:
        return self._lab_key

    def reload_keys(self) -> None:
        super().reload_keys()
        self.verifier = Verifier(
            self.store, keystore=self.verifier.keystore, ca_store=self.ca_store, policy=self.policy,
            now=lambda: int(self.now()), today=self.today, random_bytes=self._lab_random,
        )  # fmt: skip


class Lab:
    """One scenario's world (see the module docstring). Use as a context manager."""

    def __init__(self, config: LabConfig = LabConfig(), on_event: EventSink | None = None) -> None:
        self.config = config
        self.clock = LabClock(config.now)
        self.random = DeterministicRandom(config.seed)
        self.user = LAB_USER
        self._sink = on_event
        self._dir = tempfile.TemporaryDirectory(prefix="trustone-lab-")
        self.data_dir = Path(self._dir.name)
        self.attacker_key = lab_device_key(config.seed, "attacker-phone")
        self.service = _LabService(self.data_dir, random_bytes=self.random,
                                   device_key=lab_device_key(config.seed, "victim-phone"), clock=self.clock)  # fmt: skip

    def close(self) -> None:
        self.service.close()
        self._dir.cleanup()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ pieces

    def emit(self, event: Event) -> None:
        if self._sink is not None:
            self._sink(event)

    def source(self, profile: str | None = None, faults: str = "") -> CardSource:
        """An emulated card of the lab (personalised into the lab's data directory on first use)."""
        return CardSource(profile=profile or self.config.profile, seed=self.config.card_seed, faults=faults)

    def image_path(self, profile: str | None = None) -> Path:
        """The card image file of ``profile`` (what a cloner copies)."""
        return prepare_emulated(self.source(profile), self.data_dir)

    def issue(self, transaction: Transaction) -> tuple[Challenge, tuple[Event, ...]]:
        """The verifier's challenge for ``transaction`` and the events showing it."""
        challenge = self.service.verifier.issue_challenge(transaction)
        events = tuple(self.service.verifier.challenge_events(challenge))
        for event in events:
            self.emit(event)
        return challenge, events

    # ------------------------------------------------------------------ taps

    def tap(self, label: str, transaction: Transaction = VICTIM_T, *, source: CardSource | None = None,
            options: TapOptions = TapOptions(), policy: str | None = None) -> tuple[Attempt, TapOutcome]:  # fmt: skip
        """A whole tap through the service (the first one enrols the card with the victim's phone)."""
        if policy is not None:
            options = dataclasses.replace(options, policy=policy_named(policy))
        outcome = self.service.tap(transaction, source or self.source(), user_id=self.user, options=options,
                                   on_event=self.emit)  # fmt: skip
        return from_outcome(label, outcome, policy=policy), outcome

    def phone_run(self, challenge: Challenge, *, source: CardSource | None = None, device_key: EcPrivateKey | None = None,
                  card_transaction: Transaction | None = None) -> RunOutcome:  # fmt: skip
        """A phone session (the victim's, or another key's) for ``challenge`` over an emulated card.

        The card's faults apply (``source.faults``); its random numbers come from the lab's seeded source.
        """
        source = source or self.source()
        prepare_emulated(source, self.data_dir)
        self.service.reload_keys()  # a card personalised just now brings its CA and issuer keys
        session = AuthenticatorSession(
            challenge, user_id=self.user, device_key=device_key or self.service.device_key,
            ca_store=self.service.ca_store, today=self.service.today(), card_transaction=card_transaction,
            random_bytes=self.random,
        )  # fmt: skip
        # the card draws from the lab's seeded source too, so a clone's random cryptograms repeat run after run
        card = EmvCard.from_file(prepare_emulated(source, self.data_dir), faults=parse_faults(source.faults),
                                 random_bytes=self.random)  # fmt: skip
        with closing(EmulatedTransport(card, name=source.describe())) as transport:
            return run_authentication(session, transport, on_event=self.emit)

    def verify(self, label: str, assertion: Assertion, *, policy: str | None = None,
               before: tuple[Event, ...] = ()) -> Attempt:  # fmt: skip
        """The verifier's verdict on ``assertion`` (``before``: the events that led to it)."""
        result = self.service.verifier.verify(assertion.to_bytes(), policy=policy_named(policy) if policy else None)
        for event in result.events:
            self.emit(event)
        return from_verification(label, result, policy=policy, events=before + result.events)

    def enrol_card(self, profile: str) -> None:
        """Enrol another of the victim's cards (e.g. for a variant) with an honest tap."""
        self.service.tap(VICTIM_T, self.source(profile), user_id=self.user, on_event=self.emit)
