"""Application selection by the phone (EMV 4.4 Book 1 §12; Contactless Book B §3.3).

1. SELECT the PPSE ``2PAY.SYS.DDF01``: its FCI lists the card's applications in
   Directory Entries ``61 {4F AID, 50 label, 87 priority, [9F2A kernel]}``
   (Book B §3.3.2, Table 3-3). The phone keeps those whose AID begins with an AID
   it knows (Book 1 §12.3.1).
2. No PPSE (``6A82``), a blocked or malformed one, or no supported entry: the
   phone falls back to the *list of AIDs* method (Book 1 §12.3.3): it SELECTs
   every AID it knows and keeps those the card answers with a matching FCI
   (``6283`` = blocked application, skipped; partial matches followed with
   "next occurrence" P2 = ``02``).
3. Candidates are ordered by Application Priority Indicator (``87``, 1 = highest,
   absent last). With ``"priority"`` the first is taken; with ``"ask"`` and
   several candidates the flow pauses for the user's choice (Book 1 §12.4).
4. Final selection: SELECT the chosen AID. ``6A81`` (card blocked, or SELECT not
   supported) ends the session; ``6283``, any other error, a malformed FCI or a
   DF name that is not the AID removes the candidate and the next one is tried.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import tlv
from protocol.apdu import CommandApdu
from protocol.decoders.base import printable
from protocol.dol import DolEntry, parse_dol
from protocol.errors import MalformedDataError
from protocol.tap.events import DataDecoded, Step
from protocol.tap.tap_context import (
    ApplicationCandidate,
    CardAnswerError,
    ChoiceRequest,
    Flow,
    NoApplicationError,
    TapContext,
    decode_template,
    transmit,
)
from protocol.tap.tlv_view import decoded_nodes

PPSE = b"2PAY.SYS.DDF01"
MAX_NEXT_OCCURRENCES = 8
BOOK1_SELECTION = "EMV 4.4 Book 1 §12.4 (final selection), §11.3 (SELECT)"


@dataclass(frozen=True)
class SelectedApplication:
    """The application selected: its DF name, the candidate it came from, its PDOL and FCI."""

    aid: bytes
    candidate: ApplicationCandidate
    pdol: tuple[DolEntry, ...]
    fci: bytes


def select_command(name: bytes, *, next_occurrence: bool = False) -> bytes:
    """SELECT by DF name (Book 1 §11.3.2): ``00 A4 04 00|02 Lc name 00``."""
    return CommandApdu(0x00, 0xA4, 0x04, 0x02 if next_occurrence else 0x00, bytes(name), le=256).encode()


def _blocked_card() -> NoApplicationError:
    return NoApplicationError(
        "The card answered 6A81: it is blocked or does not support SELECT, so the phone stops "
        "(EMV 4.4 Book 1 §12.3.2)."
    )


def _text(value: bytes | None) -> str:
    return printable(value).strip() if value else ""


def _candidate(aid: bytes, fields: tlv.Tlv) -> ApplicationCandidate:
    label = fields.find(0x50)
    preferred = fields.find(0x9F12)
    priority = fields.find(0x87)
    kernel = fields.find(0x9F2A)
    number: int | None = None
    confirm = False
    if priority is not None and len(priority.value) == 1:
        number = priority.value[0] & 0x0F or None
        confirm = bool(priority.value[0] & 0x80)
    return ApplicationCandidate(
        aid=aid,
        label=_text(label.value if label else None),
        preferred_name=_text(preferred.value if preferred else None),
        priority=number,
        confirmation_required=confirm,
        kernel_id=kernel.value if kernel else b"",
    )


def select_application(ctx: TapContext) -> Flow[SelectedApplication]:
    """Steps 1-4 above; returns the selected application or raises :class:`NoApplicationError`."""
    candidates = yield from _from_ppse(ctx)
    if not candidates:
        candidates = yield from _from_list_of_aids(ctx)
    if not candidates:
        raise NoApplicationError(
            "The card offers no application the phone supports (neither in its PPSE directory nor "
            "by the list of known AIDs, EMV 4.4 Book 1 §12.3)."
        )
    ordered = sorted(candidates, key=lambda c: c.priority or 16)  # stable: directory order breaks ties
    return (yield from _final_selection(ctx, ordered))


def _from_ppse(ctx: TapContext) -> Flow[list[ApplicationCandidate]]:
    ctx.start(
        Step.SELECT_PPSE,
        "The phone asks the card which payment applications it holds by selecting its contactless "
        "directory, the Proximity Payment System Environment '2PAY.SYS.DDF01'.",
        "EMV Contactless Book B §3.3 (PPSE); EMV 4.4 Book 1 §11.3 (SELECT), §12.3",
    )
    reply = yield from transmit(ctx, "SELECT PPSE", select_command(PPSE))
    if reply.sw == 0x6A81:
        raise _blocked_card()
    if not reply.ok:
        return []
    ctx.emit(DataDecoded(Step.SELECT_PPSE, "PPSE directory (File Control Information)", decoded_nodes(reply.data)))
    try:
        fci = decode_template(reply.data, "SELECT PPSE", (0x6F,))
    except CardAnswerError:
        return []
    found: list[ApplicationCandidate] = []
    for entry in tlv.find_all([fci], 0x61):
        aid = entry.find(0x4F)
        if aid is None or not 5 <= len(aid.value) <= 16 or not ctx.terminal.supports(aid.value):
            continue
        if all(c.aid != aid.value for c in found):
            found.append(_candidate(aid.value, entry))
    return found


def _from_list_of_aids(ctx: TapContext) -> Flow[list[ApplicationCandidate]]:
    ctx.start(
        Step.SELECT_AID,
        "The card has no usable PPSE directory, so the phone tries, one by one, the application "
        "identifiers (AIDs) it knows: the 'list of AIDs' method.",
        "EMV 4.4 Book 1 §12.3.3 (list of AIDs)",
    )
    found: list[ApplicationCandidate] = []
    for known in ctx.terminal.known_aids:
        next_occurrence = False
        for _ in range(MAX_NEXT_OCCURRENCES):
            command = select_command(known, next_occurrence=next_occurrence)
            name = f"SELECT {known.hex().upper()}{' (next occurrence)' if next_occurrence else ''}"
            reply = yield from transmit(ctx, name, command)
            if reply.sw == 0x6A81:
                raise _blocked_card()
            if not (reply.ok or reply.sw == 0x6283):
                break
            ctx.emit(DataDecoded(Step.SELECT_AID, f"FCI of {known.hex().upper()}", decoded_nodes(reply.data)))
            try:
                fci = decode_template(reply.data, name, (0x6F,))
            except CardAnswerError:
                break
            df_name = fci.find(0x84)
            if df_name is None or not df_name.value.startswith(known):
                break
            proprietary = fci.find(0xA5) or fci
            if reply.ok and all(c.aid != df_name.value for c in found):
                found.append(_candidate(df_name.value, proprietary))
            if df_name.value == known:
                break  # exact match: no further occurrence to look for
            next_occurrence = True
    return found


def _final_selection(ctx: TapContext, ordered: list[ApplicationCandidate]) -> Flow[SelectedApplication]:
    remaining = list(ordered)
    problems: list[str] = []
    while remaining:
        if ctx.application_choice == "ask" and len(remaining) > 1:
            ctx.start(
                Step.SELECT_AID,
                f"The card offers {len(remaining)} applications "
                f"({', '.join(c.display_name for c in remaining)}); the phone asks the user which one to use.",
                "EMV 4.4 Book 1 §12.4 (cardholder selection)",
            )
            chosen = yield ChoiceRequest(tuple(remaining))
            candidate = next((c for c in remaining if c.aid == chosen), remaining[0])
        else:
            candidate = remaining[0]
        remaining.remove(candidate)
        selected = yield from _select_candidate(ctx, candidate, problems)
        if selected is not None:
            return selected
    raise NoApplicationError("No application could be selected: " + "; ".join(problems) + ".")


def _select_candidate(
    ctx: TapContext, candidate: ApplicationCandidate, problems: list[str]
) -> Flow[SelectedApplication | None]:
    aid_hex = candidate.aid.hex().upper()
    ctx.start(
        Step.SELECT_AID,
        f"The phone selects the application {candidate.display_name} ({aid_hex}). The card answers "
        "with its File Control Information, including the list of terminal data it wants to receive "
        "(the PDOL).",
        BOOK1_SELECTION,
    )
    name = f"SELECT {aid_hex}"
    reply = yield from transmit(ctx, name, select_command(candidate.aid))
    if reply.sw == 0x6A81:
        raise _blocked_card()
    if reply.sw == 0x6283:
        problems.append(f"{candidate.display_name} is blocked (6283)")
        return None
    if not reply.ok:
        problems.append(f"{candidate.display_name} answered {reply.sw:04X}")
        return None
    ctx.emit(DataDecoded(Step.SELECT_AID, f"FCI of {candidate.display_name}", decoded_nodes(reply.data)))
    try:
        fci = decode_template(reply.data, name, (0x6F,))
        df_name = fci.find(0x84)
        if df_name is None or df_name.value != candidate.aid:
            raise CardAnswerError(f"the FCI names {df_name.value.hex().upper() if df_name else 'no DF'}")
        proprietary = fci.find(0xA5)
        pdol = proprietary.find(0x9F38) if proprietary is not None else None
        entries = parse_dol(pdol.value) if pdol is not None else ()
    except (CardAnswerError, MalformedDataError) as exc:
        problems.append(f"{candidate.display_name} gave an unusable answer ({exc})")
        return None
    return SelectedApplication(df_name.value, candidate, entries, reply.data)
