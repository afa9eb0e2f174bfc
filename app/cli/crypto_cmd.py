"""``trustone crypto``: the payment crypto calculators.

Hex in, hex out, ``--json`` for scripts. The commands are split by topic:

* :mod:`app.cli.crypto_otp` — ``totp``, ``hotp``, ``cap``;
* :mod:`app.cli.crypto_emv` — ``derive-mk``, ``session-key``, ``arqc``, ``verify-arqc``, ``arpc``;
* :mod:`app.cli.crypto_oda` — ``recover-cert``, ``sdad``.
"""

from __future__ import annotations

import argparse

from app.cli import crypto_emv, crypto_oda, crypto_otp

DESCRIPTION = """\
Payment crypto calculators (EMV Book 2, RFC 4226/6238, EMV CAP). Hex in (spaces
allowed, any case), upper-case hex out; --json for scripts. Each command's --help
has a worked example taken from the public test vectors."""


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``crypto`` group and its commands to the top-level subparsers."""
    parser = groups.add_parser(
        "crypto", help="payment crypto calculators", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", dest="crypto_command", metavar="<command>")
    commands.required = True
    crypto_emv.register(commands)
    crypto_oda.register(commands)
    crypto_otp.register(commands)
