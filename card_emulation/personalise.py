"""Deterministic personalisation: profile + seed → card image + key store entries.

What an issuer's personalisation bureau does (EMV 4.4 Book 2 §5.1, §6.1, Annex
A1.4), with every key derived from a seed by :mod:`protocol.crypto.keygen` so the
same seed always gives the same card, byte for byte:

* a **simulator CA key** per RID and key size, from a fixed simulator CA seed (so
  all cards share one CA per RID), with a CA Public Key Index (tag ``8F``) from
  :data:`SIMULATOR_CA_INDEXES` checked to be free in ``resources/capk.json``
  (labelled TEST in the key store);
* per application: the issuer RSA key and its certificate (``90``/``92``/``9F32``),
  for SDA the Signed Static Application Data (``93``), for DDA/CDA the ICC RSA key
  and its certificate (``9F46``/``9F47``/``9F48``) over the static data to be
  authenticated (Book 3 §10.3);
* the issuer master keys IMK-AC/SMI/SMC (double-length DES, or AES-128 for the AES
  model) and the ICC master keys derived from them with the CVN's option (A/B/AES);
* the records, AIP and AFL, and the counters (ATC from the profile, PIN tries).

The card image keeps only what a chip holds (ICC master keys, ICC private key);
the CA public key and the issuer master keys go to the key store for the verifier.
:func:`ensure_card_image` caches images in the data directory, so starting the app
never re-runs RSA key generation for cards it already has.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

from card_emulation import card_data
from card_emulation.errors import ImageError, PersonalisationError
from card_emulation.image import ApplicationCounters, ApplicationImage, ApplicationKeys, CardImage, ImageFile
from card_emulation.keystore_files import cards_dir, load_keystore, merge_into_keystore
from card_emulation.profile import ApplicationProfile, CardProfile, OdaMethod, list_profiles, load_profile
from protocol.crypto import capk, keygen, oda
from protocol.crypto.cryptogram import derive_icc_master_key
from protocol.crypto.keys import IssuerMasterKeys
from protocol.crypto.primitives import RsaPrivateKey
from protocol.errors import UsageError
from protocol.keystore import IssuerKeyEntry, KeyStore

DEFAULT_SEED = "trustone-demo"
#: Seed of the simulator's own test CA keys (shared by every card, whatever its seed).
SIMULATOR_CA_SEED = b"TrustOne Tap Simulator TEST certification authority v1"
#: CA Public Key Index per CA key size; none of these is used in resources/capk.json.
SIMULATOR_CA_INDEXES = {1024: 0x51, 1152: 0x52, 1408: 0x53, 1536: 0x54, 1984: 0x55}
SIMULATOR_CA_EXPIRY = datetime.date(2045, 12, 31)
SIMULATOR_CA_ORIGIN = "TrustOne simulator TEST CA (not a payment scheme key)"
CA_EXPONENT = 3


@dataclass(frozen=True)
class Personalisation:
    """The result: the card image and the key store entries the verifier needs."""

    image: CardImage
    keystore: KeyStore


def seed_bytes(seed: str | bytes) -> bytes:
    raw = seed.encode("utf-8") if isinstance(seed, str) else bytes(seed)
    if not raw:
        raise PersonalisationError("the seed must not be empty")
    return raw


def seed_id(seed: str | bytes) -> str:
    """A short fingerprint of the seed (file names, key store origins); not the seed."""
    return hashlib.sha256(b"trustone seed id\x00" + seed_bytes(seed)).hexdigest()[:12]


def simulator_ca_index(rid: bytes, bits: int) -> int:
    """The simulator CA index for ``rid`` and key size; it must not shadow a public key."""
    try:
        index = SIMULATOR_CA_INDEXES[bits]
    except KeyError:
        sizes = ", ".join(str(b) for b in SIMULATOR_CA_INDEXES)
        raise PersonalisationError(f"simulator CA keys are {sizes} bits, not {bits}") from None
    try:
        capk.default_store().get(rid, index)
    except capk.CaKeyNotFoundError:
        return index
    raise PersonalisationError(f"CA index {index:02X} of RID {rid.hex().upper()} is taken in resources/capk.json")


def simulator_ca_key(rid: bytes, bits: int, *, ca_seed: bytes = SIMULATOR_CA_SEED) -> RsaPrivateKey:
    return keygen.derive_rsa_key(ca_seed, f"ca/{rid.hex().upper()}/{bits}", bits, CA_EXPONENT)


def simulator_ca_public_key(rid: bytes, bits: int, *, ca_seed: bytes = SIMULATOR_CA_SEED) -> capk.CaPublicKey:
    return capk.CaPublicKey.create(
        rid,
        simulator_ca_index(rid, bits),
        simulator_ca_key(rid, bits, ca_seed=ca_seed).public_key,
        expiry=SIMULATOR_CA_EXPIRY,
        origin=SIMULATOR_CA_ORIGIN,
        test_key=True,
    )


def _issuer_master_keys(seed: bytes, label: str, aes: bool) -> IssuerMasterKeys:
    derive = keygen.derive_aes_key if aes else keygen.derive_des_key
    return IssuerMasterKeys(*(derive(seed, f"imk-{role}/{label}", 16) for role in ("ac", "smi", "smc")))


def _personalise_application(
    profile: CardProfile, app: ApplicationProfile, seed: bytes, ca_seed: bytes
) -> tuple[ApplicationImage, KeyStore]:
    label = f"{profile.name}/{app.aid.hex().upper()}"
    aes = app.cryptogram.profile.is_aes
    imk = _issuer_master_keys(seed, label, aes)
    try:
        mks = [derive_icc_master_key(app.cryptogram, k, app.pan, app.psn) for k in (imk.ac, imk.smi, imk.smc)]
    except UsageError as exc:
        raise PersonalisationError(f"{app.label}: {exc}") from None
    card_data.check_oda_consistency(app)
    values: dict[int, bytes] = {**app.data, **card_data.derived_data(app)}
    store = KeyStore().with_issuer_keys(
        IssuerKeyEntry(
            aid=app.aid,
            pan_prefix=app.pan,
            cryptogram=app.cryptogram.value,
            algorithm="aes" if aes else "tdes",
            keys=imk,
            label=f"TEST issuer keys: {profile.name} {app.label}",
            origin=f"personalised from profile {profile.name}, seed id {seed_id(seed)}",
        )
    )
    icc_key: RsaPrivateKey | None = None
    ca_index: int | None = None
    if app.oda:
        ca_public = simulator_ca_public_key(app.rid, app.ca_key_bits, ca_seed=ca_seed)
        ca_index = ca_public.index
        store = store.with_ca_key(ca_public)
        issuer_key = keygen.derive_rsa_key(seed, f"issuer/{label}", app.issuer_key_bits, app.rsa_exponent)
        issuer_cert = oda.make_issuer_certificate(
            simulator_ca_key(app.rid, app.ca_key_bits, ca_seed=ca_seed),
            issuer_key.public_key,
            issuer_identifier=app.issuer_identifier,
            expiry=datetime.date(app.expiry.year + 2, 12, 31),
            serial=keygen.derive_bytes(seed, f"issuer-serial/{label}", 3),
        )
        values.update({0x8F: bytes([ca_index]), 0x90: issuer_cert.certificate, 0x9F32: issuer_cert.exponent})
        values[0x92] = issuer_cert.remainder
        signed = [(r.sfi, card_data.build_record(r, values)) for r in card_data.oda_layouts(app.records)]
        static = oda.static_data_to_authenticate(signed, values.get(0x9F4A), app.aip)
        if OdaMethod.SDA in app.oda:
            dac = keygen.derive_bytes(seed, f"dac/{label}", 2)
            values[0x93] = oda.sign_static_data(issuer_key, data_authentication_code=dac, static_data=static)
        if app.needs_icc_key:
            icc_key = keygen.derive_rsa_key(seed, f"icc/{label}", app.icc_key_bits, app.rsa_exponent)
            icc_cert = oda.make_icc_certificate(
                issuer_key,
                icc_key.public_key,
                pan=app.pan,
                expiry=app.expiry,
                serial=keygen.derive_bytes(seed, f"icc-serial/{label}", 3),
                static_data=static,
            )
            values.update({0x9F46: icc_cert.certificate, 0x9F47: icc_cert.exponent, 0x9F48: icc_cert.remainder})
    records = {(r.sfi, r.record): card_data.build_record(r, values) for r in app.records}
    keys = ApplicationKeys(
        algorithm="aes" if aes else "tdes",
        mk_ac=mks[0],
        mk_smi=mks[1],
        mk_smc=mks[2],
        icc_key=icc_key,
        signature_length=icc_key.public_key.size_bytes if icc_key else 0,
    )
    image = ApplicationImage(app, app.aip, card_data.afl_of(app.records), records, keys, ca_index)
    return image, store


def personalise(
    profile: CardProfile | str, seed: str | bytes = DEFAULT_SEED, *, ca_seed: bytes = SIMULATOR_CA_SEED
) -> Personalisation:
    """Personalise ``profile`` (a :class:`CardProfile` or a profile name) from ``seed``.

    Deterministic: the same profile and seed give an identical image
    (:func:`~card_emulation.image.image_to_json` text) and identical key store entries.
    """
    if isinstance(profile, str):
        profile = load_profile(profile)
    raw_seed = seed_bytes(seed)
    apps: list[ApplicationImage] = []
    store = KeyStore()
    for app in profile.applications:
        image, entries = _personalise_application(profile, app, raw_seed, ca_seed)
        apps.append(image)
        store = store.merged(entries)
    counters = {
        app.aid: ApplicationCounters(app.initial_atc, 0, app.pin_try_limit) for app in profile.applications
    }
    return Personalisation(CardImage(profile, tuple(apps), counters, seed_id(raw_seed)), store)


def card_image_path(profile_name: str, seed: str | bytes = DEFAULT_SEED, *, data_dir: Path | str | None = None) -> Path:
    """Where :func:`ensure_card_image` caches the image of ``profile_name`` and ``seed``."""
    return cards_dir(data_dir) / f"{profile_name}--{seed_id(seed)}.json"


def _keystore_has(store: KeyStore, image: CardImage) -> bool:
    """Whether ``store`` holds this very card's keys (the IMK must derive its ICC MK)."""
    for app in image.applications:
        entry = store.issuer_keys_for(app.aid, app.profile.pan)
        if entry is None:
            return False
        derived = derive_icc_master_key(app.profile.cryptogram, entry.keys.ac, app.profile.pan, app.profile.psn)
        if derived != app.keys.mk_ac:
            return False
        if app.ca_index is not None and store.ca_key(app.profile.rid, app.ca_index) is None:
            return False
    return True


def ensure_card_image(
    profile_name: str, seed: str | bytes = DEFAULT_SEED, *, data_dir: Path | str | None = None
) -> Path:
    """The path of a cached image for ``profile_name`` and ``seed``, personalising if missing.

    An existing image is never overwritten (its counters are the card's history);
    if the key store lacks its entries they are personalised again and merged.
    An existing but unreadable image raises :class:`~card_emulation.errors.ImageError`.
    """
    return _ensure(profile_name, seed, data_dir)[0]


def ensure_card_image_loaded(
    profile_name: str, seed: str | bytes = DEFAULT_SEED, *, data_dir: Path | str | None = None
) -> tuple[Path, CardImage]:
    """:func:`ensure_card_image`, and the image as its file holds it (read once for both)."""
    path, image = _ensure(profile_name, seed, data_dir)
    return path, image if image is not None else ImageFile(path).load()


def _ensure(profile_name: str, seed: str | bytes, data_dir: Path | str | None) -> tuple[Path, CardImage | None]:
    """The image's path, and the image when it was read from an existing file."""
    path = card_image_path(profile_name, seed, data_dir=data_dir)
    if path.exists():
        image = ImageFile(path).load()
        if image.profile.name != profile_name:
            raise ImageError(f"{path} holds profile {image.profile.name!r}, not {profile_name!r}")
        if not _keystore_has(load_keystore(data_dir), image):
            merge_into_keystore(personalise(profile_name, seed).keystore, data_dir)
        return path, image
    result = personalise(profile_name, seed)
    ImageFile(path).save(result.image)
    merge_into_keystore(result.keystore, data_dir)
    return path, None


def ensure_all_card_images(
    seed: str | bytes = DEFAULT_SEED, *, data_dir: Path | str | None = None
) -> dict[str, Path]:
    """:func:`ensure_card_image` for every shipped profile (what the app does at start-up).

    Only missing images are personalised (about a second for all of them, once).
    """
    return {name: ensure_card_image(name, seed, data_dir=data_dir) for name in list_profiles()}
