"""Card images: a personalised card (profile + data + keys + counters) as JSON.

A card image is what a personalisation bureau writes into a chip: the records the
terminal reads (EMV 4.4 Book 3 §10.2), the Application Interchange Profile and
Application File Locator, the ICC master keys derived from the issuer master keys
(Book 2 Annex A1.4), the ICC private key for DDA/CDA (Book 2 §6.1), and the
counters: Application Transaction Counter (ATC, tag ``9F36``), Last Online ATC
Register (``9F13``) and PIN Try Counter (``9F17``).

The card updates the counters and persists the whole image with
:class:`ImageFile` — temporary file, ``fsync``, ``os.replace``, directory ``fsync``
— so that a crash or a killed process never leaves a half-written image and an ATC
is never used twice across runs.

Images hold test keys in clear (they are simulator files); ``repr`` of every class
here hides keys and the PAN all the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from card_emulation.errors import ImageError, ProfileError
from card_emulation.profile import ApplicationProfile, CardProfile, parse_profile
from protocol.crypto.primitives import RsaPrivateKey

IMAGE_SCHEMA = "trustone-card-image/1"
MAX_ATC = 0xFFFF


@dataclass(frozen=True, repr=False)
class ApplicationKeys:
    """Secret keys of one application, as held by the chip.

    ``algorithm`` is ``"tdes"`` (16-byte double-length keys) or ``"aes"``.
    ``present`` is ``False`` for a key-less copy (an SDA-era clone, see
    :mod:`card_emulation.faults`): it can answer but cannot compute a valid
    cryptogram or signature. ``signature_length`` is the ICC modulus length in
    bytes (0 without an ICC key), kept so a key-less copy answers with a
    signature-sized block.
    """

    algorithm: str
    mk_ac: bytes
    mk_smi: bytes
    mk_smc: bytes
    icc_key: RsaPrivateKey | None
    signature_length: int
    present: bool = True

    def __repr__(self) -> str:
        return f"ApplicationKeys({self.algorithm}, icc_key={'yes' if self.icc_key else 'no'}, <secret>)"


@dataclass(frozen=True)
class ApplicationCounters:
    """The counters of one application (Book 3 Annex A: 9F36, 9F13, 9F17)."""

    atc: int
    last_online_atc: int
    pin_tries_left: int

    def __post_init__(self) -> None:
        for name in ("atc", "last_online_atc"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value <= MAX_ATC:
                raise ImageError(f"{name} must be 0..FFFF, got {value!r}")
        if not isinstance(self.pin_tries_left, int) or not 0 <= self.pin_tries_left <= 15:
            raise ImageError(f"pin_tries_left must be 0..15, got {self.pin_tries_left!r}")


@dataclass(frozen=True, repr=False)
class ApplicationImage:
    """One personalised application: profile, AIP, AFL, records and keys."""

    profile: ApplicationProfile
    aip: bytes
    afl: bytes
    records: Mapping[tuple[int, int], bytes]
    keys: ApplicationKeys
    ca_index: int | None

    def __repr__(self) -> str:
        return f"ApplicationImage(aid={self.aid.hex().upper()}, {len(self.records)} records)"

    @property
    def aid(self) -> bytes:
        return self.profile.aid


@dataclass(frozen=True, repr=False)
class CardImage:
    """A personalised card. Immutable: counter updates give a new image."""

    profile: CardProfile
    applications: tuple[ApplicationImage, ...]
    counters: Mapping[bytes, ApplicationCounters]
    seed_id: str

    def __repr__(self) -> str:
        return f"CardImage(profile={self.profile.name!r}, seed_id={self.seed_id!r})"

    def application(self, aid: bytes) -> ApplicationImage:
        for app in self.applications:
            if app.aid == aid:
                return app
        raise ImageError(f"the image has no application {aid.hex().upper()}")

    def counters_for(self, aid: bytes) -> ApplicationCounters:
        return self.counters[aid]

    def with_counters(self, aid: bytes, counters: ApplicationCounters) -> CardImage:
        if aid not in self.counters:
            raise ImageError(f"the image has no application {aid.hex().upper()}")
        updated = dict(self.counters)
        updated[aid] = counters
        return replace(self, counters=updated)


# --------------------------------------------------------------------------- JSON


def _rsa_to_json(key: RsaPrivateKey | None) -> dict[str, Any] | None:
    if key is None:
        return None
    return {
        "modulus": f"{key.modulus:X}",
        "public_exponent": key.public_exponent,
        "private_exponent": f"{key.private_exponent:X}",
        "p": f"{key.p:X}",
        "q": f"{key.q:X}",
    }


def _rsa_from_json(raw: Any) -> RsaPrivateKey | None:
    if raw is None:
        return None
    n, p, q = int(raw["modulus"], 16), int(raw["p"], 16), int(raw["q"], 16)
    if p * q != n:
        raise ImageError("ICC private key: p * q is not the modulus")
    return RsaPrivateKey(n, int(raw["public_exponent"]), int(raw["private_exponent"], 16), p, q)


def image_to_json(image: CardImage) -> str:
    """Serialise a card image (stable key order, so equal images give equal text)."""
    apps = []
    for app in image.applications:
        k = app.keys
        apps.append(
            {
                "aid": app.aid.hex().upper(),
                "aip": app.aip.hex().upper(),
                "afl": app.afl.hex().upper(),
                "ca_index": app.ca_index,
                "records": [
                    {"sfi": sfi, "record": rec, "data": data.hex().upper()}
                    for (sfi, rec), data in sorted(app.records.items())
                ],
                "keys": {
                    "algorithm": k.algorithm,
                    "present": k.present,
                    "mk_ac": k.mk_ac.hex().upper(),
                    "mk_smi": k.mk_smi.hex().upper(),
                    "mk_smc": k.mk_smc.hex().upper(),
                    "icc_key": _rsa_to_json(k.icc_key),
                    "signature_length": k.signature_length,
                },
                "counters": {
                    "atc": image.counters[app.aid].atc,
                    "last_online_atc": image.counters[app.aid].last_online_atc,
                    "pin_tries_left": image.counters[app.aid].pin_tries_left,
                },
            }
        )
    document = {
        "schema": IMAGE_SCHEMA,
        "note": "TrustOne Tap Simulator TEST card image: test keys only, never a real card.",
        "seed_id": image.seed_id,
        "profile": image.profile.raw,
        "applications": apps,
    }
    return json.dumps(document, indent=1, sort_keys=True, default=str) + "\n"


def image_from_json(text: str) -> CardImage:
    """Parse a card image; any inconsistency raises :class:`ImageError`."""
    try:
        document = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise ImageError(f"card image is not JSON: {exc}") from None
    try:
        if document.get("schema") != IMAGE_SCHEMA:
            raise ImageError(f"card image schema must be {IMAGE_SCHEMA!r}")
        profile = parse_profile(document["profile"])
        apps: list[ApplicationImage] = []
        counters: dict[bytes, ApplicationCounters] = {}
        raw_apps = document["applications"]
        if len(raw_apps) != len(profile.applications):
            raise ImageError("the image and its profile list different applications")
        for app_profile, raw in zip(profile.applications, raw_apps, strict=True):
            if bytes.fromhex(raw["aid"]) != app_profile.aid:
                raise ImageError("application order differs from the profile")
            k = raw["keys"]
            keys = ApplicationKeys(
                algorithm=str(k["algorithm"]),
                mk_ac=bytes.fromhex(k["mk_ac"]),
                mk_smi=bytes.fromhex(k["mk_smi"]),
                mk_smc=bytes.fromhex(k["mk_smc"]),
                icc_key=_rsa_from_json(k["icc_key"]),
                signature_length=int(k["signature_length"]),
                present=bool(k.get("present", True)),
            )
            if keys.algorithm not in ("tdes", "aes"):
                raise ImageError(f"unknown key algorithm {keys.algorithm!r}")
            records = {}
            for r in raw["records"]:
                sfi, rec = int(r["sfi"]), int(r["record"])
                if not (1 <= sfi <= 30 and 1 <= rec <= 254):
                    raise ImageError(f"record SFI {sfi} number {rec} out of range")
                records[(sfi, rec)] = bytes.fromhex(r["data"])
            ca_index = raw.get("ca_index")
            apps.append(
                ApplicationImage(
                    profile=app_profile,
                    aip=bytes.fromhex(raw["aip"]),
                    afl=bytes.fromhex(raw["afl"]),
                    records=records,
                    keys=keys,
                    ca_index=None if ca_index is None else int(ca_index),
                )
            )
            c = raw["counters"]
            counters[app_profile.aid] = ApplicationCounters(
                int(c["atc"]), int(c["last_online_atc"]), int(c["pin_tries_left"])
            )
        return CardImage(profile, tuple(apps), counters, str(document.get("seed_id", "")))
    except ImageError:
        raise
    except ProfileError as exc:
        raise ImageError(f"card image profile: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ImageError(f"card image is malformed: {type(exc).__name__}: {exc}") from None


# --------------------------------------------------------------------------- files


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically and durably.

    Temporary file in the same directory, ``fsync``, ``os.replace`` (atomic on
    POSIX and Windows), then ``fsync`` of the directory where supported, so the
    rename itself survives a power cut.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        try:
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


class ImageFile:
    """A card image on disk; the card calls :meth:`save` whenever a counter changes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ImageFile({str(self.path)!r})"

    def load(self) -> CardImage:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ImageError(f"cannot read card image {self.path}: {exc.strerror or exc}") from None
        return image_from_json(text)

    def save(self, image: CardImage) -> None:
        write_atomic(self.path, image_to_json(image))


def load_image(path: Path | str) -> CardImage:
    """Read a card image file."""
    return ImageFile(path).load()


def save_image(path: Path | str, image: CardImage) -> None:
    """Write a card image file atomically."""
    ImageFile(path).save(image)
