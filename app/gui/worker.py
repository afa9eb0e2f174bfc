"""The worker: drives a tap off the UI thread and reports it as Qt signals.

:class:`TapWorker` is a ``QObject`` that lives on its own ``QThread``. Its slots
run there — card image preparation, opening a reader, waiting for a card, every
APDU, all the crypto — and it emits the plain event dataclasses of
:mod:`protocol.tap.events` as they happen; connected to widgets on the UI thread
these are queued connections, so the UI never blocks and never computes.

**The one place the app drives the protocol** is :func:`run_tap` below (cards
and readers are opened by :mod:`app.gui.card_sources`). When the composition service ``app.flow.service``
lands, :func:`run_tap` is the function to swap for it; nothing else in the GUI
knows how a tap is made.

Errors: a problem before any APDU (no reader, driver missing, bad input, pcscd
gone) ends the run with a :class:`RunResult` of status ``"error"`` and a message
a person can act on; a problem during the tap (card removed, mute card) is a
``SessionFailed`` event from the session. Either way the worker is ready for the
next tap.
"""

from __future__ import annotations

import datetime
import enum
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.errors import AppError
from app.flow.runner import run_authentication
from app.flow.store import SqliteVerifierStore
from app.flow.store import default_path as default_store_path
from app.gui.card_sources import Cancellable, TapProblem, emulated_transport, open_transport, prepare_emulated
from app.gui.requests import CardSource, SourceKind, TapRequest, TransactionInput, amount_minor_units, currency_info
from app.transports.base import Transport
from card_emulation.errors import CardEmulationError
from card_emulation.keystore_files import data_dir as resolve_data_dir
from card_emulation.keystore_files import load_keystore
from card_emulation.personalise import ensure_card_image
from protocol.crypto.capk import CapkStore, default_store
from protocol.crypto.primitives import EcPrivateKey, ec_from_scalar, ec_public_bytes, sha256
from protocol.errors import ProtocolError
from protocol.tap.assertion import device_key_id
from protocol.tap.authenticator import AuthenticatorSession
from protocol.tap.challenge import Challenge
from protocol.tap.events import (
    ApduExchanged,
    CheckCompleted,
    CheckStatus,
    Event,
    Lane,
    MessageSent,
    SessionFailed,
    Step,
    StepStarted,
)
from protocol.tap.transaction import Transaction, TransactionType
from protocol.tap.verifier import Verifier

Emit = Callable[[Event], None]
Notify = Callable[[str], None]


class RunStatus(enum.Enum):
    VERDICT = "verdict"  # the verifier decided
    FAILED = "failed"  # the session ended with SessionFailed
    NO_VERDICT = "no verdict"  # the phone finished but no verifier was available
    CANCELLED = "cancelled"
    ERROR = "error"  # could not start


@dataclass(frozen=True)
class RunResult:
    """How a run ended, with one sentence for the status line."""

    status: RunStatus
    message: str


# ---------------------------------------------------------------------- the tap


def build_transaction(entry: TransactionInput, now: int) -> Transaction:
    """The :class:`Transaction` the verifier will bind its challenge to."""
    try:
        numeric, _ = currency_info(entry.currency)
        return Transaction(
            TransactionType.parse(entry.kind),
            amount_minor_units(entry.amount, entry.currency),
            numeric,
            entry.payee,
            now,
        )
    except (ValueError, ProtocolError) as exc:
        raise TapProblem(str(exc)) from None


def demo_device_key() -> EcPrivateKey:
    """The phone's device key until enrolment is wired in (deterministic, TEST only)."""
    scalar = int.from_bytes(sha256(b"TrustOne Tap Simulator GUI demo device key"), "big")
    return ec_from_scalar(scalar % (2**255) + 1)


def user_for(source: CardSource) -> str:
    """The demo user a card source authenticates (each emulated profile is its own user)."""
    return f"demo-{source.profile}" if source.kind is SourceKind.EMULATED else "demo-reader-user"


@dataclass
class _Context:
    """What one tap needs besides the card: verifier, its store, keys, clock."""

    verifier: Verifier
    store: SqliteVerifierStore
    ca_store: CapkStore
    device_key: EcPrivateKey
    user_id: str
    now: Callable[[], float]

    def today(self) -> datetime.date:
        return datetime.datetime.fromtimestamp(self.now(), datetime.UTC).date()

    def session(self, challenge: Challenge) -> AuthenticatorSession:
        return AuthenticatorSession(
            challenge, user_id=self.user_id, device_key=self.device_key, ca_store=self.ca_store, today=self.today()
        )


def _context(request: TapRequest, data_dir: Path, now: Callable[[], float]) -> _Context:
    if request.source.kind is SourceKind.EMULATED:
        prepare_emulated(request.source, data_dir)  # before the key store is read: it adds its keys
    try:
        keystore = load_keystore(data_dir)
        store = SqliteVerifierStore(default_store_path(data_dir))
    except (CardEmulationError, AppError) as exc:
        raise TapProblem(f"The verifier's files could not be opened: {exc}") from None
    ca_store = keystore.capk_store(default_store())
    verifier = Verifier(
        store, keystore=keystore, ca_store=ca_store, now=lambda: int(now()),
        today=lambda: datetime.datetime.fromtimestamp(now(), datetime.UTC).date(),
    )  # fmt: skip
    return _Context(verifier, store, ca_store, demo_device_key(), user_for(request.source), now)


def _enrol(ctx: _Context, transport: Transport, emit: Emit, cancelled: threading.Event) -> RunResult | None:
    """The first tap of a card with this phone: enrol it. ``None`` when enrolled, else how the run ended.

    On success only a summary is shown (the enrolment tap happens once); on failure
    every event of the enrolment tap is shown, so the user sees why.
    """
    challenge = ctx.verifier.begin_enrolment(ctx.user_id, ec_public_bytes(ctx.device_key))
    buffered: list[Event] = list(ctx.verifier.challenge_events(challenge))
    outcome = run_authentication(ctx.session(challenge), Cancellable(transport, cancelled), on_event=buffered.append)
    if outcome.assertion is None:
        for event in buffered:
            emit(event)
        failure = outcome.failure
        return RunResult(RunStatus.FAILED, _failure_message(failure) if failure else "The enrolment tap failed.")
    enrolment = ctx.verifier.complete_enrolment(outcome.assertion.to_bytes())
    if not enrolment.accepted:
        for event in (*buffered, *enrolment.result.events):
            emit(event)
        return RunResult(RunStatus.VERDICT, "The card could not be enrolled: " + "; ".join(enrolment.result.reasons))
    apdus = sum(isinstance(e, ApduExchanged) for e in buffered)
    emit(StepStarted(Step.ENROL, Lane.VERIFIER,
                     f"First tap of this card with this phone: the verifier registered the phone's device key for "
                     f"user {ctx.user_id!r} and bound card {enrolment.masked_pan} to it by a salted hash of its PAN "
                     f"(never the PAN itself). The enrolment tap ({apdus} APDUs) is not shown; it happens once.",
                     "TrustOne model (DESIGN.md §3, Enrolment)"))  # fmt: skip
    emit(MessageSent(Step.ENROL, Lane.PHONE, Lane.VERIFIER, "Enrolment: device key + card"))
    emit(CheckCompleted(Step.ENROL, Lane.VERIFIER, "card enrolled", CheckStatus.PASSED,
                        f"card {enrolment.masked_pan} enrolled for user {ctx.user_id!r}"))  # fmt: skip
    return None


def _needs_enrolment(ctx: _Context) -> bool:
    return not ctx.store.enrolments_for(ctx.user_id, device_key_id(ctx.device_key))


def run_tap(
    request: TapRequest,
    *,
    data_dir: Path,
    emit: Emit,
    waiting: Notify,
    cancelled: threading.Event,
    now: Callable[[], float] = time.time,
) -> RunResult:
    """Make one tap end to end and report every event through ``emit``.

    Enrols the card first when this user and device have none (an emulated card
    enrols without its faults: they are for the tap being shown); then the
    verifier issues a challenge bound to T, the phone taps the card, and the
    verifier checks the assertion. The only function of the GUI that drives the
    protocol (swap it for ``app.flow.service`` once that exists).
    """
    transaction = build_transaction(request.transaction, int(now()))
    ctx = _context(request, data_dir, now)
    emulated = request.source.kind is SourceKind.EMULATED
    try:
        if emulated and _needs_enrolment(ctx):
            with closing(emulated_transport(request.source, data_dir, with_faults=False)) as clean:
                failed = _enrol(ctx, clean, emit, cancelled)
            if failed is not None:
                return failed
        transport = open_transport(request.source, data_dir=data_dir, waiting=waiting, cancelled=cancelled)
        if transport is None:
            return RunResult(RunStatus.CANCELLED, "Cancelled: no card was tapped.")
        waiting("")
        try:
            if not emulated and _needs_enrolment(ctx):
                failed = _enrol(ctx, transport, emit, cancelled)
                if failed is not None:
                    return failed
            return _authenticate(ctx, request, transaction, transport, emit, cancelled)
        finally:
            transport.close()
    finally:
        ctx.store.close()


def _authenticate(ctx: _Context, request: TapRequest, transaction: Transaction, transport: Transport,
                  emit: Emit, cancelled: threading.Event) -> RunResult:  # fmt: skip
    challenge = ctx.verifier.issue_challenge(transaction)
    for event in ctx.verifier.challenge_events(challenge):
        emit(event)
    emit(StepStarted(Step.CONFIRM, Lane.PHONE,
                     f"The phone shows the transaction — {request.transaction.describe()} — and the user confirms "
                     "it by tapping their card on the phone.", "TrustOne model (DESIGN.md §3 step 3)"))  # fmt: skip
    outcome = run_authentication(ctx.session(challenge), Cancellable(transport, cancelled), on_event=emit)
    if outcome.failure is not None:
        if cancelled.is_set():
            return RunResult(RunStatus.CANCELLED, "Cancelled during the tap.")
        return RunResult(RunStatus.FAILED, _failure_message(outcome.failure))
    assert outcome.assertion is not None
    result = ctx.verifier.verify(outcome.assertion.to_bytes())
    for event in result.events:
        emit(event)
    reasons = f": {'; '.join(result.reasons)}" if result.reasons else ""
    return RunResult(RunStatus.VERDICT, f"Verdict: {result.outcome.value}{reasons}")


def _failure_message(failure: SessionFailed) -> str:
    return f"The tap failed during “{failure.step.title}”: {failure.reason}"


# ---------------------------------------------------------------------- the QObject


class TapWorker(QObject):
    """Runs taps on its thread; every signal carries plain values or event dataclasses."""

    preparing = Signal(str)  # a sentence: what is being prepared
    prepared = Signal(str)  # the profile now ready
    prepareFailed = Signal(str)
    started = Signal(object)  # TapRequest
    waiting = Signal(str)  # "Waiting for a card on …" ("" once the card is there)
    eventReady = Signal(object)  # one protocol.tap.events dataclass
    finished = Signal(object)  # RunResult

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        tap: Callable[..., RunResult] = run_tap,
        pace_s: float = 0.0,
    ) -> None:
        super().__init__()
        self._data_dir = resolve_data_dir(data_dir)
        self._tap = tap
        self._cancelled = threading.Event()
        self.pace_s = pace_s

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    def cancel(self) -> None:
        """Ask the running tap (or the wait for a card) to stop. Safe from any thread."""
        self._cancelled.set()

    @Slot(str)
    def prepare(self, profile: str) -> None:
        """Personalise and cache ``profile``'s test card in the data directory (first use only)."""
        self.preparing.emit("Preparing the test card…")
        try:
            ensure_card_image(profile, data_dir=self._data_dir)
        except (CardEmulationError, ProtocolError, OSError) as exc:
            self.prepareFailed.emit(f"The test card {profile} could not be prepared: {exc}")
            return
        self.prepared.emit(profile)

    @Slot(object)
    def run(self, request: TapRequest) -> None:
        """Make one tap; ends with exactly one :attr:`finished` signal."""
        self._cancelled.clear()
        self.started.emit(request)
        try:
            result = self._tap(
                request, data_dir=self._data_dir, emit=self._emit, waiting=self.waiting.emit, cancelled=self._cancelled
            )
        except TapProblem as exc:
            result = RunResult(RunStatus.ERROR, str(exc))
        except AppError as exc:  # e.g. a key store file that cannot be read
            result = RunResult(RunStatus.ERROR, str(exc))
        except Exception as exc:  # noqa: BLE001 - the app must stay usable whatever happens
            result = RunResult(RunStatus.ERROR, f"Unexpected error ({type(exc).__name__}): {exc}")
        self.waiting.emit("")
        self.finished.emit(result)

    def _emit(self, event: Event) -> None:
        self.eventReady.emit(event)
        if self.pace_s > 0 and isinstance(event, ApduExchanged) and not self._cancelled.is_set():
            self._cancelled.wait(self.pace_s)  # demo pace: the audience can follow the arrows
