"""What eval-realism reads for pictures that are photos: the test's floor (docs/realism.md; about
four minutes).

    OMP_NUM_THREADS=1 python tools/realism_calibration.py [../shared/reference-tiles]

The labelled photos themselves stand in for the renders (seed 2 mirrored), as they are and resized
up to a render's 1024 px (bicubic), once through the test's path (photos and renders end with the
same resize and JPEG) and once with the photos left as they are (the test before 2026-12-01): what
a renderer as good as a photo would score.
"""

from __future__ import annotations

import sys
from pathlib import Path

from plitka.analysis.evaluate import DEFAULT_REFERENCE
from plitka.realism.reference import RENDER_SIZE, WORKING_SCALE, evaluate_realism, photo_renderer


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else DEFAULT_REFERENCE
    print(f"{'stand-in for the renders':34} {'photos as they are':>18}   photos resized by {WORKING_SCALE}")
    for label, upsample_to in (
        ("the photos", None),
        (f"the photos resized to {RENDER_SIZE} px", RENDER_SIZE),
    ):
        renderer = photo_renderer(root, upsample_to)
        results = [
            evaluate_realism(root, renderer, working_scale=scale).test for scale in (None, WORKING_SCALE)
        ]
        print(f"{label:34} " + "   ".join(f"{r.accuracy:10.3f} ± {r.accuracy_spread:.3f}" for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
