"""Training inputs without torch: bounds, the untrusted archive, labels.csv and the captions."""

import io
import math
import tarfile
import zipfile
from pathlib import Path

import pytest

from plitka.diffusion.prompt import build_prompt
from plitka.request import TileRequest
from plitka.training import TrainingInputError, build_config, unpack_archive
from plitka.training import archive as archive_module
from plitka.training.dataset import load_photos
from plitka.training.synthetic import write_synthetic_set


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("steps", 0, "from 1 to 20000"),
        ("steps", 20_001, "from 1 to 20000"),
        ("steps", 2.5, "whole number"),
        ("batch_size", True, "number"),
        ("resolution", 1000, "multiple of 64"),
        ("resolution", 64, "from 128 to 1536"),
        ("unet_lr", math.nan, "from"),
        ("unet_lr", "0.1", "number"),
        ("lora_rank", 129, "from 1 to 128"),
        ("ti_tokens", "<a><b>", "one of <s0><s1>"),
        ("seed", -1, "from 0"),
        ("colour", 1, "unknown input"),
    ],
)
def test_each_training_input_is_bounded_and_named_in_its_error(field, value, words):
    with pytest.raises(TrainingInputError, match=words) as caught:
        build_config(**{field: value})
    assert caught.value.field == field


def test_defaults_are_the_earlier_products_training():
    config = build_config()
    assert (config.steps, config.batch_size, config.resolution, config.lora_rank) == (2300, 4, 1024, 32)
    assert (config.unet_lr, config.ti_lr, config.ti_trained_steps) == (2e-4, 1e-3, 1610)
    assert config.tokens == ("<s0>", "<s1>")


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def _tar(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w") as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            bundle.addfile(info)
    return path


def test_a_labelled_zip_unpacks_and_its_captions_are_the_engines_prompt(tmp_path):
    folder = write_synthetic_set(tmp_path / "set", count=2, side=256)
    members = {path.name: path.read_bytes() for path in folder.iterdir()}
    data = unpack_archive(_zip(tmp_path / "set.zip", members), tmp_path / "out")
    photos = load_photos(data, resolution=128)
    assert [photo.caption for photo in photos] == [
        build_prompt(TileRequest(mix=photo.mix)) for photo in photos
    ]
    assert all(photo.tile.width == photo.tile.height >= 128 for photo in photos)


@pytest.mark.parametrize(
    ("name", "words"),
    [("../escape.csv", "outside"), ("/etc/passwd.csv", "outside"), ("a\\..\\b.csv", "plain relative")],
)
def test_a_member_outside_the_folder_refuses_the_archive(tmp_path, name, words):
    for archive in (_zip(tmp_path / "a.zip", {name: b"x"}), _tar(tmp_path / "a.tar", {name: b"x"})):
        with pytest.raises(TrainingInputError, match=words):
            unpack_archive(archive, tmp_path / f"out-{archive.suffix}")
        assert not (tmp_path.parent / "escape.csv").exists()


def test_links_refuse_the_archive(tmp_path):
    with pytest.raises(TrainingInputError, match="link"):
        unpack_archive(
            _tar(tmp_path / "a.tar", {"labels.csv": b"x"}, {"p.jpg": "/etc/passwd"}), tmp_path / "o1"
        )
    link = zipfile.ZipInfo("p.jpg")
    link.external_attr = (0o120777 << 16) | 0
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as bundle:
        bundle.writestr(link, "/etc/passwd")
    with pytest.raises(TrainingInputError, match="link"):
        unpack_archive(tmp_path / "a.zip", tmp_path / "o2")


def test_a_zip_bomb_and_too_many_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_module, "MAX_MEMBER_BYTES", 1 << 20)
    bomb = _zip(tmp_path / "bomb.zip", {"a.png": b"\0" * (4 << 20)})  # 4 MiB of zeros: a few KiB zipped
    assert bomb.stat().st_size < 64 << 10
    with pytest.raises(TrainingInputError, match="more than 1 MiB"):
        unpack_archive(bomb, tmp_path / "o1")
    monkeypatch.setattr(archive_module, "MAX_MEMBERS", 3)
    many = _tar(tmp_path / "many.tar", {f"{n}.png": b"x" for n in range(5)})
    with pytest.raises(TrainingInputError, match="more than 3 entries"):
        unpack_archive(many, tmp_path / "o2")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_something_that_is_no_archive_is_refused(tmp_path):
    path = tmp_path / "photos.zip"
    path.write_bytes(b"not an archive at all")
    with pytest.raises(TrainingInputError, match=r"input_images: must be a \.zip or a \.tar"):
        unpack_archive(path, tmp_path / "out")


@pytest.mark.parametrize(
    ("labels", "extra", "words"),
    [
        ("file,colours\nx.jpg,RED:100\n", {}, "lacks the column"),
        ("file,proportions\n../x.jpg,RED:100\n", {}, "relative path inside"),
        ("file,proportions\nx.jpg,RED:60;WHITE:30\n", {"x.jpg": b""}, "sum to 100"),
        ("file,proportions\nx.jpg,PURPLEISH:100\n", {"x.jpg": b""}, "line 2"),
        ("file,proportions\nx.jpg,RED:100\n", {"x.jpg": b"GIF89a not really"}, "not a readable picture"),
        ("file,proportions\nmissing.jpg,RED:100\n", {}, "is not in the folder"),
        ("file,proportions\n", {}, "lists no photos"),
    ],
)
def test_bad_labels_and_pictures_are_refused_naming_the_line(tmp_path, labels, extra, words):
    (tmp_path / "labels.csv").write_text(labels)
    for name, data in extra.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(TrainingInputError, match=words) as caught:
        load_photos(tmp_path, resolution=128)
    assert caught.value.field == "input_images"
