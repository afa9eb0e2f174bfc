"""A real emulated tap for the trace tests: card, session, runner, tracing transport.

Cards are :class:`card_emulation.applet.EmvCard` personalised from the shipped TEST
profiles (seed ``"test-seed"``), cached per process; the session is the phone's
real :class:`~protocol.tap.authenticator.AuthenticatorSession` pumped by
:func:`app.flow.runner.run_authentication` through an in-process transport wrapped
in a :class:`~app.transports.wrappers.TracingTransport`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import cache

from app.flow.pcapng import ClockOrigin
from app.flow.runner import RunOutcome, run_authentication
from app.transports.emulated import EmulatedTransport
from app.transports.wrappers import Exchange, TracingTransport
from card_emulation.applet import EmvCard
from card_emulation.personalise import Personalisation, personalise
from protocol.crypto.capk import CapkStore, default_store
from protocol.crypto.primitives import EcPrivateKey, ec_from_scalar
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.challenge import Challenge
from protocol.tap.trace import Trace
from protocol.tap.transaction import Transaction, TransactionType

SEED = "test-seed"
TODAY = datetime.date(2026, 1, 1)
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DEVICE_KEY: EcPrivateKey = ec_from_scalar(0x7ACE_0001)
TRANSACTION = Transaction(TransactionType.PAYMENT, 50_000, "410", "Coffee Shop Seoul", NOW)
CHALLENGE = Challenge("trace-challenge-1", bytes(range(16)), TRANSACTION, NOW, NOW + 60)


@cache
def personalised(profile: str) -> Personalisation:
    return personalise(profile, SEED)


@cache
def ca_store(profile: str) -> CapkStore:
    """The public scheme CA keys plus this profile's test CA key."""
    return personalised(profile).keystore.capk_store(default_store())


def make_card(profile: str) -> EmvCard:
    counter = iter(range(1, 1 << 30))
    return EmvCard(
        personalised(profile).image,
        random_bytes=lambda n: b"".join(next(counter).to_bytes(4, "big") for _ in range((n + 3) // 4))[:n],
        sleep=lambda _s: None,
    )


def new_session(profile: str) -> AuthenticatorSession:
    return AuthenticatorSession(
        CHALLENGE, user_id="alice", device_key=DEVICE_KEY, ca_store=ca_store(profile), today=TODAY,
        random_bytes=lambda n: bytes(range(0xA0, 0xA0 + n)),
    )  # fmt: skip


@dataclass(frozen=True)
class Tap:
    """One emulated tap: how it ended, every physical exchange, and the clock origin."""

    outcome: RunOutcome
    exchanges: tuple[Exchange, ...]
    origin: ClockOrigin
    transport: str
    profile: str

    def trace(self) -> Trace:
        created = datetime.datetime.fromtimestamp(self.origin.wall_ns / 1e9, datetime.UTC)
        return Trace(created, "0.1.0-test", self.transport, f"{self.profile} (TEST card)", self.outcome.events,
                     CHALLENGE, self.outcome.assertion)  # fmt: skip


@cache
def tap(profile: str = "visa-cvn18-dda") -> Tap:
    log: list[Exchange] = []
    origin = ClockOrigin.now()
    with EmulatedTransport(make_card(profile)) as transport:
        outcome = run_authentication(new_session(profile), TracingTransport(transport, log))
    assert outcome.ok, outcome.failure
    return Tap(outcome, tuple(log), origin, transport.description, profile)


def pan_of(profile: str) -> str:
    """The emulated card's PAN (from its image's records), for leak checks."""
    from protocol.trace_masking import session_pans

    pans = session_pans([(e.command, e.response) for e in tap(profile).exchanges])
    assert len(pans) == 1, pans
    return next(iter(pans))
