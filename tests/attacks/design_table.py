"""DESIGN.md §3 "Attacks to demonstrate", written out independently of the attack lab.

Each row: the OTP verdict (``None`` = n/a), the card-tap verdict, the failed checks
(by name) that must be among the tap's reasons, and the stricter policy under which
the tap must be rejected (the NFC relay row), with the check that must fail there.
"""

from __future__ import annotations

from app.flow.attack_results import Verdict
from protocol.tap.verifier_result import (
    ARQC, ATC_INCREASING, CHALLENGE_UNEXPIRED, CHALLENGE_UNUSED, DEVICE_SIGNATURE, OFFLINE_DATA_AUTHENTICATION,
    POLICY, TRANSACTION_BINDING,
)  # fmt: skip

A, R = Verdict.ACCEPT, Verdict.REJECT

#: id -> (OTP, tap, tap's failed checks include, (countermeasure policy, its failed checks) or None)
DESIGN_TABLE: dict[str, tuple[Verdict | None, Verdict, frozenset[str], tuple[str, frozenset[str]] | None]] = {
    "phishing-relay": (A, R, frozenset({TRANSACTION_BINDING, ARQC}), None),  # UN is bound to T
    "replay": (None, R, frozenset({CHALLENGE_UNUSED, ATC_INCREASING}), None),  # nonce used, ATC not increasing
    "cloned-card": (None, R, frozenset({ARQC}), None),  # ARQC/DDA cannot be forged
    "malware-amount": (A, R, frozenset({TRANSACTION_BINDING, ARQC}), None),  # the cryptogram covers the verifier's T
    "expired-challenge": (None, R, frozenset({CHALLENGE_UNEXPIRED}), None),
    "other-device": (None, R, frozenset({DEVICE_SIGNATURE}), None),
    "atc-rollback": (None, R, frozenset({ATC_INCREASING}), None),
    "aip-downgrade": (None, R, frozenset({POLICY, OFFLINE_DATA_AUTHENTICATION}), None),  # policy and signed AIP
    "sim-swap": (A, R, frozenset({DEVICE_SIGNATURE}), None),  # SMS OTP lost; the tap unaffected (attacker refused)
    "nfc-relay": (None, A, frozenset(), ("relay-bound", frozenset({POLICY}))),  # accepted unless time-bounded
}
