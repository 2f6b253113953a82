"""Unpack an untrusted zip or tar of training pictures: no traversal, no links, bounded count and size.

Hand-written because no library bounds a zip's member count and inflated size (a zip bomb): the
standard library sanitises names (zipfile) or filters members (tarfile's "data" filter) but would
still inflate every byte it is given. Every refusal is a TrainingInputError naming the input.
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from plitka.training.inputs import TrainingInputError

MAX_MEMBERS = 2_000  # files and folders
MAX_MEMBER_BYTES = 64 * 2**20  # one picture, inflated
MAX_TOTAL_BYTES = 2 * 2**30  # everything, inflated
MAX_NAME_CHARS = 255
ALLOWED_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".csv", ".txt", ".md")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    name: str  # the path inside the archive, checked: relative, no '..', no link
    size: int  # as declared; the copy is stopped if the data runs past it
    is_dir: bool


def unpack_archive(archive: Path, target: Path, field: str = "input_images") -> Path:
    """Unpack `archive` (zip, tar, tar.gz) into `target` (created, must be empty) and return `target`.

    Members whose names end in something other than a picture, .csv, .txt or .md, and macOS
    resource forks (__MACOSX/), are skipped; anything else odd refuses the whole archive."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise ValueError(f"{target} is not empty")
    try:
        with _opened(archive, field) as (members, read):
            _check_members(members, field)
            for member in members:
                if member.is_dir or _skipped(member.name):
                    continue
                _copy_bounded(read(member), target / member.name, member, field)
    except TrainingInputError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, RuntimeError) as error:
        shutil.rmtree(target, ignore_errors=True)
        raise TrainingInputError(
            field, f"the archive cannot be read: {type(error).__name__}: {error}"
        ) from None
    return target


@contextmanager
def _opened(archive: Path, field: str) -> Iterator[tuple[list[Member], object]]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            listed = bundle.infolist()
            if len(listed) > MAX_MEMBERS:
                raise TrainingInputError(field, f"the archive holds more than {MAX_MEMBERS} entries")
            infos = {}
            members = []
            for info in listed:
                member = _zip_member(info, field)
                infos[member.name] = info
                members.append(member)
            yield members, lambda member: bundle.open(infos[member.name])
        return
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as bundle:
            infos = {}
            members = []
            for count, info in enumerate(bundle, start=1):  # streamed: a huge index is refused early
                if count > MAX_MEMBERS:
                    raise TrainingInputError(field, f"the archive holds more than {MAX_MEMBERS} entries")
                member = _tar_member(info, field)
                infos[member.name] = info
                members.append(member)
            yield members, lambda member: bundle.extractfile(infos[member.name])
        return
    raise TrainingInputError(field, "must be a .zip or a .tar (optionally .tar.gz) archive")


def _zip_member(info: zipfile.ZipInfo, field: str) -> Member:
    mode = info.external_attr >> 16
    if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise TrainingInputError(
            field, f"'{info.filename[:80]}' is a link or special file; only files are allowed"
        )
    if info.flag_bits & 0x1:
        raise TrainingInputError(field, "encrypted archives are not accepted")
    return Member(_checked_name(info.filename, field), info.file_size, info.is_dir())


def _tar_member(info: tarfile.TarInfo, field: str) -> Member:
    if not (info.isfile() or info.isdir()):
        raise TrainingInputError(
            field, f"'{info.name[:80]}' is a link or special file; only files are allowed"
        )
    return Member(_checked_name(info.name, field), info.size, info.isdir())


def _checked_name(raw: str, field: str) -> str:
    shown = raw[:80]
    if len(raw) > MAX_NAME_CHARS or "\\" in raw or "\x00" in raw or ":" in raw:
        raise TrainingInputError(field, f"'{shown}' is not a plain relative name")
    path = PurePosixPath(raw)
    if path.is_absolute() or ".." in path.parts:
        raise TrainingInputError(field, f"'{shown}' points outside the archive's folder")
    parts = [part for part in path.parts if part not in ("", ".")]
    if not parts:
        raise TrainingInputError(field, f"'{shown}' has no name")
    return "/".join(parts)


def _check_members(members: list[Member], field: str) -> None:
    if len(members) > MAX_MEMBERS:
        raise TrainingInputError(field, f"the archive holds {len(members)} entries; at most {MAX_MEMBERS}")
    names = [member.name for member in members if not member.is_dir]
    if len(set(names)) != len(names):
        raise TrainingInputError(field, "the archive holds the same name twice")
    too_big = [member for member in members if member.size > MAX_MEMBER_BYTES]
    if too_big:
        raise TrainingInputError(
            field, f"'{too_big[0].name[:80]}' unpacks to more than {MAX_MEMBER_BYTES >> 20} MiB"
        )
    total = sum(member.size for member in members)
    if total > MAX_TOTAL_BYTES:
        raise TrainingInputError(field, f"the archive unpacks to more than {MAX_TOTAL_BYTES >> 30} GiB")


def _skipped(name: str) -> bool:
    return name.startswith("__MACOSX/") or not name.lower().endswith(ALLOWED_SUFFIXES)


def _copy_bounded(source: IO[bytes] | None, path: Path, member: Member, field: str) -> None:
    """Copy at most the declared size: a member whose data inflates past it is refused."""
    if source is None:
        raise TrainingInputError(field, f"'{member.name[:80]}' cannot be read")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with source, path.open("xb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > member.size:
                raise TrainingInputError(field, f"'{member.name[:80]}' holds more data than it declares")
            out.write(chunk)
