"""Verifier policies: what a verification must show beyond the cryptographic checks.

DESIGN.md §3 step 7 ends with "policy (e.g. CDA or DDA required for this
profile)"; docs/tap-model.md check 10 lists what a policy covers:

* the **offline data authentication methods** accepted (EMV 4.4 Book 3 §10.3:
  SDA, DDA, CDA). SDA proves only that the issuer once signed the card's data,
  which a copy of the data also shows (DESIGN.md §3 attack table, "cloned card");
* **no downgrade**: the method performed now is at least as strong as the one
  performed at enrolment — an AIP downgrade (Book 3 Annex C1, byte 1 bits 6 and 1
  cleared in transit) makes the phone fall back to a weaker method or none;
* the **relay-resistance time bound** (Contactless Book C-2 §5.3, the model in
  docs/tap-model.md): the round trip the phone measured for EXCHANGE RELAY
  RESISTANCE DATA must not exceed ``max_relay_us``;
* **CDA consistency** (Book 2 §6.6.2): the CID and Application Cryptogram inside
  the CDA signature equal those of the GENERATE AC response.

The default policy accepts an honest tap of every shipped profile, legacy SDA
cards included (their ARQC is still checked). Stricter named policies exist for
the attack lab (:data:`NAMED_POLICIES`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from protocol.errors import UsageError


class OdaLevel(enum.IntEnum):
    """Offline data authentication methods, ordered by strength (Book 3 §10.3)."""

    NONE = 0
    SDA = 1
    DDA = 2
    CDA = 3

    @property
    def label(self) -> str:
        return "no offline data authentication" if self is OdaLevel.NONE else self.name

    @classmethod
    def parse(cls, text: str) -> OdaLevel:
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise UsageError(f"unknown offline data authentication method {text!r}") from None


ALL_METHODS = frozenset({OdaLevel.SDA, OdaLevel.DDA, OdaLevel.CDA})


@dataclass(frozen=True)
class Policy:
    """What the ``policy`` check requires (docs/tap-model.md check 10).

    ``allowed_oda`` — the methods accepted; ``no_downgrade`` — the method must be
    at least as strong as at enrolment; ``max_relay_us`` — when set, the measured
    relay-resistance round trip must be present and at most this many µs;
    ``cda_consistency`` — with CDA, the signed CID/AC must equal the returned ones.
    """

    name: str = "default"
    description: str = "SDA, DDA or CDA; no downgrade since enrolment; no relay time bound"
    allowed_oda: frozenset[OdaLevel] = field(default=ALL_METHODS)
    no_downgrade: bool = True
    max_relay_us: int | None = None
    cda_consistency: bool = True

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise UsageError("a policy needs a name")
        if not isinstance(self.allowed_oda, frozenset) or not all(isinstance(m, OdaLevel) for m in self.allowed_oda):
            raise UsageError("allowed_oda must be a frozenset of OdaLevel")
        if OdaLevel.NONE in self.allowed_oda:
            raise UsageError("a policy cannot accept 'no offline data authentication'")
        if self.max_relay_us is not None and (
            not isinstance(self.max_relay_us, int) or isinstance(self.max_relay_us, bool) or self.max_relay_us <= 0
        ):
            raise UsageError("max_relay_us must be a positive number of microseconds or None")

    def allows(self, method: OdaLevel) -> bool:
        return method in self.allowed_oda

    @property
    def allowed_text(self) -> str:
        return ", ".join(m.label for m in sorted(self.allowed_oda, reverse=True))


DEFAULT_POLICY = Policy()
#: The attack lab's relay bound: above a local tap's exchange (< 1-2 ms, docs/tap-model.md)
#: and below what a network relay adds (tens of ms).
RELAY_BOUND_US = 10_000

NAMED_POLICIES: Mapping[str, Policy] = MappingProxyType(
    {
        "default": DEFAULT_POLICY,
        "cda-or-dda-required": Policy(
            "cda-or-dda-required", "DDA or CDA (a copy of the card's data cannot pass); no downgrade",
            frozenset({OdaLevel.DDA, OdaLevel.CDA}),
        ),
        "cda-required": Policy("cda-required", "CDA only; no downgrade", frozenset({OdaLevel.CDA})),
        "relay-bound": Policy(
            "relay-bound",
            f"DDA or CDA and a relay-resistance round trip of at most {RELAY_BOUND_US} µs (Book C-2 §5.3 model)",
            frozenset({OdaLevel.DDA, OdaLevel.CDA}),
            max_relay_us=RELAY_BOUND_US,
        ),
    }
)  # fmt: skip


def policy_named(name: str) -> Policy:
    """The named policy; :class:`UsageError` listing the names for an unknown one."""
    try:
        return NAMED_POLICIES[name]
    except KeyError:
        raise UsageError(f"unknown policy {name!r}; known: {', '.join(NAMED_POLICIES)}") from None
