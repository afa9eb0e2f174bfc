"""Usage and capability bitmaps: AUC (9F07), Terminal Capabilities (9F33), Terminal
Type (9F35) and Application Priority Indicator (87).

AUC: EMV 4.4 Book 3 Annex C2, Table 42. Terminal Capabilities: Book 4 Annex A2,
Tables 25-27. Terminal Type: Book 4 Annex A1, Table 24. Application Priority
Indicator: Book 1 §12.2.3, Table 13.
"""

from __future__ import annotations

from protocol.decoders.base import Flag, bcd_digits, require_length, set_flags, unknown_bits

AUC_FLAGS = (
    Flag(1, 0x80, "Valid for domestic cash transactions"),
    Flag(1, 0x40, "Valid for international cash transactions"),
    Flag(1, 0x20, "Valid for domestic goods"),
    Flag(1, 0x10, "Valid for international goods"),
    Flag(1, 0x08, "Valid for domestic services"),
    Flag(1, 0x04, "Valid for international services"),
    Flag(1, 0x02, "Valid at ATMs"),
    Flag(1, 0x01, "Valid at terminals other than ATMs"),
    Flag(2, 0x80, "Domestic cashback allowed"),
    Flag(2, 0x40, "International cashback allowed"),
)

TERMINAL_CAPABILITY_FLAGS = (
    Flag(1, 0x80, "Manual key entry"),
    Flag(1, 0x40, "Magnetic stripe"),
    Flag(1, 0x20, "IC with contacts"),
    Flag(2, 0x80, "Plaintext PIN for ICC verification"),
    Flag(2, 0x40, "Enciphered PIN for online verification"),
    Flag(2, 0x20, "Signature (paper)"),
    Flag(2, 0x10, "Enciphered PIN for offline verification"),
    Flag(2, 0x08, "No CVM required"),
    Flag(2, 0x04, "Online biometric"),
    Flag(2, 0x02, "Offline biometric"),
    Flag(2, 0x01, "Enciphered PIN for offline verification (ECC)"),
    Flag(3, 0x80, "SDA"),
    Flag(3, 0x40, "DDA"),
    Flag(3, 0x20, "Card capture"),
    Flag(3, 0x08, "CDA"),
    Flag(3, 0x04, "XDA"),
)

_OPERATOR = {"1": "financial institution", "2": "merchant", "3": "cardholder"}
_ENVIRONMENT = {
    "1": "attended, online only", "2": "attended, offline with online capability", "3": "attended, offline only",
    "4": "unattended, online only", "5": "unattended, offline with online capability", "6": "unattended, offline only",
}


def _describe_flags(value: bytes, flags: tuple[Flag, ...]) -> str:
    return "; ".join(set_flags(value, flags) + unknown_bits(value, flags)) or "no bits set"


def describe_auc(value: bytes) -> str:
    require_length(value, 2, "Application Usage Control")
    return _describe_flags(value, AUC_FLAGS)


def describe_terminal_capabilities(value: bytes) -> str:
    require_length(value, 3, "Terminal Capabilities")
    return _describe_flags(value, TERMINAL_CAPABILITY_FLAGS)


def describe_terminal_type(value: bytes) -> str:
    require_length(value, 1, "Terminal Type")
    digits = bcd_digits(value, "Terminal Type")
    operator = _OPERATOR.get(digits[0], "unknown operator")
    environment = _ENVIRONMENT.get(digits[1], "unknown environment")
    return f"{digits}: operated by {operator}, {environment}"


def describe_priority(value: bytes) -> str:
    require_length(value, 1, "Application Priority Indicator")
    order = value[0] & 0x0F
    text = "no priority assigned" if order == 0 else f"priority {order}"
    if value[0] & 0x80:
        text += "; cardholder confirmation required"
    return text
