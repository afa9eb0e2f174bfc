"""Card images on disk: ATC persistence, atomic writes, caching and determinism."""

from __future__ import annotations

import json
import os

import pytest

from card_emulation.applet import EmvCard
from card_emulation.errors import ImageError
from card_emulation.image import ImageFile, image_from_json, image_to_json, write_atomic
from card_emulation.keystore_files import load_keystore
from card_emulation.personalise import card_image_path, ensure_card_image, personalise, seed_id
from tests.card_emulation.conftest import SEED
from tests.card_emulation.reader import Reader, Transaction

VISA = bytes.fromhex("A0000000031010")


def test_atc_survives_reloading(image_file, keystore) -> None:
    path = image_file("visa-cvn18-dda")
    seen = []
    for _ in range(3):
        card = EmvCard.from_file(path)  # a new process would do exactly this
        card.power_on()
        seen.append(Reader(card).tap(VISA, Transaction(), keystore).atc)
    assert seen == [1, 2, 3]
    assert ImageFile(path).load().counters_for(VISA).atc == 3


def test_atc_is_saved_before_the_answer(image_file) -> None:
    path = image_file("visa-cvn18-dda")

    class Watching(ImageFile):
        def save(self, image) -> None:
            super().save(image)
            saved.append(image.counters_for(VISA).atc)

    saved: list[int] = []
    card = EmvCard(ImageFile(path).load(), sink=Watching(path))
    card.power_on()
    card.process(bytes.fromhex("00A4040007A000000003101000"))
    card.process(bytes.fromhex("80A80000128310" + "00" * 16 + "00"))
    response = card.process(bytes.fromhex("80AE80001D" + "00" * 29 + "00"))
    assert response.endswith(b"\x90\x00")
    assert saved == [1]


def test_failed_save_answers_6f00_and_uses_no_atc(personalised) -> None:
    class Broken:
        def save(self, image) -> None:
            raise OSError(28, "No space left on device")

    card = EmvCard(personalised["visa-cvn18-dda"].image, sink=Broken())
    card.power_on()
    card.process(bytes.fromhex("00A4040007A000000003101000"))
    card.process(bytes.fromhex("80A80000128310" + "00" * 16 + "00"))
    assert card.process(bytes.fromhex("80AE80001D" + "00" * 29 + "00")) == b"\x6f\x00"
    assert card.image.counters_for(VISA).atc == 0


def test_write_atomic_leaves_no_temporary_files(tmp_path) -> None:
    target = tmp_path / "sub" / "file.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["file.json"]


def test_image_json_round_trip(personalised) -> None:
    for result in personalised.values():
        text = image_to_json(result.image)
        assert image_to_json(image_from_json(text)) == text


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(schema="other"),
        lambda d: d["applications"][0]["counters"].update(atc=70000),
        lambda d: d["applications"][0].update(aid="A0000000999999"),
        lambda d: d["applications"][0]["keys"]["icc_key"].update(p="03"),
        lambda d: d["profile"].update(atr="zz"),
        lambda d: d.pop("applications"),
    ],
)
def test_corrupt_images_are_rejected(personalised, mutate) -> None:
    document = json.loads(image_to_json(personalised["visa-cvn18-dda"].image))
    mutate(document)
    with pytest.raises(ImageError):
        image_from_json(json.dumps(document))
    with pytest.raises(ImageError):
        image_from_json("{not json")


def test_personalisation_is_deterministic(personalised) -> None:
    again = personalise("mastercard-cvn16-cda", SEED)
    assert image_to_json(again.image) == image_to_json(personalised["mastercard-cvn16-cda"].image)
    assert again.keystore == personalised["mastercard-cvn16-cda"].keystore
    other = personalise("mastercard-cvn16-cda", "another seed")
    assert other.image.applications[0].keys.mk_ac != again.image.applications[0].keys.mk_ac
    assert other.image.applications[0].records != again.image.applications[0].records


def test_ensure_card_image_caches(tmp_path, monkeypatch) -> None:
    path = ensure_card_image("legacy-sda", "cache-seed", data_dir=tmp_path)
    assert path == card_image_path("legacy-sda", "cache-seed", data_dir=tmp_path)
    assert path.name == f"legacy-sda--{seed_id('cache-seed')}.json"
    assert load_keystore(tmp_path).issuer_keys_for(VISA, "4999990010000013") is not None
    card = EmvCard.from_file(path)
    card.power_on()
    card.process(bytes.fromhex("00A4040007A000000003101000"))
    card.process(bytes.fromhex("80A80000028300" + "00"))
    assert card.process(bytes.fromhex("80AE80001D" + "00" * 29 + "00")).endswith(b"\x90\x00")

    import card_emulation.personalise as personalise_module

    def fail(*_a, **_k):
        raise AssertionError("must not personalise again")

    monkeypatch.setattr(personalise_module, "personalise", fail)
    assert ensure_card_image("legacy-sda", "cache-seed", data_dir=tmp_path) == path
    assert ImageFile(path).load().counters_for(VISA).atc == 1  # the counters were kept


def test_ensure_card_image_restores_missing_keys(tmp_path) -> None:
    path = ensure_card_image("legacy-sda", "k", data_dir=tmp_path)
    (tmp_path / "keystore.json").unlink()
    assert ensure_card_image("legacy-sda", "k", data_dir=tmp_path) == path
    assert load_keystore(tmp_path).issuer_keys_for(VISA, "4999990010000013") is not None


def test_data_dir_from_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRUSTONE_DATA_DIR", str(tmp_path / "env"))
    path = ensure_card_image("legacy-sda", "env-seed")
    assert path.parent == tmp_path / "env" / "cards"
    assert (tmp_path / "env" / "keystore.json").exists()


def test_reprs_hide_pan_and_keys(personalised) -> None:
    result = personalised["mastercard-cvn16-cda"]
    app = result.image.applications[0]
    text = repr(result) + repr(result.image.profile) + repr(app) + repr(app.keys) + repr(result.keystore)
    secrets = [app.profile.pan, app.keys.mk_ac.hex(), result.keystore.issuer_keys[0].keys.ac.hex()]
    secrets.append(f"{app.keys.icc_key.private_exponent:x}")
    for secret in secrets:
        assert secret.lower() not in text.lower()


def test_ensure_all_card_images(tmp_path) -> None:
    from card_emulation.personalise import ensure_all_card_images
    from card_emulation.profile import list_profiles

    paths = ensure_all_card_images("all", data_dir=tmp_path)
    assert sorted(paths) == sorted(list_profiles())
    stamps = {name: path.stat().st_mtime_ns for name, path in paths.items()}
    assert ensure_all_card_images("all", data_dir=tmp_path) == paths
    assert {name: path.stat().st_mtime_ns for name, path in paths.items()} == stamps
