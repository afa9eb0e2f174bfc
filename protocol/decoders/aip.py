"""Application Interchange Profile, tag 82 (EMV 4.4 Book 3 Annex C1, Table 41).

Byte 1 says which offline data authentication methods and risk management
functions the card supports. Byte 2 is used by the contactless kernels (EMV
Contactless Book C-2 Annex A.1.16): EMV mode, mobile phone, contactless transaction
and relay resistance protocol support. The AIP is what an "AIP downgrade" attack
tampers with: CDA and DDA support live in byte 1, bits 1 and 6.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.decoders.base import Flag, require_length, set_flags, unknown_bits

XDA = Flag(1, 0x80, "XDA supported")
SDA = Flag(1, 0x40, "SDA supported")
DDA = Flag(1, 0x20, "DDA supported")
CARDHOLDER_VERIFICATION = Flag(1, 0x10, "Cardholder verification supported")
TERMINAL_RISK_MANAGEMENT = Flag(1, 0x08, "Terminal risk management to be performed")
ISSUER_AUTHENTICATION = Flag(1, 0x04, "Issuer authentication supported")
ON_DEVICE_CVM = Flag(1, 0x02, "On-device cardholder verification supported (contactless)")
CDA = Flag(1, 0x01, "CDA supported")
EMV_MODE = Flag(2, 0x80, "EMV mode supported (contactless)")
MOBILE_PHONE = Flag(2, 0x40, "Mobile phone (contactless)")
CONTACTLESS = Flag(2, 0x20, "Contactless transaction (contactless)")
RELAY_RESISTANCE = Flag(2, 0x01, "Relay resistance protocol supported (contactless)")

FLAGS = (
    XDA, SDA, DDA, CARDHOLDER_VERIFICATION, TERMINAL_RISK_MANAGEMENT, ISSUER_AUTHENTICATION,
    ON_DEVICE_CVM, CDA, EMV_MODE, MOBILE_PHONE, CONTACTLESS, RELAY_RESISTANCE,
)


@dataclass(frozen=True)
class Aip:
    """A decoded AIP; ``raw`` is the two value bytes."""

    raw: bytes

    def _has(self, flag: Flag) -> bool:
        return flag.is_set(self.raw)

    @property
    def sda(self) -> bool:
        return self._has(SDA)

    @property
    def dda(self) -> bool:
        return self._has(DDA)

    @property
    def cda(self) -> bool:
        return self._has(CDA)

    @property
    def xda(self) -> bool:
        return self._has(XDA)

    @property
    def cardholder_verification(self) -> bool:
        return self._has(CARDHOLDER_VERIFICATION)

    @property
    def terminal_risk_management(self) -> bool:
        return self._has(TERMINAL_RISK_MANAGEMENT)

    @property
    def issuer_authentication(self) -> bool:
        return self._has(ISSUER_AUTHENTICATION)

    @property
    def on_device_cvm(self) -> bool:
        return self._has(ON_DEVICE_CVM)

    @property
    def emv_mode(self) -> bool:
        return self._has(EMV_MODE)

    @property
    def relay_resistance(self) -> bool:
        return self._has(RELAY_RESISTANCE)

    @property
    def flags(self) -> tuple[str, ...]:
        """Texts of the set bits, RFU bits included."""
        return set_flags(self.raw, FLAGS) + unknown_bits(self.raw, FLAGS)

    def describe(self) -> str:
        return "; ".join(self.flags) or "no capability bits set"


def parse_aip(value: bytes) -> Aip:
    """Decode an AIP; raises :class:`~protocol.decoders.base.DecodeError` unless 2 bytes."""
    require_length(value, 2, "AIP")
    return Aip(bytes(value))
