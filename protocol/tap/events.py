"""Typed events of a card-tap authentication, for the app, the CLI and traces.

Every actor (verifier, phone, card) reports what it does as a stream of these
frozen dataclasses; the desktop app renders them (sequence diagram, APDU log,
detail pane), the CLI prints them as a step list, and a trace is a list of them.
Renderers never compute: everything a person needs to see about a step is here
(plain-words explanation, EMV reference, inputs/outputs of the crypto done,
which check passed or failed and why).

Events carry the raw bytes exchanged with the card. Renderers and exports mask
PAN and track-2 data through :mod:`protocol.masking` unless the user asks
otherwise; keys and PINs never appear in events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Lane(Enum):
    """Who acts: the three lanes of the sequence diagram."""

    VERIFIER = "Verifier"
    PHONE = "Phone"
    CARD = "Card"


class Step(Enum):
    """The steps of DESIGN.md §3, in protocol order, with titles for people."""

    ENROL = "Enrolment"
    CHALLENGE = "Challenge issued"
    CONFIRM = "User confirms the transaction"
    SELECT_PPSE = "Select PPSE"
    SELECT_AID = "Select application"
    GET_PROCESSING_OPTIONS = "Get processing options"
    RELAY_RESISTANCE = "Relay resistance"
    READ_RECORDS = "Read records"
    OFFLINE_DATA_AUTHENTICATION = "Offline data authentication"
    INTERNAL_AUTHENTICATE = "Internal authenticate (DDA)"
    GENERATE_AC = "Generate AC (ARQC)"
    ASSERTION = "Phone signs the assertion"
    VERIFICATION = "Verifier checks"
    VERDICT = "Verdict"

    @property
    def title(self) -> str:
        return self.value


@dataclass(frozen=True)
class StepStarted:
    """A new step begins. ``explanation`` is plain words; ``reference`` cites EMV."""

    step: Step
    actor: Lane
    explanation: str
    reference: str = ""


@dataclass(frozen=True)
class MessageSent:
    """A message between two lanes other than an APDU (challenge, assertion, verdict)."""

    step: Step
    sender: Lane
    receiver: Lane
    label: str
    payload_size: int = 0


@dataclass(frozen=True)
class ApduExchanged:
    """One command/response pair between phone and card.

    ``elapsed_ns`` is the round trip measured by whoever drove the transport
    (``None`` when replayed from a trace without timing).
    """

    step: Step
    command_name: str
    command: bytes
    response: bytes
    sw: int
    sw_meaning: str
    elapsed_ns: int | None = None


@dataclass(frozen=True)
class DecodedNode:
    """One node of a decoded TLV tree, ready to render (value already masked)."""

    tag: str
    name: str
    value_hex: str
    meaning: str
    children: tuple[DecodedNode, ...] = ()


@dataclass(frozen=True)
class DataDecoded:
    """Data the phone decoded from a card answer, as a tree of named nodes."""

    step: Step
    label: str
    nodes: tuple[DecodedNode, ...]


@dataclass(frozen=True)
class CryptoComputed:
    """A cryptographic operation: what went in, what came out, where EMV defines it.

    ``inputs`` and ``outputs`` are (label, value) pairs of display strings; key
    material appears only as a key check value, never in full.
    """

    step: Step
    actor: Lane
    operation: str
    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    reference: str = ""


class CheckStatus(Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_CHECKABLE = "not checkable"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckCompleted:
    """A named check and its outcome, with the reason in plain words."""

    step: Step
    actor: Lane
    check: str
    status: CheckStatus
    detail: str


class Outcome(Enum):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    #: A real card whose issuer keys the verifier lacks: ODA passed, ARQC not checkable.
    ODA_ONLY = "OFFLINE DATA AUTHENTICATION ONLY"


@dataclass(frozen=True)
class VerdictReached:
    """The verifier's verdict, with the reasons (failed checks) when not accepted."""

    outcome: Outcome
    reasons: tuple[str, ...] = ()
    arpc: bytes | None = None
    checks: tuple[CheckCompleted, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPT


@dataclass(frozen=True)
class SessionFailed:
    """The session could not go on (card error, transport error, malformed answer).

    ``reason`` is a sentence for people; ``error_type`` names the typed error.
    """

    step: Step
    reason: str
    error_type: str


Event = (
    StepStarted
    | MessageSent
    | ApduExchanged
    | DataDecoded
    | CryptoComputed
    | CheckCompleted
    | VerdictReached
    | SessionFailed
)
