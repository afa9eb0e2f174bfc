"""The crypto calculator's computing: :mod:`protocol.crypto` behind the operations of :mod:`app.gui.calculator_spec`.

Mirrors ``trustone crypto`` (:mod:`app.cli.crypto_emv`, :mod:`app.cli.crypto_oda`,
:mod:`app.cli.crypto_otp`): each operation calls the same protocol functions and
returns every intermediate value they expose (KCVs, R, the MAC input and its
padding, recovered certificate contents, the checks done). Runs on a worker
thread; never imported by widgets. Keys are shown only where the result *is* a
key (master and session keys); otherwise by their check values.

:func:`compute` raises :class:`~app.gui.calculator_spec.FieldError` naming the
field at fault (or ``""`` for the form), never anything else for bad input; a
failed verification is a result with ``verdict="FAIL"``, not an error.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping

from app.gui.calculator_spec import FieldError, Operation, check_field, hex_value, operation
from app.gui.page_data import CalcResult
from protocol import cap, tlv
from protocol.crypto import capk, cryptogram, keys, oda, otp, primitives
from protocol.crypto.cvn import Cvn
from protocol.crypto.mac import Padding, emv_mac
from protocol.errors import ProtocolError, VerificationError
from protocol.masking import mask_pan

Rows = list[tuple[str, str]]


class _Form:
    """The validated values of one submitted form."""

    def __init__(self, op: Operation, values: Mapping[str, str]) -> None:
        self.op, self.text = op, {k: str(v).strip() for k, v in values.items()}
        for spec in op.fields:
            problem = check_field(spec, self.text.get(spec.key, ""))
            if problem:
                raise FieldError(spec.key, f"{spec.label}: {problem}")

    def has(self, key: str) -> bool:
        return bool(self.text.get(key))

    def value(self, key: str) -> str:
        return self.text.get(key) or self.op.field(key).default

    def data(self, key: str) -> bytes:
        return hex_value(self.text[key]) if self.has(key) else b""

    def opt(self, key: str) -> bytes | None:
        return self.data(key) if self.has(key) else None

    def number(self, key: str) -> int:
        return int(self.value(key), 0)

    def rsa(self, modulus: str, exponent: str) -> primitives.RsaPublicKey:
        value = int.from_bytes(self.data(exponent), "big")
        if value < 3:
            raise FieldError(exponent, "not a usable RSA exponent")
        return primitives.RsaPublicKey(int.from_bytes(self.data(modulus), "big"), value)

    def today(self) -> datetime.date:
        if not self.has("today"):
            return datetime.date.today()
        try:
            return datetime.date.fromisoformat(self.value("today"))
        except ValueError:
            raise FieldError("today", "Check expiry on: not a YYYY-MM-DD date") from None


def _h(data: bytes | None) -> str:
    return "" if data is None else data.hex().upper()


def _cvn(form: _Form) -> Cvn:
    text = form.value("cvn")
    if text == "aes":
        return Cvn.AES_CMAC
    return next(m for m in Cvn if m.name.endswith(f"_{int(text)}"))


def _icc_mk(form: _Form, cvn: Cvn) -> tuple[bytes, Rows]:
    if form.has("imk") == form.has("icc_mk"):
        raise FieldError("imk", "Give either the issuer master key with the PAN, or the ICC master key")
    if form.has("icc_mk"):
        return form.data("icc_mk"), []
    if not form.has("pan"):
        raise FieldError("pan", "PAN: required with the issuer master key")
    mk = cryptogram.derive_icc_master_key(cvn, form.data("imk"), form.value("pan"), form.value("psn").rjust(2, "0"))
    return mk, [("PAN / PSN", f"{mask_pan(form.value('pan'))} / {form.value('psn')}"), ("IMK KCV", keys.kcv(form.data("imk")))]


# ----------------------------------------------------------------------------- symmetric


def _derive_mk(form: _Form) -> CalcResult:
    pan, psn, option = form.value("pan"), form.value("psn").rjust(2, "0"), form.value("option")
    derive = {"A": keys.derive_icc_mk_a, "B": keys.derive_icc_mk_b, "AES": keys.derive_icc_mk_aes}[option]
    mk = derive(form.data("imk"), pan, psn)
    data = (pan + psn)[-16:].rjust(16, "0")
    rows = [("Option", option), ("Derivation data (PAN ‖ PSN, rightmost 16 digits)", data if option != "B" or
             len(pan) <= 16 else "SHA-1 of PAN ‖ PSN, decimalised (Option B)"),
            ("IMK KCV", keys.kcv(form.data("imk"), aes=option == "AES")), ("ICC master key", _h(mk)),
            ("ICC master key KCV", keys.kcv(mk, aes=option == "AES"))]  # fmt: skip
    return CalcResult(form.op.id, tuple(rows))


def _session_key(form: _Form) -> CalcResult:
    method, mk = form.value("method"), form.data("mk")
    atc, un = form.opt("atc"), form.opt("un")
    if method in ("common", "aes"):
        if form.has("r") == (atc is not None):
            raise FieldError("r", "Give exactly one of R and the ATC")
        r = form.data("r") if form.has("r") else bytes(atc or b"") + bytes(6 if method == "common" else 14)
        if method == "common" and len(r) != 8:
            raise FieldError("r", f"R: the common derivation takes 8 bytes, got {len(r)}")
        sk = keys.session_key_common(mk, r) if method == "common" else keys.session_key_aes(mk, r)
    else:
        if atc is None:
            raise FieldError("atc", "ATC: required for this method")
        if method == "mastercard":
            if un is None:
                raise FieldError("un", "UN: required for the Mastercard method")
            r, sk = atc + b"\x00\x00" + un, keys.session_key_mastercard(mk, atc, un)
        elif method == "visa-sm":
            r, sk = atc, keys.session_key_visa_sm(mk, atc)
        else:
            r, sk = atc, keys.session_key_emv2000_tree(mk, atc)
    aes = method == "aes"
    rows = [("Method", method), ("ICC MK KCV", keys.kcv(mk, aes=aes)), ("R", _h(r)), ("Session key", _h(sk)),
            ("Session key KCV", keys.kcv(sk, aes=aes))]  # fmt: skip
    return CalcResult(form.op.id, tuple(rows))


def _ac(form: _Form) -> tuple[bytes, Rows]:
    cvn = _cvn(form)
    mk, rows = _icc_mk(form, cvn)
    terminal, atc = form.data("terminal_data"), form.data("atc")
    data = cryptogram.ac_input(cvn, terminal_data=terminal, aip=form.data("aip"), atc=atc, iad=form.data("iad"))
    un = form.opt("un") or terminal[-4:]
    result = cryptogram.compute_ac_from_icc_mk(cvn, mk, atc=atc, un=un, ac_input=data)
    rows += [("CVN", cvn.profile.label), ("ICC MK KCV", result.icc_master_key_kcv),
             ("Session key input R", _h(result.session_key_input) or "none: this CVN uses the ICC master key itself"),
             ("Session key KCV", result.session_key_kcv),
             ("Cryptogram input", _h(result.mac_input)), ("Padded input", _h(result.padded_input))]  # fmt: skip
    return result.cryptogram, rows


def _arqc(form: _Form) -> CalcResult:
    arqc, rows = _ac(form)
    return CalcResult(form.op.id, (*rows, ("ARQC", _h(arqc))))


def _arqc_raw(form: _Form) -> CalcResult:
    padding = Padding.METHOD_1 if form.value("padding") == "1" else Padding.METHOD_2
    mac = emv_mac(form.data("session_key"), form.data("data"), padding)
    rows = (("Session key KCV", keys.kcv(form.data("session_key"))), ("Padding", f"ISO 9797-1 method "
            f"{form.value('padding')}"), ("Cryptogram input", _h(form.data("data"))), ("ARQC", _h(mac)))  # fmt: skip
    return CalcResult(form.op.id, rows)


def _verify_arqc(form: _Form) -> CalcResult:
    expected, rows = _ac(form)
    given = form.data("arqc")
    ok = primitives.constant_time_equal(expected, given)
    rows += [("Card's ARQC", _h(given)), ("Recomputed ARQC", _h(expected))]
    detail = "the card's ARQC equals the one recomputed from the inputs" if ok else (
        "the card's ARQC does not match the cryptogram recomputed from these inputs")
    return CalcResult(form.op.id, tuple(rows), "OK" if ok else "FAIL", detail)


def _arpc(form: _Form) -> CalcResult:
    cvn = _cvn(form)
    mk, rows = _icc_mk(form, cvn)
    result = cryptogram.compute_arpc_from_icc_mk(
        cvn, mk, arqc=form.data("arqc"), atc=form.data("atc"), un=form.opt("un"), arc=form.opt("arc"),
        csu=form.opt("csu"), prop_auth_data=b"",
    )  # fmt: skip
    rows += [("CVN", cvn.profile.label), ("Key", f"{result.key_role.value} (KCV {result.key_kcv})"),
             ("ARPC input", _h(result.arpc_input)), ("ARPC", _h(result.arpc)),
             ("Issuer authentication data (91)", _h(result.issuer_authentication_data))]  # fmt: skip
    return CalcResult(form.op.id, tuple(rows))


# ----------------------------------------------------------------------------- RSA (ODA)


def _ca_key(form: _Form) -> tuple[primitives.RsaPublicKey, str]:
    if form.has("ca_modulus") or form.has("ca_exponent"):
        if form.has("ca_rid") or form.has("ca_index"):
            raise FieldError("ca_rid", "Give the CA key either by RID and index or by modulus and exponent")
        if not (form.has("ca_modulus") and form.has("ca_exponent")):
            raise FieldError("ca_modulus", "Give both the CA modulus and its exponent")
        return form.rsa("ca_modulus", "ca_exponent"), "given modulus"
    if not (form.has("ca_rid") and form.has("ca_index")):
        raise FieldError("ca_rid", "The CA key is needed: RID and index, or modulus and exponent")
    try:
        entry = capk.default_store().get(form.data("ca_rid"), form.data("ca_index")[0])
    except capk.CaKeyNotFoundError as exc:
        raise FieldError("ca_index", exc.detail) from None
    return entry.public_key, f"{_h(form.data('ca_rid'))}/{_h(form.data('ca_index'))} from the bundled list"


def _cert_rows(cert: oda.IssuerPublicKeyCertificate | oda.IccPublicKeyCertificate) -> Rows:
    key = cert.public_key
    return [("Expiry", str(cert.expiry)), ("Serial", _h(cert.serial)), ("Modulus", _h(key.modulus_bytes)),
            ("Modulus length", f"{key.size_bytes} bytes ({key.size_bytes * 8} bits)"),
            ("Exponent", _h(key.exponent_bytes)), ("Remainder used", "yes" if cert.remainder else "no"),
            ("SHA-1 hash", _h(cert.hash)), ("Recovered data", _h(cert.recovered)),
            ("Checks passed", "; ".join(cert.checks))]  # fmt: skip


def _recover_issuer(form: _Form) -> CalcResult:
    ca_key, where = _ca_key(form)
    cert = oda.recover_issuer_certificate(ca_key, form.data("cert"), remainder=form.data("remainder"),
                                          exponent=form.data("exponent"), pan=form.value("pan"), today=form.today())  # fmt: skip
    rows = [("CA key", f"{ca_key.size_bytes * 8} bits, {where}"),
            ("Issuer identifier", cert.issuer_identifier_digits), *_cert_rows(cert)]  # fmt: skip
    return CalcResult(form.op.id, tuple(rows), "OK", "the certificate recovers and every check passes")


def _recover_icc(form: _Form) -> CalcResult:
    cert = oda.recover_icc_certificate(form.rsa("issuer_modulus", "issuer_exponent"), form.data("cert"),
                                       remainder=form.data("remainder"), exponent=form.data("exponent"),
                                       static_data=form.data("static_data"), pan=form.value("pan"), today=form.today())  # fmt: skip
    rows = [("PAN in the certificate", mask_pan(cert.pan)), *_cert_rows(cert)]
    rows = [(k, v.replace(cert.pan, mask_pan(cert.pan)) if cert.pan else v) for k, v in rows]
    return CalcResult(form.op.id, tuple(rows), "OK", "the certificate recovers and every check passes")


def _sdad_dda(form: _Form) -> CalcResult:
    dda = oda.verify_dynamic_data_dda(form.rsa("icc_modulus", "icc_exponent"), form.data("sdad"),
                                      ddol_data=form.data("ddol_data"))  # fmt: skip
    rows = (("ICC dynamic number", _h(dda.icc_dynamic_number)), ("SHA-1 hash", _h(dda.hash)),
            ("Recovered data", _h(dda.recovered)), ("Checks passed", "; ".join(dda.checks)))  # fmt: skip
    return CalcResult(form.op.id, rows, "OK", "the card signed the DDOL data with its private key")


def _sdad_cda(form: _Form) -> CalcResult:
    response = form.data("response")
    try:
        objects = tlv.decode(response)
        if len(objects) == 1 and objects[0].tag == 0x77:
            response = objects[0].value
    except (ProtocolError, ValueError):
        pass
    cda = oda.verify_dynamic_data_cda(form.rsa("icc_modulus", "icc_exponent"), form.data("sdad"),
                                      unpredictable_number=form.data("un"), pdol_data=form.data("pdol_data"),
                                      cdol1_data=form.data("cdol1_data"), generate_ac_response=response,
                                      cdol2_data=b"")  # fmt: skip
    rows = (("ICC dynamic number", _h(cda.icc_dynamic_number)), ("CID", _h(cda.cryptogram_information_data)),
            ("Application cryptogram", _h(cda.application_cryptogram)),
            ("Transaction data hash code", _h(cda.transaction_data_hash_code)), ("SHA-1 hash", _h(cda.hash)),
            ("Recovered data", _h(cda.recovered)), ("Checks passed", "; ".join(cda.checks)))  # fmt: skip
    return CalcResult(form.op.id, rows, "OK", "the card signed its cryptogram and the transaction data")


# ----------------------------------------------------------------------------- OTP


def _cap(form: _Form) -> CalcResult:
    response = cap.parse_generate_ac_rapdu(form.data("rapdu"))
    iaf = form.data("iaf")[0] if form.has("iaf") else 0
    result = cap.compute_cap_otp(response, form.data("ipb"), iaf=iaf, psn=form.opt("psn"))
    rows = (("Response format", str(response.response_format)), ("Cryptogram type", response.cryptogram_type),
            ("CID", f"{response.cid:02X}"), ("ATC", _h(response.atc)), ("AC", _h(response.ac)),
            ("IAD", _h(response.iad)), ("PSN included", "yes" if result.psn_included else "no"),
            ("Source bits (PSN ‖ CID ‖ ATC ‖ AC ‖ IAD)", _h(result.source)), ("IPB", _h(result.ipb)),
            ("IPB mask", result.mask_view), ("Selected bits", result.selected_bits),
            ("Bit count", str(len(result.selected))), ("Code on the reader", result.text))  # fmt: skip
    return CalcResult(form.op.id, rows)


def _totp(form: _Form) -> CalcResult:
    key = otp.TotpKey(form.data("secret"), form.number("digits"), form.value("algorithm"), form.number("step"))
    now = form.number("time") if form.has("time") else int(time.time())
    step = key.time_step(now)
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    rows = (("Algorithm", key.algorithm), ("Time", f"{now} ({moment})"), ("Time step T", str(step)),
            ("Code", otp.totp(key, now)),
            ("Valid for", f"{key.t0 + (step + 1) * key.step - now} s"))  # fmt: skip
    return CalcResult(form.op.id, rows)


def _hotp(form: _Form) -> CalcResult:
    key = otp.HotpKey(form.data("secret"), form.number("digits"), form.value("algorithm"))
    counter = form.number("counter")
    return CalcResult(form.op.id, (("Algorithm", key.algorithm), ("Counter", str(counter)),
                                   ("Code", otp.hotp(key, counter))))  # fmt: skip


_COMPUTE: dict[str, Callable[[_Form], CalcResult]] = {
    "derive-mk": _derive_mk, "session-key": _session_key, "arqc": _arqc, "arqc-raw": _arqc_raw,
    "verify-arqc": _verify_arqc, "arpc": _arpc, "recover-issuer": _recover_issuer, "recover-icc": _recover_icc,
    "sdad-dda": _sdad_dda, "sdad-cda": _sdad_cda, "cap": _cap, "totp": _totp, "hotp": _hotp,
}  # fmt: skip


def compute(op_id: str, values: Mapping[str, str]) -> CalcResult:
    """Compute operation ``op_id`` over the typed ``values`` (see the module docstring)."""
    op = operation(op_id)
    form = _Form(op, values)
    try:
        return _COMPUTE[op_id](form)
    except VerificationError as exc:
        check = getattr(exc, "check", "") or "verification"
        detail = getattr(exc, "detail", "") or str(exc)
        return CalcResult(op_id, (("Failed check", str(check)),), "FAIL", detail)
    except (ProtocolError, ValueError) as exc:
        if isinstance(exc, FieldError):
            raise
        raise FieldError("", str(exc)) from None
