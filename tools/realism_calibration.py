"""What eval-realism reads for pictures that are not our renders: its floor and a yardstick
(docs/realism.md; about eight minutes).

    OMP_NUM_THREADS=1 python tools/realism_calibration.py [../shared/reference-tiles]

* The floor: the labelled photos themselves stand in for the renders (seed 2 mirrored), as they are
  and resized up to a render's 1024 px (bicubic), once through the test's path (photos and renders
  end with the same resize and JPEG) and once with the photos left as they are (the test before
  2026-12-01): what a renderer as good as a photo would score.
* The yardstick: the earlier SDXL product's finished pictures (seed-outputs/ beside the reference
  folder; whole frames of other mixes) in place of the renders, through the same path, at the scale
  the test estimates and at their own, as many patches in all as the photos give.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from plitka.analysis.evaluate import DEFAULT_REFERENCE, read_labels
from plitka.colour.spaces import as_rgb_array
from plitka.realism.reference import (
    PHOTO_PATCHES,
    RENDER_SIZE,
    WORKING_SCALE,
    Picture,
    compare,
    evaluate_realism,
    matched_to_photos,
    photo_renderer,
)


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
    earlier_product(root)
    return 0


def earlier_product(root: Path) -> None:
    outputs = root.parent / "seed-outputs"
    if not (outputs / "labels.csv").exists():
        print(f"the earlier product's outputs: skipped, no {outputs / 'labels.csv'}")
        return
    pictures = [_whole_frame(outputs, row) for row in read_labels(outputs)]
    print(f"\nthe earlier SDXL product's outputs ({len(pictures)}) for the renders, through the test's path:")
    for label, scale in (("at the estimated granule scale", None), ("at their own scale", 1.0)):
        matched = matched_to_photos(root, pictures, scale=scale)
        per_picture = max(1, PHOTO_PATCHES * len(matched.photos) // len(pictures))  # classes balanced
        for seed in (0, 1):
            report = compare(matched.photos, matched.renders, seed, matched.scale, render_patches=per_picture)
            low, high = report.auc_range
            print(
                f"  {label} ({matched.scale:.2f}), seed {seed}: accuracy {report.test.accuracy:.3f}"
                f" ± {report.test.accuracy_spread:.3f}, AUC {report.test.auc:.3f},"
                f" feature AUCs {low:.3f}..{high:.3f}"
            )


def _whole_frame(folder: Path, row: dict[str, str]) -> Picture:
    """A finished picture without background (a close-up of crumbs): all of it is tile."""
    with Image.open(folder / row["file"]) as image:
        rgb = as_rgb_array(image)
    return Picture(row["file"], row["proportions"], 1, rgb, np.ones(rgb.shape[:2], bool))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
