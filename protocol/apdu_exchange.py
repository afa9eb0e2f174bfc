"""One logical command exchange, with the ``61xx`` and ``6Cxx`` mechanics resolved (sans-I/O).

ISO/IEC 7816-4 §5.1.3 and EMV 4.4 Book 1 §9.3.1.3 (T=0 case 2 and 4 commands)
let a card answer a command in two steps:

* ``61xx`` — "xx more bytes are available": the reader fetches them with GET
  RESPONSE ``00 C0 00 00 xx`` (``xx = 00`` means 256) and concatenates the data
  until the card stops answering ``61xx``;
* ``6Cxx`` — "wrong Le, xx bytes are available": the reader sends the *same*
  command again with ``Le = xx``.

:class:`ApduExchange` is the reader's side of that as a small state machine over
bytes, in the style of h11: it never performs I/O. The caller transmits
:attr:`ApduExchange.pending`, feeds the card's answer to
:meth:`ApduExchange.receive`, and repeats until :attr:`ApduExchange.done`; then
:attr:`ApduExchange.response` is the assembled response (all data, last status
word) and :attr:`ApduExchange.transmissions` lists what really crossed the link.
Both loops are bounded so that a hostile card cannot make the reader spin:
exceeding a bound raises :class:`ResponseChainError`.

The authenticator session (:mod:`protocol.tap.authenticator`) uses it for every
command; :class:`app.transports.wrappers.GetResponseTransport` drives it for
plain transports, so the rules exist once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.apdu import CommandApdu
from protocol.errors import CardError, MalformedDataError, UsageError

INS_GET_RESPONSE = 0xC0
DEFAULT_MAX_GET_RESPONSE = 16
"""GET RESPONSE rounds allowed per command: 16 x 256 bytes, far above any EMV answer."""
DEFAULT_MAX_RESEND = 3
"""``6Cxx`` re-sends allowed per command (a sane card needs one)."""


class ResponseChainError(CardError):
    """The card kept answering ``61xx`` or ``6Cxx`` past the allowed number of rounds."""


class TransmissionKind(enum.Enum):
    """Why a command crossed the link."""

    COMMAND = "command"  # the command as asked for
    GET_RESPONSE = "GET RESPONSE"  # fetching data announced by 61xx
    RESEND = "re-sent with the Le the card asked for"  # after 6Cxx


@dataclass(frozen=True)
class Transmission:
    """One command/response pair as it crossed the link (``elapsed_ns`` as measured by the caller)."""

    kind: TransmissionKind
    command: bytes
    response: bytes
    elapsed_ns: int | None = None

    @property
    def sw(self) -> int | None:
        """The status word, or ``None`` when the card answered fewer than two bytes."""
        return int.from_bytes(self.response[-2:], "big") if len(self.response) >= 2 else None


class ApduExchange:
    """Resolve one command through ``61xx`` (GET RESPONSE) and ``6Cxx`` (re-send with Le = xx).

    A response shorter than two bytes (a mute card) ends the exchange with that
    response alone (data gathered before is dropped): judging it is the caller's
    business. A ``6Cxx`` to a command that does not
    parse, or to an extended-length command, is returned unchanged (there is no
    short Le to correct).
    """

    def __init__(
        self,
        command: bytes,
        *,
        max_get_response: int = DEFAULT_MAX_GET_RESPONSE,
        max_resend: int = DEFAULT_MAX_RESEND,
        get_response_cla: int = 0x00,
    ) -> None:
        if not isinstance(command, bytes | bytearray):
            raise UsageError(f"a command APDU is bytes, got {type(command).__name__}")
        if max_get_response < 0 or max_resend < 0:
            raise UsageError("round limits must not be negative")
        self.command = bytes(command)
        self.max_get_response = max_get_response
        self.max_resend = max_resend
        self.get_response_cla = get_response_cla
        self._pending: bytes | None = self.command
        self._pending_kind = TransmissionKind.COMMAND
        self._data = bytearray()
        self._get_responses = 0
        self._resends = 0
        self._response: bytes | None = None
        self._transmissions: list[Transmission] = []

    # ------------------------------------------------------------------ state

    @property
    def pending(self) -> bytes | None:
        """The next command to transmit, or ``None`` when the exchange is complete."""
        return self._pending

    @property
    def done(self) -> bool:
        return self._response is not None

    @property
    def response(self) -> bytes | None:
        """The assembled response (data of every part, then the last SW1 SW2) once done."""
        return self._response

    @property
    def transmissions(self) -> tuple[Transmission, ...]:
        return tuple(self._transmissions)

    @property
    def elapsed_ns(self) -> int | None:
        """Sum of the measured round trips, ``None`` if any was not measured."""
        times = [t.elapsed_ns for t in self._transmissions]
        if not times or any(t is None for t in times):
            return None
        return sum(t for t in times if t is not None)

    # ------------------------------------------------------------------ input

    def receive(self, response: bytes, elapsed_ns: int | None = None) -> Transmission:
        """Take the card's answer to :attr:`pending`; returns the transmission recorded.

        Raises :class:`ResponseChainError` when the card exceeds the round limits,
        :class:`~protocol.errors.UsageError` when nothing was pending.
        """
        if self._pending is None:
            raise UsageError("the exchange is complete; no command is waiting for a response")
        if not isinstance(response, bytes | bytearray):
            raise UsageError(f"a response APDU is bytes, got {type(response).__name__}")
        response = bytes(response)
        sent, kind = self._pending, self._pending_kind
        record = Transmission(kind, sent, response, elapsed_ns)
        self._transmissions.append(record)
        self._pending = None
        if len(response) < 2:  # no status word: the caller decides what silence means
            self._response = response
            return record
        if len(response) == 2 and response[0] == 0x6C:
            fixed = self._with_le(sent, response[1] or 256)
            if fixed is not None:
                if self._resends == self.max_resend:
                    raise ResponseChainError(
                        f"the card still answered 6C{response[1]:02X} after {self._resends} re-sends with "
                        f"the Le it asked for (command {sent[:4].hex().upper()}); giving up"
                    )
                self._resends += 1
                self._pending, self._pending_kind = fixed, TransmissionKind.RESEND
                return record
        if response[-2] == 0x61:
            if self._get_responses == self.max_get_response:
                raise ResponseChainError(
                    f"the card still answered 61{response[-1]:02X} after {self._get_responses} GET RESPONSE "
                    "commands; giving up (a sane card does not chain this long)"
                )
            self._get_responses += 1
            self._data += response[:-2]
            self._pending = bytes([self.get_response_cla, INS_GET_RESPONSE, 0x00, 0x00, response[-1]])
            self._pending_kind = TransmissionKind.GET_RESPONSE
            self._resends = 0
            return record
        self._response = bytes(self._data) + response
        return record

    @staticmethod
    def _with_le(command: bytes, le: int) -> bytes | None:
        try:
            parsed = CommandApdu.parse(command)
        except MalformedDataError:
            return None
        if parsed.extended:
            return None
        return CommandApdu(parsed.cla, parsed.ins, parsed.p1, parsed.p2, parsed.data, le=le).encode()
