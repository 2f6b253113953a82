"""Weight sources: hub ids, local paths and URLs (served on loopback), with checksums and clear errors."""

import functools
import hashlib
import http.server
import json
import logging
import os
import tarfile
import threading
from pathlib import Path

import pytest

from plitka.diffusion import sources
from plitka.diffusion.sources import WeightsError, is_reachable, materialize, parse_source


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def file_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/'served'; yields (base URL, folder, request log)."""
    folder = tmp_path / "served"
    folder.mkdir()
    requests_seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests_seen.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=folder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder, requests_seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("text", "kind", "location", "revision"),
    [
        ("stabilityai/stable-diffusion-xl-base-1.0", "hub", "stabilityai/stable-diffusion-xl-base-1.0", None),
        ("madebyollin/sdxl-vae-fp16-fix@main", "hub", "madebyollin/sdxl-vae-fp16-fix", "main"),
        ("/weights/lora.safetensors", "local", "/weights/lora.safetensors", None),
        ("weights/lora.safetensors", "local", "weights/lora.safetensors", None),
        ("weights/sdxl/base", "local", "weights/sdxl/base", None),
        ("https://example.com/w/lora.safetensors", "url", "https://example.com/w/lora.safetensors", None),
    ],
)
def test_parse_source(text, kind, location, revision):
    source = parse_source("PLITKA_X_SOURCE", text)
    assert (source.kind, source.location, source.revision) == (kind, location, revision)


def test_empty_source_means_not_configured():
    assert parse_source("PLITKA_LORA_SOURCE", "  ") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not a source", "neither a Hugging Face repo id"),
        ("https://example.com/lora.safetensors#sha256=abc", "64 hex digits"),
    ],
)
def test_bad_source_text_names_the_setting(text, message):
    with pytest.raises(WeightsError, match=rf"^PLITKA_LORA_SOURCE: .*{message}"):
        parse_source("PLITKA_LORA_SOURCE", text)


def test_missing_local_path_is_a_clear_error(tmp_path):
    source = parse_source("PLITKA_TI_SOURCE", str(tmp_path / "absent.safetensors"))
    with pytest.raises(WeightsError, match=r"^PLITKA_TI_SOURCE: no such file or folder"):
        materialize(source, tmp_path)
    assert is_reachable(source, tmp_path)[0] is False


def test_hub_repo_not_in_cache_is_unreachable_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    source = parse_source("PLITKA_SDXL_SOURCE", "stabilityai/stable-diffusion-xl-base-1.0")
    ok, reason = is_reachable(source, tmp_path)
    assert not ok and reason.startswith("PLITKA_SDXL_SOURCE:") and "HF_HUB_OFFLINE" in reason


def test_url_is_downloaded_once_and_checked(file_server, tmp_path):
    base, folder, seen = file_server
    payload = b"weights" * 1000
    (folder / "lora.safetensors").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    source = parse_source("PLITKA_LORA_SOURCE", f"{base}/lora.safetensors#sha256={digest}")
    cache = tmp_path / "cache"
    first = materialize(source, cache)
    second = materialize(source, cache)
    assert first == second and Path(first).read_bytes() == payload
    assert seen.count("/lora.safetensors") == 1
    assert is_reachable(source, cache) == (True, "")


def test_url_with_a_wrong_checksum_is_refused_and_not_cached(file_server, tmp_path):
    base, folder, _ = file_server
    (folder / "lora.safetensors").write_bytes(b"tampered")
    source = parse_source("PLITKA_LORA_SOURCE", f"{base}/lora.safetensors#sha256={'0' * 64}")
    with pytest.raises(WeightsError, match=r"^PLITKA_LORA_SOURCE: checksum mismatch"):
        materialize(source, tmp_path)
    assert not list((tmp_path / "url").rglob("lora.safetensors"))


def record_of(path: str) -> dict:
    return json.loads(Path(path + ".record.json").read_text())


def test_url_without_checksum_records_one_and_detects_a_changed_cache(file_server, tmp_path, caplog):
    base, folder, seen = file_server
    (folder / "ti.safetensors").write_bytes(b"first")
    source = parse_source("PLITKA_TI_SOURCE", f"{base}/ti.safetensors")
    path = materialize(source, tmp_path)
    assert record_of(path)["sha256"] == hashlib.sha256(b"first").hexdigest()
    assert materialize(source, tmp_path) == path and seen.count("/ti.safetensors") == 1  # cached
    Path(path).write_bytes(b"corrupted")  # the cached copy changes under the service
    with caplog.at_level(logging.WARNING, logger="plitka.weights"):
        again = materialize(source, tmp_path)
    assert Path(again).read_bytes() == b"first" and seen.count("/ti.safetensors") == 2  # anew, once
    assert "PLITKA_TI_SOURCE: cached" in caplog.text and "changed since it was downloaded" in caplog.text
    assert materialize(source, tmp_path) == again and seen.count("/ti.safetensors") == 2


def test_a_same_size_change_with_its_mtime_put_back_is_caught_by_the_rehash(file_server, tmp_path, caplog):
    """Sizes and mtimes are compared at every use; the first use in a process also re-hashes the file."""
    base, folder, seen = file_server
    (folder / "lora.safetensors").write_bytes(b"weights!")
    source = parse_source("PLITKA_LORA_SOURCE", f"{base}/lora.safetensors")
    path = Path(materialize(source, tmp_path))
    stat = path.stat()
    path.write_bytes(b"WEIGHTS!")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same modification time
    sources._REHASHED.clear()  # as in a new process: nothing re-hashed yet
    with caplog.at_level(logging.WARNING, logger="plitka.weights"):
        assert Path(materialize(source, tmp_path)).read_bytes() == b"weights!"
    assert seen.count("/lora.safetensors") == 2 and "was recorded when it was downloaded" in caplog.text


def test_a_cached_file_is_downloaded_again_when_the_configured_checksum_changes(file_server, tmp_path):
    base, folder, seen = file_server
    served = folder / "lora.safetensors"
    served.write_bytes(b"version one")
    one = parse_source("PLITKA_LORA_SOURCE", f"{base}/lora.safetensors#sha256={sha(b'version one')}")
    assert Path(materialize(one, tmp_path)).read_bytes() == b"version one"
    served.write_bytes(b"version two")  # the same URL now serves new weights, and the setting says so
    two = parse_source("PLITKA_LORA_SOURCE", f"{base}/lora.safetensors#sha256={sha(b'version two')}")
    assert Path(materialize(two, tmp_path)).read_bytes() == b"version two"
    assert seen.count("/lora.safetensors") == 2
    assert record_of(materialize(two, tmp_path))["sha256"] == sha(b"version two")


def test_missing_url_is_a_clear_error(file_server, tmp_path):
    base, _, _ = file_server
    source = parse_source("PLITKA_LORA_SOURCE", f"{base}/absent.safetensors")
    with pytest.raises(WeightsError, match=r"^PLITKA_LORA_SOURCE: download failed: HTTP Error 404"):
        materialize(source, tmp_path)
    assert is_reachable(source, tmp_path)[0] is False


def test_tar_archive_of_a_folder_is_unpacked(file_server, tmp_path):
    base, folder, _ = file_server
    model = tmp_path / "controlnet"
    model.mkdir()
    (model / "config.json").write_text("{}")
    with tarfile.open(folder / "controlnet.tar.gz", "w:gz") as tar:
        tar.add(model, arcname="controlnet")
    source = parse_source("PLITKA_CONTROLNET_CANNY_SOURCE", f"{base}/controlnet.tar.gz")
    unpacked = materialize(source, tmp_path / "cache")
    assert (tmp_path / "cache").exists() and (Path(unpacked) / "config.json").read_text() == "{}"


def test_a_changed_file_in_an_unpacked_archive_is_detected(file_server, tmp_path):
    base, folder, seen = file_server
    model = tmp_path / "vae"
    model.mkdir()
    (model / "config.json").write_text("{}")
    with tarfile.open(folder / "vae.tar", "w") as tar:
        tar.add(model, arcname="vae")
    source = parse_source("PLITKA_VAE_SOURCE", f"{base}/vae.tar")
    unpacked = Path(materialize(source, tmp_path / "cache"))
    (unpacked / "config.json").write_text('{"edited": 1}')
    assert (Path(materialize(source, tmp_path / "cache")) / "config.json").read_text() == "{}"
    assert seen.count("/vae.tar") == 2


def test_a_local_weights_tar_is_unpacked_once_and_each_setting_reads_its_member(tmp_path):
    """What `plitka train` writes: PLITKA_LORA_SOURCE and PLITKA_TI_SOURCE both name the one tar."""
    import torch
    from safetensors.torch import save_file

    from plitka.diffusion.loaders import LORA_FILE, TI_FILE, load_tensors

    parts = tmp_path / "parts"
    parts.mkdir()
    save_file({"clip_l": torch.ones(2, 4), "clip_g": torch.ones(2, 8)}, str(parts / TI_FILE))
    save_file({"unet.x.lora.down.weight": torch.zeros(1, 3)}, str(parts / LORA_FILE))
    with tarfile.open(tmp_path / "weights.tar", "w") as tar:
        for name in (LORA_FILE, TI_FILE):
            tar.add(parts / name, arcname=name)
    cache = tmp_path / "cache"
    ti_source = parse_source("PLITKA_TI_SOURCE", str(tmp_path / "weights.tar"))
    lora_source = parse_source("PLITKA_LORA_SOURCE", str(tmp_path / "weights.tar"))
    assert set(load_tensors(ti_source, "Textual Inversion", cache, TI_FILE)) == {"clip_l", "clip_g"}
    assert set(load_tensors(lora_source, "LoRA", cache, LORA_FILE)) == {"unet.x.lora.down.weight"}
    assert materialize(ti_source, cache) == materialize(lora_source, cache)  # one unpacked copy
    assert len(list((cache / "tar").iterdir())) == 1
