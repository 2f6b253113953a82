"""Build a bank: heaps made (geometry), lit (build), stored with checksums (store)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from plitka.bank.store import save_heap

HEAP_SIZE = 1024  # pixels across the tile
SAMPLES = 32  # per pixel, for each light pass
HEAPS = 2
EXPOSURE_PERCENTILE = 65  # a crumb lit like this share of crumb pixels shows its palette colour


def build_bank(
    folder: Path,
    heaps: int = HEAPS,
    size: int = HEAP_SIZE,
    samples: int = SAMPLES,
    first_seed: int = 1,
    spacing: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Render `heaps` heaps into `folder`; returns what each cost."""
    from plitka.bank.build import render_heap
    from plitka.bank.geometry import build_heap

    costs = []
    for seed in range(first_seed, first_seed + heaps):
        start = time.perf_counter()
        heap = build_heap(seed) if spacing is None else build_heap(seed, spacing)
        buffers = render_heap(heap, size, samples, seed)
        on_crumb = buffers["crumb"] >= 0
        exposure = float(1 / np.percentile(buffers["light"][on_crumb], EXPOSURE_PERCENTILE))
        seconds = round(time.perf_counter() - start, 1)
        meta = {"seed": seed, "size": size, "samples": samples, "crumbs": heap.crumbs, "seconds": seconds}
        save_heap(folder, f"heap{seed:03d}", buffers, exposure, {**meta, "spacing": spacing})
        costs.append({"seed": seed, "seconds": seconds})
        if progress:
            progress(f"heap {seed}: {costs[-1]['seconds']} s")
    return costs
