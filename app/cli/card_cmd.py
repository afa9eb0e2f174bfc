"""``trustone card``: emulated cards — profiles, personalisation, images, serving.

* ``card list`` — the shipped profiles (``resources/cards/*.toml``);
* ``card personalise --profile NAME [--seed S] [--out FILE] [--data-dir DIR]`` —
  make a card image (deterministic from the seed) and add its CA key and issuer
  master keys to the key store of the data directory;
* ``card info IMAGE`` — what an image holds (PAN masked, keys never shown);
* ``card serve --vpcd [HOST:PORT] | --nfc udp:HOST:PORT`` — put an emulated card
  into pcscd's virtual reader (vsmartcard vpcd) or serve it as an ISO 14443-4
  card on nfcpy's udp driver, with ``--fault SPEC`` (repeatable) and ``--timing``.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from app.cli._common import EXIT_OK, CliInputError, add_json_option, output_for
from card_emulation.applet import EmvCard
from card_emulation.errors import CardEmulationError
from card_emulation.faults import FaultPlan
from card_emulation.image import CardImage, ImageFile
from card_emulation.keystore_files import data_dir, keystore_path, merge_into_keystore
from card_emulation.personalise import DEFAULT_SEED, ensure_card_image, personalise, seed_id
from card_emulation.profile import list_profiles, load_profile
from card_emulation.timing import BitRate, PacedCard
from protocol.masking import mask_pan

DESCRIPTION = """\
Emulated EMV cards. Profiles (resources/cards) describe a card; personalisation
turns a profile and a seed into a card image (JSON, test keys) and puts the
simulator CA key and the issuer master keys into the key store of the data
directory ($TRUSTONE_DATA_DIR or the user data directory). Every card is a TEST
card with test keys."""


def _fail(exc: Exception) -> CliInputError:
    return CliInputError(str(exc))


# --------------------------------------------------------------------------- list


def _list(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for name in list_profiles():
        profile = load_profile(name)
        rows.append(
            {
                "name": name,
                "title": profile.title,
                "applications": [
                    {
                        "aid": app.aid.hex().upper(),
                        "label": app.label,
                        "priority": app.priority,
                        "cryptogram": app.cryptogram.value,
                        "oda": sorted(m.value for m in app.oda) or ["none"],
                    }
                    for app in profile.applications
                ],
            }
        )
    out = output_for(args)
    if out.json_mode:
        out.result({"profiles": rows})
        return EXIT_OK
    for row in rows:
        sys.stdout.write(f"{row['name']}: {row['title']}\n")
        for app in row["applications"]:
            sys.stdout.write(
                f"  {app['aid']} {app['label']!r} priority {app['priority']} "
                f"{app['cryptogram']} ODA {'+'.join(app['oda'])}\n"
            )
    return EXIT_OK


# --------------------------------------------------------------------------- personalise


def _personalise(args: argparse.Namespace) -> int:
    directory = data_dir(args.data_dir)
    try:
        if args.out is None:
            path = ensure_card_image(args.profile, args.seed, data_dir=directory)
        else:
            path = Path(args.out)
            if path.exists() and not args.force:
                raise CliInputError(f"{path} exists (its counters are the card's history); use --force to replace it")
            result = personalise(args.profile, args.seed)
            ImageFile(path).save(result.image)
            merge_into_keystore(result.keystore, directory)
    except CardEmulationError as exc:
        raise _fail(exc) from None
    output_for(args).result(
        {
            "image": str(path),
            "profile": args.profile,
            "seed_id": seed_id(args.seed),
            "keystore": str(keystore_path(directory)),
        },
        title="personalised a TEST card",
    )
    return EXIT_OK


# --------------------------------------------------------------------------- info


def image_summary(image: CardImage) -> dict[str, Any]:
    """What ``card info`` shows: no keys, PAN masked (first 6 / last 4)."""
    apps = []
    for app in image.applications:
        p = app.profile
        c = image.counters_for(app.aid)
        apps.append(
            {
                "aid": app.aid.hex().upper(),
                "label": p.label,
                "priority": p.priority,
                "pan": mask_pan(p.pan),
                "psn": p.psn,
                "expiry": p.expiry.isoformat(),
                "cryptogram": p.cryptogram.value,
                "oda": sorted(m.value for m in p.oda),
                "aip": app.aip.hex().upper(),
                "afl": app.afl.hex().upper(),
                "records": len(app.records),
                "ca_index": None if app.ca_index is None else f"{app.ca_index:02X}",
                "icc_key_bits": app.keys.icc_key.modulus.bit_length() if app.keys.icc_key else None,
                "atc": c.atc,
                "last_online_atc": c.last_online_atc,
                "pin_tries_left": c.pin_tries_left if p.pin else None,
            }
        )
    return {
        "profile": image.profile.name,
        "title": image.profile.title,
        "seed_id": image.seed_id,
        "atr": image.profile.atr.hex().upper(),
        "applications": apps,
    }


def _info(args: argparse.Namespace) -> int:
    try:
        image = ImageFile(args.image).load()
    except CardEmulationError as exc:
        raise _fail(exc) from None
    summary = image_summary(image)
    out = output_for(args)
    if out.json_mode:
        out.result(summary)
        return EXIT_OK
    head = {k: v for k, v in summary.items() if k != "applications"}
    out.result(head, title="TEST card image")
    for app in summary["applications"]:
        sys.stdout.write("\n")
        out.result(app)
    return EXIT_OK


# --------------------------------------------------------------------------- serve


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text or "127.0.0.1", default_port
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise CliInputError(f"not HOST:PORT: {text!r}") from None


def _card_for_serving(args: argparse.Namespace) -> EmvCard:
    faults = FaultPlan()
    try:
        for spec in args.fault or ():
            faults = faults + FaultPlan.parse(spec)
        if args.image:
            return EmvCard.from_file(args.image, faults=faults, bit_rate=BitRate(args.bit_rate))
        path = ensure_card_image(args.profile, args.seed, data_dir=data_dir(args.data_dir))
        return EmvCard.from_file(path, faults=faults, bit_rate=BitRate(args.bit_rate))
    except CardEmulationError as exc:
        raise _fail(exc) from None


def _serve(args: argparse.Namespace) -> int:
    card = _card_for_serving(args)
    served = PacedCard(card, enabled=args.timing)
    stop = threading.Event()
    bridge: Any
    if args.vpcd is not None:
        from card_emulation.vpcd import DEFAULT_PORT, VpcdBridge

        host, port = _host_port(args.vpcd, DEFAULT_PORT)
        bridge = VpcdBridge(served, port, host)
        bridge.start()
        where = f"vpcd {host}:{port}"
    else:
        from card_emulation.nfc_bridge import NfcBridge

        host, port = _host_port(args.nfc.removeprefix("udp:"), 0)
        bridge = NfcBridge(served, host, port)
        bridge.start()
        bridge.wait_ready(5.0)
        where = bridge.device_path
    sys.stdout.write(
        f"serving TEST card {card.image.profile.name} ({card.image.seed_id}) on {where}"
        f"{' with realistic timing' if args.timing else ''}; Ctrl-C to stop\n"
    )
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        bridge.stop()
    return EXIT_OK


# --------------------------------------------------------------------------- registration


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``card`` group and its commands to the top-level subparsers."""
    parser = groups.add_parser(
        "card", help="emulated EMV cards", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(title="commands", dest="card_command", metavar="<command>")
    commands.required = True

    p = commands.add_parser("list", help="list the card profiles")
    add_json_option(p)
    p.set_defaults(handler=_list)

    p = commands.add_parser("personalise", aliases=["personalize"], help="make a card image from a profile and a seed")
    p.add_argument("--profile", required=True, choices=list_profiles(), metavar="NAME", help="profile name (card list)")
    p.add_argument("--seed", default=DEFAULT_SEED, help=f"personalisation seed (default {DEFAULT_SEED!r})")
    p.add_argument("--out", metavar="FILE", help="write the image here (default: cached in the data directory)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file (resets its counters)")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (key store, cached images)")
    add_json_option(p)
    p.set_defaults(handler=_personalise)

    p = commands.add_parser("info", help="show a card image (PAN masked, no keys)")
    p.add_argument("image", metavar="IMAGE", help="card image file (JSON)")
    add_json_option(p)
    p.set_defaults(handler=_info)

    p = commands.add_parser("serve", help="serve an emulated card to pcscd (vpcd) or nfcpy (udp)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--vpcd", nargs="?", const="127.0.0.1:35963", metavar="HOST:PORT",
                       help="connect to vpcd (default 127.0.0.1:35963; loopback only)")
    where.add_argument("--nfc", metavar="udp:HOST:PORT", help="listen as an ISO 14443-4 card on nfcpy's udp driver")
    card = p.add_mutually_exclusive_group()
    card.add_argument("--image", metavar="FILE", help="card image to serve (counters are saved back to it)")
    card.add_argument("--profile", choices=list_profiles(), default="visa-cvn18-dda", metavar="NAME",
                      help="profile of a cached image in the data directory (default visa-cvn18-dda)")
    p.add_argument("--seed", default=DEFAULT_SEED, help="seed for --profile")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (key store, cached images)")
    p.add_argument("--fault", action="append", metavar="SPEC", help="fault plan, e.g. 'genac:corrupt-ac' (repeatable)")
    p.add_argument("--timing", action="store_true", help="pace answers by the estimated on-air and processing time")
    p.add_argument("--bit-rate", type=int, choices=[r.value for r in BitRate], default=106,
                   help="bit rate for timing estimates, kbit/s (default 106)")
    p.set_defaults(handler=_serve)
