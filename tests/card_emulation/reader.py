"""A minimal EMV reader for the tests: drives a card and verifies its answers.

Written against the EMV books with the protocol package's crypto, independent of
the card's code: it parses the card's answers itself, rebuilds the terminal data
from its own transaction, and verifies certificates, signatures and the ARQC
(recomputed from the issuer master key in the key store).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from card_emulation.interface import ApduCard
from protocol import tlv
from protocol.crypto import oda
from protocol.crypto.cryptogram import verify_ac
from protocol.crypto.cvn import Cvn, ac_input, build_terminal_data
from protocol.crypto.primitives import RsaPublicKey
from protocol.dol import build_dol_data, parse_dol
from protocol.keystore import KeyStore

PPSE = b"2PAY.SYS.DDF01"


class CardAnswered(Exception):
    def __init__(self, sw: int) -> None:
        self.sw = sw
        super().__init__(f"{sw:04X}")


def apdu(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = 0) -> bytes:
    out = bytes([cla, ins, p1, p2])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        out += bytes([le])
    return out


@dataclass
class Transaction:
    amount: bytes = bytes.fromhex("000000012345")
    other: bytes = bytes(6)
    country: bytes = bytes.fromhex("0410")
    tvr: bytes = bytes(5)
    currency: bytes = bytes.fromhex("0410")
    date: bytes = bytes.fromhex("250615")
    type: bytes = b"\x00"
    un: bytes = bytes.fromhex("A1B2C3D4")

    def values(self) -> dict[int, bytes]:
        return {
            0x9F02: self.amount, 0x9F03: self.other, 0x9F1A: self.country, 0x95: self.tvr,
            0x5F2A: self.currency, 0x9A: self.date, 0x9C: self.type, 0x9F37: self.un,
            0x9F66: bytes.fromhex("36000000"), 0x9F35: b"\x22", 0x9F34: bytes.fromhex("1F0302"),
        }  # fmt: skip


@dataclass
class TapResult:
    aid: bytes
    aip: bytes = b""
    afl: bytes = b""
    records: dict[int, bytes] = field(default_factory=dict)
    oda_checks: list[str] = field(default_factory=list)
    cid: int = 0
    atc: int = 0
    ac: bytes = b""
    iad: bytes = b""
    cda: bool = False


class Reader:
    """Drives ``card`` (an ApduCard) or, with ``transmit``, any transport."""

    def __init__(self, card: ApduCard | None = None, *, transmit: Callable[[bytes], bytes] | None = None) -> None:
        if transmit is None:
            assert card is not None
            transmit = card.process
        self.transmit = transmit
        self.log: list[tuple[bytes, bytes]] = []

    def send(self, command: bytes) -> tuple[bytes, int]:
        response = self.transmit(command)
        self.log.append((command, response))
        assert len(response) >= 2, f"no answer to {command.hex()}"
        return response[:-2], int.from_bytes(response[-2:], "big")

    def ok(self, command: bytes) -> bytes:
        data, sw = self.send(command)
        if sw != 0x9000:
            raise CardAnswered(sw)
        return data

    # ---------------------------------------------------------------- steps

    def applications(self) -> list[tuple[int, bytes]]:
        fci = tlv.decode_one(self.ok(apdu(0x00, 0xA4, 0x04, 0x00, PPSE)))
        entries = [t for t in tlv.iter_all([fci]) if t.tag == 0x61]
        apps = []
        for entry in entries:
            aid = entry.find(0x4F)
            prio = entry.find(0x87)
            assert aid is not None and prio is not None
            apps.append((prio.value[0], aid.value))
        return sorted(apps)

    def select(self, aid: bytes) -> tlv.Tlv:
        return tlv.decode_one(self.ok(apdu(0x00, 0xA4, 0x04, 0x00, aid)))

    def tap(self, aid: bytes, txn: Transaction, store: KeyStore, *, cda: bool | None = None) -> TapResult:
        result = TapResult(aid)
        fci = self.select(aid)
        pdol = fci.find(0x9F38)
        values = txn.values()
        pdol_data = build_dol_data(parse_dol(pdol.value), values) if pdol else b""
        gpo = tlv.decode_one(self.ok(apdu(0x80, 0xA8, 0x00, 0x00, tlv.encode(0x83, pdol_data))))
        if gpo.tag == 0x80:
            result.aip, result.afl = gpo.value[:2], gpo.value[2:]
        else:
            result.aip, result.afl = gpo.find(0x82).value, gpo.find(0x94).value  # type: ignore[union-attr]
        signed: list[tuple[int, bytes]] = []
        for i in range(0, len(result.afl), 4):
            sfi, first, last, count = result.afl[i] >> 3, result.afl[i + 1], result.afl[i + 2], result.afl[i + 3]
            for n in range(first, last + 1):
                record = self.ok(apdu(0x00, 0xB2, n, (sfi << 3) | 4))
                template = tlv.decode_one(record)
                assert template.tag == 0x70
                result.records.update(tlv.flatten(template.children))
                if n - first < count:
                    signed.append((sfi, record))
        rec = result.records
        pan = rec[0x5A].hex().upper().rstrip("F")
        psn = rec[0x5F34].hex() if 0x5F34 in rec else None
        today = datetime.date(2026, 1, 1)
        icc_key: RsaPublicKey | None = None
        if 0x8F in rec:
            ca = store.ca_key(aid[:5], rec[0x8F][0])
            assert ca is not None, "simulator CA key missing from the key store"
            issuer = oda.recover_issuer_certificate(
                ca.public_key, rec[0x90], remainder=rec.get(0x92, b""), exponent=rec[0x9F32], pan=pan, today=today
            )
            result.oda_checks += issuer.checks
            static = oda.static_data_to_authenticate(signed, rec.get(0x9F4A), result.aip)
            if 0x93 in rec:
                result.oda_checks += oda.verify_signed_static_data(issuer.public_key, rec[0x93], static_data=static).checks
            if 0x9F46 in rec:
                icc = oda.recover_icc_certificate(
                    issuer.public_key, rec[0x9F46], remainder=rec.get(0x9F48, b""), exponent=rec[0x9F47],
                    static_data=static, pan=pan, today=today,
                )  # fmt: skip
                result.oda_checks += icc.checks
                icc_key = icc.public_key
        if result.aip[0] & 0x20 and icc_key is not None:
            ddol = rec.get(0x9F49, bytes.fromhex("9F3704"))
            ddol_data = build_dol_data(parse_dol(ddol), values)
            ia = tlv.decode_one(self.ok(apdu(0x00, 0x88, 0x00, 0x00, ddol_data)))
            sdad = ia.value if ia.tag == 0x80 else ia.find(0x9F4B).value  # type: ignore[union-attr]
            result.oda_checks += oda.verify_dynamic_data_dda(icc_key, sdad, ddol_data=ddol_data).checks
        want_cda = bool(result.aip[0] & 0x01) if cda is None else cda
        cdol1_data = build_dol_data(parse_dol(rec[0x8C]), values)
        p1 = 0x80 | (0x10 if want_cda else 0)
        answer = tlv.decode_one(self.ok(apdu(0x80, 0xAE, p1, 0x00, cdol1_data)))
        if answer.tag == 0x80:
            v = answer.value
            result.cid, result.atc, result.ac, result.iad = v[0], int.from_bytes(v[1:3], "big"), v[3:11], v[11:]
        else:
            fields = {c.tag: c.value for c in answer.children}
            result.cid = fields[0x9F27][0]
            result.atc = int.from_bytes(fields[0x9F36], "big")
            result.iad = fields[0x9F10]
            if 0x9F4B in fields:
                assert icc_key is not None
                sig = oda.verify_dynamic_data_cda(
                    icc_key, fields[0x9F4B], unpredictable_number=txn.un, pdol_data=pdol_data,
                    cdol1_data=cdol1_data, generate_ac_response=answer.value,
                )  # fmt: skip
                result.oda_checks += sig.checks
                result.ac, result.cda = sig.application_cryptogram, True
            else:
                result.ac = fields[0x9F26]
        entry = store.issuer_keys_for(aid, pan)
        assert entry is not None, "issuer keys missing from the key store"
        cvn = Cvn.parse(entry.cryptogram)
        atc = result.atc.to_bytes(2, "big")
        terminal = build_terminal_data(txn.values())  # the verifier's own values, not the card's echo
        data = ac_input(cvn, terminal_data=terminal, aip=result.aip, atc=atc, iad=result.iad)
        verify_ac(cvn, entry.keys.ac, pan, psn, atc=atc, un=txn.un, ac_input=data, cryptogram=result.ac)
        return result
