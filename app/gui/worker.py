"""The worker: drives taps through the shared engine off the UI thread and reports them as Qt signals.

:class:`TapWorker` is a ``QObject`` that lives on its own ``QThread``. Its slots
run there — card image preparation, opening a reader, waiting for a card, every
APDU, all the crypto — and it emits the plain event dataclasses of
:mod:`protocol.tap.events` as they happen; connected to widgets on the UI thread
these are queued connections, so the UI never blocks and never computes.

**The GUI makes no tap of its own**: :func:`run_tap` hands the request to
:class:`app.flow.service.TapService` (challenge, first-tap enrolment, the phone's
session, the verifier's checks, the persisted per-phone device key) and cards
are opened by :mod:`app.flow.sources` (the panel edits the engine's own
:class:`app.card_source.CardSource`). What the worker adds is presentation:
a successful enrolment tap is folded into three summary rows (it happens once),
and the run is kept as a :class:`~protocol.tap.trace.Trace` for File ▸ Export.

Errors: a problem before any APDU (no reader, driver missing, bad input, pcscd
gone) ends the run with a :class:`RunResult` of status ``ERROR`` and a message a
person can act on; a problem during the tap (card removed, mute card) is a
``SessionFailed`` event. Either way the worker is ready for the next tap.
"""

from __future__ import annotations

import datetime
import enum
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.errors import AppError
from app.flow.service import TapOptions, TapOutcome, TapService, TapStatus, default_user
from app.flow.sources import open_transport
from app.gui.card_sources import TapProblem
from app.gui.requests import SourceKind, TapRequest, TransactionInput, amount_minor_units, currency_info
from app.transports.base import Transport
from card_emulation.errors import CardEmulationError
from card_emulation.keystore_files import data_dir as resolve_data_dir
from card_emulation.personalise import ensure_card_image
from protocol.errors import ProtocolError
from protocol.tap.events import (
    ApduExchanged,
    CheckCompleted,
    CheckStatus,
    Event,
    Lane,
    MessageSent,
    Outcome,
    Step,
    StepStarted,
    VerdictReached,
)
from protocol.tap.trace import Trace
from protocol.tap.transaction import Transaction, TransactionType

Emit = Callable[[Event], None]
Notify = Callable[[str], None]

__all__ = ["RunResult", "RunStatus", "TapProblem", "TapWorker", "build_transaction", "enrol_card", "run_tap"]


class RunStatus(enum.Enum):
    VERDICT = "verdict"  # the verifier decided
    FAILED = "failed"  # the session ended with SessionFailed
    NO_VERDICT = "no verdict"  # the phone finished but no verifier was available
    CANCELLED = "cancelled"
    ERROR = "error"  # could not start


@dataclass(frozen=True)
class RunResult:
    """How a run ended, with one sentence for the status line.

    ``trace``: the run as shown (unmasked, kept in memory for File ▸ Export);
    ``can_enrol``: a real card the verifier rejected as not enrolled (Run ▸ Enrol this card).
    """

    status: RunStatus
    message: str
    trace: Trace | None = None
    can_enrol: bool = False


def tool_version() -> str:
    """The installed distribution's version, for trace files."""
    try:
        return version("trustone-simulator")
    except PackageNotFoundError:
        return "unknown"


def build_transaction(entry: TransactionInput, now: int) -> Transaction:
    """The :class:`Transaction` the verifier will bind its challenge to."""
    try:
        numeric, _ = currency_info(entry.currency)
        return Transaction(
            TransactionType.parse(entry.kind), amount_minor_units(entry.amount, entry.currency), numeric,
            entry.payee.strip(), now,
        )  # fmt: skip
    except (ValueError, ProtocolError) as exc:
        raise TapProblem(str(exc)) from None


# ---------------------------------------------------------------------- presentation of the engine's events


class _Relay:
    """Passes the engine's events on; folds a successful enrolment tap into a summary.

    While ``enrolling``, events are held back until the authentication's own
    challenge starts: an accepted enrolment becomes three rows (step, message,
    check); a refused one is shown whole, so the user sees why. Also tells the
    window when a waited-for card has arrived (the first event after a wait).
    """

    def __init__(self, emit: Emit, waiting: Notify, user: str, enrolling: bool) -> None:
        self._emit, self._waiting, self._user = emit, waiting, user
        self.enrolling = enrolling
        self.held: list[Event] = []
        self.shown: list[Event] = []
        self._waited = False

    def wait_notice(self, text: str) -> None:
        self._waited = bool(text)
        self._waiting(text)

    def __call__(self, event: Event) -> None:
        if self._waited:
            self._waited = False
            self._waiting("")
        if self.enrolling:
            starts_auth = isinstance(event, StepStarted) and event.step is Step.CHALLENGE and self.held
            if not starts_auth:
                self.held.append(event)
                return
            self._fold()
        self._show(event)

    def finish(self) -> None:
        """The tap ended: anything still held (a failed enrolment) is shown whole."""
        if self.enrolling:
            self.enrolling = False
            for event in self.held:
                self._show(event)

    def _show(self, event: Event) -> None:
        self.shown.append(event)
        self._emit(event)

    def _fold(self) -> None:
        self.enrolling = False
        verdict = next((e for e in self.held if isinstance(e, VerdictReached)), None)
        if verdict is None or verdict.outcome is Outcome.REJECT:
            for event in self.held:
                self._show(event)
            return
        apdus = sum(isinstance(e, ApduExchanged) for e in self.held)
        card = next((c.detail for c in verdict.checks if c.check == "card enrolled"), "")
        self._show(StepStarted(Step.ENROL, Lane.VERIFIER,
                               f"First tap of this card with this phone: the verifier registered the phone's device "
                               f"key for user {self._user!r} and bound the card to it by a salted hash of its PAN "
                               f"(never the PAN itself). The enrolment tap ({apdus} APDUs) is not shown; it happens "
                               "once.", "TrustOne model (DESIGN.md §3, Enrolment)"))  # fmt: skip
        self._show(MessageSent(Step.ENROL, Lane.PHONE, Lane.VERIFIER, "Enrolment: device key + card"))
        self._show(CheckCompleted(Step.ENROL, Lane.VERIFIER, "card enrolled", CheckStatus.PASSED,
                                  card or f"card enrolled for user {self._user!r}"))  # fmt: skip


class _TransportName:
    """A ``TapOptions.transport_wrapper`` that remembers which transport carried the tap (for traces)."""

    def __init__(self) -> None:
        self.description = ""

    def __call__(self, transport: Transport) -> Transport:
        self.description = transport.description
        return transport


def _status(outcome: TapOutcome) -> RunStatus:
    return {TapStatus.VERDICT: RunStatus.VERDICT, TapStatus.FAILED: RunStatus.FAILED,
            TapStatus.CANCELLED: RunStatus.CANCELLED}[outcome.status]  # fmt: skip


def _not_enrolled(outcome: TapOutcome) -> bool:
    result = outcome.verification
    return result is not None and any(c.check == "card enrolled" and c.status is CheckStatus.FAILED
                                      for c in result.checks)  # fmt: skip


def run_tap(
    request: TapRequest,
    *,
    data_dir: Path,
    emit: Emit,
    waiting: Notify,
    cancelled: threading.Event,
    now: Callable[[], float] = time.time,
) -> RunResult:
    """Make one tap through :meth:`TapService.tap` and report every event through ``emit``.

    The first tap of a card with this phone enrols it (the service does it; an
    emulated card enrols without its faults). A real reader is waited on until a
    card comes or the user cancels.
    """
    transaction = build_transaction(request.transaction, int(now()))
    source = request.source
    user = default_user(source)
    named = _TransportName()
    try:
        with TapService(data_dir, now=now) as service:
            enrolling = source.kind is SourceKind.EMULATED and not service.is_enrolled(user, source)
            enrolling = enrolling or (source.kind is not SourceKind.EMULATED and not service.is_enrolled(user))
            relay = _Relay(emit, waiting, user, enrolling)
            try:
                outcome = service.tap(transaction, source, user_id=user, options=TapOptions(transport_wrapper=named),
                                      on_event=relay, wait_s=None, waiting=relay.wait_notice, cancelled=cancelled)  # fmt: skip
            finally:
                relay.finish()
    except (AppError, CardEmulationError, ProtocolError, OSError) as exc:
        raise TapProblem(str(exc)) from None
    masked = outcome.verification.masked_pan if outcome.verification else None
    trace = Trace(datetime.datetime.now(datetime.UTC), tool_version(), named.description or source.describe(),
                  masked or "card (number not read)", tuple(relay.shown), outcome.challenge, outcome.assertion)  # fmt: skip
    can_enrol = source.kind is not SourceKind.EMULATED and _not_enrolled(outcome)
    message = outcome.message
    if can_enrol:
        message += " — this card is not enrolled with this phone: Run ▸ Enrol this card binds it."
    return RunResult(_status(outcome), message, trace, can_enrol)


def enrol_card(
    request: TapRequest,
    *,
    data_dir: Path,
    emit: Emit,
    waiting: Notify,
    cancelled: threading.Event,
    now: Callable[[], float] = time.time,
) -> RunResult:
    """Run ▸ Enrol this card: an enrolment tap of the card ``request`` names (:meth:`TapService.enrol`)."""
    source = request.source
    user = default_user(source)
    relay = _Relay(emit, waiting, user, False)
    try:
        with TapService(data_dir, now=now) as service:
            transport = open_transport(source, data_dir=service.data_dir, wait_s=None, waiting=relay.wait_notice,
                                       cancelled=cancelled)  # fmt: skip
            if transport is None:
                return RunResult(RunStatus.CANCELLED, "Cancelled: no card was tapped.")
            with closing(transport):
                outcome = service.enrol(user, transport, on_event=relay, cancelled=cancelled)
    except (AppError, CardEmulationError, ProtocolError, OSError) as exc:
        raise TapProblem(str(exc)) from None
    trace = Trace(datetime.datetime.now(datetime.UTC), tool_version(), source.describe(),
                  outcome.enrolled.masked_pan if outcome.enrolled else "card", tuple(relay.shown),
                  outcome.challenge, outcome.assertion)  # fmt: skip
    return RunResult(_status(outcome), outcome.message, trace)


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
        enrol: Callable[..., RunResult] = enrol_card,
        pace_s: float = 0.0,
    ) -> None:
        super().__init__()
        self._data_dir = resolve_data_dir(data_dir)
        self._tap, self._enrol = tap, enrol
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
        self._go(self._tap, request)

    @Slot(object)
    def enrol(self, request: TapRequest) -> None:
        """Enrol the card of ``request`` (a real card the verifier does not know yet)."""
        self._go(self._enrol, request)

    def _go(self, action: Callable[..., RunResult], request: TapRequest) -> None:
        self._cancelled.clear()
        self.started.emit(request)
        try:
            result = action(
                request, data_dir=self._data_dir, emit=self._emit, waiting=self.waiting.emit, cancelled=self._cancelled
            )
        except (TapProblem, AppError) as exc:
            result = RunResult(RunStatus.ERROR, str(exc))
        except Exception as exc:  # noqa: BLE001 - the app must stay usable whatever happens
            result = RunResult(RunStatus.ERROR, f"Unexpected error ({type(exc).__name__}): {exc}")
        self.waiting.emit("")
        self.finished.emit(result)

    def _emit(self, event: Event) -> None:
        self.eventReady.emit(event)
        if self.pace_s > 0 and isinstance(event, ApduExchanged) and not self._cancelled.is_set():
            self._cancelled.wait(self.pace_s)  # demo pace: the audience can follow the arrows
