"""The soak's fault catalogue: each fault spec (docs/faults.md) with the outcome it must have.

Expected outcomes:

* ``FAILED`` — the card session ends without an assertion (no verdict);
* ``REJECT`` — the verifier gives the verdict REJECT;
* ``ACCEPT*`` — the fault has no effect on this card (e.g. ``corrupt-sig`` on an
  SDA card): ACCEPT when the card's next ATC is above the last one the verifier
  accepted, else REJECT (``ATC increasing``) — computed before every tap;
* ``ANY`` — a status word in place of the n-th command: depending on which command
  it hits, the tap fails, falls back (PPSE refused → list of AIDs; the first
  application refused → the second, which is not enrolled; relay resistance
  refused → none) or goes on; the verdict is whatever the verifier's checks say.

A **false accept** is an ACCEPT (or ODA-only) verdict where ``FAILED``/``REJECT``
was expected, or any ACCEPT whose checks are not all passed or whose ATC is not
above the last accepted one (an independent oracle, applied to every accept).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

FAILED = "FAILED"
REJECT = "REJECT"
ACCEPT_IF_ATC = "ACCEPT*"
ANY = "ANY"
MUST_NOT_ACCEPT = (FAILED, REJECT)


@dataclass(frozen=True)
class CardFacts:
    """What the expectations depend on, per profile (from an accepted reference tap)."""

    profile: str
    oda: str  # SDA | DDA | CDA performed
    aip_byte1: int
    commands: int  # command APDUs in an authentication tap
    image: Path


@dataclass(frozen=True)
class Fault:
    spec: str
    kind: str  # the catalogue entry, for the report
    expected: str
    why: str
    rollback: int = 0


AIP_BITS = {"sda": 0x40, "dda": 0x20, "cda": 0x01}
SWS = ("6985", "6A82", "6F00", "6700", "6A86", "6283", "9000")


def _corrupt_sig(card: CardFacts, target: str) -> Fault:
    hits = {"": ("DDA", "CDA"), "ia:": ("DDA",), "genac:": ("CDA",)}[target]
    if card.oda in hits:
        return Fault(f"{target}corrupt-sig", f"{target}corrupt-sig", REJECT,
                     f"the {card.oda} signature is altered: the verifier's signature check fails")  # fmt: skip
    return Fault(f"{target}corrupt-sig", f"{target}corrupt-sig", ACCEPT_IF_ATC,
                 f"{card.oda} tap: no signature of that command to alter")  # fmt: skip


def _sw_on_step(card: CardFacts, target: str, sw: str) -> Fault:
    if target == "ia:" and card.oda != "DDA":
        return Fault(f"ia:sw={sw}", "ia:sw", ACCEPT_IF_ATC, f"{card.oda} tap: no INTERNAL AUTHENTICATE is sent")
    names = {"gpo:": "GET PROCESSING OPTIONS", "genac:": "GENERATE AC", "read:": "READ RECORD",
             "select:": "every SELECT", "ia:": "INTERNAL AUTHENTICATE"}  # fmt: skip
    return Fault(f"{target}sw={sw}", f"{target}sw", FAILED, f"{names[target]} refused: a mandatory step fails")


def _aip_clear(card: CardFacts, bits: tuple[str, ...]) -> Fault:
    mask = sum(AIP_BITS[b] for b in bits)
    spec = f"gpo:aip-clear={'+'.join(bits)}"
    if card.aip_byte1 & mask:
        return Fault(spec, "aip-clear", REJECT, "the AIP is downgraded: ODA fails on the signed AIP and the ARQC "
                     "covers the real AIP")  # fmt: skip
    return Fault(spec, "aip-clear", ACCEPT_IF_ATC, "the cleared bits are not set in this card's AIP")


def draw_single(rng: random.Random, card: CardFacts, atc_gap: int = 0) -> Fault:
    """One fault, uniformly over the catalogue's entries.

    ``atc_gap``: how far the card's ATC is above the last ATC the verifier accepted
    (taps that were refused or failed after GENERATE AC leave a gap); a rollback is
    drawn to go back at least that far, so that it must be rejected.
    """
    choice = rng.randrange(12)
    if choice == 0:
        return Fault("genac:corrupt-ac", "corrupt-ac", REJECT, "one bit of the AC flipped: the ARQC check fails")
    if choice == 1:
        return _corrupt_sig(card, rng.choice(("", "ia:", "genac:")))
    if choice == 2:
        return _sw_on_step(card, rng.choice(("gpo:", "genac:", "read:", "select:", "ia:")),
                           rng.choice(("6985", "6A82", "6F00", "6A83")))  # fmt: skip
    if choice == 3:
        n = rng.randint(1, card.commands + 2)
        return Fault(f"any:sw={rng.choice(SWS)}@{n}", "any:sw@n", ANY,
                     "a status word instead of the n-th command: fail, fall back or go on")  # fmt: skip
    if choice == 4:
        n = rng.randint(0, card.commands + 1)
        if n < card.commands:
            return Fault(f"tear-after={n}", "tear", FAILED, "the card is torn away before the last answer")
        return Fault(f"tear-after={n}", "tear", ACCEPT_IF_ATC, "the tear comes after the last command")
    if choice == 5:
        by = atc_gap + 1 + rng.randint(0, 2)  # the next ATC is then at most the last accepted
        return Fault(f"atc-rollback={by}", "atc-rollback", REJECT, "the card's ATC went back to or below the last "
                     "accepted one: ATC increasing fails", rollback=by)  # fmt: skip
    if choice == 6:
        return _aip_clear(card, ("sda", "dda", "cda"))
    if choice == 7:
        return _aip_clear(card, (rng.choice(("sda", "dda", "cda")),))
    if choice == 8:
        return Fault(f"clone-keyless={card.image}", "clone-keyless", REJECT,
                     "a copy of the readable data without keys: random AC (and SDAD)")  # fmt: skip
    if choice == 9:
        return Fault("genac:mute", "mute", FAILED, "GENERATE AC gets no answer")
    if choice == 10:
        return Fault("any:sw=6F00@1", "any:sw@n", ANY, "PPSE refused: the phone falls back to its list of AIDs")
    return Fault("gpo:sw=6985", "gpo:sw", FAILED, "GET PROCESSING OPTIONS refused")


def draw(
    rng: random.Random, card: CardFacts, atc_gap: int = 0, *, clean: float = 0.35, pair: float = 0.15
) -> Fault | None:
    """``None`` (a clean tap), one fault, or two combined (never with an ``ANY`` fault)."""
    if rng.random() < clean:
        return None
    first = draw_single(rng, card, atc_gap)
    if first.expected == ANY or rng.random() >= pair:
        return first
    second = draw_single(rng, card, atc_gap)
    while second.expected == ANY or second.kind == first.kind:
        second = draw_single(rng, card, atc_gap)
    worst = [f.expected for f in (first, second) if f.expected in MUST_NOT_ACCEPT]
    expected = (FAILED if FAILED in worst and REJECT not in worst else REJECT if REJECT in worst and FAILED not in
                worst else "NOT ACCEPTED") if worst else ACCEPT_IF_ATC  # fmt: skip
    return Fault(f"{first.spec}; {second.spec}", f"{first.kind} + {second.kind}", expected,
                 f"{first.why}; {second.why}", first.rollback + second.rollback)  # fmt: skip


def must_not_accept(expected: str) -> bool:
    return expected in (FAILED, REJECT, "NOT ACCEPTED")
