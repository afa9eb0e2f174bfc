"""``trustone crypto totp|hotp|cap``: the one-time-password calculators (RFC 4226/6238, EMV CAP)."""

from __future__ import annotations

import argparse
import datetime
import time
from typing import Any

from app.cli._common import (
    CliInputError,
    add_json_option,
    amount_minor_units,
    digits_type,
    hex_type,
    hexstr,
    int_type,
    output_for,
)
from protocol import cap, tlv
from protocol.crypto import otp

RAW = argparse.RawDescriptionHelpFormatter

TOTP_EPILOG = """\
example (RFC 6238 Appendix B, SHA-1 row at T = 59 s):
  trustone crypto totp --secret 3132333435363738393031323334353637383930 --time 59 --digits 8
    code: 94287082
  trustone crypto totp --secret-base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ --time 1970-01-01T00:00:59Z \\
      --digits 8 --verify 94287082 --window 1
    verdict: OK, matched_time_step: 1 (exit 1 and FAIL: ... when the code does not match)"""

HOTP_EPILOG = """\
example (RFC 4226 Appendix D, counter 0):
  trustone crypto hotp --secret 3132333435363738393031323334353637383930 --counter 0
    code: 755224
  trustone crypto hotp --secret 3132333435363738393031323334353637383930 --counter 0 \\
      --verify 359152 --look-ahead 5
    verdict: OK, matched_counter: 2, next_counter: 3 (store it)"""

CAP_EPILOG = """\
examples (python-emv test_cap.py, Barclays IPB; doegox/EMV-CAP FC 2009 trace):
  trustone crypto cap command --cdol1 9F02069F03069F1A0295055F2A029A039C019F3704 \\
      --challenge 78901234 --amount 1234.56
    apdu: 80AE80001D000000123456000000000000000080000000000000010101007890123400
  trustone crypto cap otp --rapdu 801280095F0F9D3798E93F129A060A0A03A490009000 \\
      --ipb 8000FF000000000001FFFF00000000000000 --iaf A0
    otp: 46076570
  trustone crypto cap otp --rapdu 8012800042B7F9A572DA74CAFF06770A03A480009000 \\
      --ipb 00001F00000000000FFFFF00000000008000
    otp: 4822527"""


# --------------------------------------------------------------------------- shared options


def _add_secret(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--secret", type=hex_type("secret", min_length=1), help="shared secret as hex")
    group.add_argument("--secret-base32", metavar="TEXT", help="shared secret as base32 (as in otpauth:// URIs)")
    parser.add_argument("--digits", type=int, choices=(6, 7, 8), default=6, help="code length (default 6)")
    parser.add_argument(
        "--algorithm", type=str.upper, choices=otp.ALGORITHMS, default="SHA1", help="HMAC hash (default SHA1)"
    )


def _secret(args: argparse.Namespace) -> bytes:
    if args.secret is not None:
        return bytes(args.secret)
    return otp.parse_base32_secret(args.secret_base32)


def parse_time(text: str) -> int:
    """Unix seconds, or an ISO 8601 date-time (UTC when no offset is given)."""
    value = text.strip()
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliInputError(f"time: not Unix seconds or an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp())


# --------------------------------------------------------------------------- totp / hotp


def _totp(args: argparse.Namespace) -> int:
    key = otp.TotpKey(_secret(args), args.digits, args.algorithm, args.step, args.t0)
    now = parse_time(args.time) if args.time is not None else int(time.time())
    step = key.time_step(now)
    values: dict[str, Any] = {"algorithm": key.algorithm, "digits": key.digits, "time": now, "time_step": step}
    if args.verify is None:
        values["code"] = otp.totp(key, now)
        values["valid_for_seconds"] = key.t0 + (step + 1) * key.step - now
        output_for(args).result(values)
        return 0
    match = otp.totp_verify(key, args.verify, now, args.window, args.last_step)
    values.update(verdict="OK", matched_time_step=match.time_step, drift_steps=match.drift)
    output_for(args).result(values)
    return 0


def _hotp(args: argparse.Namespace) -> int:
    key = otp.HotpKey(_secret(args), args.digits, args.algorithm)
    values: dict[str, Any] = {"algorithm": key.algorithm, "digits": key.digits, "counter": args.counter}
    if args.verify is None:
        values["code"] = otp.hotp(key, args.counter)
        output_for(args).result(values)
        return 0
    match = otp.hotp_verify(key, args.verify, args.counter, args.look_ahead)
    values.update(verdict="OK", matched_counter=match.counter, next_counter=match.next_counter,
                  skipped=match.skipped)
    output_for(args).result(values)
    return 0


# --------------------------------------------------------------------------- cap


def _card_data(args: argparse.Namespace) -> cap.CapCardData | None:
    return cap.CapCardData.from_records(args.record) if args.record else None


def _cap_request(args: argparse.Namespace) -> cap.CapRequest:
    amount = amount_minor_units(args.amount) if args.amount is not None else None
    if args.tds:
        mode = cap.CapMode.SIGN_TDS
    elif amount is not None:
        mode = cap.CapMode.SIGN
    elif args.challenge is not None:
        mode = cap.CapMode.RESPOND
    else:
        mode = cap.CapMode.IDENTIFY
    if mode is cap.CapMode.SIGN and args.challenge is None:
        raise CliInputError("cap: --amount (sign mode) needs --challenge as well")
    return cap.CapRequest(mode, args.challenge, amount, tuple(args.tds or ()))


def _cap_command(args: argparse.Namespace) -> int:
    card = _card_data(args)
    cdol1 = args.cdol1 if args.cdol1 is not None else (card.cdol1 if card else None)
    if cdol1 is None:
        raise CliInputError("cap command: give --cdol1 or a --record holding 8C")
    request = _cap_request(args)
    command = cap.build_cap_generate_ac(
        cdol1, request, transaction_date=args.date, with_le=not args.no_le
    )
    output_for(args).result({
        "mode": request.mode.value,
        "apdu": hexstr(command.encoded),
        "cdol1_data": hexstr(command.dol_data),
        "fields": [f"{tlv.tag_hex(f.tag)}={f.value.hex().upper()}" for f in command.fields],
    })
    return 0


def _cap_otp(args: argparse.Namespace) -> int:
    card = _card_data(args)
    ipb = args.ipb if args.ipb is not None else (card.ipb if card else None)
    if ipb is None:
        raise CliInputError("cap otp: give --ipb or a --record holding 9F56")
    iaf = args.iaf[0] if args.iaf is not None else (card.iaf if card else 0)
    psn = args.psn if args.psn is not None else (card.psn if card else None)
    if args.rapdu is not None:
        response = cap.parse_generate_ac_rapdu(args.rapdu)
    else:
        response = cap.parse_generate_ac_response(args.response)
    result = cap.compute_cap_otp(response, ipb, iaf=iaf, psn=psn, tds_fields=tuple(args.tds or ()))
    output_for(args).result({
        "response_format": response.response_format,
        "cryptogram_type": response.cryptogram_type,
        "cid": f"{response.cid:02X}",
        "atc": hexstr(response.atc),
        "ac": hexstr(response.ac),
        "iad": hexstr(response.iad),
        "psn_included": result.psn_included,
        "tds_mac": hexstr(result.tds_mac),
        "source": hexstr(result.source),
        "ipb": hexstr(result.ipb),
        "mask_view": result.mask_view,
        "selected_bits": result.selected_bits,
        "bit_count": len(result.selected),
        "otp": result.text,
    })
    return 0


def _add_cap_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", action="append", type=hex_type("record", min_length=2),
                        help="a card record (template 70) to take 8C, 9F56, 9F55, 5F34 from; repeatable")
    parser.add_argument("--tds", nargs="+", type=digits_type("TDS field", max_digits=cap.MAX_TDS_DIGITS),
                        metavar="N", help="sign-tds: up to 10 numbers (modelled, no public vector)")
    add_json_option(parser)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``totp``, ``hotp`` and ``cap`` to the ``crypto`` group's subparsers."""
    p = sub.add_parser("totp", help="TOTP code or verification (RFC 6238)", epilog=TOTP_EPILOG, formatter_class=RAW,
                       description="Compute a TOTP code, or verify one within +/- --window time steps.")
    _add_secret(p)
    p.add_argument("--time", help="Unix seconds or ISO 8601 date-time (default: now)")
    p.add_argument("--step", type=int_type("step", minimum=1), default=30, help="time step X in seconds (default 30)")
    p.add_argument("--t0", type=int_type("t0", minimum=0), default=0, help="T0 in Unix seconds (default 0)")
    p.add_argument("--verify", metavar="CODE", help="verify CODE instead of printing the code")
    p.add_argument("--window", type=int_type("window", minimum=0, maximum=otp.MAX_WINDOW), default=1,
                   help="steps accepted either side of now (default 1)")
    p.add_argument("--last-step", type=int_type("last-step", minimum=0),
                   help="time step of the last accepted code: refuse it and earlier ones (replay)")
    add_json_option(p)
    p.set_defaults(handler=_totp)

    p = sub.add_parser("hotp", help="HOTP code or verification (RFC 4226)", epilog=HOTP_EPILOG, formatter_class=RAW,
                       description="Compute a HOTP code, or verify one with a counter look-ahead window.")
    _add_secret(p)
    p.add_argument("--counter", type=int_type("counter", minimum=0, maximum=(1 << 64) - 1), required=True,
                   help="counter (for --verify: the next counter the verifier expects)")
    p.add_argument("--verify", metavar="CODE", help="verify CODE instead of printing the code")
    p.add_argument("--look-ahead", type=int_type("look-ahead", minimum=0, maximum=otp.MAX_LOOK_AHEAD), default=10,
                   help="counter values tried after --counter (default 10)")
    add_json_option(p)
    p.set_defaults(handler=_hotp)

    p = sub.add_parser("cap", help="EMV CAP (PINsentry) GENERATE AC and OTP", epilog=CAP_EPILOG, formatter_class=RAW,
                       description="EMV CAP: build the GENERATE AC a CAP reader sends, or turn the card's "
                                   "answer into the code the reader displays. Modes: identify (no input), "
                                   "respond (--challenge), sign (--challenge and --amount), sign-tds (--tds).")
    cap_sub = p.add_subparsers(title="cap commands", dest="cap_command", metavar="<command>")
    cap_sub.required = True
    c = cap_sub.add_parser("command", help="the GENERATE AC command APDU (CDOL1 filled as a CAP reader does)",
                           epilog=CAP_EPILOG, formatter_class=RAW)
    c.add_argument("--cdol1", type=hex_type("cdol1", min_length=2), help="the card's CDOL1 (8C value)")
    c.add_argument("--challenge", type=digits_type("challenge", max_digits=8), help="challenge, up to 8 digits")
    c.add_argument("--amount", help="amount in major units, e.g. 1234.56 (sign mode)")
    c.add_argument("--date", type=hex_type("date", lengths=(3,)), default=cap.DATE_PINSENTRY,
                   help="9A transaction date (default 010101 as python-emv; the FC 2009 trace used 000000)")
    c.add_argument("--no-le", action="store_true", help="leave out Le (as in the FC 2009 trace)")
    _add_cap_common(c)
    c.set_defaults(handler=_cap_command)
    o = cap_sub.add_parser("otp", help="the displayed code from the GENERATE AC response and the IPB",
                           epilog=CAP_EPILOG, formatter_class=RAW)
    answer = o.add_mutually_exclusive_group(required=True)
    answer.add_argument("--rapdu", type=hex_type("rapdu", min_length=2), help="response APDU including SW 9000")
    answer.add_argument("--response", type=hex_type("response", min_length=1),
                        help="response data field only (template 80 or 77, no status word)")
    o.add_argument("--ipb", type=hex_type("ipb", min_length=1, max_length=64), help="Issuer Proprietary Bitmap (9F56)")
    o.add_argument("--iaf", type=hex_type("iaf", lengths=(1,)), help="Issuer Authentication Flag (9F55), default 00")
    o.add_argument("--psn", type=hex_type("psn", lengths=(1,)), help="PAN sequence number (5F34), used if IAF & 40")
    _add_cap_common(o)
    o.set_defaults(handler=_cap_otp)
