"""``trustone crypto recover-cert|sdad``: RSA offline data authentication (EMV 4.4 Book 2 §5, §6).

Thin wrappers over :mod:`protocol.crypto.oda` and :mod:`protocol.crypto.capk`. A
failed check is a negative verdict (exit 1, ``FAIL: <check>: <detail>``); an
unknown CA key or malformed input is an input error (exit 2).
"""

from __future__ import annotations

import argparse
import datetime
from typing import Any

from app.cli._common import CliInputError, add_json_option, digits_type, hex_type, hexstr, output_for
from protocol import tlv
from protocol.crypto import capk, oda
from protocol.crypto.primitives import RsaPublicKey

RAW = argparse.RawDescriptionHelpFormatter
_BIG = hex_type("value", min_length=1, max_length=256)

RECOVER_EPILOG = """\
examples (tests/vectors/oda.json case pm3.dda, Mastercard CA key A000000004/05; the
long values are that case's card_data, shown here as shell variables):
  trustone crypto recover-cert issuer --ca-rid A000000004 --ca-index 05 --pan 5285881254345653 \\
      --cert "$CARD_90" --remainder "$CARD_92" --exponent 03 --today 2015-01-01
    issuer_identifier: 528588, expiry: 12/21, modulus: CA6128254F45FDC4... (176 bytes)
  trustone crypto recover-cert icc --pan 5285881254345653 --cert "$CARD_9F46" --exponent 03 \\
      --issuer-cert "$CARD_90" --issuer-remainder "$CARD_92" --issuer-exponent 03 \\
      --ca-rid A000000004 --ca-index 05 --static-data "$STATIC_DATA" --today 2015-01-01
    expiry: 06/15, modulus: B1FAC086C1A5E17D... (112 bytes)
The CA key comes from the bundled list (--ca-rid/--ca-index) or is given (--ca-modulus/
--ca-exponent). The ICC certificate needs the issuer key: --issuer-modulus/--issuer-exponent,
or --issuer-cert with a CA key. Certificates expire: --today sets the date checked against."""

SDAD_EPILOG = """\
example (tests/vectors/oda.json case pm3.dda: INTERNAL AUTHENTICATE with UN 00000000;
$ICC_MODULUS is the modulus 'recover-cert icc' printed, B1FAC086C1A5E17D... 112 bytes):
  trustone crypto sdad dda --sdad "$CARD_9F4B" --ddol-data 00000000 \\
      --icc-modulus "$ICC_MODULUS" --icc-exponent 03
    verdict: OK, icc_dynamic_number: 7A33FB8C9546E1E7
CDA (case pm3.cda) prints icc_dynamic_number, cid, ac and transaction_data_hash_code:
  trustone crypto sdad cda --sdad "$CARD_9F4B" --icc-modulus "$ICC_MODULUS" --icc-exponent 03 \\
      --un 12345779 --cdol1-data "$CDOL1_DATA" --response 9F2701409F360200109F10120010904001220000000000000000000000FF
    cid: 40, ac: 16AFBA13C52FB173"""


def _exponent(name: str, value: bytes) -> int:
    number = int.from_bytes(value, "big")
    if number < 3:
        raise CliInputError(f"{name}: not a usable RSA exponent")
    return number


def _key(modulus: bytes | None, exponent: bytes | None, what: str) -> RsaPublicKey | None:
    if modulus is None and exponent is None:
        return None
    if modulus is None or exponent is None:
        raise CliInputError(f"give both the {what} modulus and exponent")
    return RsaPublicKey(int.from_bytes(modulus, "big"), _exponent(f"{what} exponent", exponent))


def _today(args: argparse.Namespace) -> datetime.date:
    if args.today is None:
        return datetime.date.today()
    try:
        return datetime.date.fromisoformat(args.today)
    except ValueError:
        raise CliInputError(f"--today: not a YYYY-MM-DD date: {args.today!r}") from None


def _ca_key(args: argparse.Namespace, today: datetime.date) -> RsaPublicKey:
    explicit = _key(args.ca_modulus, args.ca_exponent, "CA key")
    if explicit is not None:
        if args.ca_rid is not None or args.ca_index is not None:
            raise CliInputError("give the CA key either by --ca-rid/--ca-index or by --ca-modulus/--ca-exponent")
        return explicit
    if args.ca_rid is None or args.ca_index is None:
        raise CliInputError("the CA key is needed: --ca-rid and --ca-index, or --ca-modulus and --ca-exponent")
    try:
        return capk.default_store().get(args.ca_rid, args.ca_index[0]).public_key
    except capk.CaKeyNotFoundError as exc:
        raise CliInputError(exc.detail) from None


def _issuer_result(cert: oda.IssuerPublicKeyCertificate) -> dict[str, Any]:
    return {"issuer_identifier": cert.issuer_identifier_digits, "expiry": str(cert.expiry),
            "serial": hexstr(cert.serial), "modulus": hexstr(cert.public_key.modulus_bytes),
            "modulus_bytes": cert.public_key.size_bytes, "exponent": hexstr(cert.public_key.exponent_bytes),
            "remainder_used": bool(cert.remainder), "hash": hexstr(cert.hash),
            "recovered": hexstr(cert.recovered), "checks": list(cert.checks)}


def _recover_cert(args: argparse.Namespace) -> int:
    today = _today(args)
    if args.kind == "issuer":
        cert = oda.recover_issuer_certificate(
            _ca_key(args, today), args.cert, remainder=args.remainder, exponent=args.exponent, pan=args.pan,
            today=today,
        )
        output_for(args).result({"certificate": "issuer public key (90, format 02)", **_issuer_result(cert)})
        return 0
    if args.static_data is None:
        raise CliInputError("recover-cert icc needs --static-data (the records signed, Book 3 §10.3)")
    if args.issuer_cert is not None:
        if args.issuer_modulus is not None or args.issuer_exponent is None:
            raise CliInputError("with --issuer-cert give --issuer-exponent (and no --issuer-modulus)")
        issuer_key = oda.recover_issuer_certificate(
            _ca_key(args, today), args.issuer_cert, remainder=args.issuer_remainder, exponent=args.issuer_exponent,
            pan=args.pan, today=today,
        ).public_key
    else:
        key = _key(args.issuer_modulus, args.issuer_exponent, "issuer key")
        if key is None:
            raise CliInputError("the issuer key is needed: --issuer-modulus/--issuer-exponent, "
                                "or --issuer-cert/--issuer-exponent with a CA key")
        issuer_key = key
    icc = oda.recover_icc_certificate(
        issuer_key, args.cert, remainder=args.remainder, exponent=args.exponent, static_data=args.static_data,
        pan=args.pan, today=today,
    )
    output_for(args).result({
        "certificate": "ICC public key (9F46, format 04)", "pan": f"{icc.pan[:6]}...{icc.pan[-4:]}",
        "expiry": str(icc.expiry), "serial": hexstr(icc.serial), "modulus": hexstr(icc.public_key.modulus_bytes),
        "modulus_bytes": icc.public_key.size_bytes, "exponent": hexstr(icc.public_key.exponent_bytes),
        "remainder_used": bool(icc.remainder), "hash": hexstr(icc.hash), "recovered": hexstr(icc.recovered),
        "checks": list(icc.checks),
    })
    return 0


def _response_content(data: bytes) -> bytes:
    """Accept the whole template 77 or just its content."""
    try:
        objects = tlv.decode(data)
    except tlv.TlvError:
        return data
    if len(objects) == 1 and objects[0].tag == 0x77:
        return objects[0].value
    return data


def _sdad(args: argparse.Namespace) -> int:
    key = _key(args.icc_modulus, args.icc_exponent, "ICC key")
    assert key is not None  # both options are required
    if args.kind == "dda":
        if args.ddol_data is None:
            raise CliInputError("sdad dda needs --ddol-data (what INTERNAL AUTHENTICATE sent)")
        dda = oda.verify_dynamic_data_dda(key, args.sdad, ddol_data=args.ddol_data)
        output_for(args).result({"verdict": "OK", "method": "DDA", "icc_dynamic_number": hexstr(dda.icc_dynamic_number),
                                 "hash": hexstr(dda.hash), "recovered": hexstr(dda.recovered),
                                 "checks": list(dda.checks)})
        return 0
    missing = [n for n, v in (("--un", args.un), ("--cdol1-data", args.cdol1_data), ("--response", args.response))
               if v is None]
    if missing:
        raise CliInputError(f"sdad cda needs {', '.join(missing)}")
    cda = oda.verify_dynamic_data_cda(
        key, args.sdad, unpredictable_number=args.un, pdol_data=args.pdol_data, cdol1_data=args.cdol1_data,
        generate_ac_response=_response_content(args.response), cdol2_data=args.cdol2_data,
    )
    output_for(args).result({
        "verdict": "OK", "method": "CDA", "icc_dynamic_number": hexstr(cda.icc_dynamic_number),
        "cid": hexstr(cda.cryptogram_information_data), "ac": hexstr(cda.application_cryptogram),
        "transaction_data_hash_code": hexstr(cda.transaction_data_hash_code), "hash": hexstr(cda.hash),
        "recovered": hexstr(cda.recovered), "checks": list(cda.checks),
    })
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``recover-cert`` and ``sdad`` to the ``crypto`` group."""
    p = sub.add_parser("recover-cert", help="recover and check an issuer or ICC public key certificate",
                       epilog=RECOVER_EPILOG, formatter_class=RAW)
    p.add_argument("kind", choices=("issuer", "icc"), help="issuer (tag 90) or icc (tag 9F46)")
    p.add_argument("--cert", type=_BIG, required=True, help="the certificate (90 or 9F46)")
    p.add_argument("--remainder", type=hex_type("remainder", max_length=256), default=b"",
                   help="its public key remainder (92 or 9F48)")
    p.add_argument("--exponent", type=hex_type("exponent", lengths=(1, 3)), required=True,
                   help="its public key exponent (9F32 or 9F47)")
    p.add_argument("--pan", type=digits_type("pan", max_digits=19), required=True, help="the card's PAN (5A)")
    p.add_argument("--static-data", type=hex_type("static-data", min_length=1, max_length=4096),
                   help="icc: the static data to be authenticated")
    p.add_argument("--ca-rid", type=hex_type("ca-rid", lengths=(5,)), help="CA key from the bundled list: RID")
    p.add_argument("--ca-index", type=hex_type("ca-index", lengths=(1,)), help="CA key from the bundled list: index (8F)")
    p.add_argument("--ca-modulus", type=_BIG, help="CA key given: modulus")
    p.add_argument("--ca-exponent", type=hex_type("ca-exponent", lengths=(1, 3)), help="CA key given: exponent")
    p.add_argument("--issuer-modulus", type=_BIG, help="icc: the issuer public key modulus")
    p.add_argument("--issuer-exponent", type=hex_type("issuer-exponent", lengths=(1, 3)),
                   help="icc: the issuer public key exponent (9F32)")
    p.add_argument("--issuer-cert", type=_BIG, help="icc: the issuer certificate (90), recovered with the CA key")
    p.add_argument("--issuer-remainder", type=hex_type("issuer-remainder", max_length=256), default=b"",
                   help="icc: the issuer public key remainder (92)")
    p.add_argument("--today", help="date the expiry is checked against, YYYY-MM-DD (default: today)")
    add_json_option(p)
    p.set_defaults(handler=_recover_cert)

    p = sub.add_parser("sdad", help="verify signed dynamic application data (DDA or CDA)",
                       epilog=SDAD_EPILOG, formatter_class=RAW)
    p.add_argument("kind", choices=("dda", "cda"), help="dda (INTERNAL AUTHENTICATE) or cda (GENERATE AC)")
    p.add_argument("--sdad", type=_BIG, required=True, help="signed dynamic application data (9F4B)")
    p.add_argument("--icc-modulus", type=_BIG, required=True, help="ICC public key modulus")
    p.add_argument("--icc-exponent", type=hex_type("icc-exponent", lengths=(1, 3)), required=True,
                   help="ICC public key exponent (9F47)")
    p.add_argument("--ddol-data", type=hex_type("ddol-data", min_length=1, max_length=255),
                   help="dda: the DDOL data sent")
    p.add_argument("--un", type=hex_type("un", lengths=(4,)), help="cda: the unpredictable number (9F37) sent")
    p.add_argument("--pdol-data", type=hex_type("pdol-data", max_length=255), default=b"",
                   help="cda: PDOL data sent in GET PROCESSING OPTIONS (default empty)")
    p.add_argument("--cdol1-data", type=hex_type("cdol1-data", min_length=1, max_length=255),
                   help="cda: CDOL1 data sent")
    p.add_argument("--cdol2-data", type=hex_type("cdol2-data", max_length=255), default=b"",
                   help="cda: CDOL2 data (second GENERATE AC only)")
    p.add_argument("--response", type=hex_type("response", min_length=1, max_length=1024),
                   help="cda: the GENERATE AC response (template 77 or its content)")
    add_json_option(p)
    p.set_defaults(handler=_sdad)
