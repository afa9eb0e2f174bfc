"""Helpers for the verifier tests: real emulated cards, the real phone session, a fixed clock.

Everything is real — personalised card images, :class:`~card_emulation.applet.EmvCard`,
:class:`~protocol.tap.authenticator.AuthenticatorSession` pumped by
:func:`app.flow.runner.run_authentication` over :class:`~app.transports.emulated.EmulatedTransport`,
and the SQLite store — only time is fixed (``NOW``/``TODAY``) so that tests are
reproducible. Card images are personalised once per process (seed ``"test-seed"``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import cache
from typing import Any

from app.flow.runner import RunOutcome, run_authentication
from app.flow.store import SqliteVerifierStore
from app.transports.emulated import EmulatedTransport
from card_emulation.applet import EmvCard
from card_emulation.faults import FaultPlan
from card_emulation.image import CardImage
from card_emulation.personalise import Personalisation, personalise
from card_emulation.profile import list_profiles
from protocol.crypto.capk import CapkStore, default_store
from protocol.crypto.primitives import EcPrivateKey, ec_from_scalar, ec_public_bytes
from protocol.keystore import KeyStore
from protocol.tap.assertion import Assertion
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.challenge import Challenge
from protocol.tap.policy import Policy
from protocol.tap.transaction import Transaction, TransactionType
from protocol.tap.verifier import Verifier
from protocol.tap.verifier_store import VerifierStore

SEED = "test-seed"
PROFILES = list_profiles()
TODAY = datetime.date(2026, 1, 1)
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
RELAY_PROFILE = "mastercard-cvn16-cda"  # offers relay resistance (AIP byte 2 bit 1) and answers 80 EA
USER = "alice"
DEVICE_KEY: EcPrivateKey = ec_from_scalar(0xA11CE_DE71CE)
OTHER_DEVICE_KEY: EcPrivateKey = ec_from_scalar(0xBAD_DE71CE)
TRANSACTION = Transaction(TransactionType.PAYMENT, 50_000, "410", "Coffee Shop Seoul", NOW)



@cache
def personalised(name: str) -> Personalisation:
    return personalise(name, SEED)


def all_cases() -> list[tuple[str, bytes]]:
    return [(name, app.aid) for name in PROFILES for app in personalised(name).image.applications]


@cache
def keystore() -> KeyStore:
    store = KeyStore()
    for name in PROFILES:
        store = store.merged(personalised(name).keystore)
    return store


@cache
def ca_store() -> CapkStore:
    """Public scheme CA keys plus the simulator's test CA (docs/tap-model.md)."""
    return keystore().capk_store(default_store())


def keystore_without_issuer_keys() -> KeyStore:
    """What a verifier has for a real card: CA keys, no issuer master keys."""
    return KeyStore(ca_keys=keystore().ca_keys)


class Counter:
    """Deterministic random source for cards."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, count: int) -> bytes:
        out = bytearray()
        while len(out) < count:
            self.n += 1
            out += self.n.to_bytes(4, "big")
        return bytes(out[:count])


def make_card(name: str, faults: FaultPlan = FaultPlan(), image: CardImage | None = None) -> EmvCard:
    return EmvCard(image or personalised(name).image, faults=faults, random_bytes=Counter(), sleep=lambda _s: None)


class Clock:
    """A settable clock for the verifier: ``now()`` in Unix seconds, ``today()``."""

    def __init__(self, now: int = NOW) -> None:
        self.t = now

    def now(self) -> int:
        return self.t

    def today(self) -> datetime.date:
        return datetime.datetime.fromtimestamp(self.t, datetime.UTC).date()


def make_verifier(
    store: VerifierStore | None = None, *, clock: Clock | None = None, keys: KeyStore | None = None,
    policy: Policy | None = None, random_bytes: Callable[[int], bytes] | None = None,
) -> Verifier:  # fmt: skip
    clock = clock or Clock()
    kwargs: dict[str, Any] = {}
    if policy is not None:
        kwargs["policy"] = policy
    if random_bytes is not None:
        kwargs["random_bytes"] = random_bytes
    return Verifier(
        store if store is not None else SqliteVerifierStore(":memory:"),
        keystore=keys if keys is not None else keystore(), ca_store=ca_store(), now=clock.now, today=clock.today,
        **kwargs,
    )


def tap(
    card: Any, challenge: Challenge, *, device_key: EcPrivateKey = DEVICE_KEY, user_id: str = USER,
    aid: bytes | None = None, **session_kwargs: Any,
) -> Assertion:  # fmt: skip
    """One real tap: the phone session over an EmulatedTransport to ``card``; returns the signed assertion."""
    session_kwargs.setdefault("random_bytes", lambda n: bytes(range(0xA0, 0xA0 + n)))
    session = AuthenticatorSession(
        challenge, user_id=user_id, device_key=device_key, ca_store=ca_store(), today=TODAY,
        application_choice="ask" if aid is not None else "priority", **session_kwargs,
    )  # fmt: skip
    with EmulatedTransport(card, name="test card") as transport:
        outcome: RunOutcome = run_authentication(session, transport, choose=(lambda _c: aid) if aid else None)
    assert outcome.assertion is not None, outcome.failure
    return outcome.assertion


def enrol(verifier: Verifier, card: Any, *, device_key: EcPrivateKey = DEVICE_KEY, user_id: str = USER,
          aid: bytes | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
    """Enrol ``card`` for (user, device) with a real enrolment tap; returns the Enrolment."""
    challenge = verifier.begin_enrolment(user_id, ec_public_bytes(device_key))
    assertion = tap(card, challenge, device_key=device_key, user_id=user_id, aid=aid, **kwargs)
    return verifier.complete_enrolment(assertion.to_bytes())


# --------------------------------------------------------------------------- a CAP reader (PINsentry-style)

CAP_PROFILE = "cap-visa-dpa"
CAP_AID = bytes.fromhex("A0000000038002")
CAP_PIN = "1234"


def _apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = 256) -> bytes:
    from protocol.apdu import CommandApdu

    return CommandApdu(cla, ins, p1, p2, data, le=le).encode()


def _ok(response: bytes) -> bytes:
    assert response[-2:] == b"\x90\x00", response.hex()
    return response[:-2]


class CapReader:
    """What a CAP reader does with the card: select, GPO, records, VERIFY PIN, GENERATE AC, cancel (AAC)."""

    def __init__(self, card: EmvCard, pin: str = CAP_PIN) -> None:
        self.card, self.pin = card, pin

    def read(self, request: Any) -> tuple[list[bytes], bytes, bytes, Any]:
        """One CAP code: returns (records, AIP, GENERATE AC response data, CapOtp)."""
        from protocol import cap, tlv

        card = self.card
        card.power_on()
        _ok(card.process(_apdu(0x00, 0xA4, 0x04, 0x00, CAP_AID)))
        gpo = tlv.decode_one(_ok(card.process(_apdu(0x80, 0xA8, 0x00, 0x00, bytes.fromhex("8300")))))
        aip, afl = gpo.value[:2], gpo.value[2:]
        records = []
        for i in range(0, len(afl), 4):
            sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
            for n in range(first, last + 1):
                records.append(_ok(card.process(_apdu(0x00, 0xB2, n, (sfi << 3) | 4))))
        data = cap.CapCardData.from_records(records)
        block = bytes.fromhex(f"2{len(self.pin):X}{self.pin}".ljust(16, "F"))
        _ok(card.process(_apdu(0x00, 0x20, 0x00, 0x80, block, le=None)))
        assert data.cdol1 is not None and data.cdol2 is not None
        response = _ok(card.process(cap.build_cap_generate_ac(data.cdol1, request).encoded))
        _ok(card.process(cap.build_cap_second_generate_ac(data.cdol2, request).encoded))
        otp = cap.compute_cap_otp(cap.parse_generate_ac_response(response), data.ipb, iaf=data.iaf, psn=data.psn)
        card.power_off()
        return records, aip, response, otp

    def code(self, request: Any) -> str:
        return self.read(request)[3].text
