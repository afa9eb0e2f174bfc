"""What the card source panel offers: the emulated profiles and fault-plan validation.

Widgets must not import ``card_emulation`` (it pulls in crypto); the window asks
this module instead and hands the panel plain strings and a validation function.
"""

from __future__ import annotations

from card_emulation import faults as f
from card_emulation.errors import CardEmulationError
from card_emulation.profile import list_profiles, load_profile

FAULT_SYNTAX_HELP = (
    "Faults make the emulated card misbehave on purpose (docs/faults.md). Items are separated by “;”:\n"
    "  genac:corrupt-ac       flip a bit of the cryptogram → the ARQC check fails\n"
    "  corrupt-sig            flip a bit of the signed dynamic data\n"
    "  tear-after=5           the card leaves the field after 5 commands\n"
    "  genac:mute             the card stops answering at GENERATE AC\n"
    "  any:sw=6985@3          answer 6985 to the 3rd command\n"
    "  atc-rollback=3         set the transaction counter back\n"
    "  gpo:aip-clear=dda+cda  downgrade the AIP to hide DDA/CDA\n"
    "  ia:delay=120ms         answer INTERNAL AUTHENTICATE late\n"
    "Targets: select, read-record, gpo, get-data, internal-authenticate (ia), generate-ac (genac), verify, any."
)


def profile_choices() -> list[tuple[str, str]]:
    """``(name, title)`` of every shipped profile, in name order."""
    choices = []
    for name in list_profiles():
        try:
            choices.append((name, load_profile(name).title))
        except CardEmulationError:
            continue  # a broken profile file is reported when it is chosen, not here
    return choices


def _where(trigger: f.Trigger) -> str:
    what = trigger.command.value.upper().replace("-", " ") if trigger.command is not None else "any command"
    return f"{what}" + (f" (#{trigger.occurrence})" if trigger.occurrence else "")


def _describe(fault: f.Fault) -> str:
    match fault:
        case f.OverrideStatus(sw=sw, when=when):
            return f"answer {sw:04X} to {_where(when)}"
        case f.CorruptCryptogram(when=when):
            return f"corrupt the cryptogram at {_where(when)}"
        case f.CorruptSignature(when=when):
            return f"corrupt the signature at {_where(when)}"
        case f.Delay(ms=ms, when=when):
            return f"delay {ms:g} ms at {_where(when)}"
        case f.Mute(when=when):
            return f"go silent at {_where(when)}"
        case f.TearAfter(commands=n):
            return f"leave the field after {n} commands"
        case f.RollbackAtc(by=n):
            return f"roll the ATC back by {n}"
        case f.AlterAip():
            return "report a downgraded AIP"
        case f.CloneStaticData(keys=keys):
            return "a clone " + ("without keys" if keys is f.CloneKeys.NONE else "with its own keys")
    return type(fault).__name__


def describe_faults(spec: str) -> str:
    """A sentence for a valid fault plan; raises ``ValueError`` with the reason when invalid."""
    if not spec.strip():
        return "No faults: an honest card."
    try:
        plan = f.FaultPlan.parse(spec)
    except CardEmulationError as exc:
        raise ValueError(str(exc)) from None
    parts = [_describe(fault) for fault in plan.faults]
    return "The card will " + "; ".join(parts) + "."
