"""The phone's side of a card tap as a sans-I/O session (DESIGN.md §3 steps 4-6).

:class:`AuthenticatorSession` is a state machine in the style of h11: it never
touches a reader, a clock, a thread or a socket. The caller (the runner in
:mod:`app.flow.runner`, a test, the GUI worker) moves bytes::

    session = AuthenticatorSession(challenge, user_id="alice", device_key=key,
                                   ca_store=store, today=date.today())
    while (command := session.next_command()) is not None:
        started = clock()
        response = transport.transmit(command)
        session.receive(response, elapsed_ns=clock() - started)
        show(session.drain_events())
    session.assertion or session.failure

The tap, as an EMV contactless reader would run it:

1. application selection — PPSE, else the list of known AIDs; priority order or
   the user's choice (:mod:`.selection`; EMV 4.4 Book 1 §12, Book B §3.3);
2. GET PROCESSING OPTIONS with the PDOL data (9F37 = UN) and READ RECORD of every
   AFL entry (:mod:`.reading`; Book 3 §10.1, §10.2);
3. offline data authentication on the phone — SDA, DDA or CDA with the CA keys
   (:mod:`.phone_oda`; Book 3 §10.3, Book 2 §5-6), INTERNAL AUTHENTICATE for DDA;
4. relay resistance when the card offers it (:mod:`.relay`; Book C-2 §5.3);
5. GENERATE AC for an ARQC, with CDA when supported (:mod:`.generate_ac`;
   Book 3 §6.5.5) — CDOL1 built from ``card_transaction``, the transaction the
   phone tells the card (normally the challenge's T);
6. the :class:`~protocol.tap.assertion.Assertion`: the card's answers exactly as
   received, signed with the device key.

``61xx`` and ``6Cxx`` answers are resolved inside the session
(:class:`protocol.apdu_exchange.ApduExchange`): :meth:`next_command` then returns
the GET RESPONSE or the re-sent command. Every step is reported as typed events
(:mod:`protocol.tap.events`). A card that fails — error status word, malformed
or missing data, silence, a transport failure reported through :meth:`abort` —
ends the session with :attr:`failure` (a :class:`~protocol.tap.events.SessionFailed`
carrying a sentence for people); no exception escapes for anything the card
sends. A failed offline data authentication on the phone does not stop the tap:
it is a failed check, and the verifier decides.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable

from protocol import status_words
from protocol.apdu_exchange import ApduExchange, ResponseChainError, Transmission, TransmissionKind
from protocol.crypto.capk import CapkStore
from protocol.crypto.primitives import EcPrivateKey, sha256
from protocol.decoders.aip import Aip
from protocol.errors import ProtocolError, UsageError
from protocol.tap.assertion import Assertion, CardEvidence, MalformedAssertion, device_key_id
from protocol.tap.challenge import Challenge
from protocol.tap.events import ApduExchanged, CryptoComputed, Event, Lane, MessageSent, SessionFailed, Step
from protocol.tap.generate_ac import generate_ac
from protocol.tap.phone_oda import OdaMethod, authenticate_static, internal_authenticate, summarize
from protocol.tap.reading import get_processing_options, read_records
from protocol.tap.relay import exchange_relay_resistance
from protocol.tap.selection import select_application
from protocol.tap.tap_context import (
    ApplicationCandidate,
    CardAnswerError,
    CardCommand,
    CardReply,
    CardSilentError,
    Choice,
    Flow,
    NoApplicationError,
    TapContext,
)
from protocol.tap.terminal import TerminalConfig
from protocol.tap.tlv_view import short_hex
from protocol.tap.transaction import Transaction

__all__ = ["ApplicationCandidate", "AuthenticatorSession", "TerminalConfig"]

INTERNAL_ERROR = "InternalError"


class AuthenticatorSession:
    """One tap: yields command APDUs, takes responses, ends with a signed assertion or a failure.

    ``card_transaction`` is what the phone tells the card (default: the
    challenge's T); the attack lab passes another one to model malware that
    changed the amount after the user confirmed. ``application_choice`` is
    ``"priority"`` (take the highest-priority application) or ``"ask"`` (pause
    with :attr:`pending_choice` when the card offers several). ``random_bytes``
    is the source of the relay-resistance entropy (tests pass a fixed one).
    """

    def __init__(
        self,
        challenge: Challenge,
        *,
        user_id: str,
        device_key: EcPrivateKey,
        ca_store: CapkStore,
        today: datetime.date,
        terminal: TerminalConfig = TerminalConfig(),
        card_transaction: Transaction | None = None,
        application_choice: Choice = "priority",
        request_cda: bool = True,
        relay_resistance: bool = True,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        if not isinstance(challenge, Challenge):
            raise UsageError("challenge must be a Challenge")
        if not isinstance(user_id, str) or not user_id:
            raise UsageError("user_id must be a non-empty string")
        if not isinstance(device_key, EcPrivateKey):
            raise UsageError("device_key must be an EcPrivateKey")
        if not isinstance(ca_store, CapkStore):
            raise UsageError("ca_store must be a CapkStore")
        if not isinstance(today, datetime.date):
            raise UsageError("today must be a datetime.date")
        if application_choice not in ("priority", "ask"):
            raise UsageError(f"application_choice must be 'priority' or 'ask', got {application_choice!r}")
        if card_transaction is not None and not isinstance(card_transaction, Transaction):
            raise UsageError("card_transaction must be a Transaction or None")
        self._ctx = TapContext(
            challenge=challenge,
            card_transaction=card_transaction if card_transaction is not None else challenge.transaction,
            terminal=terminal,
            ca_store=ca_store,
            today=today,
            application_choice=application_choice,
            request_cda=request_cda,
            relay_resistance=relay_resistance,
            random_bytes=random_bytes,
        )
        self._flow = _tap(self._ctx, user_id, device_key)
        self._exchange: ApduExchange | None = None
        self._command: CardCommand | None = None
        self._choice: tuple[ApplicationCandidate, ...] | None = None
        self._assertion: Assertion | None = None
        self._failure: SessionFailed | None = None
        self._resume(None)

    # ------------------------------------------------------------------ state

    @property
    def done(self) -> bool:
        """True once the session ended, with an assertion or a failure."""
        return self._assertion is not None or self._failure is not None

    @property
    def assertion(self) -> Assertion | None:
        """The signed assertion, once the tap succeeded."""
        return self._assertion

    @property
    def failure(self) -> SessionFailed | None:
        return self._failure

    @property
    def pending_choice(self) -> tuple[ApplicationCandidate, ...] | None:
        """The applications to choose from while the session waits for :meth:`choose`."""
        return self._choice

    @property
    def step(self) -> Step:
        """The step the session is in (or ended in)."""
        return self._ctx.step

    # ------------------------------------------------------------------ driving

    def next_command(self) -> bytes | None:
        """The command APDU to transmit next; ``None`` when finished, failed or waiting for a choice."""
        if self._exchange is None:
            return None
        return self._exchange.pending

    def receive(self, response: bytes, elapsed_ns: int | None = None) -> None:
        """Take the card's response to :meth:`next_command` and the round trip the caller measured."""
        exchange = self._exchange
        if exchange is None or exchange.pending is None:
            raise UsageError("no command is waiting for a response")
        if not isinstance(response, bytes | bytearray):
            raise UsageError(f"a response APDU is bytes, got {type(response).__name__}")
        if elapsed_ns is not None and (not isinstance(elapsed_ns, int) or elapsed_ns < 0):
            raise UsageError("elapsed_ns must be a non-negative int or None")
        try:
            exchange.receive(bytes(response), elapsed_ns)
        except ResponseChainError as exc:
            self._report(exchange.transmissions[-1])
            self._fail(exc)
            return
        self._report(exchange.transmissions[-1])
        if exchange.done:
            final = exchange.response or b""
            self._exchange = self._command = None
            if len(final) < 2:  # silence: the flow turns it into CardSilentError
                self._resume(None)
            else:
                self._resume(CardReply(final[:-2], int.from_bytes(final[-2:], "big"), exchange.elapsed_ns))

    def choose(self, aid: bytes) -> None:
        """Answer :attr:`pending_choice` with the AID of one of its candidates."""
        if self._choice is None:
            raise UsageError("no application choice is pending")
        if not any(candidate.aid == aid for candidate in self._choice):
            raise UsageError(f"{bytes(aid).hex().upper()} is not one of the applications offered")
        self._choice = None
        self._resume(bytes(aid))

    def abort(self, reason: str, *, error_type: str = "TransportError") -> None:
        """End the session from outside (card removed, reader gone, user cancelled). Idempotent."""
        if self.done:
            return
        self._flow.close()
        self._exchange = self._command = None
        self._choice = None
        self._set_failure(SessionFailed(self._ctx.step, reason, error_type))

    def drain_events(self) -> list[Event]:
        """The events since the last call, oldest first."""
        events, self._ctx.events = self._ctx.events, []
        return events

    # ------------------------------------------------------------------ internals

    def _resume(self, value: object) -> None:
        try:
            request = self._flow.send(value)
        except StopIteration as stop:
            self._assertion = stop.value
            return
        except Exception as exc:  # noqa: BLE001 - nothing the card sends may escape as an exception
            self._fail(exc)
            return
        if isinstance(request, CardCommand):
            self._command = request
            self._exchange = ApduExchange(request.apdu)
        else:
            self._choice = request.candidates

    def _report(self, transmission: Transmission) -> None:
        command = self._command
        assert command is not None
        name = {
            TransmissionKind.COMMAND: command.name,
            TransmissionKind.GET_RESPONSE: f"GET RESPONSE (rest of {command.name})",
            TransmissionKind.RESEND: f"{command.name} (again, with the Le the card asked for)",
        }[transmission.kind]
        sw = transmission.sw
        meaning = status_words.describe(sw) if sw is not None else "no status word: the card did not answer"
        self._ctx.emit(
            ApduExchanged(command.step, name, transmission.command, transmission.response, sw or 0, meaning,
                          transmission.elapsed_ns)
        )  # fmt: skip

    def _fail(self, exc: BaseException) -> None:
        step = self._ctx.step
        error_type = type(exc).__name__
        sentence = getattr(exc, "sentence", None)
        if isinstance(exc, CardAnswerError | CardSilentError | NoApplicationError) and sentence:
            reason = str(sentence)
        elif isinstance(exc, ResponseChainError):
            reason = f"The card kept splitting or re-asking for its answer: {exc}."
        elif isinstance(exc, ProtocolError):
            reason = f"{step.title} failed: {exc}."
        else:
            error_type = INTERNAL_ERROR
            reason = (
                f"Internal error in the phone's authenticator during '{step.title}' "
                f"({type(exc).__name__}: {exc}). This is a bug; please report it."
            )
        self._flow.close()
        self._exchange = self._command = None
        self._set_failure(SessionFailed(step, reason, error_type))

    def _set_failure(self, failure: SessionFailed) -> None:
        self._failure = failure
        self._ctx.emit(failure)


# --------------------------------------------------------------------------- the flow


def _tap(ctx: TapContext, user_id: str, device_key: EcPrivateKey) -> Flow[Assertion]:
    app = yield from select_application(ctx)
    options = yield from get_processing_options(ctx, app)
    # Book C-2 times the relay-resistance exchange right after GPO, before any record.
    relay = yield from exchange_relay_resistance(ctx, Aip(options.aip))
    data = yield from read_records(ctx, options.afl)
    oda_state = authenticate_static(ctx, app.aid, options.aip, data)
    ddol_data = internal_authenticate_response = b""
    if oda_state.method is OdaMethod.DDA:
        ddol_data, internal_authenticate_response = yield from internal_authenticate(ctx, oda_state, data)
    answer = yield from generate_ac(ctx, oda_state, data, options)
    summarize(ctx, oda_state)
    evidence = CardEvidence(
        aid=app.aid,
        pdol_data=options.pdol_data,
        gpo_response=options.response,
        records=data.records,
        ddol_data=ddol_data,
        internal_authenticate_response=internal_authenticate_response,
        cdol1_data=answer.cdol1_data,
        generate_ac_p1=answer.p1,
        generate_ac_response=answer.response,
        masked_pan=data.masked_pan,
        relay_resistance=relay,
    )
    return _sign(ctx, evidence, user_id, device_key)


def _sign(ctx: TapContext, evidence: CardEvidence, user_id: str, device_key: EcPrivateKey) -> Assertion:
    ctx.start(
        Step.ASSERTION,
        "The phone packs the card's answers exactly as it received them, with the challenge id, and signs "
        "everything with its device key (ECDSA P-256), so the verifier knows which enrolled phone sent them "
        "and that nothing was changed on the way.",
        "TrustOne model (DESIGN.md §3 step 6); ECDSA P-256 with SHA-256 (FIPS 186-4)",
    )
    device_id = device_key_id(device_key)
    signed = Assertion(ctx.challenge.challenge_id, user_id, device_id, evidence).signed_by(device_key)
    try:
        wire = signed.to_bytes()
        Assertion.from_bytes(wire)  # what the verifier will parse: refuse to send what it would reject
    except MalformedAssertion as exc:
        raise CardAnswerError(f"The card's answers do not fit in an assertion the verifier accepts ({exc}).") from None
    message = signed.signed_bytes()
    ctx.emit(CryptoComputed(
        Step.ASSERTION, Lane.PHONE, "ECDSA P-256 signature with the device key",
        inputs=(("signed data", f"{len(message)} bytes, SHA-256 {sha256(message).hex().upper()[:16]}…"),
                ("device id", device_id)),
        outputs=(("signature (r ‖ s)", short_hex(signed.signature)),),
        reference="FIPS 186-4 ECDSA; canonical assertion encoding (protocol.tap.assertion)",
    ))  # fmt: skip
    ctx.emit(MessageSent(Step.ASSERTION, Lane.PHONE, Lane.VERIFIER,
                         f"Assertion for challenge {ctx.challenge.challenge_id}", len(wire)))  # fmt: skip
    return signed
