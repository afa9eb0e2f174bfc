"""Cardholder Verification Method list, tag 8E, and CVM Results, tag 9F34.

CVM list: EMV 4.4 Book 3 Annex C3 (Tables 43 and 44) and §10.5. The value is
amount X (4 bytes), amount Y (4 bytes), both binary in the application currency's
minor unit, then 2-byte CV rules: byte 1 carries the CVM code in bits 6-1 and, in
bit 7, "apply the succeeding rule if this CVM is unsuccessful"; byte 2 is the
condition under which the rule applies. CVM Results: Book 4 Annex A4, Table 33.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocol.decoders.base import DecodeError, require_length

APPLY_NEXT_IF_UNSUCCESSFUL = 0x40
CVM_CODE_MASK = 0x3F

_METHODS = {
    0x00: "Fail CVM processing",
    0x01: "Plaintext PIN verification performed by ICC",
    0x02: "Enciphered PIN verified online",
    0x03: "Plaintext PIN verification performed by ICC and signature (paper)",
    0x04: "Enciphered PIN verification performed by ICC",
    0x05: "Enciphered PIN verification performed by ICC and signature (paper)",
    0x06: "Facial biometric verified offline (by ICC)",
    0x07: "Facial biometric verified online",
    0x08: "Finger biometric verified offline (by ICC)",
    0x09: "Finger biometric verified online",
    0x0A: "Palm biometric verified offline (by ICC)",
    0x0B: "Palm biometric verified online",
    0x0C: "Iris biometric verified offline (by ICC)",
    0x0D: "Iris biometric verified online",
    0x0E: "Voice biometric verified offline (by ICC)",
    0x0F: "Voice biometric verified online",
    0x1E: "Signature (paper)",
    0x1F: "No CVM required",
}

_CONDITIONS = {
    0x00: "always",
    0x01: "if unattended cash",
    0x02: "if not unattended cash and not manual cash and not purchase with cashback",
    0x03: "if terminal supports the CVM",
    0x04: "if manual cash",
    0x05: "if purchase with cashback",
    0x06: "if transaction is in the application currency and is under X value",
    0x07: "if transaction is in the application currency and is over X value",
    0x08: "if transaction is in the application currency and is under Y value",
    0x09: "if transaction is in the application currency and is over Y value",
}


def method_name(code: int) -> str:
    """Name of CVM code ``code`` (bits 6-1 of CV rule byte 1)."""
    code &= CVM_CODE_MASK
    if code in _METHODS:
        return _METHODS[code]
    if 0x20 <= code <= 0x2F:
        return f"CVM {code:02X} (reserved for use by the individual payment systems)"
    if 0x30 <= code <= 0x3E:
        return f"CVM {code:02X} (reserved for use by the issuer)"
    if code == 0x3F:
        return "CVM 3F (not available for use)"
    return f"CVM {code:02X} (RFU)"


def condition_name(code: int) -> str:
    """Name of CVM condition code ``code`` (CV rule byte 2)."""
    if code in _CONDITIONS:
        return _CONDITIONS[code]
    if code >= 0x80:
        return f"condition {code:02X} (reserved for use by the individual payment systems)"
    return f"condition {code:02X} (RFU)"


@dataclass(frozen=True)
class CvRule:
    """One CV rule: the CVM, its condition and the "apply next" bit."""

    method: int
    condition: int
    apply_next_if_unsuccessful: bool

    @property
    def method_name(self) -> str:
        return method_name(self.method)

    @property
    def condition_name(self) -> str:
        return condition_name(self.condition)

    def describe(self) -> str:
        fallback = "apply next rule if unsuccessful" if self.apply_next_if_unsuccessful else "fail if unsuccessful"
        return f"{self.method_name}, {self.condition_name}; {fallback}"


@dataclass(frozen=True)
class CvmList:
    """A decoded CVM list; ``x`` and ``y`` are amounts in the application currency's minor unit."""

    x: int
    y: int
    rules: tuple[CvRule, ...]

    def describe(self, amount: Callable[[int], str] = str) -> str:
        """One line; ``amount`` formats X and Y (e.g. with the application currency)."""
        parts = [f"X = {amount(self.x)}, Y = {amount(self.y)}"]
        parts.extend(f"rule {index}: {rule.describe()}" for index, rule in enumerate(self.rules, 1))
        if not self.rules:
            parts.append("no CV rules")
        return "; ".join(parts)


def parse_cvm_list(value: bytes) -> CvmList:
    """Decode a CVM list; at least X and Y, then whole 2-byte rules."""
    if len(value) < 8:
        raise DecodeError(f"needs amounts X and Y (8 bytes), got {len(value)} bytes", 0, what="CVM list")
    if len(value) % 2:
        raise DecodeError("CV rules are 2 bytes each; the list ends in half a rule", len(value) - 1, what="CVM list")
    rules = tuple(
        CvRule(value[i] & CVM_CODE_MASK, value[i + 1], bool(value[i] & APPLY_NEXT_IF_UNSUCCESSFUL))
        for i in range(8, len(value), 2)
    )
    return CvmList(int.from_bytes(value[0:4], "big"), int.from_bytes(value[4:8], "big"), rules)


_RESULTS = {0x00: "unknown", 0x01: "failed", 0x02: "successful"}


@dataclass(frozen=True)
class CvmResults:
    """CVM Results, tag 9F34: the CVM performed, its condition and the result."""

    method: int
    condition: int
    result: int
    apply_next_if_unsuccessful: bool

    def describe(self) -> str:
        performed = "no CVM performed" if self.method == 0x3F else method_name(self.method)
        result = _RESULTS.get(self.result, f"result {self.result:02X} (RFU)")
        return f"{performed}, {condition_name(self.condition)}, result {result}"


def parse_cvm_results(value: bytes) -> CvmResults:
    require_length(value, 3, "CVM Results")
    return CvmResults(value[0] & CVM_CODE_MASK, value[1], value[2], bool(value[0] & APPLY_NEXT_IF_UNSUCCESSFUL))
