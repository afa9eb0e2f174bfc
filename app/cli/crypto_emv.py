"""``trustone crypto derive-mk|session-key|arqc|verify-arqc|arpc`` (EMV 4.4 Book 2 Annex A1, §8).

Thin wrappers over :mod:`protocol.crypto.keys` and :mod:`protocol.crypto.cryptogram`:
parse the options, call one function, print its result. Keys are printed only by
the commands whose output *is* a key (``derive-mk``, ``session-key``); the others
print key check values.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli._common import CliInputError, add_json_option, digits_type, hex_type, hexstr, int_type, output_for
from protocol.crypto import cryptogram, keys, primitives
from protocol.crypto.cvn import Cvn
from protocol.crypto.mac import Padding, emv_mac
from protocol.errors import VerificationError

RAW = argparse.RawDescriptionHelpFormatter
_HEX16 = hex_type("key", lengths=(16,))

DERIVE_MK_EPILOG = """\
examples (pyemv test_derive_icc_mk_b_pan16; pyemv derive_icc_mk_b docstring):
  trustone crypto derive-mk --imk 0123456789ABCDEFFEDCBA9876543210 --pan 1234567890123456 --option A
    icc_mk: 154F349D8585CB7F6B0798E9839B10C1, icc_mk_kcv: BAB02F
  trustone crypto derive-mk --imk 0123456789ABCDEFFEDCBA9876543210 --pan 12345678901234567 --psn 01 --option B
    icc_mk: AD406D7F6D7570916D75E5DCAB8CF737"""

SESSION_KEY_EPILOG = """\
example (pyemv test_derive_icc_mk_b_pan17_no_psn, step sk):
  trustone crypto session-key --mk 1C13AE23B54AF7BA49FBE09192C87983 --method common --r 1234567890123456
    session_key: 498AA7A4580DF158D0BA91E0317AA16B, session_key_kcv: 7F366D
methods: common (--r, or R = --atc || 00 x 6, or R = --arqc), mastercard (--atc --un),
         visa-sm (--atc), emv2000-tree (--atc [--height --branch-factor --iv]),
         aes (simulator model: --r, --atc or --arqc)"""

ARQC_EPILOG = """\
examples (pyemv generate_ac docstring; pyemv test_visa_cvn10):
  trustone crypto arqc --session-key AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB \\
      --data 000000002000000000000000012400000080000124110309003804823E58000001
    arqc: 3B76CF10FECD8789
  trustone crypto arqc --cvn 10 --imk 0123456789ABCDEFFEDCBA9876543210 --pan 1234567890123456 \\
      --atc 001C --aip 1800 --iad 06010A03A06010 \\
      --terminal-data "000000004000 000000000000 0124 8000048000 0124 191105 01 52BF4585"
    arqc: 29CCA15AE665FA2E
CVNs: 10 18 22 (Visa), 16 17 20 21 (Mastercard), 133 (Interac), aes (simulator model).
--terminal-data is 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 (29 bytes); the CVN appends AIP, ATC
and its part of the IAD. --data gives the whole MAC input instead."""

VERIFY_EPILOG = """\
example (pyemv test_visa_cvn10):
  trustone crypto verify-arqc --arqc 29CCA15AE665FA2E --cvn 10 --imk 0123456789ABCDEFFEDCBA9876543210 \\
      --pan 1234567890123456 --atc 001C --aip 1800 --iad 06010A03A06010 \\
      --terminal-data "000000004000 000000000000 0124 8000048000 0124 191105 01 52BF4585"
    verdict: OK   (a different --arqc prints FAIL: ARQC: ... and exits 1)
The same inputs as 'trustone crypto arqc' (raw form: --session-key and --data)."""

ARPC_EPILOG = """\
examples (pyemv generate_arpc_1 / generate_arpc_2 docstrings; pyemv test_visa_cvn10):
  trustone crypto arpc --method 1 --key AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB --arqc 1234567890ABCDEF --arc 0000
    arpc: F5E6F44147E2F1B0
  trustone crypto arpc --method 2 --key AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB --arqc 1234567890ABCDEF --csu 00000000
    arpc: 9308BEBC
  trustone crypto arpc --cvn 10 --imk 0123456789ABCDEFFEDCBA9876543210 --pan 1234567890123456 \\
      --atc 001C --arqc 29CCA15AE665FA2E --arc 3030
    arpc: 28993816AFAE4AEB"""


def parse_cvn(text: str) -> Cvn:
    """``10``, ``cvn10``, ``visa_cvn10``, ``VISA_10`` or ``aes`` -> :class:`Cvn`; else CliInputError."""
    value = text.strip().lower().removeprefix("cvn").strip("_ ")
    if value in ("aes", "aes_cmac", "model_aes_cmac"):
        return Cvn.AES_CMAC
    if value.isdigit():
        for member in Cvn:
            if member.name.endswith(f"_{int(value)}"):
                return member
    for member in Cvn:
        if text.strip().lower() == member.value or text.strip().upper() == member.name:
            return member
    known = "10, 18, 22 (Visa), 16, 17, 20, 21 (Mastercard), 133 (Interac), aes"
    raise CliInputError(f"unknown CVN {text!r}; known: {known}")


def _add_card_key(p: argparse.ArgumentParser) -> None:
    p.add_argument("--imk", type=_HEX16, help="issuer master key AC (16 bytes): derive the ICC MK from it")
    p.add_argument("--icc-mk", type=_HEX16, help="ICC master key AC (16 bytes), instead of --imk/--pan")
    p.add_argument("--pan", type=digits_type("pan", max_digits=19), help="PAN digits (with --imk)")
    p.add_argument("--psn", type=digits_type("psn", max_digits=2), default="00", help="PAN sequence number (00)")


def _icc_mk(args: argparse.Namespace, cvn: Cvn) -> bytes:
    if (args.imk is None) == (args.icc_mk is None):
        raise CliInputError("give either --imk with --pan, or --icc-mk")
    if args.icc_mk is not None:
        return bytes(args.icc_mk)
    if args.pan is None:
        raise CliInputError("--imk needs --pan")
    return cryptogram.derive_icc_master_key(cvn, args.imk, args.pan, args.psn.rjust(2, "0"))


# --------------------------------------------------------------------------- derive-mk / session-key


def _derive_mk(args: argparse.Namespace) -> int:
    psn = None if args.no_psn else args.psn.rjust(2, "0")
    derive = {"A": keys.derive_icc_mk_a, "B": keys.derive_icc_mk_b, "AES": keys.derive_icc_mk_aes}[args.option]
    mk = derive(args.imk, args.pan, psn)
    output_for(args).result({"option": args.option, "icc_mk": hexstr(mk),
                             "icc_mk_kcv": keys.kcv(mk, aes=args.option == "AES")})
    return 0


def _session_key(args: argparse.Namespace) -> int:
    method, r = args.method, None
    if method in ("common", "aes"):
        given = [v for v in (args.r, args.atc, args.arqc) if v is not None]
        if len(given) != 1:
            raise CliInputError(f"session-key {method}: give exactly one of --r, --atc, --arqc")
        if args.r is not None:
            r = bytes(args.r)
        elif args.atc is not None:
            r = bytes(args.atc) + bytes(6 if method == "common" else 14)
        else:
            r = bytes(args.arqc) + (b"" if method == "common" else bytes(8))
        if method == "common" and len(r) != 8:
            raise CliInputError(f"--r: the common derivation takes 8 bytes, got {len(r)}")
        sk = keys.session_key_common(args.mk, r) if method == "common" else keys.session_key_aes(args.mk, r)
    else:
        if args.atc is None:
            raise CliInputError(f"session-key {method}: --atc is required")
        if method == "mastercard":
            if args.un is None:
                raise CliInputError("session-key mastercard: --un is required")
            r = bytes(args.atc) + b"\x00\x00" + bytes(args.un)
            sk = keys.session_key_mastercard(args.mk, args.atc, args.un)
        elif method == "visa-sm":
            sk = keys.session_key_visa_sm(args.mk, args.atc)
        else:
            sk = keys.session_key_emv2000_tree(args.mk, args.atc, height=args.height,
                                               branch_factor=args.branch_factor, iv=args.iv)
    output_for(args).result({"method": method, "r": hexstr(r), "session_key": hexstr(sk),
                             "session_key_kcv": keys.kcv(sk, aes=method == "aes")})
    return 0


# --------------------------------------------------------------------------- arqc / verify-arqc


def _compute_ac(args: argparse.Namespace) -> dict[str, Any]:
    if args.cvn is None:
        if args.session_key is None or args.data is None:
            raise CliInputError("without --cvn give --session-key and --data (the exact MAC input)")
        padding = Padding.METHOD_1 if args.padding == 1 else Padding.METHOD_2
        return {"padding": f"ISO 9797-1 method {args.padding}", "mac_input": hexstr(args.data),
                "arqc": emv_mac(args.session_key, args.data, padding)}
    cvn = parse_cvn(args.cvn)
    if args.session_key is not None:
        raise CliInputError("--session-key is for the raw form without --cvn; with --cvn give --imk or --icc-mk")
    if args.atc is None:
        raise CliInputError("--cvn needs --atc")
    if args.data is not None:
        data = bytes(args.data)
    elif args.terminal_data is not None and args.aip is not None and args.iad is not None:
        data = cryptogram.ac_input(cvn, terminal_data=args.terminal_data, aip=args.aip, atc=args.atc, iad=args.iad)
    else:
        raise CliInputError("give --data, or --terminal-data with --aip and --iad")
    un = args.un if args.un is not None else (args.terminal_data[-4:] if args.terminal_data else None)
    result = cryptogram.compute_ac_from_icc_mk(cvn, _icc_mk(args, cvn), atc=args.atc, un=un, ac_input=data)
    return {"cvn": cvn.profile.label, "icc_mk_kcv": result.icc_master_key_kcv,
            "session_key_kcv": result.session_key_kcv, "r": hexstr(result.session_key_input),
            "mac_input": hexstr(result.mac_input), "padded_input": hexstr(result.padded_input),
            "arqc": result.cryptogram}


def _arqc(args: argparse.Namespace) -> int:
    values = _compute_ac(args)
    values["arqc"] = hexstr(values["arqc"])
    output_for(args).result(values)
    return 0


def _verify_arqc(args: argparse.Namespace) -> int:
    values = _compute_ac(args)
    expected = values.pop("arqc")
    if not primitives.constant_time_equal(expected, args.arqc):
        raise VerificationError("ARQC", f"{hexstr(args.arqc)} does not match the cryptogram recomputed from the inputs")
    values.update(arqc=hexstr(args.arqc), verdict="OK")
    output_for(args).result(values)
    return 0


def _add_ac_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cvn", help="cryptogram version: 10 18 22 16 17 20 21 133 aes")
    _add_card_key(p)
    p.add_argument("--session-key", type=_HEX16, help="raw form: the 16-byte AC session key (no --cvn)")
    p.add_argument("--padding", type=int, choices=(1, 2), default=2, help="raw form: ISO 9797-1 padding (2)")
    p.add_argument("--atc", type=hex_type("atc", lengths=(2,)), help="ATC (9F36), 2 bytes")
    p.add_argument("--un", type=hex_type("un", lengths=(4,)), help="UN (9F37) for Mastercard SKD (default: from --terminal-data)")
    p.add_argument("--data", type=hex_type("data", min_length=1), help="the exact cryptogram input")
    p.add_argument("--terminal-data", type=hex_type("terminal-data", lengths=(29,)),
                   help="9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 values (29 bytes)")
    p.add_argument("--aip", type=hex_type("aip", lengths=(2,)), help="AIP (82), 2 bytes")
    p.add_argument("--iad", type=hex_type("iad", min_length=1, max_length=32), help="issuer application data (9F10)")
    add_json_option(p)


# --------------------------------------------------------------------------- arpc


def _arpc(args: argparse.Namespace) -> int:
    if args.cvn is None:
        if args.method is None or args.key is None:
            raise CliInputError("without --cvn give --method 1|2 and --key")
        if args.method == 1:
            if args.arc is None:
                raise CliInputError("ARPC method 1 needs --arc")
            arpc, response = cryptogram.arpc_method_1(args.key, args.arqc, args.arc), bytes(args.arc)
        else:
            if args.csu is None:
                raise CliInputError("ARPC method 2 needs --csu")
            arpc = cryptogram.arpc_method_2(args.key, args.arqc, args.csu, args.prop_data)
            response = bytes(args.csu) + bytes(args.prop_data)
        output_for(args).result({"method": args.method, "arpc": hexstr(arpc),
                                 "issuer_authentication_data_91": hexstr(arpc + response)})
        return 0
    if args.key is not None or args.method is not None:
        raise CliInputError("--method/--key are for the raw form without --cvn")
    cvn = parse_cvn(args.cvn)
    if args.atc is None:
        raise CliInputError("--cvn needs --atc")
    result = cryptogram.compute_arpc_from_icc_mk(
        cvn, _icc_mk(args, cvn), arqc=args.arqc, atc=args.atc, un=args.un, arc=args.arc, csu=args.csu,
        prop_auth_data=args.prop_data,
    )
    output_for(args).result({"cvn": cvn.profile.label, "key": result.key_role.value, "key_kcv": result.key_kcv,
                             "arpc_input": hexstr(result.arpc_input), "arpc": hexstr(result.arpc),
                             "issuer_authentication_data_91": hexstr(result.issuer_authentication_data)})
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the symmetric-key calculators to the ``crypto`` group."""
    p = sub.add_parser("derive-mk", help="ICC master key from the issuer master key (Book 2 A1.4)",
                       epilog=DERIVE_MK_EPILOG, formatter_class=RAW)
    p.add_argument("--imk", type=_HEX16, required=True, help="issuer master key (16 bytes)")
    p.add_argument("--pan", type=digits_type("pan", max_digits=19), required=True, help="PAN digits")
    p.add_argument("--psn", type=digits_type("psn", max_digits=2), default="00", help="PAN sequence number (00)")
    p.add_argument("--no-psn", action="store_true", help="the card has no PSN (uses 00)")
    p.add_argument("--option", type=str.upper, choices=("A", "B", "AES"), default="A",
                   help="A (Annex A1.4.1), B (A1.4.2, PAN > 16 digits) or AES (simulator model)")
    add_json_option(p)
    p.set_defaults(handler=_derive_mk)

    p = sub.add_parser("session-key", help="session key from the ICC master key (Book 2 A1.3)",
                       epilog=SESSION_KEY_EPILOG, formatter_class=RAW)
    p.add_argument("--mk", type=_HEX16, required=True, help="ICC master key (16 bytes)")
    p.add_argument("--method", choices=("common", "mastercard", "visa-sm", "emv2000-tree", "aes"), default="common")
    p.add_argument("--r", type=hex_type("r", min_length=2, max_length=16), help="diversification value R")
    p.add_argument("--atc", type=hex_type("atc", lengths=(2,)), help="ATC (9F36)")
    p.add_argument("--arqc", type=hex_type("arqc", lengths=(8,)), help="R = ARQC (secure messaging)")
    p.add_argument("--un", type=hex_type("un", lengths=(4,)), help="UN (9F37), Mastercard SKD")
    p.add_argument("--height", type=int_type("height", minimum=2, maximum=16), default=8, help="emv2000-tree H (8)")
    p.add_argument("--branch-factor", type=int_type("branch-factor", minimum=2, maximum=16), default=4,
                   help="emv2000-tree b (4)")
    p.add_argument("--iv", type=hex_type("iv", lengths=(16,)), default=bytes(16), help="emv2000-tree IV (zeros)")
    add_json_option(p)
    p.set_defaults(handler=_session_key)

    p = sub.add_parser("arqc", help="application cryptogram (Book 2 A1.2) by CVN or raw",
                       epilog=ARQC_EPILOG, formatter_class=RAW)
    _add_ac_inputs(p)
    p.set_defaults(handler=_arqc)

    p = sub.add_parser("verify-arqc", help="recompute and compare an ARQC (exit 1 if it differs)",
                       epilog=VERIFY_EPILOG, formatter_class=RAW)
    p.add_argument("--arqc", type=hex_type("arqc", lengths=(8,)), required=True, help="the card's cryptogram")
    _add_ac_inputs(p)
    p.set_defaults(handler=_verify_arqc)

    p = sub.add_parser("arpc", help="ARPC method 1/2 (Book 2 §8.2) by CVN or raw",
                       epilog=ARPC_EPILOG, formatter_class=RAW)
    p.add_argument("--cvn", help="cryptogram version: 10 18 22 16 17 20 21 133 aes")
    _add_card_key(p)
    p.add_argument("--method", type=int, choices=(1, 2), help="raw form: ARPC method")
    p.add_argument("--key", type=_HEX16, help="raw form: the ARPC key (ICC MK or AC session key)")
    p.add_argument("--arqc", type=hex_type("arqc", lengths=(8,)), required=True, help="the ARQC (8 bytes)")
    p.add_argument("--atc", type=hex_type("atc", lengths=(2,)), help="ATC (with --cvn)")
    p.add_argument("--un", type=hex_type("un", lengths=(4,)), help="UN (Mastercard SKD CVNs)")
    p.add_argument("--arc", type=hex_type("arc", lengths=(2,)), help="authorisation response code (method 1)")
    p.add_argument("--csu", type=hex_type("csu", lengths=(4,)), help="card status update (method 2)")
    p.add_argument("--prop-data", type=hex_type("prop-data", max_length=8), default=b"",
                   help="proprietary authentication data, 0-8 bytes (method 2)")
    add_json_option(p)
    p.set_defaults(handler=_arpc)
