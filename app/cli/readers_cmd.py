"""``trustone readers``: which readers and cards are here, and how to fix what is missing.

Always exits 0 when it could look (even with no PC/SC and no NFC at all): the
emulated card is always available, and every absent component is listed with
the command that installs or fixes it (:mod:`app.transports.discovery`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from app.cli._common import EXIT_OK, add_json_option
from app.transports.discovery import Backend, BackendReport, Discovery, discover

DESCRIPTION = """\
List what can talk to a card: PC/SC readers (with card present and ATR), USB NFC
readers nfcpy can drive, and the emulated card (always available). For whatever
is missing (pcscd not running, libpcsclite or pyscard missing, libusb missing,
permission denied, no reader) it says why and how to fix it.
"""


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``readers`` command to the top-level subparsers."""
    parser = groups.add_parser(
        "readers", help="list readers and cards, and why others are not available",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument(
        "--nfc-device", action="append", default=[], metavar="PATH",
        help="also probe this nfcpy device path (usb:BUS:DEV, tty:USB0:pn532, udp:HOST:PORT); repeatable",
    )  # fmt: skip
    parser.add_argument("--no-probe", action="store_true", help="do not open the USB NFC readers found")
    add_json_option(parser)
    parser.set_defaults(handler=_readers)


def _readers(args: argparse.Namespace) -> int:
    found = discover(nfc_paths=args.nfc_device, probe_usb=not args.no_probe)
    if args.json:
        sys.stdout.write(json.dumps(found.to_dict(), indent=2) + "\n")
    else:
        render(found, sys.stdout)
    return EXIT_OK


def render(found: Discovery, out: TextIO) -> None:
    """The human-readable listing."""
    for report in found.reports:
        out.write(f"{report.backend.title}:\n")
        if report.backend is Backend.EMULATED:
            _render_emulated(report, out)
            continue
        for reader in report.readers:
            state = reader.detail
            if reader.atr:
                state = f"{state}, ATR {reader.atr.hex().upper()}"
            out.write(f"  {reader.name}: {state or 'present'}\n")
            if reader.usable:
                out.write(f"    use: {reader.use}\n")
            elif reader.problem is not None and reader.problem.fix:
                out.write(f"    fix: {reader.problem.fix}\n")
        for problem in report.problems:
            out.write(f"  not available: {problem.what}\n")
            if problem.fix:
                out.write(f"    fix: {problem.fix}\n")
        out.write("\n")


def _render_emulated(report: BackendReport, out: TextIO) -> None:
    profiles = ", ".join(r.use.removeprefix("--profile ") for r in report.readers)
    out.write(f"  always available (TEST cards, no reader needed); profiles: {profiles}\n")
    out.write("    use: --profile NAME\n")
