"""The phone's terminal configuration: what it tells the card besides T and the UN.

The card asks for terminal data in its PDOL, CDOL1 and DDOL (EMV 4.4 Book 3
§5.4). The data elements **bound to T** (9F02, 5F2A, 9A, 9C) and the
Unpredictable Number 9F37 come from the transaction and the challenge
(:mod:`protocol.tap.transaction`, :mod:`protocol.tap.challenge`); everything
else comes from here, as a payment terminal's configuration would provide it
(Book 4 Annex A for terminal type and capabilities, Contactless Book A §5.7 for
the TTQ). The verifier keeps these values as the phone sent them and replaces
only the T-bound ones and the UN (docs/tap-model.md).

The phone is modelled as an **unattended, cardholder-operated, online-only**
terminal (terminal type ``34``) that reads contactless cards only, performs no
cardholder verification of its own (the user confirmed T on the phone), and
supports SDA, DDA and CDA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.errors import UsageError

#: Application Identifiers the phone knows (EMV 4.4 Book 1 §12.3.1): the card's
#: AID (DF name) must begin with one of them (partial selection allowed).
KNOWN_AIDS: tuple[bytes, ...] = tuple(
    bytes.fromhex(aid)
    for aid in (
        "A0000000031010",  # Visa credit/debit
        "A0000000032010",  # Visa Electron
        "A0000000032020",  # V PAY
        "A0000000038002",  # Visa DPA (CAP)
        "A0000000041010",  # Mastercard credit/debit
        "A0000000043060",  # Maestro
        "A0000000048002",  # Mastercard CAP
        "A00000002501",  # American Express
        "A0000000651010",  # JCB
        "A000000333010101",  # UnionPay debit
        "A000000333010102",  # UnionPay credit
        "A0000001523010",  # Discover / Diners
        "F054525553544F4E4501",  # TrustOne simulator model application (proprietary RID F0...)
    )
)

#: Default Dynamic Data Authentication Data Object List when the card has no 9F49
#: (Book 3 §5.4; Book 2 §6.5.1: it must contain the Unpredictable Number).
DEFAULT_DDOL = bytes.fromhex("9F3704")

#: Tags the configuration may never set: they come from T or the challenge.
RESERVED_TAGS = frozenset({0x9F02, 0x5F2A, 0x9A, 0x9C, 0x9F37})


def _ans(text: str, length: int | None = None) -> bytes:
    raw = text.encode("ascii")
    return raw.ljust(length, b" ")[:length] if length is not None else raw


@dataclass(frozen=True)
class TerminalConfig:
    """Terminal data the phone sends the card, by EMV tag meaning (all values as bytes).

    ``known_aids`` and ``default_ddol`` drive application selection and DDA;
    ``extra_data`` adds or overrides data elements by tag (never the T-bound ones).
    ``relay_grace_us`` is the tolerance of the phone's own relay-resistance time
    check (Book C-2 "Maximum Relay Resistance Grace Period"); it is informative,
    the verifier's policy decides.
    """

    country_code: bytes = bytes.fromhex("0410")  # 9F1A Terminal Country Code: Korea
    terminal_type: bytes = bytes.fromhex("34")  # 9F35: unattended, cardholder-operated, online only
    capabilities: bytes = bytes.fromhex("0008C8")  # 9F33: no CVM required; SDA, DDA, CDA
    additional_capabilities: bytes = bytes.fromhex("6E00001001")  # 9F40: goods, services, inquiry, transfer, payment
    ttq: bytes = bytes.fromhex("21800000")  # 9F66: EMV mode, ODA for online; online cryptogram required
    tvr: bytes = bytes(5)  # 95 initial Terminal Verification Results
    amount_other: bytes = bytes(6)  # 9F03 Amount, Other: none
    cvm_results: bytes = bytes.fromhex("1F0302")  # 9F34: "No CVM required", successful
    pos_entry_mode: bytes = bytes.fromhex("07")  # 9F39: contactless chip
    merchant_name: bytes = _ans("TRUSTONE TAP SIMULATOR SEOUL KR")  # 9F4E Merchant Name and Location
    merchant_category: bytes = bytes.fromhex("6012")  # 9F15: financial institution
    merchant_id: bytes = _ans("TRUSTONE-SIM", 15)  # 9F16
    terminal_id: bytes = _ans("PHONE001", 8)  # 9F1C
    ifd_serial: bytes = _ans("TRUSTONE", 8)  # 9F1E
    merchant_custom_data: bytes = bytes(20)  # 9F7C (Book C-2 Merchant Custom Data)
    terminal_app_version: bytes = bytes.fromhex("0002")  # 9F09
    currency_exponent: bytes = bytes.fromhex("00")  # 5F36: KRW has no minor unit
    data_authentication_code: bytes = bytes(2)  # 9F45 until SDA recovers the card's own
    icc_dynamic_number: bytes = bytes(8)  # 9F4C until DDA recovers the card's own
    known_aids: tuple[bytes, ...] = KNOWN_AIDS
    default_ddol: bytes = DEFAULT_DDOL
    extra_data: tuple[tuple[int, bytes], ...] = field(default=())
    relay_grace_us: int = 1000

    def __post_init__(self) -> None:
        for name in (
            "country_code", "terminal_type", "capabilities", "additional_capabilities", "ttq", "tvr",
            "amount_other", "cvm_results", "pos_entry_mode", "merchant_name", "merchant_category", "merchant_id",
            "terminal_id", "ifd_serial", "merchant_custom_data", "terminal_app_version", "currency_exponent",
            "data_authentication_code", "icc_dynamic_number", "default_ddol",
        ):  # fmt: skip
            if not isinstance(getattr(self, name), bytes):
                raise UsageError(f"TerminalConfig.{name} must be bytes")
        if len(self.capabilities) != 3 or len(self.tvr) != 5 or len(self.ttq) != 4:
            raise UsageError("9F33 is 3 bytes, 95 is 5 bytes and 9F66 is 4 bytes")
        if not self.known_aids or not all(isinstance(a, bytes) and 5 <= len(a) <= 16 for a in self.known_aids):
            raise UsageError("known_aids must be a non-empty tuple of 5..16-byte AIDs")
        for tag, value in self.extra_data:
            if tag in RESERVED_TAGS:
                raise UsageError(f"tag {tag:X} is bound to the transaction or the challenge, not configurable")
            if not isinstance(value, bytes):
                raise UsageError(f"extra_data value for {tag:X} must be bytes")
        if self.relay_grace_us < 0:
            raise UsageError("relay_grace_us must not be negative")

    # ------------------------------------------------------------------ capabilities (Book 4 Annex A2)

    @property
    def supports_sda(self) -> bool:
        return bool(self.capabilities[2] & 0x80)

    @property
    def supports_dda(self) -> bool:
        return bool(self.capabilities[2] & 0x40)

    @property
    def supports_cda(self) -> bool:
        return bool(self.capabilities[2] & 0x08)

    def supports(self, aid: bytes) -> bool:
        """Whether the card's ``aid`` begins with one of the known AIDs (Book 1 §12.3.1)."""
        return any(bytes(aid).startswith(known) for known in self.known_aids)

    # ------------------------------------------------------------------ data elements

    def data_elements(self) -> dict[int, bytes]:
        """The terminal data by tag, before T, the UN and per-transaction values are added."""
        values = {
            0x9F1A: self.country_code,
            0x9F35: self.terminal_type,
            0x9F33: self.capabilities,
            0x9F40: self.additional_capabilities,
            0x9F66: self.ttq,
            0x95: self.tvr,
            0x9F03: self.amount_other,
            0x9F34: self.cvm_results,
            0x9F39: self.pos_entry_mode,
            0x9F4E: self.merchant_name,
            0x9F15: self.merchant_category,
            0x9F16: self.merchant_id,
            0x9F1C: self.terminal_id,
            0x9F1E: self.ifd_serial,
            0x9F7C: self.merchant_custom_data,
            0x9F09: self.terminal_app_version,
            0x5F36: self.currency_exponent,
            0x9F45: self.data_authentication_code,
            0x9F4C: self.icc_dynamic_number,
        }
        values.update(dict(self.extra_data))
        return values
