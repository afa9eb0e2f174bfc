"""The crypto floor of one tap: the cryptographic operations no implementation of the flow can skip.

Definition (per profile, from the ODA method the tap performs and the card's CVN):

* **card** — DDA/CDA: one RSA private operation with the ICC key (the Signed
  Dynamic Application Data, INTERNAL AUTHENTICATE or CDA; CRT with precomputed
  dP, dQ, qInv); the AC session key (none for Visa CVN 10) and the cryptogram MAC
  (ISO 9797-1 MAC algorithm 3, or AES-CMAC for the AES model).
* **phone** — offline data authentication, RSA public operations (recoveries):
  SDA: issuer certificate (CA key) + Signed Static Application Data (issuer key);
  DDA/CDA: issuer certificate + ICC certificate (issuer key) + SDAD (ICC key).
* **verifier** — the same RSA recoveries again, the ICC master key derived from
  the issuer master key (one block operation with the IMK already loaded, as an
  HSM keeps it), the session key, the ARQC MAC, a constant-time compare and the
  ARPC (method 1, method 2 or AES-CMAC, as the CVN says).
* **device** — ECDSA P-256 signature of the assertion by the phone and its
  verification by the verifier (keys already loaded).

Each operation is done directly with ``cryptography`` (block ciphers, CMAC,
ECDSA) or Python's ``pow`` (raw RSA: ``cryptography`` exposes no unpadded RSA,
and ``pow`` is also what the project uses), on the real keys and the real data of
an accepted reference tap. Not in the floor, on purpose: SHA-1/SHA-256 of ODA data
and of the challenge, BER-TLV and DOL work, building events, SQLite, the
transport. They are the overhead the ratios measure. Every operation is
cross-checked against the reference tap (the floor computes the real thing).
"""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from benchmarks.workspace import Reference, Workspace
from protocol.crypto import oda
from protocol.crypto.cryptogram import compute_ac, compute_arpc
from protocol.crypto.cvn import AcMac, ArpcKey, ArpcMethod, Cvn, MasterKeyOption, SessionKeyMethod, ac_input
from protocol.crypto.primitives import RsaPrivateKey, RsaPublicKey
from protocol.decoders.aip import Aip
from protocol.dol import split_dol_data
from protocol.tap.verifier_checks import ARC_APPROVED, CSU_APPROVED, terminal_data

_ECB = modes.ECB()
_CBC0 = modes.CBC(bytes(8))
_ECDSA = ec.ECDSA(hashes.SHA256())


# --------------------------------------------------------------------------- RSA


class RsaPublicOp:
    """Raw RSA recovery of ``data`` with a public key, bytes in and out."""

    def __init__(self, label: str, key: RsaPublicKey, data: bytes) -> None:
        self.label, self.n, self.e, self.size, self.data = label, key.modulus, key.exponent, key.size_bytes, data

    def __call__(self) -> bytes:
        return pow(int.from_bytes(self.data, "big"), self.e, self.n).to_bytes(self.size, "big")


class RsaPrivateOp:
    """Raw RSA signature of ``block`` with the CRT (dP, dQ, qInv precomputed, as a chip stores them)."""

    def __init__(self, label: str, key: RsaPrivateKey, block: bytes) -> None:
        self.label, self.block = label, block
        self.p, self.q = key.p, key.q
        self.dp, self.dq = key.private_exponent % (key.p - 1), key.private_exponent % (key.q - 1)
        self.qinv = pow(key.q, -1, key.p)
        self.size = (key.modulus.bit_length() + 7) // 8

    def __call__(self) -> bytes:
        c = int.from_bytes(self.block, "big")
        m1, m2 = pow(c, self.dp, self.p), pow(c, self.dq, self.q)
        h = (self.qinv * (m1 - m2)) % self.p
        return (m2 + h * self.q).to_bytes(self.size, "big")


# --------------------------------------------------------------------------- symmetric


def _pad(data: bytes, method: int) -> bytes:
    if method == 2:
        data += b"\x80"
    elif not data:
        return bytes(8)
    return data + bytes(-len(data) % 8)


def _mac3(key: bytes, padded: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (single-DES CBC, EDE on the last block)."""
    k, k2 = key[:8], key[8:16]
    last = padded[-8:]
    if len(padded) > 8:
        chain = Cipher(TripleDES(k * 3), _CBC0).encryptor().update(padded[:-8])[-8:]
        last = (int.from_bytes(chain, "big") ^ int.from_bytes(last, "big")).to_bytes(8, "big")
    return Cipher(TripleDES(k + k2 + k), _ECB).encryptor().update(last)


def _cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


class Symmetric:
    """The card's and the verifier's symmetric work for one ARQC (and the ARPC)."""

    def __init__(self, cvn: Cvn, imk: bytes, icc_mk: bytes, pan: str, psn: str, atc: bytes, un: bytes, data: bytes):
        self.cvn, self.profile = cvn, cvn.profile
        self.icc_mk, self.atc, self.un, self.data = icc_mk, atc, un, data
        self.aes = self.profile.mk_option is MasterKeyOption.AES
        digits = pan + psn
        if self.aes:
            self.y = bytes.fromhex(digits.rjust(32, "0"))
            self.imk = Cipher(algorithms.AES(imk), _ECB).encryptor()  # loaded once, as in an HSM
        else:
            # Option A's Y (all shipped PANs have 16 digits; option B only finds another Y
            # with a SHA-1 first, the block operation is the same).
            y = int(digits[-16:].rjust(16, "0"), 16)
            self.y = ((y << 64) | (y ^ ((1 << 64) - 1))).to_bytes(16, "big")
            self.imk = Cipher(TripleDES(imk + imk[:8]), _ECB).encryptor()
        method = self.profile.ac_session_key
        if method is SessionKeyMethod.COMMON:
            r = atc + bytes(6)
        elif method is SessionKeyMethod.MASTERCARD_SKD:
            r = atc + b"\x00\x00" + un
        elif method is SessionKeyMethod.AES:
            r = atc + bytes(14)
        else:
            r = b""
        self.r = r if self.aes or not r else r[:2] + b"\xf0" + r[3:] + r[:2] + b"\x0f" + r[3:]
        if self.profile.ac_mac is AcMac.AES_CMAC:
            self.padded = data
        else:
            self.padded = _pad(data, 1 if self.profile.ac_mac is AcMac.ALG3_METHOD_1 else 2)

    def session_key(self, mk: bytes) -> bytes:
        if not self.r:
            return mk
        if self.aes:
            return Cipher(algorithms.AES(mk), _ECB).encryptor().update(self.r)
        return Cipher(TripleDES(mk + mk[:8]), _ECB).encryptor().update(self.r)

    def mac(self, sk: bytes) -> bytes:
        if self.profile.ac_mac is AcMac.AES_CMAC:
            return _cmac(sk, self.padded)[:8]
        return _mac3(sk, self.padded)

    def card(self) -> bytes:
        return self.mac(self.session_key(self.icc_mk))

    def derive_mk(self) -> bytes:
        return self.imk.update(self.y)

    def arpc(self, mk: bytes, sk: bytes, arqc: bytes) -> bytes:
        key = mk if self.profile.arpc_key is ArpcKey.ICC_MASTER_KEY else sk
        if self.profile.arpc_method is ArpcMethod.METHOD_1:
            y = (int.from_bytes(arqc, "big") ^ (int.from_bytes(ARC_APPROVED, "big") << 48)).to_bytes(8, "big")
            return Cipher(TripleDES(key + key[:8]), _ECB).encryptor().update(y)
        if self.profile.arpc_method is ArpcMethod.METHOD_2:
            return _mac3(key, _pad(arqc + CSU_APPROVED, 2))[:4]
        return _cmac(key, arqc + CSU_APPROVED)[:4]

    def verifier(self, presented: bytes) -> bytes:
        mk = self.derive_mk()
        sk = self.session_key(mk)
        ac = self.mac(sk)
        if not hmac.compare_digest(ac, presented):
            raise AssertionError("the floor's ARQC does not match the card's")
        return self.arpc(mk, sk, ac)


# --------------------------------------------------------------------------- the floor of one profile


@dataclass
class Floor:
    """Callable parts of the floor of one profile's tap and what they contain."""

    profile: str
    oda: str
    parts: dict[str, Callable[[], object]]
    contents: dict[str, list[str]]
    checks: dict[str, bool] = field(default_factory=dict)

    def total(self) -> None:
        for part in self.parts.values():
            part()

    def beyond_card(self) -> None:
        """Everything but the card's own work (the card runs behind the link in the loop baselines)."""
        for name, part in self.parts.items():
            if name != "card":
                part()

    def describe(self) -> dict[str, list[str]]:
        return self.contents


def build_floor(workspace: Workspace, profile: str) -> Floor:
    ref: Reference = workspace.reference(profile)
    facts, assertion = ref.facts, ref.assertion
    keystore, ca_store = workspace.keystore(), workspace.ca_store()
    image = workspace.image(profile)
    app = next(a for a in image.applications if a.aid == facts.aid)
    values = facts.values
    today = datetime.date.today()

    # ODA method actually performed (as the verifier decides it, docs/tap-model.md)
    aip = Aip(facts.aip)
    if aip.cda and facts.cda_requested:
        method = "CDA"
    elif aip.dda and facts.internal_authenticate_sdad is not None:
        method = "DDA"
    elif aip.sda:
        method = "SDA"
    else:
        raise RuntimeError(f"{profile}: the reference tap performed no ODA")

    ca_key = ca_store.get_for_aid(facts.aid, values[0x8F], today=today).public_key
    issuer = oda.recover_issuer_certificate(
        ca_key, values[0x90], remainder=values.get(0x92, b""), exponent=values[0x9F32], pan=facts.pan, today=today
    ).public_key
    recoveries = [RsaPublicOp(f"issuer certificate ({ca_key.modulus.bit_length()}-bit CA key)", ca_key, values[0x90])]
    checks: dict[str, bool] = {}
    card_ops: list[Callable[[], object]] = []
    card_text: list[str] = []
    if method == "SDA":
        recoveries.append(RsaPublicOp(f"signed static data ({issuer.modulus.bit_length()}-bit issuer key)", issuer,
                                      values[0x93]))  # fmt: skip
    else:
        icc_private = app.keys.icc_key
        assert icc_private is not None
        icc_public = icc_private.public_key
        sdad = facts.generate_ac.sdad if method == "CDA" else facts.internal_authenticate_sdad
        assert sdad is not None
        recoveries.append(RsaPublicOp(f"ICC certificate ({issuer.modulus.bit_length()}-bit issuer key)", issuer,
                                      values[0x9F46]))  # fmt: skip
        sdad_op = RsaPublicOp(f"SDAD {method} ({icc_public.modulus.bit_length()}-bit ICC key)", icc_public, sdad)
        recoveries.append(sdad_op)
        sign = RsaPrivateOp(f"RSA signature of the SDAD ({icc_public.modulus.bit_length()}-bit ICC key, CRT)",
                            icc_private, sdad_op())  # fmt: skip
        checks["card signature reproduces the card's SDAD"] = sign() == sdad
        card_ops.append(sign)
        card_text.append(sign.label)
    for op in recoveries:
        op()  # a recovery that raised here would mean the floor uses the wrong key

    # Symmetric: the cryptogram input exactly as the verifier rebuilds it
    entry = keystore.issuer_keys_for(facts.aid, facts.pan)
    assert entry is not None
    cvn = Cvn.parse(entry.cryptogram)
    answer = facts.generate_ac
    cdol1_values = split_dol_data(facts.cdol1, assertion.evidence.cdol1_data)
    terminal = terminal_data(cdol1_values)
    data = ac_input(cvn, terminal_data=terminal, aip=facts.aip, atc=answer.atc, iad=answer.iad)
    psn = facts.psn_or_default
    sym = Symmetric(cvn, entry.keys.ac, app.keys.mk_ac, facts.pan, psn, answer.atc, terminal[-4:], data)
    expected = compute_ac(cvn, entry.keys.ac, facts.pan, psn, atc=answer.atc, un=terminal[-4:], ac_input=data)
    arqc = sym.card()
    checks["card MAC equals the project's ARQC"] = arqc == expected.cryptogram
    if answer.ac is not None:
        checks["card MAC equals the card's ARQC"] = arqc == answer.ac
    derived = sym.derive_mk()
    checks["verifier ICC master key equals the card's"] = (
        derived == app.keys.mk_ac if sym.aes else _same_des(derived, app.keys.mk_ac)
    )
    arpc = sym.verifier(arqc)
    project_arpc = compute_arpc(cvn, entry.keys.ac, facts.pan, psn, arqc=arqc, atc=answer.atc, un=terminal[-4:],
                                arc=ARC_APPROVED, csu=CSU_APPROVED).arpc  # fmt: skip
    checks["ARPC equals the project's"] = arpc == project_arpc
    card_ops.append(sym.card)
    sk_text = {SessionKeyMethod.NONE: "no session key (ICC master key)"}.get(cvn.profile.ac_session_key,
                                                                            "session key derivation")  # fmt: skip
    card_text.append(f"{sk_text} + ARQC MAC ({cvn.profile.label})")

    # Device key: ECDSA P-256 (keys loaded once)
    private = ec.derive_private_key(_device_scalar(workspace), ec.SECP256R1())
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ref.device_public_key)
    message = assertion.signed_bytes()
    signature = private.sign(message, _ECDSA)
    public.verify(signature, message, _ECDSA)
    checks["device key is the enrolled key"] = ec_public_bytes_of(private) == ref.device_public_key

    def device() -> None:
        public.verify(private.sign(message, _ECDSA), message, _ECDSA)

    def card() -> None:
        for op in card_ops:
            op()

    def phone() -> None:
        for op in recoveries:
            op()

    def verifier() -> None:
        for op in recoveries:
            op()
        sym.verifier(arqc)

    contents = {
        "card": card_text,
        "phone": [op.label for op in recoveries],
        "verifier": [op.label for op in recoveries]
        + [f"ICC master key from the IMK ({cvn.profile.mk_option.value})", sk_text,
           f"ARQC MAC ({cvn.profile.label}) + compare", f"ARPC ({cvn.profile.arpc_method.name.lower()})"],
        "device": ["ECDSA P-256 sign (phone)", "ECDSA P-256 verify (verifier)"],
    }  # fmt: skip
    return Floor(profile, method, {"card": card, "phone": phone, "verifier": verifier, "device": device}, contents,
                 checks)  # fmt: skip


def _same_des(a: bytes, b: bytes) -> bool:
    """Equal up to DES parity bits (the project adjusts parity; DES ignores those bits)."""
    return len(a) == len(b) and all((x ^ y) & 0xFE == 0 for x, y in zip(a, b))


def _device_scalar(workspace: Workspace) -> int:
    service = workspace.service(":memory:")
    try:
        return service.device_key.scalar
    finally:
        service.close()


def ec_public_bytes_of(private: ec.EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


__all__ = ["Floor", "build_floor"]
