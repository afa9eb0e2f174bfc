"""State of the running card: the volatile session and the persistent counters.

Volatile state (EMV 4.4 Book 1 §11.3, Book 3 §9) lives from one reset to the next
and is cleared by :meth:`CardRuntime.reset`: what is selected, where the
transaction is (:class:`Phase`), the PDOL/CDOL data sent so far, whether the PIN
was verified. Persistent state — the counters of :class:`~card_emulation.image.ApplicationCounters`
— is written through the image sink *before* the card answers, as a chip writes
EEPROM before it responds, so that a torn exchange never lets an ATC repeat.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from card_emulation.image import ApplicationCounters, ApplicationImage, CardImage


class ImageSink(Protocol):
    """Where the card persists its image when a counter changes (e.g. :class:`~card_emulation.image.ImageFile`)."""

    def save(self, image: CardImage) -> None: ...


class Phase(enum.Enum):
    """Where the application is in a transaction (Book 3 §9, Book 4 §6)."""

    IDLE = "nothing selected"
    DIRECTORY = "PSE or PPSE selected"
    SELECTED = "application selected"
    INITIATED = "GET PROCESSING OPTIONS done"
    AWAITING_SECOND_AC = "ARQC returned; second GENERATE AC expected"
    COMPLETED = "transaction completed"


@dataclass(frozen=True)
class Effects:
    """Changes the fault plan makes to the command being processed."""

    corrupt_cryptogram: bool = False
    corrupt_signature: bool = False
    aip_clear: int = 0
    aip_value: bytes | None = None

    def aip(self, real: bytes) -> bytes:
        aip = self.aip_value if self.aip_value is not None else real
        return bytes([aip[0] & ~self.aip_clear & 0xFF]) + aip[1:]


@dataclass
class Session:
    """Volatile per-reset state; a new SELECT of an application starts a fresh one."""

    phase: Phase = Phase.IDLE
    directory: str | None = None  # "1PAY.SYS.DDF01" or "2PAY.SYS.DDF01" when a directory is selected
    app_index: int | None = None
    pdol_data: bytes = b""
    cdol1_data: bytes = b""
    cdol1_values: dict[int, bytes] = field(default_factory=dict)
    first_ac: int | None = None  # CID type bits of the first AC (00 AAC, 40 TC, 80 ARQC)
    first_cda: bool = False
    second_ac: int | None = None
    pin_verified: bool = False
    pin_failed: bool = False
    icc_dynamic_number: bytes = b""
    transaction_atc: int | None = None


def flip_last_bit(data: bytes) -> bytes:
    """A minimally corrupted copy (lowest bit of the last byte inverted)."""
    return data[:-1] + bytes([data[-1] ^ 0x01]) if data else data


class CardRuntime:
    """The image, the session and the services a command handler may use."""

    def __init__(
        self,
        image: CardImage,
        *,
        sink: ImageSink | None,
        random_bytes: Callable[[int], bytes],
    ) -> None:
        self.image = image
        self.sink = sink
        self.random_bytes = random_bytes
        self.session = Session()
        self.effects = Effects()
        self.signed_cda = False  # set by GENERATE AC when it answered with a CDA signature

    def reset(self) -> None:
        """Power-on or warm reset: volatile state is lost (Book 1 §6.1)."""
        self.session = Session()
        self.effects = Effects()

    @property
    def app(self) -> ApplicationImage | None:
        index = self.session.app_index
        return None if index is None else self.image.applications[index]

    def counters(self, app: ApplicationImage) -> ApplicationCounters:
        return self.image.counters_for(app.aid)

    def store_counters(self, app: ApplicationImage, counters: ApplicationCounters) -> None:
        """Update and persist the counters (before the answer leaves the card)."""
        updated = self.image.with_counters(app.aid, counters)
        if self.sink is not None:
            self.sink.save(updated)
        self.image = updated
