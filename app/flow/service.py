"""The composition service: one simulated deployment — verifier, phone, key store — and its taps.

DESIGN.md §3 end to end, in one place that the CLI (``trustone run``), the
desktop app's worker, the attack lab and the pytest plugin all call:

1. the verifier issues a challenge bound to the transaction T;
2. the phone shows T and the user confirms;
3. the phone taps the card through any :class:`~app.transports.base.Transport`
   (the sans-I/O :class:`~protocol.tap.authenticator.AuthenticatorSession`
   pumped by :func:`~app.flow.runner.run_authentication`);
4. the verifier checks the signed assertion and gives its verdict.

The first tap of a card with a phone enrols it (DESIGN.md §3 "Enrolment"): the
verifier registers the phone's device key and binds the card to the user. Every
step is reported as a :mod:`protocol.tap.events` event through ``on_event``.

State: the key store (CA public keys and issuer master keys written by
personalisation) and the verifier's SQLite file live in the data directory
(:func:`card_emulation.keystore_files.data_dir`); each simulated phone keeps its
P-256 device key in ``phones/<name>.json`` there (created on first use, mode 0600).
"""

from __future__ import annotations

import datetime
import enum
import json
import os
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import ConfigurationError
from app.flow.runner import run_authentication
from app.flow.sources import (
    CancellableTransport,
    CardSource,
    Notify,
    SourceKind,
    emulated_image,
    emulated_transport,
    open_transport,
    prepare_emulated_image,
)
from app.flow.store import SqliteVerifierStore
from app.flow.store import default_path as default_store_path
from app.transports.base import Transport
from card_emulation.image import CardImage
from card_emulation.keystore_files import data_dir as resolve_data_dir
from card_emulation.keystore_files import load_keystore
from protocol.crypto.capk import CapkStore, default_store
from protocol.crypto.primitives import EcPrivateKey, ec_from_scalar, ec_generate, ec_public_bytes
from protocol.masking import mask_pan
from protocol.tap.assertion import Assertion, device_key_id
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.challenge import Challenge
from protocol.tap.enrolment import Enrolment
from protocol.tap.events import Event, Lane, SessionFailed, Step, StepStarted
from protocol.tap.policy import DEFAULT_POLICY, Policy
from protocol.tap.transaction import Transaction
from protocol.tap.verifier import Verifier
from protocol.tap.verifier_result import VerificationResult

EventSink = Callable[[Event], None]
DEFAULT_PHONE = "demo-phone"


class TapStatus(enum.Enum):
    VERDICT = "verdict"  # the verifier decided (accept, reject or ODA only)
    FAILED = "failed"  # the card session ended early (SessionFailed)
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TapOutcome:
    """How one tap ended, with everything that happened."""

    status: TapStatus
    message: str
    events: tuple[Event, ...] = ()
    verification: VerificationResult | None = None
    assertion: Assertion | None = None
    challenge: Challenge | None = None
    enrolled: Enrolment | None = None

    @property
    def accepted(self) -> bool:
        return self.verification is not None and self.verification.accepted


@dataclass(frozen=True)
class TapOptions:
    """How the phone behaves on this tap (the attack lab changes these).

    ``card_transaction``: what the phone tells the card, if not the verifier's T
    (malware changing the amount after the user confirmed).
    """

    card_transaction: Transaction | None = None
    relay_resistance: bool = True
    request_cda: bool = True
    policy: Policy | None = None
    transport_wrapper: Callable[[Transport], Transport] | None = None


@dataclass
class _Collector:
    sink: EventSink | None
    events: list[Event] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if self.sink is not None:
            self.sink(event)


class TapService:
    """A verifier with its SQLite store and key store, and one simulated phone.

    ``store_path``: the verifier's database (default ``<data dir>/verifier.sqlite3``;
    ``":memory:"`` for tests). ``now`` gives Unix seconds (injected for tests and
    the attack lab's expired-challenge scenario).
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        store_path: Path | str | None = None,
        phone: str = DEFAULT_PHONE,
        policy: Policy = DEFAULT_POLICY,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.phone = phone
        self.policy = policy
        self.now = now
        self.store = SqliteVerifierStore(store_path if store_path is not None else default_store_path(self.data_dir))
        self._device_key: EcPrivateKey | None = None
        self.verifier = self._new_verifier()

    # ------------------------------------------------------------------ composition

    def today(self) -> datetime.date:
        return datetime.datetime.fromtimestamp(self.now(), datetime.UTC).date()

    def _new_verifier(self) -> Verifier:
        keystore = load_keystore(self.data_dir)
        self.ca_store: CapkStore = keystore.capk_store(default_store())
        return Verifier(
            self.store, keystore=keystore, ca_store=self.ca_store, policy=self.policy,
            now=lambda: int(self.now()), today=self.today,
        )  # fmt: skip

    def reload_keys(self) -> None:
        """Re-read the key store (after personalising a card, its keys are new)."""
        self.verifier = self._new_verifier()

    @property
    def device_key(self) -> EcPrivateKey:
        """This phone's P-256 device key, created on first use and kept in the data dir."""
        if self._device_key is None:
            self._device_key = _load_or_create_device_key(self.data_dir / "phones" / f"{self.phone}.json")
        return self._device_key

    @property
    def device_id(self) -> str:
        return device_key_id(self.device_key)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> TapService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ taps

    def session(self, challenge: Challenge, user_id: str, options: TapOptions = TapOptions()) -> AuthenticatorSession:
        return AuthenticatorSession(
            challenge, user_id=user_id, device_key=self.device_key, ca_store=self.ca_store, today=self.today(),
            card_transaction=options.card_transaction, relay_resistance=options.relay_resistance,
            request_cda=options.request_cda,
        )  # fmt: skip

    def is_enrolled(self, user_id: str, source: CardSource | None = None) -> bool:
        """Whether this user and phone have an enrolment (for ``source``'s card when it is emulated)."""
        if source is None or source.kind is not SourceKind.EMULATED:
            return bool(self.store.enrolments_for(user_id, self.device_id))
        return self._card_enrolled(user_id, emulated_image(source, self.data_dir))

    def _card_enrolled(self, user_id: str, image: CardImage) -> bool:
        records = self.store.enrolments_for(user_id, self.device_id)
        wanted = {(app.aid, mask_pan(app.profile.pan)) for app in image.applications}
        return any((record.aid, record.masked_pan) in wanted for record in records)

    def enrol(
        self, user_id: str, transport: Transport, *, on_event: EventSink | None = None,
        cancelled: threading.Event | None = None,
    ) -> TapOutcome:  # fmt: skip
        """An enrolment tap: bind this phone's device key and the card to ``user_id``."""
        collect = _Collector(on_event)
        challenge = self.verifier.begin_enrolment(user_id, ec_public_bytes(self.device_key))
        for event in self.verifier.challenge_events(challenge):
            collect(event)
        link = CancellableTransport(transport, cancelled) if cancelled is not None else transport
        outcome = run_authentication(self.session(challenge, user_id), link, on_event=collect)
        if outcome.assertion is None:
            return self._failed(outcome.failure, collect, challenge, cancelled)
        enrolment = self.verifier.complete_enrolment(outcome.assertion.to_bytes())
        for event in enrolment.result.events:
            collect(event)
        if enrolment.accepted:
            message = f"Card {enrolment.result.masked_pan} enrolled for user {user_id!r} on phone {self.phone!r}."
        else:
            message = "The card could not be enrolled: " + "; ".join(enrolment.result.reasons)
        return TapOutcome(
            TapStatus.VERDICT, message, tuple(collect.events), enrolment.result, outcome.assertion, challenge,
            enrolment if enrolment.accepted else None,
        )  # fmt: skip

    def authenticate(
        self, user_id: str, transaction: Transaction, transport: Transport, *,
        options: TapOptions = TapOptions(), on_event: EventSink | None = None,
        cancelled: threading.Event | None = None,
    ) -> TapOutcome:  # fmt: skip
        """One authentication tap of an enrolled card for ``transaction``."""
        collect = _Collector(on_event)
        challenge = self.verifier.issue_challenge(transaction)
        for event in self.verifier.challenge_events(challenge):
            collect(event)
        collect(StepStarted(
            Step.CONFIRM, Lane.PHONE,
            f"The phone shows the transaction — {transaction.describe()} — and the user confirms it by "
            "tapping their card on the phone.",
            "TrustOne model (DESIGN.md §3 step 3)",
        ))  # fmt: skip
        link = options.transport_wrapper(transport) if options.transport_wrapper else transport
        link = CancellableTransport(link, cancelled) if cancelled is not None else link
        outcome = run_authentication(self.session(challenge, user_id, options), link, on_event=collect)
        if outcome.assertion is None:
            return self._failed(outcome.failure, collect, challenge, cancelled)
        result = self.verifier.verify(outcome.assertion.to_bytes(), policy=options.policy)
        for event in result.events:
            collect(event)
        reasons = f": {'; '.join(result.reasons)}" if result.reasons else ""
        return TapOutcome(
            TapStatus.VERDICT, f"Verdict: {result.outcome.value}{reasons}", tuple(collect.events), result,
            outcome.assertion, challenge,
        )  # fmt: skip

    def tap(
        self, transaction: Transaction, source: CardSource, *, user_id: str | None = None,
        options: TapOptions = TapOptions(), on_event: EventSink | None = None, auto_enrol: bool = True,
        wait_s: float | None = 30.0, waiting: Notify | None = None, cancelled: threading.Event | None = None,
    ) -> TapOutcome:  # fmt: skip
        """Open ``source``, enrol on the first tap if needed, then authenticate ``transaction``.

        An emulated card is enrolled without its faults (they are meant for the tap
        being shown); a real card is enrolled with the same tap presentation.
        """
        user = user_id or default_user(source)
        enrolled: Enrolment | None = None
        prior: tuple[Event, ...] = ()
        if source.kind is SourceKind.EMULATED:
            # The card image file is read once per tap (twice after an enrolment tap).
            path, image = prepare_emulated_image(source, self.data_dir)
            self.reload_keys()
            if auto_enrol and not self._card_enrolled(user, image):
                with closing(emulated_transport(source, self.data_dir, with_faults=False)) as clean:
                    first = self.enrol(user, clean, on_event=on_event, cancelled=cancelled)
                if first.enrolled is None:
                    return first
                enrolled, prior = first.enrolled, first.events
                image = None  # the enrolment tap moved the card's counters: read them back from the file
            prepared: tuple[Path, CardImage | None] | None = (path, image)
        else:
            prepared = None
        transport = open_transport(source, data_dir=self.data_dir, wait_s=wait_s, waiting=waiting, cancelled=cancelled,
                                   prepared=prepared)  # fmt: skip
        if transport is None:
            return TapOutcome(TapStatus.CANCELLED, "Cancelled: no card was tapped.")
        try:
            if source.kind is not SourceKind.EMULATED and auto_enrol and not self.is_enrolled(user):
                first = self.enrol(user, transport, on_event=on_event, cancelled=cancelled)
                if first.enrolled is None:
                    return first
                enrolled, prior = first.enrolled, first.events
            outcome = self.authenticate(
                user, transaction, transport, options=options, on_event=on_event, cancelled=cancelled
            )
        finally:
            transport.close()
        return TapOutcome(
            outcome.status, outcome.message, prior + outcome.events, outcome.verification, outcome.assertion,
            outcome.challenge, enrolled,
        )  # fmt: skip

    @staticmethod
    def _failed(
        failure: SessionFailed | None, collect: _Collector, challenge: Challenge, cancelled: threading.Event | None
    ) -> TapOutcome:
        if cancelled is not None and cancelled.is_set():
            return TapOutcome(TapStatus.CANCELLED, "Cancelled during the tap.", tuple(collect.events), challenge=challenge)
        message = (
            f"The tap failed during “{failure.step.title}”: {failure.reason}" if failure else "The tap failed."
        )
        return TapOutcome(TapStatus.FAILED, message, tuple(collect.events), challenge=challenge)


def default_user(source: CardSource) -> str:
    """The demo user a card source authenticates: one per emulated profile, one for real cards."""
    return f"demo-{source.profile}" if source.kind is SourceKind.EMULATED else "demo-reader-user"


def _load_or_create_device_key(path: Path) -> EcPrivateKey:
    """Read the phone's device key, or create and save a fresh one (0600: it is a private key)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ec_from_scalar(int(raw["p256_private_scalar"], 16))
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"the phone's device key file {path} is unreadable ({exc}); delete it to make a new phone") from None
    key = ec_generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"format": "trustone-device-key/1", "curve": "P-256", "p256_private_scalar": f"{key.scalar:064x}",
                   "note": "TEST device key of a simulated phone"}, handle)  # fmt: skip
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return key
