"""``trustone enrol``: enrol a card for a user with this phone (DESIGN.md §3 "Enrolment").

The phone registers its device key; the user taps the card; the verifier checks
the tap as it checks an authentication and binds ``card_ref`` (a salted hash of
the PAN — never the PAN) to the user and the phone. Exit 0 when enrolled, 1 when
the verifier refused the card, 2 on a usage or set-up error.
"""

from __future__ import annotations

import argparse
from contextlib import closing

from app.cli._common import EXIT_NEGATIVE, EXIT_OK, add_json_option
from app.cli.render import Printer, Progress, check_json, events_json, render_events, render_verdict, shown_events
from app.cli.run_cmd import add_source_arguments, source_from_args
from app.errors import NoCardError
from app.flow.service import TapService, TapStatus, default_user
from app.flow.sources import SourceKind, open_transport, prepare_emulated

EXAMPLES = """\
examples:
  trustone enrol --profile visa-cvn18-dda --user alice
  trustone enrol --transport pcsc --reader "ACS ACR1252" --user alice --phone my-phone
  trustone enrol --transport nfc --device usb --user alice --json
"""


def _enrol(args: argparse.Namespace) -> int:
    source = source_from_args(args)
    with Progress("Preparing the card…") as progress, TapService(args.data_dir, phone=args.phone) as service:
        user = args.user or default_user(source)
        if source.kind is SourceKind.EMULATED:
            prepare_emulated(source, service.data_dir)
            service.reload_keys()
        transport = open_transport(source, data_dir=service.data_dir, wait_s=args.wait, waiting=progress.update)
        if transport is None:  # pragma: no cover - only a cancel returns None
            raise NoCardError("no card was tapped")
        with closing(transport):
            outcome = service.enrol(user, transport)
        device_id = service.device_id
    v = outcome.verification
    code = EXIT_OK if outcome.enrolled is not None else EXIT_NEGATIVE
    p = Printer()
    if args.json:
        p.json({
            "enrolled": outcome.enrolled is not None, "status": outcome.status.value, "message": outcome.message,
            "user": user, "phone": args.phone, "device_id": device_id, "card": source.describe(),
            "masked_pan": v.masked_pan if v else None, "verdict": v.outcome.value if v else None,
            "oda_method": outcome.enrolled.record.oda_method if outcome.enrolled and outcome.enrolled.record else None,
            "checks": [check_json(c) for c in v.checks] if v else [], "exit_code": code,
            "events": events_json(outcome.events, reveal=args.reveal_pan),
        })  # fmt: skip
        return code
    p.line(f"TrustOne enrolment — {source.describe()} · user {user!r} · phone {args.phone!r} (device {device_id})")
    p.line()
    render_events(p, shown_events(outcome.events, reveal=args.reveal_pan), verbose=args.verbose)
    p.line()
    if outcome.status is TapStatus.VERDICT and v is not None:
        render_verdict(p, v.verdict, outcome.message)
    p.line(outcome.message)
    return code


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``enrol``."""
    p = groups.add_parser(
        "enrol", aliases=["enroll"], help="enrol a card for a user with this phone",
        description=__doc__.split("\n\n")[1], epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add_source_arguments(p, faults=False)
    p.add_argument("--reveal-pan", action="store_true", help="show the full PAN")
    p.add_argument("--verbose", "-v", action="store_true", help="explanations, decoded data, crypto, full APDUs")
    add_json_option(p)
    p.set_defaults(handler=_enrol)
