"""The bank on disk: one compressed .npz per heap and a manifest with each file's SHA-256.

A bank whose files do not match their checksums is refused (BankError), never half-used.
Buffers are kept small: crumb ids as uint16 (id + 1, 0 = binder); light, specular and depth as uint8 on a
square-root scale (depth linear): finer steps in the shadows, and far finer than
the sensor noise every request adds (SCALES).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"
MAX_HEAPS = 64
MAX_SIDE = 4096
HEAP_NAME = re.compile(r"[a-z0-9_-]{1,64}")
FORMAT = 1
DEFAULT_BANK = Path(__file__).parent / "default"
# each buffer's (value at code 0, value at code 255, power of the code scale)
SCALES = {"light": (0.0, 4.0, 2.0), "specular": (0.0, 0.1, 2.0), "depth": (-0.02, 0.06, 1.0)}


class BankError(RuntimeError):
    """The bank is missing, unreadable or does not match its manifest."""


@dataclass(frozen=True, eq=False)
class HeapBuffers:
    name: str
    crumb: np.ndarray  # (S, S) int32, -1 binder
    light: np.ndarray  # (S, S) float32: light received (linear, white light)
    specular: np.ndarray  # (S, S) float32: the sheen (linear radiance)
    depth: np.ndarray  # (S, S) float32: tile sides below the pressed top
    exposure: float  # light -> display: a typical lit crumb shows its palette colour

    @property
    def size(self) -> int:
        return self.crumb.shape[0]


@dataclass(frozen=True, eq=False)
class Bank:
    folder: Path
    heaps: tuple[HeapBuffers, ...]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_heap(folder: Path, name: str, buffers: dict[str, np.ndarray], exposure: float, meta: dict) -> None:
    """Write one heap's buffers and enter it (with its checksum) in the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    np.savez_compressed(
        path,
        crumb=(buffers["crumb"] + 1).astype(np.uint16),
        **{name: _encoded(buffers[name], scale) for name, scale in SCALES.items()},
    )
    manifest = read_manifest(folder) if (folder / MANIFEST).exists() else {"format": FORMAT, "heaps": {}}
    manifest["heaps"][name] = {
        "sha256": file_digest(path),
        "bytes": path.stat().st_size,
        "exposure": exposure,
        **meta,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BankError(f"no readable bank manifest in {folder}: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BankError(f"bank manifest in {folder} is not format {FORMAT}")
    heaps = manifest.get("heaps")
    if not isinstance(heaps, dict) or not 1 <= len(heaps) <= MAX_HEAPS:
        raise BankError(f"bank manifest in {folder} must list 1-{MAX_HEAPS} heaps")
    for name, entry in heaps.items():
        if (
            not HEAP_NAME.fullmatch(name)
            or not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
        ):
            raise BankError(
                f"bank manifest in {folder}: heap {name[:40]!r} needs a name [a-z0-9_-] and a sha256"
            )
        if not isinstance(entry.get("exposure"), float) or not 0.01 <= entry["exposure"] <= 100:
            raise BankError(f"bank manifest in {folder}: heap {name} has no exposure within 0.01-100")
    return manifest


def verify(folder: Path) -> dict:
    """The manifest, once every heap file's checksum has been checked; BankError if any differs."""
    manifest = read_manifest(folder)
    for name, entry in manifest["heaps"].items():
        path = folder / f"{name}.npz"
        if not path.exists() or file_digest(path) != entry["sha256"]:
            raise BankError(f"bank heap {name} in {folder} is missing or does not match its checksum")
    return manifest


def load_bank(folder: Path = DEFAULT_BANK) -> Bank:
    """The verified bank in `folder` (BankError if missing or corrupted)."""
    manifest = verify(folder)
    heaps = []
    for name in sorted(manifest["heaps"]):
        try:
            with np.load(folder / f"{name}.npz") as data:
                heaps.append(
                    HeapBuffers(
                        name=name,
                        crumb=data["crumb"].astype(np.int32) - 1,
                        **{buffer: _decoded(data[buffer], scale) for buffer, scale in SCALES.items()},
                        exposure=float(manifest["heaps"][name]["exposure"]),
                    )
                )
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
            raise BankError(f"bank heap {name} in {folder} cannot be read: {error}") from error
    for heap in heaps:
        shapes = {buffer.shape for buffer in (heap.crumb, heap.light, heap.specular, heap.depth)}
        if len(shapes) != 1 or heap.crumb.ndim != 2 or not 16 <= heap.size == heap.crumb.shape[1] <= MAX_SIDE:
            raise BankError(
                f"bank heap {heap.name} in {folder}: buffers must be one square shape, 16-{MAX_SIDE} px"
            )
    return Bank(folder, tuple(heaps))


@lru_cache(maxsize=2)
def cached_bank(folder: Path = DEFAULT_BANK) -> Bank:
    return load_bank(folder)


def _encoded(values: np.ndarray, scale: tuple[float, float, float]) -> np.ndarray:
    low, top, power = scale
    return np.rint(255 * np.clip((values - low) / (top - low), 0, 1) ** (1 / power)).astype(np.uint8)


def _decoded(codes: np.ndarray, scale: tuple[float, float, float]) -> np.ndarray:
    low, top, power = scale
    return (low + (codes.astype(np.float32) / 255) ** power * (top - low)).astype(np.float32)
