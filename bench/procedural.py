"""The procedural engine on this CPU: layout, render, preview, measurement, a whole prediction.

The renderer before issue 13 (procedural_v1.py, a frozen copy) is timed beside today's, in one run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import procedural_v1
from common import Figure, median_seconds

from plitka.analysis import measure_proportions
from plitka.bank import BankError, bank_layout, load_bank, render_bank_tile
from plitka.bank.store import DEFAULT_BANK, read_manifest
from plitka.layout import build_layout
from plitka.render import render_tile
from plitka.request import build_request
from plitka.service import TileService
from plitka.settings import Settings

MIX = {"BLUE": 10, "DKGREEN": 40, "RED": 40, "YELLOW": 10}
TARGET_TILE_1024_S = 0.3
TARGET_FINAL_1024_S = 0.3
TARGET_PREVIEW_512_S = 0.05


def figures(quick: bool) -> list[Figure]:
    repeats = 3 if quick else 9
    layout = build_layout(MIX, size=1024, seed=1)
    final = render_tile(layout, angle=45)
    service = TileService(Settings(work_dir=Path(tempfile.mkdtemp(prefix="plitka-bench-"))))
    request = build_request("10% blue, 40% dark green, 40% red, 10% yellow", seed=1, angle=45)

    def whole_prediction() -> None:
        list(service.generate(service.start(request), service.new_output_folder()))

    layout_s = median_seconds(lambda: build_layout(MIX, size=1024, seed=1), repeats)
    render_s = median_seconds(lambda: render_tile(layout, angle=45), repeats)
    before_s = median_seconds(lambda: procedural_v1.render_tile(layout, angle=45), repeats)
    preview_s = median_seconds(lambda: render_tile(layout, 45, size=512), repeats)
    preview_before_s = median_seconds(lambda: procedural_v1.render_tile(layout, 45, size=512), repeats)
    return [
        Figure("procedural: layout 1024", layout_s, "s"),
        Figure("procedural: render 1024 at 45° (the final)", render_s, "s", TARGET_FINAL_1024_S),
        Figure("procedural: render 1024 at 45°, renderer before issue 13", before_s, "s"),
        Figure("procedural: render 1024, today / before", render_s / before_s, "x"),
        Figure("procedural: 1024x1024 tile (layout + render)", layout_s + render_s, "s", TARGET_TILE_1024_S),
        Figure("procedural: preview 512 from the layout", preview_s, "s", TARGET_PREVIEW_512_S),
        Figure("procedural: preview 512, renderer before issue 13", preview_before_s, "s"),
        *bank_figures(repeats),
        Figure(
            "procedural: measure the colours of a 1024 image",
            median_seconds(lambda: measure_proportions(final, list(MIX)), repeats),
            "s",
        ),
        Figure(
            "procedural: whole prediction in process (4 outputs, png)",
            median_seconds(whole_prediction, repeats),
            "s",
        ),
    ]


def bank_figures(repeats: int) -> list[Figure]:
    """The lit bank (docs/bank.md) beside the 2-D renderer: per-request shading, and what the bank cost."""
    try:
        bank = load_bank(DEFAULT_BANK)
    except BankError as error:
        print(f"bank: skipped ({error})")
        return []
    layout = bank_layout(bank, MIX, seed=1)
    manifest = read_manifest(DEFAULT_BANK)["heaps"].values()
    return [
        Figure(
            "bank: load and verify the shipped bank", median_seconds(lambda: load_bank(DEFAULT_BANK), 1), "s"
        ),
        Figure(
            "bank: layout (crumbs coloured to the shares)",
            median_seconds(lambda: bank_layout(bank, MIX, 1), repeats),
            "s",
        ),
        Figure(
            "bank: render 1024 at 45° (the final)",
            median_seconds(lambda: render_bank_tile(layout, 45, size=1024), repeats),
            "s",
            TARGET_FINAL_1024_S,
        ),
        Figure(
            "bank: preview 512 from the layout",
            median_seconds(lambda: render_bank_tile(layout, 45, size=512), repeats),
            "s",
            TARGET_PREVIEW_512_S,
        ),
        Figure("bank: heaps shipped", len(manifest), "heaps"),
        Figure("bank: size on disk", sum(entry["bytes"] for entry in manifest) / 1e6, "MB"),
        Figure(
            "bank: build time per heap (as built, from the manifest)",
            max(entry.get("seconds", 0) for entry in manifest),
            "s",
        ),
    ]
