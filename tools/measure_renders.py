"""Measure the product's own procedural renders: the table "Accuracy on the product's own renders" of
docs/colors.md (about a minute).

    python tools/measure_renders.py [--renderer bank]

For each mix and angle, seeds 1-3 at 1024 px: the largest error (points) of measure_proportions
(what the report's `measured` says) and of a plain nearest-colour count (palette colours, a gap
colour and the background; what tests/test_render.py checks).
"""

from __future__ import annotations

import argparse

import numpy as np

from plitka.analysis import measure_proportions
from plitka.bank import choose_renderer
from plitka.palette import PALETTE
from plitka.settings import get_settings

CASES = (
    ({"RED": 60, "WHITE": 40}, 0),
    ({"BLACK": 40, "WHITE": 60}, 60),
    ({"BLUE": 33, "DKGREEN": 33, "RED": 34}, 135),
    ({"BLUE": 10, "DKGREEN": 10, "RED": 10, "YELLOW": 70}, 90),
    ({"BLUE": 85, "RED": 15}, 45),
    ({"BLACK": 15, "WHITE": 85}, 30),
    ({"GRAY": 50, "LTGRAY": 50}, 0),
    ({"WHITE": 50, "PEARL": 50}, 30),
    ({"DKGREEN": 30, "LTGREEN": 70}, 0),
)
SEEDS = (1, 2, 3)
GAP_RGB = (12, 11, 10)
BACKGROUND_RGB = (255, 255, 255)


def nearest_colour_shares(picture: np.ndarray, codes: list[str]) -> dict[str, float]:
    references = np.array([PALETTE[code].rgb for code in codes] + [GAP_RGB, BACKGROUND_RGB], dtype=np.float32)
    pixels = picture.reshape(-1, 1, 3).astype(np.float32)
    counts = np.bincount(((pixels - references) ** 2).sum(axis=2).argmin(axis=1), minlength=len(references))
    counts = counts[: len(codes)]
    return {code: 100 * count / counts.sum() for code, count in zip(codes, counts, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renderer", choices=["flat", "bank"], default="flat", help="docs/bank.md")
    chosen = choose_renderer(parser.parse_args(argv).renderer, get_settings().bank_dir)  # PLITKA_BANK_DIR
    print("| Mix | Angle | measure_proportions, max error (points) | nearest-colour count, max error |")
    print("|---|---|---|---|")
    for mix, angle in CASES:
        measured, counted = [], []
        for seed in SEEDS:
            picture = chosen.render(chosen.layout(mix, 1024, seed), angle=angle)
            shares = measure_proportions(picture, list(mix))
            plain = nearest_colour_shares(np.asarray(picture), list(mix))
            measured += [abs(shares[code] - share) for code, share in mix.items()]
            counted += [abs(plain[code] - share) for code, share in mix.items()]
        name = " / ".join(f"{share} {code}" for code, share in mix.items())
        print(f"| {name} | {angle} | {max(measured):.1f} | {max(counted):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
