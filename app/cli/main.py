"""The ``trustone`` command line.

Command groups live in their own modules, listed once in :data:`COMMAND_MODULES`.
Each module exposes ``register(subparsers)``, which adds its group parser and sets
``handler`` (a function ``(argparse.Namespace) -> int``) on every leaf parser.

Common behaviour, enforced here so that no command has to remember it:

* exit 0 on success; 1 on a negative verdict (a :class:`~protocol.errors.VerificationError`
  escaped the handler: printed as ``FAIL: <check>: <detail>``, or as a JSON object
  with ``--json``); 2 on a usage or input error;
* usage and input errors (argparse's, :class:`~protocol.errors.ProtocolError`,
  :class:`~app.errors.AppError`) print exactly one line ``trustone: error: ...``
  on stderr and never a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn

from app.cli._common import EXIT_NEGATIVE, EXIT_USAGE
from app.errors import AppError
from protocol.errors import ProtocolError, VerificationError

PROG = "trustone"
#: Command-group modules; append yours (each exposes ``register(subparsers)``).
COMMAND_MODULES: tuple[str, ...] = ("app.cli.crypto_cmd", "app.cli.card_cmd", "app.cli.readers_cmd", "app.cli.run_cmd", "app.cli.scenarios_cmd", "app.cli.enrol_cmd", "app.cli.otp_cmd", "app.cli.trace_cmd")


class UsageProblem(Exception):
    """argparse found a usage error; carried to :func:`main` to print one line."""


class TrustoneArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that reports errors as one line instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix(PROG).strip()
        hint = f" (see '{self.prog} --help')"
        raise UsageProblem(f"{where + ': ' if where else ''}{message}{hint}")


def _version() -> str:
    try:
        return version("trustone-simulator")
    except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The full parser: global options and every registered command group."""
    parser = TrustoneArgumentParser(
        prog=PROG,
        description=(
            "TrustOne Tap Simulator: EMV card-tap authentication, the OTP flows it replaces, "
            "and the payment crypto calculators behind them. An EMV-based model; no public "
            "TrustOne APDU specification exists."
        ),
        epilog=(
            "Exit codes: 0 success, 1 negative verdict (a check failed), 2 usage or input error.\n"
            "Hex input may contain spaces and be in either case; hex output is upper case.\n"
            f"Run '{PROG} <group> --help' for the commands of a group."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    groups = parser.add_subparsers(title="command groups", dest="group", metavar="<group>")
    groups.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(groups)
    return parser


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {_one_line(message)}\n")
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``trustone`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except UsageProblem as exc:
        return _error(str(exc))
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    handler = getattr(args, "handler", None)
    if handler is None:  # a group without its command: argparse already requires one
        return _error("no command given")
    try:
        return int(handler(args))
    except VerificationError as exc:
        if getattr(args, "json", False):
            sys.stdout.write(json.dumps({"verdict": "FAIL", "check": exc.check, "detail": exc.detail}) + "\n")
        else:
            sys.stdout.write(f"FAIL: {_one_line(str(exc))}\n")
        return EXIT_NEGATIVE
    except (ProtocolError, AppError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
