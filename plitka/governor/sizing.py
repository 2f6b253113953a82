"""Bytes a model holds once loaded: measured from its tensors' storages (shared modules counted once),
or, before it is first built, estimated from its safetensors files."""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
from pathlib import Path
from typing import Any

MAX_DEPTH = 4  # pipelines hold modules in a dict of components; deeper than that is not weights
ELEMENT_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}


def storage_sizes(model: Any) -> dict[int, int]:
    """{storage address: bytes} of every tensor reachable from `model` (modules, dicts, pipelines)."""
    torch = sys.modules.get("torch")
    if torch is None:  # torch never imported: the model cannot hold tensors
        return {}
    sizes: dict[int, int] = {}
    _collect(model, torch, sizes, depth=0, seen=set())
    return sizes


def _collect(obj: Any, torch: Any, sizes: dict[int, int], depth: int, seen: set[int]) -> None:
    if id(obj) in seen or depth > MAX_DEPTH:
        return
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        _add(obj, sizes)
    elif isinstance(obj, torch.nn.Module):
        for tensor in (*obj.parameters(), *obj.buffers()):
            _add(tensor, sizes)
    elif isinstance(obj, dict):
        for value in obj.values():
            _collect(value, torch, sizes, depth + 1, seen)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _collect(value, torch, sizes, depth + 1, seen)
    elif dataclasses.is_dataclass(obj):
        for item in dataclasses.fields(obj):
            _collect(getattr(obj, item.name), torch, sizes, depth + 1, seen)
    elif hasattr(obj, "components"):  # a diffusers pipeline
        _collect(obj.components, torch, sizes, depth + 1, seen)


def _add(tensor: Any, sizes: dict[int, int]) -> None:
    storage = tensor.untyped_storage()
    if storage.device.type != "meta":
        sizes[storage.data_ptr()] = storage.nbytes()


def safetensors_bytes(path: Path, element_bytes: int, fp16_variant: bool) -> int:
    """Bytes the safetensors weights under `path` (a file or a folder) take once loaded with
    `element_bytes` per float. In a folder holding both, the fp16 variant files are counted when
    `fp16_variant` (the loader takes them), else the full ones."""
    files = [path] if path.is_file() else sorted(path.rglob("*.safetensors"))
    variants = {file for file in files if ".fp16." in file.name}
    chosen = (
        (variants if fp16_variant and variants else set(files) - variants) if len(files) > 1 else set(files)
    )
    return sum(_loaded_bytes(file, element_bytes) for file in chosen)


def _loaded_bytes(file: Path, element_bytes: int) -> int:
    """The file's float tensors at `element_bytes` each, read from its header alone (by hand: the
    safetensors API gives shapes and dtype names, not the byte spans the header holds)."""
    with open(file, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    total = 0
    for name, tensor in header.items():
        if name == "__metadata__":
            continue
        start, end = tensor["data_offsets"]
        stored = ELEMENT_BYTES.get(tensor["dtype"])
        total += (end - start) * element_bytes // stored if stored else end - start
    return total
