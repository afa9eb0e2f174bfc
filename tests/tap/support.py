"""Helpers for the authenticator tests: real emulated cards, a session factory, a pump.

Cards are the real :class:`card_emulation.applet.EmvCard` personalised from the
shipped profiles (seed ``"test-seed"``, as in ``tests/card_emulation``); images
are cached per process so that hypothesis examples do not re-personalise.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from functools import cache

from card_emulation.applet import EmvCard
from card_emulation.faults import FaultPlan
from card_emulation.personalise import Personalisation, personalise
from card_emulation.profile import list_profiles, load_profile
from card_emulation.interface import ApduCard
from protocol.crypto.capk import CapkStore, default_store
from protocol.crypto.primitives import EcPrivateKey, ec_from_scalar
from protocol.keystore import KeyStore
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.challenge import Challenge
from protocol.tap.transaction import Transaction, TransactionType
from tests.card_emulation.conftest import SEED, Counter

PROFILES = list_profiles()
TODAY = datetime.date(2026, 1, 1)
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
RELAY_PROFILE = "mastercard-cvn16-cda"  # offers relay resistance (AIP byte 2 bit 1) and answers 80 EA
ADVERTISES_ONLY_PROFILE = "mastercard-cvn16-cda-no-errd"  # test-only: AIP says yes, applet answers 6D00


@cache
def personalised(name: str) -> Personalisation:
    if name == ADVERTISES_ONLY_PROFILE:
        base = load_profile(RELAY_PROFILE)
        app = dataclasses.replace(base.applications[0], relay_resistance=None)
        assert app.aip[1] & 0x01, "the shipped Mastercard profile must advertise relay resistance"
        return personalise(dataclasses.replace(base, applications=(app,)), SEED)
    return personalise(name, SEED)


@cache
def keystore() -> KeyStore:
    store = KeyStore()
    for name in (*PROFILES, ADVERTISES_ONLY_PROFILE):
        store = store.merged(personalised(name).keystore)
    return store


@cache
def ca_store() -> CapkStore:
    """The public scheme CA keys plus the simulator's test CA keys (docs/tap-model.md)."""
    return keystore().capk_store(default_store())


def make_card(name: str, faults: FaultPlan = FaultPlan()) -> EmvCard:
    card = EmvCard(personalised(name).image, faults=faults, random_bytes=Counter(), sleep=lambda _s: None)
    card.power_on()
    return card


DEVICE_KEY: EcPrivateKey = ec_from_scalar(0x5EED_DE71CE)
TRANSACTION = Transaction(TransactionType.PAYMENT, 50_000, "410", "Coffee Shop Seoul", NOW)


def challenge(transaction: Transaction = TRANSACTION) -> Challenge:
    return Challenge(
        "challenge-1", bytes(range(16)), transaction, NOW, NOW + 60
    )


def new_session(**kwargs: object) -> AuthenticatorSession:
    kwargs.setdefault("user_id", "alice")
    kwargs.setdefault("device_key", DEVICE_KEY)
    kwargs.setdefault("ca_store", ca_store())
    kwargs.setdefault("today", TODAY)
    kwargs.setdefault("random_bytes", lambda n: bytes(range(0xA0, 0xA0 + n)))
    ch = kwargs.pop("challenge", None) or challenge()
    return AuthenticatorSession(ch, **kwargs)  # type: ignore[arg-type]


def pump(
    session: AuthenticatorSession,
    card: ApduCard | Callable[[bytes], bytes],
    *,
    choose: Callable[[AuthenticatorSession], bytes] | None = None,
    elapsed_ns: int | None = 500_000,
    max_commands: int = 200,
) -> list[bytes]:
    """Drive ``session`` with ``card`` back to back; returns the commands sent."""
    process = card.process if hasattr(card, "process") else card  # type: ignore[union-attr]
    sent: list[bytes] = []
    while not session.done:
        if session.pending_choice is not None:
            if choose is None:
                break
            session.choose(choose(session))
            continue
        command = session.next_command()
        assert command is not None, "a session that is not done and has no choice must have a command"
        assert len(sent) < max_commands, "the session does not finish"
        sent.append(command)
        session.receive(process(command), elapsed_ns)  # type: ignore[operator]
    return sent
