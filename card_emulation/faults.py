"""Fault injection for the emulated card: scripted misbehaviour, per card and per command.

A :class:`FaultPlan` is a tuple of frozen fault values. Build one in Python::

    FaultPlan((CorruptCryptogram(), OverrideStatus(0x6985, Trigger(None, 3)), TearAfter(5)))

or from text (``docs/faults.md``)::

    FaultPlan.parse("genac:corrupt-ac; any:sw=6985@3; tear-after=5")

=========================  ===================================================
fault                      observable effect
=========================  ===================================================
:class:`OverrideStatus`    matching commands are *not executed* and answer the
                           status word alone
:class:`CorruptCryptogram` GENERATE AC returns a wrong AC (one bit flipped
                           before any CDA signature, so a CDA signature still
                           verifies but the ARQC check fails)
:class:`CorruptSignature`  the SDAD of INTERNAL AUTHENTICATE / CDA is altered
:class:`Delay`             the card waits ``ms`` before answering
:class:`Mute`              matching commands get no answer at all (``b""``)
:class:`TearAfter`         after N commands since power-on the card answers
                           nothing until the next power-on (card torn away)
:class:`RollbackAtc`       the ATC is set back by N when the card starts
:class:`AlterAip`          GET PROCESSING OPTIONS reports an altered AIP
                           (e.g. DDA/CDA bits cleared: a downgrade)
:class:`CloneStaticData`   the card answers with another card image's static
                           data (FCI, AIP, AFL, records, certificates) but its
                           own keys, or no keys at all (an SDA-era copy: random
                           ACs and signatures)
=========================  ===================================================

Occurrences (``@N``) and ``tear-after`` count commands since the last power-on.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from card_emulation.commands import CommandKind
from card_emulation.errors import FaultSpecError
from card_emulation.image import ApplicationKeys, ApplicationImage, CardImage, load_image


@dataclass(frozen=True)
class Trigger:
    """Which commands a fault applies to: ``command`` (``None`` = any) and, optionally,
    only its ``occurrence``-th instance (1-based, counted since power-on)."""

    command: CommandKind | None = None
    occurrence: int | None = None

    def matches(self, kind: CommandKind, counts: dict[CommandKind | None, int]) -> bool:
        if self.command is not None and self.command is not kind:
            return False
        return self.occurrence is None or counts.get(self.command, 0) == self.occurrence


@dataclass(frozen=True)
class OverrideStatus:
    sw: int
    when: Trigger = Trigger()

    def __post_init__(self) -> None:
        if not 0x6000 <= self.sw <= 0x9FFF or 0x6100 <= self.sw <= 0x61FF:
            raise FaultSpecError(f"status word {self.sw:04X} is not an ISO 7816 SW1 SW2 the card can answer")


@dataclass(frozen=True)
class CorruptCryptogram:
    when: Trigger = Trigger(CommandKind.GENERATE_AC)


@dataclass(frozen=True)
class CorruptSignature:
    when: Trigger = Trigger()


@dataclass(frozen=True)
class Delay:
    ms: float
    when: Trigger = Trigger()

    def __post_init__(self) -> None:
        if not 0 <= self.ms <= 60_000:
            raise FaultSpecError("a delay is 0..60000 ms")


@dataclass(frozen=True)
class Mute:
    when: Trigger = Trigger()


@dataclass(frozen=True)
class TearAfter:
    commands: int

    def __post_init__(self) -> None:
        if self.commands < 0:
            raise FaultSpecError("tear-after needs a command count >= 0")


@dataclass(frozen=True)
class RollbackAtc:
    by: int

    def __post_init__(self) -> None:
        if not 1 <= self.by <= 0xFFFF:
            raise FaultSpecError("atc-rollback is 1..65535")


#: AIP byte 1 bits (EMV 4.4 Book 3 Annex C1) usable in ``aip-clear=``.
AIP_BITS = {"sda": 0x40, "dda": 0x20, "cvm": 0x10, "trm": 0x08, "issuer-auth": 0x04, "cda": 0x01}


@dataclass(frozen=True)
class AlterAip:
    """Report ``value`` (2 bytes) as the AIP, or the real AIP with ``clear`` bits of byte 1 cleared."""

    clear: int = AIP_BITS["dda"] | AIP_BITS["cda"]
    value: bytes | None = None
    when: Trigger = Trigger(CommandKind.GPO)

    def __post_init__(self) -> None:
        if self.value is not None and len(self.value) != 2:
            raise FaultSpecError("an AIP is 2 bytes")


class CloneKeys(enum.Enum):
    OWN = "own"  # the cloner's chip has keys of its own (not the victim's)
    NONE = "none"  # a pure copy of readable data: no keys at all


@dataclass(frozen=True)
class CloneStaticData:
    source: CardImage
    keys: CloneKeys = CloneKeys.OWN


Fault = (
    OverrideStatus | CorruptCryptogram | CorruptSignature | Delay | Mute | TearAfter | RollbackAtc | AlterAip
    | CloneStaticData
)  # fmt: skip


_F = TypeVar("_F")


@dataclass(frozen=True)
class FaultPlan:
    """The faults of one card; empty by default (a well-behaved card)."""

    faults: tuple[Fault, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.faults)

    def __add__(self, other: FaultPlan) -> FaultPlan:
        return FaultPlan(self.faults + other.faults)

    def of_type(self, kind: type[_F]) -> tuple[_F, ...]:
        return tuple(f for f in self.faults if isinstance(f, kind))

    @property
    def tear_after(self) -> int | None:
        tears = self.of_type(TearAfter)
        return min(t.commands for t in tears) if tears else None

    @property
    def clone(self) -> CloneStaticData | None:
        clones = self.of_type(CloneStaticData)
        return clones[-1] if clones else None

    @classmethod
    def parse(cls, text: str, *, load: Callable[[Path], CardImage] = load_image) -> FaultPlan:
        """Parse the text syntax of ``docs/faults.md``; :class:`FaultSpecError` if invalid."""
        from card_emulation.fault_spec import parse_fault_spec

        return parse_fault_spec(text, load=load)


def clone_image(own: CardImage, source: CardImage, keys: CloneKeys) -> CardImage:
    """A card that shows ``source``'s static data with ``own``'s keys, or none.

    Counters start from the source's (a cloner reads the ATC with GET DATA).
    """
    apps: list[ApplicationImage] = []
    for i, app in enumerate(source.applications):
        if keys is CloneKeys.OWN:
            mine = own.applications[min(i, len(own.applications) - 1)].keys
        else:
            mine = ApplicationKeys(
                app.keys.algorithm, bytes(16), bytes(16), bytes(16), None, app.keys.signature_length, present=False
            )
        apps.append(replace(app, keys=mine))
    return replace(source, applications=tuple(apps), seed_id=f"clone-of-{source.seed_id}")
