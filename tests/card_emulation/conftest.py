"""Fixtures for the emulated card tests.

RSA key generation is the slow part of personalisation, so every profile is
personalised once per test session (seed ``"test-seed"``) and each test builds
fresh cards from those immutable images. Tests that touch files use ``tmp_path``
or the session's temporary data directory, never the user's data directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from card_emulation.applet import EmvCard
from card_emulation.image import CardImage, ImageFile
from card_emulation.personalise import Personalisation, personalise
from card_emulation.profile import list_profiles
from protocol.keystore import KeyStore

SEED = "test-seed"
PROFILES = list_profiles()


@pytest.fixture(autouse=True)
def _no_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Nothing in these tests may write to the real user data directory."""
    monkeypatch.setenv("TRUSTONE_DATA_DIR", str(tmp_path_factory.getbasetemp() / "default-data-dir"))


@pytest.fixture(scope="session")
def personalised() -> dict[str, Personalisation]:
    return {name: personalise(name, SEED) for name in PROFILES}


@pytest.fixture(scope="session")
def keystore(personalised: dict[str, Personalisation]) -> KeyStore:
    store = KeyStore()
    for result in personalised.values():
        store = store.merged(result.keystore)
    return store


class Counter:
    """A deterministic random source for cards (the tests need reproducible IDNs)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, count: int) -> bytes:
        out = bytearray()
        while len(out) < count:
            self.n += 1
            out += self.n.to_bytes(4, "big")
        return bytes(out[:count])


@pytest.fixture
def make_card(personalised: dict[str, Personalisation]) -> Callable[..., EmvCard]:
    """``make_card(profile, **kwargs)``: a powered-on card on a fresh copy of the image."""

    def make(name: str, **kwargs: object) -> EmvCard:
        kwargs.setdefault("random_bytes", Counter())
        kwargs.setdefault("sleep", lambda _s: None)
        card = EmvCard(personalised[name].image, **kwargs)  # type: ignore[arg-type]
        card.power_on()
        return card

    return make


@pytest.fixture
def image_file(personalised: dict[str, Personalisation], tmp_path: Path) -> Callable[[str], Path]:
    """``image_file(profile)``: the session image written to a fresh file."""

    def write(name: str) -> Path:
        path = tmp_path / f"{name}.json"
        ImageFile(path).save(personalised[name].image)
        return path

    return write


def image_of(personalised: dict[str, Personalisation], name: str) -> CardImage:
    return personalised[name].image
