"""APDU mechanics as composable wrappers around any :class:`~app.transports.base.Transport`.

Written once, used by every adapter (emulated, PC/SC, NFC):

* :class:`GetResponseTransport` — drives :class:`protocol.apdu_exchange.ApduExchange`
  (the one implementation of these rules, shared with the authenticator session);
  ISO/IEC 7816-4 §5.1.3 and EMV 4.4 Book 1 §9.3.1.3:
  ``61xx`` means "xx more bytes are available": fetch them with GET RESPONSE
  ``00 C0 00 00 xx`` until the card stops answering ``61xx``, concatenating the
  data. ``6Cxx`` means "wrong Le, xx bytes are available": re-send the same command
  with Le = xx. Both loops are bounded so that a hostile card cannot make the
  reader spin forever (:class:`ResponseChainError`).
* :class:`TracingTransport` — records every command/response pair as an
  :class:`Exchange` with a monotonic start time and duration.
* :func:`wrap` — the standard stack: tracing closest to the card (so the trace shows
  every GET RESPONSE and re-send as it really crossed the link), GET RESPONSE /
  re-send handling on top.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from app.errors import TransportError
from app.transports.base import Transport
from protocol.apdu_exchange import ApduExchange
from protocol.apdu_exchange import ResponseChainError as ProtocolResponseChainError
from protocol.errors import UsageError

DEFAULT_MAX_GET_RESPONSE = 256
"""GET RESPONSE rounds allowed per command: 256 x 256 bytes = 64 KiB of data."""
DEFAULT_MAX_RESEND = 3
"""``6Cxx`` re-sends allowed per command (a sane card needs one)."""


class ResponseChainError(TransportError):
    """The card kept answering ``61xx`` or ``6Cxx`` past the allowed number of rounds."""


@dataclass(frozen=True)
class Exchange:
    """One command/response pair as it crossed the link.

    ``started_ns`` is :func:`time.perf_counter_ns` when the command was sent (a
    monotonic clock: compare exchanges, do not read it as a date); ``elapsed_ns``
    is how long the round trip took.
    """

    command: bytes
    response: bytes
    started_ns: int
    elapsed_ns: int


class _Wrapper:
    """Delegates ``description`` and ``close`` to the wrapped transport."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner

    @property
    def description(self) -> str:
        return self.inner.description

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class GetResponseTransport(_Wrapper):
    """Resolve ``61xx`` (GET RESPONSE) and ``6Cxx`` (re-send with Le = xx) transparently.

    ``get_response_cla`` is the class byte of GET RESPONSE (``00``, as in EMV).
    Commands that do not parse as APDUs are passed through, and a ``6Cxx`` answer
    to them is returned unchanged (there is no Le to correct).
    """

    def __init__(
        self,
        inner: Transport,
        *,
        max_get_response: int = DEFAULT_MAX_GET_RESPONSE,
        max_resend: int = DEFAULT_MAX_RESEND,
        get_response_cla: int = 0x00,
    ) -> None:
        super().__init__(inner)
        if max_get_response < 0 or max_resend < 0:
            raise UsageError("round limits must not be negative")
        self.max_get_response = max_get_response
        self.max_resend = max_resend
        self.get_response_cla = get_response_cla

    def transmit(self, apdu: bytes) -> bytes:
        # The rules live once, sans-I/O, in protocol.apdu_exchange; this drives them.
        exchange = ApduExchange(
            bytes(apdu),
            max_get_response=self.max_get_response,
            max_resend=self.max_resend,
            get_response_cla=self.get_response_cla,
        )
        while (command := exchange.pending) is not None:
            try:
                exchange.receive(self.inner.transmit(command))
            except ProtocolResponseChainError as exc:
                raise ResponseChainError(str(exc)) from None
        assert exchange.response is not None
        return exchange.response


ExchangeSink = Callable[[Exchange], None] | list[Exchange]


class TracingTransport(_Wrapper):
    """Record every exchange: call ``sink(exchange)``, or append it to ``sink`` if a list.

    Without a sink the exchanges collect in :attr:`exchanges`. A callback is called
    on the thread that called :meth:`transmit`; it must not block. A command that
    fails below the APDU level (an exception) is not recorded; the exception
    propagates.
    """

    def __init__(self, inner: Transport, sink: ExchangeSink | None = None) -> None:
        super().__init__(inner)
        self.exchanges: list[Exchange] = sink if isinstance(sink, list) else []
        self._callback: Callable[[Exchange], None] = (
            self.exchanges.append if sink is None or isinstance(sink, list) else sink
        )

    def transmit(self, apdu: bytes) -> bytes:
        command = bytes(apdu)
        started = time.perf_counter_ns()
        response = self.inner.transmit(command)
        elapsed = time.perf_counter_ns() - started
        self._callback(Exchange(command, bytes(response), started, elapsed))
        return response


def wrap(transport: Transport, trace: ExchangeSink | None = None) -> GetResponseTransport:
    """The standard stack around an adapter.

    ``GetResponseTransport(TracingTransport(transport, trace))`` when ``trace`` (a
    callback or a list) is given, else ``GetResponseTransport(transport)``.
    """
    inner: Transport = TracingTransport(transport, trace) if trace is not None else transport
    return GetResponseTransport(inner)
