"""Where the simulator keeps its files, and reading/writing the key store there.

The data directory holds the key store (``keystore.json``, format in
:mod:`protocol.keystore`) and the cached card images (``cards/*.json``). It is,
in order of precedence:

1. the ``data_dir`` argument a caller passes (tests always pass a temporary one);
2. the environment variable ``TRUSTONE_DATA_DIR``;
3. ``platformdirs.user_data_dir("trustone")`` (e.g. ``~/.local/share/trustone``).

Writes are atomic (temporary file, ``fsync``, ``os.replace``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import platformdirs

from card_emulation.errors import KeyStoreFileError
from card_emulation.image import write_atomic
from protocol import keystore
from protocol.errors import MalformedDataError, VerificationError
from protocol.keystore import KeyStore

ENV_DATA_DIR = "TRUSTONE_DATA_DIR"
KEYSTORE_FILE = "keystore.json"
CARDS_DIR = "cards"


def data_dir(explicit: Path | str | None = None) -> Path:
    """The data directory (see the module docstring); not created here."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("trustone"))


def keystore_path(directory: Path | str | None = None) -> Path:
    return data_dir(directory) / KEYSTORE_FILE


def cards_dir(directory: Path | str | None = None) -> Path:
    return data_dir(directory) / CARDS_DIR


def load_keystore(directory: Path | str | None = None) -> KeyStore:
    """The key store of the data directory; an empty one if there is no file yet.

    The file is read on every call; when its text is one parsed recently, the
    (immutable) key store parsed from that very text is returned again.
    """
    path = keystore_path(directory)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return KeyStore()
    except OSError as exc:
        raise KeyStoreFileError(f"cannot read key store {path}: {exc.strerror or exc}") from None
    try:
        return _parse(text)
    except (MalformedDataError, VerificationError) as exc:
        raise KeyStoreFileError(f"key store {path} is invalid: {exc}") from None


@functools.lru_cache(maxsize=4)
def _parse(text: str) -> KeyStore:
    # A pure function of the text (an invalid text raises and is not kept); the app
    # re-reads the key store before every tap and it rarely changes.
    return keystore.loads(text)


def save_keystore(store: KeyStore, directory: Path | str | None = None) -> Path:
    """Write the key store atomically; returns its path."""
    path = keystore_path(directory)
    try:
        write_atomic(path, keystore.dumps(store))
    except OSError as exc:
        raise KeyStoreFileError(f"cannot write key store {path}: {exc.strerror or exc}") from None
    return path


def merge_into_keystore(entries: KeyStore, directory: Path | str | None = None) -> KeyStore:
    """Add ``entries`` to the stored key store (replacing same-named entries) and save it.

    Read-modify-write without a lock: two processes personalising at the same
    instant could lose one update; re-running personalisation restores it.
    """
    current = load_keystore(directory)
    merged = current.merged(entries)
    if merged != current:
        save_keystore(merged, directory)
    return merged
