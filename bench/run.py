"""Every benchmark in one command, with one table at the end.

    .venv/bin/python bench/run.py            # the full run (about 10 min on a 2-core CPU)
    .venv/bin/python bench/run.py --quick    # fewer repeats, under 2 min: CI runs it
    .venv/bin/python bench/run.py --gpu      # full-size SDXL architecture on a CUDA GPU (bench/gpu.py)

Each figure is a median of repeated runs after a warm-up; a ratio is measured side by side in this
run. Targets are upper bounds from the issue; a missed one is marked, and --strict then exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from common import Figure, machine, print_table

PARTS = ("procedural", "lock", "serving", "sdxl_tiny", "cold_start", "governor", "studio", "training")


def run_parts(parts: list[str], quick: bool) -> list[Figure]:
    import cold_start
    import governor
    import lock
    import procedural
    import sdxl_tiny
    import serving
    import studio
    import training

    from plitka.diffusion.tiny import write_tiny_weights

    weights = write_tiny_weights(Path(tempfile.mkdtemp(prefix="plitka-tiny-")))
    measured = {
        "procedural": lambda: procedural.figures(quick),
        "lock": lambda: lock.figures(quick),
        "serving": lambda: serving.figures(weights, quick),
        "sdxl_tiny": lambda: sdxl_tiny.figures(weights, quick),
        "cold_start": lambda: cold_start.figures(weights, quick),
        "governor": lambda: governor.figures(weights, quick),
        "studio": lambda: studio.figures(quick),
        "training": lambda: training.figures(weights, quick),
    }
    figures = []
    for part in parts:
        print(f"measuring {part} ...", file=sys.stderr, flush=True)
        figures += measured[part]()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (CI)")
    parser.add_argument("--gpu", action="store_true", help="full-size SDXL on CUDA instead (bench/gpu.py)")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.gpu:
        import gpu

        figures = gpu.figures(quick=args.quick)
    else:
        figures = run_parts(args.only or list(PARTS), args.quick)
    mode = "gpu" if args.gpu else "quick" if args.quick else "full"
    print_table(figures, f"Plitka Pro bench ({mode}): {machine()}")
    missed = [figure.name for figure in figures if figure.verdict == "MISSED"]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
