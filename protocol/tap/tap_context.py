"""Plumbing shared by the steps of the phone's tap flow (sans-I/O).

The flow (:mod:`protocol.tap.authenticator`) is written as generator functions,
one module per group of EMV functions: each step *yields* a :class:`CardCommand`
(or a :class:`ChoiceRequest` when the user must pick an application) and is
resumed with the card's :class:`CardReply` (or the chosen AID). The session
drives the generator; nothing here performs I/O, reads a clock or sleeps.

:class:`TapContext` holds what the steps share: the inputs (challenge,
transaction told to the card, terminal configuration, CA keys, today's date),
the events emitted so far, and the terminal data that change during the tap
(TVR bits, the Data Authentication Code and ICC Dynamic Number recovered by ODA).

Failures are typed errors carrying a sentence for people; the session turns
them into :class:`~protocol.tap.events.SessionFailed`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from protocol import status_words, tlv
from protocol.crypto.capk import CapkStore
from protocol.errors import CardError, MalformedDataError
from protocol.tap.challenge import Challenge
from protocol.tap.events import Event, Lane, StepStarted, Step
from protocol.tap.terminal import TerminalConfig
from protocol.tap.transaction import Transaction

T = TypeVar("T")

#: Command data of a short APDU is at most 255 bytes (ISO/IEC 7816-4 §5.1).
MAX_COMMAND_DATA = 255


# --------------------------------------------------------------------------- errors


class CardAnswerError(CardError):
    """The card answered, but its answer cannot be used; ``sentence`` says why, for people."""

    def __init__(self, sentence: str) -> None:
        self.sentence = sentence
        super().__init__(sentence)


class MissingDataError(CardAnswerError):
    """A data object EMV makes mandatory is absent (AIP, AFL, PAN, CDOL1, ...)."""


class CardSilentError(CardError):
    """The card gave no status word at all (mute, or left the field)."""

    def __init__(self, command: str) -> None:
        self.sentence = (
            f"The card did not answer {command} (no status word came back): it may have been "
            "moved away from the phone or be mute."
        )
        super().__init__(self.sentence)


class NoApplicationError(CardError):
    """No application the phone supports could be selected (Book 1 §12.4)."""

    def __init__(self, sentence: str) -> None:
        self.sentence = sentence
        super().__init__(sentence)


# --------------------------------------------------------------------------- requests and replies


@dataclass(frozen=True)
class CardCommand:
    """A command the flow wants sent to the card (``name`` is for people)."""

    step: Step
    name: str
    apdu: bytes


@dataclass(frozen=True)
class ApplicationCandidate:
    """An application the card offers and the phone supports (Book 1 §12.3, Book B §3.3).

    ``priority`` is the Application Priority Indicator's low nibble (1 = highest;
    ``None`` when absent or 0); ``confirmation_required`` its bit 8.
    """

    aid: bytes
    label: str = ""
    preferred_name: str = ""
    priority: int | None = None
    confirmation_required: bool = False
    kernel_id: bytes = b""

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.label or self.aid.hex().upper()


@dataclass(frozen=True)
class ChoiceRequest:
    """The flow pauses until the user picks one of ``candidates`` (Book 1 §12.4)."""

    candidates: tuple[ApplicationCandidate, ...]


@dataclass(frozen=True)
class CardReply:
    """The card's complete answer (``61xx``/``6Cxx`` already resolved)."""

    data: bytes
    sw: int
    elapsed_ns: int | None = None

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000


Request = CardCommand | ChoiceRequest
Flow = Generator[Request, Any, T]
Choice = Literal["priority", "ask"]


# --------------------------------------------------------------------------- context


class TapContext:
    """Inputs, emitted events and the terminal data that evolve during one tap."""

    def __init__(
        self,
        *,
        challenge: Challenge,
        card_transaction: Transaction,
        terminal: TerminalConfig,
        ca_store: CapkStore,
        today: datetime.date,
        application_choice: Choice,
        request_cda: bool,
        relay_resistance: bool,
        random_bytes: Callable[[int], bytes],
    ) -> None:
        self.challenge = challenge
        self.card_transaction = card_transaction
        self.terminal = terminal
        self.ca_store = ca_store
        self.today = today
        self.application_choice = application_choice
        self.request_cda = request_cda
        self.relay_resistance = relay_resistance
        self.random_bytes = random_bytes
        self.un = challenge.un
        self.step = Step.SELECT_PPSE
        self.events: list[Event] = []
        self.tvr = bytearray(terminal.tvr)
        self.dynamic: dict[int, bytes] = {}  # 9F45, 9F4C recovered during ODA

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def start(self, step: Step, explanation: str, reference: str, actor: Lane = Lane.PHONE) -> None:
        self.step = step
        self.emit(StepStarted(step, actor, explanation, reference))

    def set_tvr(self, byte: int, mask: int) -> None:
        """Set a TVR bit (byte 1-based, as in Book 3 Annex C5)."""
        self.tvr[byte - 1] |= mask

    def terminal_data(self) -> dict[int, bytes]:
        """Every value the phone can put in a DOL, by tag (Book 3 §5.4).

        Configuration first, then what ODA recovered and the current TVR, then the
        data elements bound to the transaction told to the card, its time (9F21)
        and the challenge's UN (9F37) — so nothing can override T or the UN.
        """
        values = self.terminal.data_elements()
        values.update(self.dynamic)
        values[0x95] = bytes(self.tvr)
        values.update(self.card_transaction.bound_terminal_data())
        moment = datetime.datetime.fromtimestamp(self.card_transaction.timestamp, datetime.UTC)
        values[0x9F21] = bytes.fromhex(moment.strftime("%H%M%S"))
        values[0x9F37] = self.un
        return values


# --------------------------------------------------------------------------- helpers for the steps


def transmit(ctx: TapContext, name: str, apdu: bytes) -> Flow[CardReply]:
    """Send ``apdu`` and return the card's complete answer; no answer at all raises."""
    reply = yield CardCommand(ctx.step, name, apdu)
    if reply is None:
        raise CardSilentError(name)
    return reply


def status_failure(command: str, sw: int, consequence: str = "") -> CardAnswerError:
    """The error for an unexpected status word, as a sentence with the SW's meaning."""
    text = f"The card refused {command}: it answered {sw:04X} ({status_words.describe(sw)})."
    return CardAnswerError(f"{text} {consequence}".strip())


def require_ok(reply: CardReply, command: str, consequence: str = "") -> None:
    if not reply.ok:
        raise status_failure(command, reply.sw, consequence)


def decode_template(data: bytes, command: str, expected: tuple[int, ...]) -> tlv.Tlv:
    """The single response template (``expected`` tags) of a card answer, or a clear error."""
    try:
        objects = tlv.decode(data)
    except MalformedDataError as exc:
        raise CardAnswerError(
            f"The card's answer to {command} is not valid BER-TLV ({exc.reason}"
            f"{f', at byte {exc.offset}' if exc.offset is not None else ''})."
        ) from None
    wanted = " or ".join(tlv.tag_hex(tag) for tag in expected)
    if len(objects) != 1 or objects[0].tag not in expected:
        found = ", ".join(obj.tag_hex for obj in objects) or "nothing"
        raise CardAnswerError(f"The card's answer to {command} should be one {wanted} template; it holds {found}.")
    return objects[0]


def children_by_tag(template: tlv.Tlv, command: str) -> dict[int, bytes]:
    """The primitive children of ``template`` by tag; a repeated tag is an error (Book 3 §10.2)."""
    values: dict[int, bytes] = {}
    for child in template.children:
        if child.tag in values:
            raise CardAnswerError(f"The card's answer to {command} holds {child.tag_hex} twice.")
        values[child.tag] = child.value
    return values


def check_command_data(data: bytes, what: str) -> bytes:
    if len(data) > MAX_COMMAND_DATA:
        raise CardAnswerError(
            f"The card's {what} asks for {len(data)} bytes of terminal data, more than one command "
            f"can carry ({MAX_COMMAND_DATA})."
        )
    return data
