"""``trustone otp``: the one-time passwords a card tap replaces, on the same verifier and transaction.

* ``otp enrol-totp|enrol-hotp --user U`` — a new shared secret in the verifier
  (the ``otpauth://`` URI, which contains it, only with ``--show-uri``);
* ``otp totp-code --user U`` / ``otp hotp-code --user U`` — the code the user's
  authenticator app / OTP token would show now (for demos);
* ``otp verify --user U CODE`` — the verifier checks the code as the answer to a
  challenge for the transaction (``--amount`` …, as ``trustone run``): note its
  "transaction binding" — not checkable, whatever T is;
* ``otp cap --mode identify|respond|sign`` — a PINsentry-style reader with the
  emulated CAP card: VERIFY PIN, CAP GENERATE AC, the 8-digit code, and its
  verification (Respond/Sign answer the verifier's challenge for T; Sign covers
  T's amount).

Exit codes: 0 accepted (or a code shown), 1 rejected, 2 usage or set-up error.
"""

from __future__ import annotations

import argparse
import time
from contextlib import closing

from app.cli._common import EXIT_NEGATIVE, EXIT_OK, CliInputError, add_json_option, amount_minor_units, digits_type
from app.cli.render import Printer, check_json, render_events, render_verdict
from app.cli.run_cmd import add_transaction_arguments, currency_of, describe_transaction, transaction_from_args
from app.flow.attack_otp import authenticator_code, next_hotp_code, read_cap
from app.flow.service import DEFAULT_PHONE, TapService
from app.flow.sources import CardSource, emulated_image, emulated_transport, prepare_emulated
from card_emulation.personalise import DEFAULT_SEED
from card_emulation.profile import list_profiles, load_profile
from protocol.cap import CapMode, CapRequest
from protocol.masking import mask_pan
from protocol.tap.verifier_cap import cap_challenge_digits
from protocol.tap.verifier_result import VerificationResult
from protocol.tap.verifier_store import OtpKind

EXAMPLES = """\
examples:
  trustone otp enrol-totp --user alice
  trustone otp totp-code --user alice               # what the authenticator app shows
  trustone otp verify --user alice 123456 --amount 9000000 --payee "Phisher Ltd"   # accepted: no binding
  trustone otp cap --mode sign --amount 50000       # PINsentry Sign with the emulated CAP card
"""
DEFAULT_CAP_PROFILE = "cap-visa-dpa"


def _service(args: argparse.Namespace) -> TapService:
    return TapService(args.data_dir, phone=DEFAULT_PHONE)


def _show(p: Printer, args: argparse.Namespace, result: VerificationResult, extra: dict[str, object]) -> int:
    code = EXIT_OK if result.accepted else EXIT_NEGATIVE
    if args.json:
        p.json({**extra, "verdict": result.outcome.value, "accepted": result.accepted,
                "checks": [check_json(c) for c in result.checks], "reasons": list(result.reasons),
                "exit_code": code})  # fmt: skip
        return code
    for key, value in extra.items():
        if value is not None:
            p.line(f"{key}: {value}")
    p.line()
    render_events(p, result.events, verbose=args.verbose)
    p.line()
    render_verdict(p, result.verdict, "")
    return code


# --------------------------------------------------------------------------- TOTP / HOTP


def _enrol(args: argparse.Namespace) -> int:
    with _service(args) as service:
        if args.kind == "totp":
            enrolment = service.verifier.enrol_totp(args.user, digits=args.digits, algorithm=args.algorithm,
                                                    period=args.period)  # fmt: skip
        else:
            enrolment = service.verifier.enrol_hotp(args.user, digits=args.digits, algorithm=args.algorithm)
    values = {"user": args.user, "kind": args.kind, "digits": args.digits, "algorithm": enrolment.algorithm,
              "period": enrolment.period, "counter": enrolment.counter,
              "uri": enrolment.uri if args.show_uri else None}  # fmt: skip
    p = Printer()
    if args.json:
        p.json({k: v for k, v in values.items() if v is not None})
        return EXIT_OK
    p.line(f"{args.kind.upper()} credential enrolled for {args.user!r} ({args.digits} digits, {enrolment.algorithm}).")
    if args.show_uri:
        p.line(f"otpauth URI (contains the secret; load it into an authenticator app): {enrolment.uri}")
    else:
        p.line(f"The secret stays in the verifier; 'trustone otp {args.kind}-code --user {args.user}' shows the "
               "current code (--show-uri prints the otpauth:// URI once).")  # fmt: skip
    return EXIT_OK


def _code(args: argparse.Namespace) -> int:
    now = int(time.time())
    with _service(args) as service:
        try:
            if args.kind == "totp":
                code = authenticator_code(service.store, args.user, now)
            else:
                code = next_hotp_code(service.store, args.user)
        except KeyError:
            raise CliInputError(f"user {args.user!r} has no {args.kind.upper()} credential; run "
                                f"'trustone otp enrol-{args.kind} --user {args.user}' first") from None  # fmt: skip
    p = Printer()
    left = 30 - now % 30 if args.kind == "totp" else None
    if args.json:
        p.json({"user": args.user, "kind": args.kind, "code": code, "seconds_left": left})
    else:
        p.line(code if left is None else f"{code}  (valid for about {left} s more)")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    with _service(args) as service:
        kind = args.otp_kind
        if kind == "auto":
            has_totp = service.store.otp_token(args.user, OtpKind.TOTP) is not None
            kind = "totp" if has_totp or service.store.otp_token(args.user, OtpKind.HOTP) is None else "hotp"
        transaction = transaction_from_args(args)
        challenge = service.verifier.issue_challenge(transaction)
        check = service.verifier.verify_totp if kind == "totp" else service.verifier.verify_hotp
        result = check(args.user, args.code, challenge_id=challenge.challenge_id)
    return _show(Printer(), args, result, {"user": args.user, "kind": kind,
                                           "transaction": describe_transaction(transaction)})  # fmt: skip


# --------------------------------------------------------------------------- CAP


def _cap(args: argparse.Namespace) -> int:
    mode = CapMode(args.mode)
    if args.challenge is not None and mode is CapMode.IDENTIFY:
        raise CliInputError("--challenge: CAP identify takes no challenge")
    profile = load_profile(args.profile)
    pin = profile.applications[0].pin
    if not pin:
        raise CliInputError(f"card profile {args.profile} has no PIN: not a CAP card")
    source = CardSource(profile=args.profile, seed=args.seed)
    transaction = transaction_from_args(args)
    with _service(args) as service:
        prepare_emulated(source, service.data_dir)
        service.reload_keys()

        def reading(request: CapRequest):  # type: ignore[no-untyped-def]
            with closing(emulated_transport(source, service.data_dir)) as transport:
                return read_cap(transport, request, pin)

        pan = emulated_image(source, service.data_dir).applications[0].profile.pan  # what the user types with the code
        token = service.store.otp_token(args.user, OtpKind.CAP)
        if token is None or token.params.get("masked_pan") != mask_pan(pan):
            # the issuer's record of the card, from a first reading (as the bank has it from issuing the card)
            service.verifier.enrol_cap(args.user, reading(CapRequest(CapMode.IDENTIFY)).card())
        challenge = None if mode is CapMode.IDENTIFY else service.verifier.issue_challenge(transaction)
        digits = args.challenge or (cap_challenge_digits(challenge) if challenge else None)
        typed = transaction.amount_minor if args.typed_amount is None else amount_minor_units(
            args.typed_amount, currency_of(args.currency)[2])  # fmt: skip
        request = CapRequest(mode, digits, typed if mode is CapMode.SIGN else None)
        read = reading(request)
        result = service.verifier.verify_cap(args.user, read.code, pan=pan, mode=mode,
                                             challenge_id=challenge.challenge_id if challenge else None)  # fmt: skip
    p = Printer()
    extra = {"user": args.user, "card": f"{args.profile} ({result.masked_pan or 'TEST card'})", "mode": mode.value,
             "transaction": describe_transaction(transaction) if challenge else None, "challenge digits": digits,
             "amount typed into the reader": typed if mode is CapMode.SIGN else None, "code": read.code}  # fmt: skip
    if not args.json:
        p.line("CAP reader (PINsentry-style) with the emulated card:")
        for exchange in read.exchanges:
            p.line(f"  {p.sym['send']} {exchange.name:<28} {exchange.command.hex().upper()[:40]}")
            p.line(f"  {p.sym['recv']} {exchange.sw:04X}")
    return _show(p, args, result, extra)


# --------------------------------------------------------------------------- registration


def _common(p: argparse.ArgumentParser, *, user: bool = True) -> None:
    if user:
        p.add_argument("--user", required=True, help="user id")
    p.add_argument("--data-dir", metavar="DIR", help="data directory holding the verifier database")
    add_json_option(p)


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``otp`` group."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = groups.add_parser("otp", help="TOTP, HOTP and EMV CAP on the same verifier",
                               description=__doc__.split("\n\n", 1)[1], epilog=EXAMPLES, formatter_class=raw)
    commands = parser.add_subparsers(title="commands", dest="otp_command", metavar="<command>")
    commands.required = True
    for kind in ("totp", "hotp"):
        p = commands.add_parser(f"enrol-{kind}", aliases=[f"enroll-{kind}"], help=f"a new {kind.upper()} secret",
                                epilog=f"example:\n  trustone otp enrol-{kind} --user alice", formatter_class=raw)
        p.add_argument("--digits", type=int, choices=(6, 7, 8), default=6, help="code length (default 6)")
        p.add_argument("--algorithm", choices=("SHA1", "SHA256", "SHA512"), default="SHA1", help="HMAC hash")
        if kind == "totp":
            p.add_argument("--period", type=int, default=30, help="time step in seconds (default 30)")
        p.add_argument("--show-uri", action="store_true", help="print the otpauth:// URI (it contains the secret)")
        _common(p)
        p.set_defaults(handler=_enrol, kind=kind, period=30)
        p = commands.add_parser(f"{kind}-code", help=f"the {kind.upper()} code the user's app/token shows now",
                                epilog=f"example:\n  trustone otp {kind}-code --user alice", formatter_class=raw)
        _common(p)
        p.set_defaults(handler=_code, kind=kind)
    p = commands.add_parser("verify", help="verify a TOTP/HOTP code for a transaction",
                            epilog="example:\n  trustone otp verify --user alice 123456 --amount 50000",
                            formatter_class=raw)  # fmt: skip
    p.add_argument("code", metavar="CODE", help="the code the user typed")
    p.add_argument("--kind", dest="otp_kind", choices=("auto", "totp", "hotp"), default="auto",
                   help="which credential (default: TOTP if enrolled, else HOTP)")
    p.add_argument("--verbose", "-v", action="store_true", help="crypto details")
    add_transaction_arguments(p)
    _common(p)
    p.set_defaults(handler=_verify)
    p = commands.add_parser("cap", help="compute and verify an EMV CAP code with the emulated CAP card",
                            epilog="examples:\n  trustone otp cap --mode identify\n"
                            "  trustone otp cap --mode respond --challenge 12345678   # digits of another challenge\n"
                            "  trustone otp cap --mode sign --amount 50000 --typed-amount 50000",
                            formatter_class=raw)  # fmt: skip
    p.add_argument("--profile", choices=list_profiles(), default=DEFAULT_CAP_PROFILE, metavar="NAME",
                   help=f"the CAP card's profile (default {DEFAULT_CAP_PROFILE})")
    p.add_argument("--seed", default=DEFAULT_SEED, help="personalisation seed")
    p.add_argument("--mode", choices=[m.value for m in (CapMode.IDENTIFY, CapMode.RESPOND, CapMode.SIGN)],
                   default="identify", help="reader mode (default identify)")
    p.add_argument("--challenge", type=digits_type("challenge", max_digits=8), metavar="N",
                   help="challenge digits typed into the reader (default: those of the verifier's challenge)")
    p.add_argument("--typed-amount", metavar="A", help="amount typed into the reader in sign mode (default: --amount)")
    p.add_argument("--user", default="demo-cap-user", help="user id (default demo-cap-user)")
    p.add_argument("--verbose", "-v", action="store_true", help="crypto details")
    add_transaction_arguments(p)
    _common(p, user=False)
    p.set_defaults(handler=_cap)
