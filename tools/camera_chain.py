"""The camera chain of the reference photos against a renderer's, measured alike (docs/bank.md; about
30 s; needs ../shared/reference-tiles).

    python tools/camera_chain.py [--renderer bank|flat] [--reference DIR]

Every labelled photo and the renderer's pictures of its mix (the realism test's own renders, seeds 1
and 2), both through the test's path (renders resized to the photos' granule scale, then both by 0.8
and saved with the photos' JPEG settings): the median over pictures of each figure of
plitka.realism.camera.camera_stats.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plitka.analysis.evaluate import DEFAULT_REFERENCE  # noqa: E402
from plitka.bank import choose_renderer  # noqa: E402
from plitka.realism.camera import NAMES, camera_stats  # noqa: E402
from plitka.realism.reference import RENDER_SIZE, matched_pictures  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renderer", choices=["flat", "bank"], default="bank")
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    args = parser.parse_args(argv)
    chosen = choose_renderer(args.renderer)

    def renderer(mix: dict[str, float], seed: int):
        return chosen.render(chosen.layout(mix, RENDER_SIZE, seed), angle=0)

    matched = matched_pictures(args.reference, renderer)
    sides = {
        "photos": [camera_stats(p.rgb, p.mask) for p in matched.photos],
        args.renderer: [camera_stats(p.rgb, p.mask) for p in matched.renders],
    }
    print(f"renders resized by {matched.scale:.3f}, then all by 0.8 and saved as JPEG; medians")
    print(f"{'':14}" + "".join(f"{side:>10}" for side in sides))
    for name in NAMES:
        print(
            f"{name:14}" + "".join(f"{np.median([s[name] for s in stats]):10.3f}" for stats in sides.values())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
