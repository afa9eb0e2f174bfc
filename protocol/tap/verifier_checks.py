"""The verifier's checks after offline data authentication (docs/tap-model.md checks 7-10).

* **Rebuilding the card's input** (docs/tap-model.md "Binding the card's answers
  to T"): the phone's CDOL1 data are cut by the card's CDOL1 (``8C``, EMV 4.4
  Book 3 §5.4); the values bound to T (9F02, 5F2A, 9A, 9C —
  :meth:`~protocol.tap.transaction.Transaction.bound_terminal_data`) and the UN
  (9F37) are *replaced* by the verifier's own, fitted by the §5.4 rules, and
  the data re-encoded. The same for the DDOL data of DDA. Every other value
  (TVR, country, terminal type …) is kept as the phone sent it.
* **transaction binding**: the replaced values must equal what the phone sent;
  otherwise the differing data element is named with both values.
* **ARQC** (Book 2 §8.1, Annex A1.2): recomputed over the verifier's rebuilt data
  with the issuer master key from the key store; *not checkable* when the key
  store has no issuer keys for this AID and PAN. The recomputed value is shown
  only when it matches (a rejection must not teach a forger the right cryptogram).
* **ATC increasing**: the ATC is strictly above the last one accepted for the card.
* **policy** (:mod:`protocol.tap.policy`).
* **ARPC** on accept (Book 2 §8.2): method 1 with ARC ``3030`` ("00", approved) or
  method 2 / AES with CSU ``00800000`` (model: byte 2 bit 8 "approved").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from protocol import dictionary, tlv
from protocol.crypto.cryptogram import AcComputation, compute_ac, compute_arpc
from protocol.crypto.cvn import TERMINAL_DATA_TAGS, Cvn, ac_input
from protocol.crypto.keys import kcv
from protocol.crypto.oda import CdaSignature
from protocol.dol import DolEntry, data_length, fit_value
from protocol.errors import ProtocolError
from protocol.keystore import IssuerKeyEntry, KeyStore
from protocol.tap.assertion import RelayResistanceEvidence
from protocol.tap.challenge import Challenge
from protocol.tap.events import CheckStatus
from protocol.tap.policy import OdaLevel, Policy
from protocol.tap.verifier_card import CardFacts
from protocol.tap.tlv_view import short_hex
from protocol.tap.verifier_oda import OdaResult
from protocol.tap.verifier_result import ARQC, ATC_INCREASING, POLICY, TRANSACTION_BINDING, Recorder

ARC_APPROVED = b"00"  # Authorisation Response Code "00" (Book 4 Annex A, tag 8A)
CSU_APPROVED = bytes.fromhex("00800000")  # Card Status Update, model: "approved" (Book 2 §8.2.2)
BOUND_NAMES = {0x9F02: "amount", 0x5F2A: "currency", 0x9A: "date", 0x9C: "type", 0x9F37: "unpredictable number"}
ARQC_TYPE = 0x80


@dataclass(frozen=True)
class Difference:
    """One T-bound data element that the phone sent the card with another value."""

    dol: str
    tag: int
    sent: bytes
    expected: bytes

    def describe(self) -> str:
        return (
            f"{BOUND_NAMES.get(self.tag, dictionary.name(self.tag))} {tlv.tag_hex(self.tag)} sent to the card in "
            f"{self.dol} was {self.sent.hex().upper()}, the transaction says {self.expected.hex().upper()}"
        )


@dataclass(frozen=True)
class Rebuilt:
    """DOL data rebuilt by the verifier, the values by tag and the differences found."""

    data: bytes
    values: Mapping[int, bytes]
    differences: tuple[Difference, ...]


def own_values(challenge: Challenge) -> dict[int, bytes]:
    """The verifier's T-bound values and UN, by tag."""
    return {**challenge.transaction.bound_terminal_data(), 0x9F37: challenge.un}


def rebuild(entries: tuple[DolEntry, ...], sent: bytes, own: Mapping[int, bytes], dol: str) -> Rebuilt | None:
    """Replace the T-bound values in ``sent`` (Book 3 §5.4 data); ``None`` if it does not fit the DOL."""
    if len(sent) != data_length(entries):
        return None
    out, values, diffs, offset = bytearray(), {}, [], 0
    for entry in entries:
        chunk = sent[offset : offset + entry.length]
        offset += entry.length
        if entry.tag in own and not tlv.is_constructed(entry.tag):
            mine = fit_value(own[entry.tag], entry.length, dictionary.format_of(entry.tag))
            if chunk != mine:
                diffs.append(Difference(dol, entry.tag, chunk, mine))
            chunk = mine
        out += chunk
        values.setdefault(entry.tag, chunk)
    return Rebuilt(bytes(out), values, tuple(diffs))


def check_binding(
    facts: CardFacts, rec: Recorder, cdol1: Rebuilt | None, ddol: Rebuilt | None, sent_cdol1: bytes, oda: OdaLevel
) -> None:
    """Check 7: the T-bound values the phone sent the card equal the verifier's own."""
    if cdol1 is None:
        rec.failed(TRANSACTION_BINDING, f"the phone's CDOL1 data are {len(sent_cdol1)} bytes but the card's CDOL1 "
                   f"(8C) asks for {data_length(facts.cdol1)}")  # fmt: skip
        return
    asked = {entry.tag for entry in facts.cdol1}
    missing = [t for t in BOUND_NAMES if t not in asked]
    if missing:
        names = ", ".join(f"{BOUND_NAMES[t]} {tlv.tag_hex(t)}" for t in missing)
        rec.failed(TRANSACTION_BINDING, f"the card's CDOL1 does not ask for the {names}: its cryptogram cannot "
                   "cover them")  # fmt: skip
        return
    diffs = list(cdol1.differences)
    if oda is OdaLevel.DDA:
        if ddol is None:
            rec.failed(TRANSACTION_BINDING, "the phone's DDOL data do not fit the card's DDOL")
            return
        diffs += ddol.differences
    if diffs:
        rec.failed(TRANSACTION_BINDING, "; ".join(d.describe() for d in diffs))
        return
    where = "CDOL1 and DDOL" if oda is OdaLevel.DDA else "CDOL1"
    rec.passed(TRANSACTION_BINDING, f"the amount, currency, date and type of T and the UN the phone sent the card in "
               f"{where} equal the verifier's own ({', '.join(tlv.tag_hex(t) for t in BOUND_NAMES)})")  # fmt: skip


def terminal_data(values: Mapping[int, bytes]) -> bytes:
    """9F02 ‖ 9F03 ‖ 9F1A ‖ 95 ‖ 5F2A ‖ 9A ‖ 9C ‖ 9F37 from the CDOL values (absent: zeros), as the card does."""
    return b"".join(values.get(tag, b"")[-length:].rjust(length, b"\x00") for tag, length in TERMINAL_DATA_TAGS)


@dataclass(frozen=True)
class ArqcResult:
    status: CheckStatus
    entry: IssuerKeyEntry | None = None
    cvn: Cvn | None = None
    computation: AcComputation | None = None
    un: bytes | None = None


def check_arqc(
    facts: CardFacts, rec: Recorder, keystore: KeyStore, cdol1: Rebuilt | None, cda: CdaSignature | None
) -> ArqcResult:
    """Check 8: recompute the ARQC over the verifier's own CDOL1 data."""
    answer = facts.generate_ac
    if answer.cid & 0xC0 != ARQC_TYPE:
        kind = {0x00: "an AAC", 0x40: "a TC"}.get(answer.cid & 0xC0, "an RFU cryptogram type")
        rec.failed(ARQC, f"the card returned {kind} (CID {answer.cid:02X}), not an ARQC")
        return ArqcResult(CheckStatus.FAILED)
    entry = keystore.issuer_keys_for(facts.aid, facts.pan)
    if entry is None:
        rec.check(ARQC, CheckStatus.NOT_CHECKABLE, f"the verifier holds no issuer master keys for AID "
                  f"{facts.aid.hex().upper()} and PAN {facts.masked_pan}: the cryptogram cannot be "
                  "recomputed")  # fmt: skip
        return ArqcResult(CheckStatus.NOT_CHECKABLE)
    try:
        cvn = Cvn.parse(entry.cryptogram)
    except ProtocolError:
        rec.check(ARQC, CheckStatus.NOT_CHECKABLE, f"the key store names an unknown cryptogram version "
                  f"{entry.cryptogram!r} for this card")  # fmt: skip
        return ArqcResult(CheckStatus.NOT_CHECKABLE, entry)
    presented = answer.ac if answer.ac is not None else (cda.application_cryptogram if cda is not None else None)
    if presented is None:
        rec.failed(ARQC, "the cryptogram travels only inside the CDA signature, which could not be verified")
        return ArqcResult(CheckStatus.FAILED, entry, cvn)
    if cdol1 is None:
        rec.failed(ARQC, "the CDOL1 data could not be rebuilt by the verifier (see transaction binding)")
        return ArqcResult(CheckStatus.FAILED, entry, cvn)
    terminal = terminal_data(cdol1.values)
    un = terminal[-4:]
    try:
        data = ac_input(cvn, terminal_data=terminal, aip=facts.aip, atc=answer.atc, iad=answer.iad)
        computation = compute_ac(
            cvn, entry.keys.ac, facts.pan, facts.psn_or_default, atc=answer.atc, un=un, ac_input=data
        )
    except ProtocolError as exc:
        rec.failed(ARQC, f"the cryptogram input cannot be built: {exc}")
        return ArqcResult(CheckStatus.FAILED, entry, cvn)
    matches = True
    try:
        computation.verify(presented, check=ARQC)
    except ProtocolError:
        matches = False
    rec.crypto(
        f"ARQC recomputed ({cvn.profile.label}) over the verifier's own CDOL1 data",
        (("issuer master key AC", f"KCV {kcv(entry.keys.ac, aes=cvn.profile.is_aes)}"),
         ("ICC master key AC", f"KCV {computation.icc_master_key_kcv}"),
         ("session key", f"KCV {computation.session_key_kcv}"),
         ("cryptogram input", computation.mac_input.hex().upper()),
         ("ATC (9F36)", answer.atc.hex().upper()), ("card's ARQC", presented.hex().upper())),
        (("recomputed ARQC", computation.cryptogram.hex().upper() if matches else "(withheld: it does not match)"),),
        "EMV 4.4 Book 2 §8.1, Annex A1.2-A1.4",
    )  # fmt: skip
    if not matches:
        rec.failed(ARQC, f"{presented.hex().upper()} does not match the cryptogram recomputed ({cvn.profile.label}) "
                   "from the verifier's own transaction data and UN")  # fmt: skip
        return ArqcResult(CheckStatus.FAILED, entry, cvn, computation, un)
    rec.passed(ARQC, f"{presented.hex().upper()} recomputed with the issuer's key ({cvn.profile.label}) over the "
               "verifier's own CDOL1 data: the genuine card computed it for this T and this UN")  # fmt: skip
    return ArqcResult(CheckStatus.PASSED, entry, cvn, computation, un)


def check_atc(facts: CardFacts, rec: Recorder, last_atc: int | None, *, first_use: bool = False) -> bool:
    """Check 9 (before the atomic update): the ATC is strictly above the last one accepted."""
    atc = facts.generate_ac.atc_value
    if last_atc is None:
        if first_use:
            rec.passed(ATC_INCREASING, f"ATC {atc:04X}: the first seen for this card")
            return True
        rec.skipped(ATC_INCREASING, "no ATC is on record for this card (it is not enrolled)")
        return False
    if atc <= last_atc:
        rec.failed(ATC_INCREASING, f"ATC {atc:04X} is not above the last ATC accepted for this card ({last_atc:04X}): "
                   "a replayed answer or a rolled-back counter")  # fmt: skip
        return False
    rec.passed(ATC_INCREASING, f"ATC {atc:04X} is above the last ATC accepted for this card ({last_atc:04X})")
    return True


def atc_lost_race(rec: Recorder, atc: int) -> None:
    rec.replace(ATC_INCREASING, CheckStatus.FAILED, f"ATC {atc:04X}: another verification of this card raised its "
                "ATC to or above this value first")  # fmt: skip


def check_policy(
    facts: CardFacts, rec: Recorder, policy: Policy, oda: OdaResult, enrolled_method: OdaLevel | None,
    relay: RelayResistanceEvidence | None,
) -> None:  # fmt: skip
    """Check 10: the policy's requirements (:mod:`protocol.tap.policy`)."""
    problems, notes = [], []
    if not policy.allows(oda.method):
        problems.append(f"{oda.method.label} is not accepted (policy '{policy.name}' accepts {policy.allowed_text})")
    else:
        notes.append(f"{oda.method.label} accepted")
    if policy.no_downgrade and enrolled_method is not None:
        if oda.method < enrolled_method:
            problems.append(f"offline data authentication was {enrolled_method.label} at enrolment and is "
                            f"{oda.method.label} now (the card's AIP {facts.aip.hex().upper()} offers "
                            f"{oda.capability.label}): a downgrade")  # fmt: skip
        else:
            notes.append(f"not weaker than at enrolment ({enrolled_method.label})")
    if policy.max_relay_us is not None:
        if relay is None:
            problems.append("the policy bounds the relay-resistance time but the phone measured none")
        elif relay.measured_us > policy.max_relay_us:
            problems.append(f"relay-resistance round trip {relay.measured_us} µs is above the bound of "
                            f"{policy.max_relay_us} µs{announced(relay)}: the tap may be relayed")  # fmt: skip
        else:
            notes.append(f"relay-resistance round trip {relay.measured_us} µs within {policy.max_relay_us} µs"
                         f"{announced(relay)}")  # fmt: skip
    if policy.cda_consistency and oda.cda is not None:
        answer = facts.generate_ac
        if oda.cda.cryptogram_information_data != bytes([answer.cid]):
            problems.append("the CID in the CDA signature differs from the GENERATE AC's")
        elif answer.ac is not None and oda.cda.application_cryptogram != answer.ac:
            problems.append("the cryptogram in the CDA signature differs from the GENERATE AC's 9F26")
        else:
            notes.append("the CDA signature's CID and cryptogram are the GENERATE AC's")
    if problems:
        rec.failed(POLICY, "; ".join(problems))
    else:
        rec.passed(POLICY, f"policy '{policy.name}': " + "; ".join(notes))


def announced(relay: RelayResistanceEvidence) -> str:
    """What the card announced in its EXCHANGE RELAY RESISTANCE DATA answer (Book C-2 §5.3, units of 100 µs)."""
    answer = relay.response
    if len(answer) != 12 or answer[:2] != b"\x80\x0a":
        return ""
    max_us, transmission_us = int.from_bytes(answer[8:10], "big") * 100, int.from_bytes(answer[10:12], "big") * 100
    return f" (the card announces at most {max_us} µs of processing and {transmission_us} µs of transmission)"


def make_arpc(facts: CardFacts, rec: Recorder, arqc: ArqcResult) -> tuple[bytes, bytes] | None:
    """The ARPC and the issuer authentication data (tag 91) for an accepted ARQC (Book 2 §8.2)."""
    if arqc.status is not CheckStatus.PASSED or arqc.entry is None or arqc.cvn is None or arqc.computation is None:
        return None
    try:
        result = compute_arpc(
            arqc.cvn, arqc.entry.keys.ac, facts.pan, facts.psn_or_default, arqc=arqc.computation.cryptogram,
            atc=facts.generate_ac.atc, un=arqc.un, arc=ARC_APPROVED, csu=CSU_APPROVED,
        )  # fmt: skip
    except ProtocolError:
        return None
    rec.crypto(
        f"ARPC ({arqc.cvn.profile.arpc_method.name.replace('_', ' ').lower()})",
        (("ARQC", arqc.computation.cryptogram.hex().upper()), (result.key_role.value, f"KCV {result.key_kcv}"),
         ("response data (ARC or CSU)", result.response_data.hex().upper())),
        (("ARPC", result.arpc.hex().upper()),
         ("issuer authentication data (91)", short_hex(result.issuer_authentication_data, 16))),
        "EMV 4.4 Book 2 §8.2",
    )  # fmt: skip
    return result.arpc, result.issuer_authentication_data
