"""Bytes a loaded model holds: its tensors' storages, so that shared modules are counted once."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

MAX_DEPTH = 4  # pipelines hold modules in a dict of components; deeper than that is not weights


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
