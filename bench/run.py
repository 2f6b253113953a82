"""Benchmarks of the CPU path: one command, a table at the end.

    .venv/bin/python bench/run.py            # 9 repeats per figure
    .venv/bin/python bench/run.py --quick    # 3 repeats, for CI-sized runs

Each figure is the median of repeated runs after one warm-up run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from plitka.analysis import measure_proportions
from plitka.layout import build_layout
from plitka.render import render_tile
from plitka.request import build_request
from plitka.service import TileService
from plitka.settings import Settings

MIX = {"BLUE": 10, "DKGREEN": 40, "RED": 40, "YELLOW": 10}
TARGET_PROCEDURAL_1024_S = 0.3


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    action()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 9")
    repeats = 3 if parser.parse_args().quick else 9

    layout = build_layout(MIX, size=1024, seed=1)
    final = render_tile(layout, angle=45)
    service = TileService(Settings(work_dir=Path(tempfile.mkdtemp(prefix="plitka-bench-"))))
    request = build_request("10% blue, 40% dark green, 40% red, 10% yellow", seed=1, angle=45)

    def full_generation() -> None:
        list(service.generate(service.start(request), service.new_output_folder()))

    layout_s = median_seconds(lambda: build_layout(MIX, size=1024, seed=1), repeats)
    render_s = median_seconds(lambda: render_tile(layout, angle=45), repeats)
    rows = [
        ("layout 1024", layout_s),
        ("render 1024 (45°)", render_s),
        ("procedural tile 1024 = layout + render", layout_s + render_s),
        ("preview 512 from the layout", median_seconds(lambda: render_tile(layout, 45, size=512), repeats)),
        ("measure 1024", median_seconds(lambda: measure_proportions(final, list(MIX)), repeats)),
        ("whole prediction, png, 4 outputs", median_seconds(full_generation, repeats)),
    ]
    print(f"\n{platform.machine()}, {time.strftime('%Y-%m-%d')}, median of {repeats} after a warm-up")
    print(f"{'figure':45s} {'seconds':>8s}")
    for name, seconds in rows:
        print(f"{name:45s} {seconds:8.3f}")
    ratio = (layout_s + render_s) / TARGET_PROCEDURAL_1024_S
    print(f"{'procedural 1024 against its 0.3 s target':45s} {ratio:7.2f}x")


if __name__ == "__main__":
    main()
