"""Pump a sans-I/O authenticator session through a transport.

The runner knows nothing about EMV: it asks the session for the next command,
sends it through any :class:`~app.transports.base.Transport`, measures the round
trip with ``clock`` (``time.perf_counter_ns`` by default: monotonic, ns), hands
the response back, and forwards the session's events as they come. A transport
failure (:class:`~app.errors.TransportError`: card removed, reader gone, timeout)
becomes :meth:`session.abort`, so it ends as a ``SessionFailed`` event, never as
an exception. Give it the plain adapter: the session resolves ``61xx``/``6Cxx``
itself, and the time it records for relay resistance must be one real exchange.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import TransportError
from app.transports.base import Transport
from protocol.tap.assertion import Assertion
from protocol.tap.authenticator import ApplicationCandidate, AuthenticatorSession
from protocol.tap.events import Event, SessionFailed

#: Safety net against a session that never finishes (a tap needs a few dozen commands).
MAX_COMMANDS = 1000

Chooser = Callable[[tuple[ApplicationCandidate, ...]], bytes]


@dataclass(frozen=True)
class RunOutcome:
    """How the run ended: the signed assertion or the failure, and every event in order."""

    assertion: Assertion | None
    failure: SessionFailed | None
    events: tuple[Event, ...]

    @property
    def ok(self) -> bool:
        return self.assertion is not None


def run_authentication(
    session: AuthenticatorSession,
    transport: Transport,
    *,
    on_event: Callable[[Event], None] | None = None,
    clock: Callable[[], int] = time.perf_counter_ns,
    choose: Chooser | None = None,
) -> RunOutcome:
    """Run ``session`` to its end over ``transport``.

    ``choose`` answers an application choice (it gets the candidates, returns an
    AID); without it a session that asks ends with a failure. Exceptions raised
    by ``on_event`` or ``choose`` are the caller's and propagate.
    """
    events: list[Event] = []

    def flush() -> None:
        for event in session.drain_events():
            events.append(event)
            if on_event is not None:
                on_event(event)

    sent = 0
    flush()
    while not session.done:
        candidates = session.pending_choice
        if candidates is not None:
            if choose is None:
                session.abort("The card offers several applications and nobody was asked to choose one.",
                              error_type="NoChooser")  # fmt: skip
            else:
                session.choose(choose(candidates))
            flush()
            continue
        command = session.next_command()
        if command is None or sent >= MAX_COMMANDS:
            session.abort(f"The session stopped after {sent} commands without finishing.", error_type="Stalled")
            break
        sent += 1
        started = clock()
        try:
            response = transport.transmit(command)
        except TransportError as exc:
            session.abort(f"Talking to the card failed: {exc}", error_type=type(exc).__name__)
            break
        session.receive(response, max(0, clock() - started))
        flush()
    flush()
    return RunOutcome(session.assertion, session.failure, tuple(events))
