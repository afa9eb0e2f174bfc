"""The text syntax of fault plans (documented in ``docs/faults.md``).

::

    plan    := item (";" item)*
    item    := [target ":"] action ["@" N]
             | "tear-after=" N | "atc-rollback=" N
             | "clone=" PATH | "clone-keyless=" PATH        (alias: "clone-sda=")
    target  := select | read-record | gpo | get-data | internal-authenticate
             | generate-ac | verify | get-challenge | any
               (aliases: genac, gen-ac, ia, internal-auth, read, pin)
    action  := "sw=" XXXX | "corrupt-ac" | "corrupt-sig" | "delay=" MS["ms"] | "mute"
             | "aip-clear=" BIT("+"BIT)* | "aip=" XXXX
    BIT     := sda | dda | cvm | trm | issuer-auth | cda | 2 hex digits

Examples: ``genac:corrupt-ac``, ``any:sw=6985@3``, ``tear-after=5``,
``gpo:aip-clear=dda+cda``, ``internal-authenticate:delay=120ms``.
Without a target, ``corrupt-ac`` applies to GENERATE AC, ``aip…`` to GET
PROCESSING OPTIONS and everything else to any command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from card_emulation.commands import CommandKind
from card_emulation.errors import FaultSpecError, ImageError
from card_emulation.faults import (
    AIP_BITS,
    AlterAip,
    CloneKeys,
    CloneStaticData,
    CorruptCryptogram,
    CorruptSignature,
    Delay,
    Fault,
    FaultPlan,
    Mute,
    OverrideStatus,
    RollbackAtc,
    TearAfter,
    Trigger,
)
from card_emulation.image import CardImage

_ALIASES = {
    "genac": CommandKind.GENERATE_AC,
    "gen-ac": CommandKind.GENERATE_AC,
    "ia": CommandKind.INTERNAL_AUTHENTICATE,
    "internal-auth": CommandKind.INTERNAL_AUTHENTICATE,
    "read": CommandKind.READ_RECORD,
    "pin": CommandKind.VERIFY,
}


def _target(name: str) -> CommandKind | None:
    if name == "any":
        return None
    if name in _ALIASES:
        return _ALIASES[name]
    try:
        return CommandKind(name)
    except ValueError:
        known = ", ".join([k.value for k in CommandKind if k is not CommandKind.OTHER] + ["any"])
        raise FaultSpecError(f"unknown command {name!r} (known: {known})") from None


def _int(text: str, what: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise FaultSpecError(f"{what} must be a decimal number, got {text!r}")
    return int(text)


def _aip_clear(text: str) -> int:
    mask = 0
    for part in text.split("+"):
        if part in AIP_BITS:
            mask |= AIP_BITS[part]
        elif re.fullmatch(r"[0-9a-fA-F]{2}", part):
            mask |= int(part, 16)
        else:
            raise FaultSpecError(f"aip-clear: {part!r} is not one of {', '.join(AIP_BITS)} or a hex byte")
    return mask


def _action(action: str, target: CommandKind | None, explicit: bool, occurrence: int | None) -> Fault:
    def when(default: CommandKind | None = None) -> Trigger:
        return Trigger(target if explicit else default, occurrence)

    name, _, value = action.partition("=")
    if name == "sw":
        if not re.fullmatch(r"[0-9a-fA-F]{4}", value):
            raise FaultSpecError(f"sw= needs 4 hex digits, got {value!r}")
        return OverrideStatus(int(value, 16), when())
    if name == "corrupt-ac" and not value:
        return CorruptCryptogram(when(CommandKind.GENERATE_AC))
    if name in ("corrupt-sig", "corrupt-signature") and not value:
        return CorruptSignature(when())
    if name == "mute" and not value:
        return Mute(when())
    if name == "delay":
        number = value[:-2] if value.endswith("ms") else value
        try:
            return Delay(float(number), when())
        except ValueError:
            raise FaultSpecError(f"delay= needs milliseconds, got {value!r}") from None
    if name == "aip-clear":
        return AlterAip(clear=_aip_clear(value), when=when(CommandKind.GPO))
    if name == "aip":
        if not re.fullmatch(r"[0-9a-fA-F]{4}", value):
            raise FaultSpecError(f"aip= needs 4 hex digits, got {value!r}")
        return AlterAip(clear=0, value=bytes.fromhex(value), when=when(CommandKind.GPO))
    raise FaultSpecError(f"unknown fault {action!r}")


def _item(item: str, load: Callable[[Path], CardImage]) -> Fault:
    name, _, value = item.partition("=")
    if name == "tear-after":
        return TearAfter(_int(value, "tear-after"))
    if name == "atc-rollback":
        return RollbackAtc(_int(value, "atc-rollback"))
    if name in ("clone", "clone-keyless", "clone-sda"):
        if not value:
            raise FaultSpecError(f"{name}= needs the path of a card image")
        try:
            source = load(Path(value))
        except ImageError as exc:
            raise FaultSpecError(f"{name}: {exc}") from None
        return CloneStaticData(source, CloneKeys.OWN if name == "clone" else CloneKeys.NONE)
    head, at, count = item.rpartition("@") if "@" in item else (item, "", "")
    occurrence = _int(count, "@N") if at else None
    if occurrence == 0:
        raise FaultSpecError("@N counts from 1")
    target_text, colon, action = head.partition(":")
    if not colon:
        target_text, action = "any", head
    return _action(action, _target(target_text), bool(colon), occurrence)


def parse_fault_spec(text: str, *, load: Callable[[Path], CardImage]) -> FaultPlan:
    """Parse a fault plan; items are separated by ``;`` (whitespace is ignored)."""
    if not isinstance(text, str):
        raise FaultSpecError("a fault specification is text")
    faults: list[Fault] = []
    for raw in text.split(";"):
        item = "".join(raw.split()).lower() if not raw.strip().lower().startswith("clone") else raw.strip()
        if item:
            faults.append(_item(item, load))
    return FaultPlan(tuple(faults))
