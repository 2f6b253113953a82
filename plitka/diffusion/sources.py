"""Where a model's weights come from: a Hugging Face repo id, a local folder or file, or a URL.

Each PLITKA_*_SOURCE setting holds one of:
  owner/repo[@revision]                  Hugging Face Hub (cache: PLITKA_CACHE_DIR; HF_HUB_OFFLINE honoured)
  /path/to/folder or ./file.safetensors  a local folder (diffusers layout) or file; a local .tar (e.g.
                                         what `plitka train` writes) is unpacked once into the cache
  https://host/file.safetensors[#sha256=HEX]  downloaded once into the cache; .tar/.tar.gz are unpacked
Every failure is a WeightsError that names the setting, never a library's stack trace.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("plitka.weights")

_HUB_ID = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[\w./-]+))?$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
DOWNLOAD_TIMEOUT = 60  # seconds without data before a download is given up
PROBE_TIMEOUT = 5
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


class WeightsError(RuntimeError):
    """A model's weights cannot be had: the message starts with the setting to change."""

    def __init__(self, setting: str, message: str):
        self.setting = setting
        super().__init__(f"{setting}: {message}")


@dataclass(frozen=True)
class WeightSource:
    setting: str  # the environment variable that configured it, for error messages
    kind: str  # "hub", "local" or "url"
    location: str  # repo id, path or URL
    revision: str | None = None
    sha256: str | None = None

    def describe(self) -> str:
        suffix = f"@{self.revision}" if self.revision else ""
        return f"{self.kind}:{self.location}{suffix}"

    def fail(self, message: str) -> WeightsError:
        return WeightsError(self.setting, f"{message} (source {self.describe()})")


def parse_source(setting: str, text: str) -> WeightSource | None:
    """The source a setting names; None when the setting is empty (the model is not configured)."""
    text = text.strip()
    if not text:
        return None
    if text.startswith(("http://", "https://")):
        url, _, fragment = text.partition("#")
        sha256 = fragment.removeprefix("sha256=") if fragment else None
        if sha256 is not None and not _SHA256.match(sha256):
            raise WeightsError(
                setting, f"the URL's checksum must be '#sha256=<64 hex digits>', got '#{fragment}'"
            )
        return WeightSource(setting, "url", url, sha256=sha256.lower() if sha256 else None)
    if _looks_like_a_path(text):
        return WeightSource(setting, "local", str(Path(text).expanduser()))
    match = _HUB_ID.match(text)
    if match is None:
        raise WeightsError(
            setting,
            f"'{text}' is neither a Hugging Face repo id (owner/name[@revision]), "
            "an existing local path nor an http(s) URL",
        )
    return WeightSource(setting, "hub", match["repo"], revision=match["revision"])


def _looks_like_a_path(text: str) -> bool:
    """Paths start like one, exist, name a weights file or go deeper than owner/name."""
    return (
        text.startswith(("/", "./", "../", "~"))
        or Path(text).exists()
        or text.endswith((".safetensors", *TAR_SUFFIXES))
        or text.count("/") > 1
    )


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_cache(cache_dir: Path | None) -> Path | None:
    """Hub downloads go to <cache_dir>/hub, or Hugging Face's own cache (HF_HOME) when unset."""
    return cache_dir / "hub" if cache_dir else None


def url_cache(cache_dir: Path | None) -> Path:
    base = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "plitka"
    return base / "url"


def materialize(source: WeightSource, cache_dir: Path | None) -> str:
    """What diffusers' from_pretrained takes: a local path, or the hub id (diffusers downloads it)."""
    if source.kind == "local":
        path = Path(source.location)
        if not path.exists():
            raise source.fail("no such file or folder")
        if path.is_file() and path.name.endswith(TAR_SUFFIXES):
            return str(_unpacked_local_tar(source, path, cache_dir))
        return source.location
    if source.kind == "url":
        return str(download(source, url_cache(cache_dir)))
    return source.location


def local_copy(source: WeightSource, cache_dir: Path | None) -> Path | None:
    """Where the weights already are on this machine, without downloading anything (None: not here)."""
    if source.kind == "local":
        path = Path(source.location)
        return path if path.exists() else None
    if source.kind == "url":
        return _cached_download(source, url_cache(cache_dir))
    from huggingface_hub import try_to_load_from_cache

    for marker in ("model_index.json", "config.json"):
        cached = try_to_load_from_cache(
            source.location, marker, cache_dir=hub_cache(cache_dir), revision=source.revision
        )
        if isinstance(cached, str):
            return Path(cached).parent
    return None


def is_reachable(source: WeightSource, cache_dir: Path | None) -> tuple[bool, str]:
    """Whether the weights can be had without trying to load them, and if not, why."""
    if local_copy(source, cache_dir) is not None:
        return True, ""
    if source.kind == "local":
        return False, f"{source.setting}: {source.location} does not exist"
    if source.kind == "url":
        return _probe_url(source)
    return _probe_hub(source)


def _probe_hub(source: WeightSource) -> tuple[bool, str]:
    """A hub repo that is not in the cache: is it on the hub?"""
    from huggingface_hub import HfApi

    if hub_offline():
        return False, f"{source.setting}: {source.location} is not in the cache and HF_HUB_OFFLINE is set"
    try:
        HfApi().model_info(source.location, revision=source.revision, timeout=PROBE_TIMEOUT)
    except Exception as error:  # any failure (network, auth, missing repo) means: not reachable
        return False, f"{source.setting}: {source.location} is not reachable ({type(error).__name__})"
    return True, ""


def _probe_url(source: WeightSource) -> tuple[bool, str]:
    try:
        request = urllib.request.Request(source.location, method="HEAD")
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT):
            return True, ""
    except (OSError, ValueError) as error:
        return False, f"{source.setting}: {source.location} is not reachable ({error})"


# --- URL downloads ---------------------------------------------------------------------------------


def download(source: WeightSource, folder: Path) -> Path:
    """The file (or unpacked folder) behind a URL source, downloaded once and checked by sha256; a cached
    copy that no longer matches its record is reported and downloaded anew, once."""
    target = _download_target(source, folder)
    cached = _cached_download(source, folder)
    if cached:
        return cached
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
        partial_path = Path(partial.name)
    try:
        digest = _fetch(source, partial_path)
        if source.sha256 and digest != source.sha256:
            raise source.fail(f"checksum mismatch: expected sha256 {source.sha256}, downloaded {digest}")
        if target.name.endswith(TAR_SUFFIXES):
            _unpack(source, partial_path, _unpacked(target))
        partial_path.replace(target)
        _write_record(target, digest)
    finally:
        partial_path.unlink(missing_ok=True)
    log.info("downloaded %s into %s", source.location, target)
    return _usable(target)


def _unpacked_local_tar(source: WeightSource, path: Path, cache_dir: Path | None) -> Path:
    """A local tar's contents, unpacked once per version of the file (path, size and mtime)."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    folder = url_cache(cache_dir).parent / "tar" / key
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=folder.parent))
    try:
        _unpack(source, path, partial)
        partial.rename(folder)
    except OSError:  # another process unpacked the same file first
        shutil.rmtree(partial, ignore_errors=True)
        if not folder.is_dir():
            raise
    return folder


def _download_target(source: WeightSource, folder: Path) -> Path:
    name = Path(urlsplit(source.location).path).name or "weights"
    key = hashlib.sha256(source.location.encode()).hexdigest()[:16]
    return folder / key / name


# --- the cache's record: what a cached download is checked against ------------------------------------
#
# Beside each download, <name>.record.json holds its sha256, its size and mtime, and for an archive the
# size and mtime of every unpacked file. Every lookup compares the sizes and mtimes (a stat per file) and
# the configured sha256 with the recorded one; the first lookup of a file in a process also re-hashes
# it (docs/tuning.md). Any difference is logged as a warning and the file is downloaded anew.

_REHASHED: set[tuple[str, int, int]] = set()  # (path, size, mtime_ns) re-hashed in this process


def _cached_download(source: WeightSource, folder: Path) -> Path | None:
    """The finished download if it is there and still matches its record; None (with a warning that
    says what differs) when it must be downloaded anew."""
    target = _download_target(source, folder)
    if not target.is_file():
        return None
    problem = _cache_problem(source, target)
    if problem:
        log.warning("%s: cached %s %s; downloading it again", source.setting, target, problem)
        return None
    return _usable(target)


def _cache_problem(source: WeightSource, target: Path) -> str | None:
    """What makes the cached `target` unusable, or None."""
    try:
        record = json.loads(_record_file(target).read_text())
        recorded, stamps = str(record["sha256"]), record["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return "has no readable record of its checksum"
    if source.sha256 and recorded != source.sha256:
        return f"has sha256 {recorded}, the setting asks for {source.sha256}"
    now = _stamps(target)
    if now != stamps:
        changed = sorted(name for name in set(now) | set(stamps) if now.get(name) != stamps.get(name))
        return f"changed since it was downloaded (size or modification time of {', '.join(changed[:3])})"
    key = (str(target), *stamps[target.name])
    if key not in _REHASHED:
        digest = _sha256_of(target)
        if digest != recorded:
            return f"has sha256 {digest}, {recorded} was recorded when it was downloaded"
        _REHASHED.add(key)
    return None


def _write_record(target: Path, digest: str) -> None:
    record = {"sha256": digest, "files": _stamps(target)}
    _record_file(target).write_text(json.dumps(record, indent=1) + "\n")


def _stamps(target: Path) -> dict[str, list[int]]:
    """[size, mtime_ns] of the download and of each file unpacked from it, by name."""
    paths = [target]
    unpacked = _unpacked(target)
    if unpacked.is_dir():
        paths += sorted(path for path in unpacked.rglob("*") if path.is_file())
    stamps = {}
    for path in paths:
        if path.is_file():
            stat = path.stat()
            stamps[str(path.relative_to(target.parent))] = [stat.st_size, stat.st_mtime_ns]
    return stamps


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _record_file(target: Path) -> Path:
    return target.with_name(target.name + ".record.json")


def _unpacked(target: Path) -> Path:
    return target.with_suffix(".d")


def _usable(target: Path) -> Path:
    """What loaders read: the unpacked folder of an archive, else the file itself."""
    unpacked = _unpacked(target)
    return unpacked if unpacked.is_dir() else target


def _fetch(source: WeightSource, path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(source.location, timeout=DOWNLOAD_TIMEOUT) as response,
            path.open("wb") as out,
        ):
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (OSError, ValueError) as error:
        raise source.fail(f"download failed: {error}") from None
    return digest.hexdigest()


def _unpack(source: WeightSource, archive: Path, folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise source.fail(f"cannot unpack the archive: {error}") from None
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir():  # an archive of one folder: use that folder
        inner = entries[0]
        for item in inner.iterdir():
            item.rename(folder / item.name)
        inner.rmdir()
