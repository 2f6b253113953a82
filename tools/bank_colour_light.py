"""Each colour's light spread taken from its own photo, tried on the bank: docs/bank.md, "Per-colour light
from each colour's photo (fifth pass)" (about two minutes; needs ../shared/reference-tiles).

    [PLITKA_BANK_DIR=/tmp/bank] python tools/bank_colour_light.py [--photos DIR] [--refine] [--sheet JPG]

Part 1, per palette colour: the spread of region levels, ln(L*+16), between the granule regions of the
middle half of the tile (tools/bank_geometry.py's `tile_figures`) on its single-colour photo and on the
bank's single-colour renders (1024 px, 0 degrees, seeds 1-2); the contrast gamma = photo / bank. Beside
them, the shot check: the same colour inside the mix photos and in its single photo, read alike (regions
the measurement labels at least PURE that colour; `colour_spread`), since the singles are separate shots;
and the median over the bank's renders of the photos' own mixes (seed 1, 0 degrees).
Part 2: the bank with each colour's light taken to its gamma about an open crumb top's (light x exposure
= 1, where a crumb shows its palette colour), against the bank as shipped: docs/colors.md's mixes
(largest error over seeds 1-3, as tools/measure_renders.py) and the lightness pairs' singles composed by
halves and checker (tools/bank_geometry.py). --refine repeats the gamma step once on the bank's spread
at the first gamma; --sheet writes central crops of SHEET_CODES: photo | bank as shipped | with gamma.
The rule is applied here, in this process only; the shipped shading is unchanged.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bank_geometry import composed_errors, tile_figures
from measure_palette import single_colour_photos
from measure_renders import CASES, SEEDS

from plitka.analysis import measure_proportions
from plitka.analysis.evaluate import DEFAULT_REFERENCE, parse_proportions, read_labels
from plitka.analysis.measure import segment_colours, tile_crop
from plitka.bank import Renderer, choose_renderer
from plitka.bank.shade import BankLayout, _visible
from plitka.colour.regions import REFERENCE_SIDE, crevices, segment_granules
from plitka.colour.spaces import lab_image
from plitka.settings import get_settings

PURE = 0.8  # a region counts for a colour when at least this share of its counted pixels read that colour
MIN_REGION_PX = 20
MIN_REGIONS = 30  # a colour with fewer such regions in a photo gives no figure for it
PAIRS = (("WHITE", "PEARL"), ("GRAY", "LTGRAY"))
SHEET_CODES = ("WHITE", "PEARL", "GRAY", "LTGRAY")
SHEET_TILE = 700  # every tile brought to this side, so photos' chips and the bank's crumbs show alike
SHEET_CROP = 256


def colour_spread(rgb: np.ndarray, codes: list[str]) -> dict[str, tuple[float, int]]:
    """Per colour of the picture: (spread of region levels, regions) over the regions that the
    measurement's per-pixel labels give to that colour, middle half of the tile, crevices left out."""
    crop, mask = tile_crop(rgb)
    lab = lab_image(crop)
    height, width = mask.shape
    middle = np.s_[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]
    regions = segment_granules(crop, lab).labels[middle]
    rim = crevices(lab, max(crop.shape[:2]) / REFERENCE_SIDE)[middle]
    labels = segment_colours(rgb, codes).labels[middle]
    level = np.log(lab[middle][..., 0] + 16)
    counted = np.bincount(regions[labels >= 0], minlength=regions.max() + 1)
    spreads = {}
    for index, code in enumerate(codes):
        own = ~rim & (labels == index)
        pixels = np.bincount(regions[own], minlength=regions.max() + 1)
        kept = (pixels >= MIN_REGION_PX) & (pixels >= PURE * counted)
        means = (
            np.bincount(regions[own], weights=level[own], minlength=regions.max() + 1)[kept] / pixels[kept]
        )
        spreads[code] = (float(means.std()) if kept.any() else float("nan"), int(kept.sum()))
    return spreads


def with_contrast(layout: BankLayout, contrast: dict[str, float]) -> BankLayout:
    """The layout on a copy of its heap whose light is, crumb by crumb, (light x exposure)^gamma / exposure
    for the crumb's colour (the binder keeps its light)."""
    heap = layout.heap
    if layout.size != heap.size:
        raise ValueError("the trial colours the heap in its own frame: render at the heap's size")
    power = np.array([contrast.get(code, 1.0) for code in layout.codes], np.float32)
    visible = _visible(heap.crumb)  # the layout's crumb numbering, before its orientation
    per_pixel = np.where(visible >= 0, power[layout.granule_color[np.maximum(visible, 0)]], 1)
    exposure = np.float32(heap.exposure)
    light = np.exp(per_pixel * np.log(np.maximum(heap.light * exposure, 1e-6))) / exposure
    return dataclasses.replace(layout, heap=dataclasses.replace(heap, light=light.astype(np.float32)))


def bank_picture(
    renderer: Renderer, mix: dict[str, float], seed: int, angle: int, contrast: dict
) -> Image.Image:
    layout = renderer.layout(mix, renderer.bank.heaps[0].size, seed)
    return renderer.render(with_contrast(layout, contrast) if contrast else layout, angle=angle)


def bank_spreads(renderer: Renderer, codes: list[str], contrast: dict) -> dict[str, float]:
    """Per colour: the between-region spread of its single-colour renders, seeds 1-2."""
    return {
        code: float(
            np.mean(
                [
                    tile_figures(np.asarray(bank_picture(renderer, {code: 100}, seed, 0, contrast)))[
                        "between"
                    ]
                    for seed in (1, 2)
                ]
            )
        )
        for code in codes
    }


def shot_check(photos: Path, renderer: Renderer) -> dict[str, tuple[list[float], list[float]]]:
    """Per colour: its spread in its single photo (first), then in each mix photo with enough of it; and
    the same on bank renders of those mixes (seed 1, 0 degrees)."""
    found: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    rows = sorted(read_labels(photos), key=lambda row: len(parse_proportions(row["proportions"])))
    for row in rows:
        mix = parse_proportions(row["proportions"])
        with Image.open(photos / row["file"]) as photo:
            pictures = [np.asarray(photo.convert("RGB"))]
        if len(mix) > 1:
            pictures.append(np.asarray(bank_picture(renderer, mix, 1, 0, {})))
        for side, picture in enumerate(pictures):
            for code, (spread, regions) in colour_spread(picture, list(mix)).items():
                if regions >= MIN_REGIONS:
                    found[code][side].append(spread)
    return found


def share_errors(renderer: Renderer, contrast: dict) -> list[float]:
    """Largest error (points) over seeds 1-3 of each mix of docs/colors.md's render table."""
    worst = []
    for mix, angle in CASES:
        errors = []
        for seed in SEEDS:
            shares = measure_proportions(bank_picture(renderer, mix, seed, angle, contrast), list(mix))
            errors += [abs(shares[code] - share) for code, share in mix.items()]
        worst.append(max(errors))
    return worst


def sheet(renderer: Renderer, photos: dict[str, Path], gamma: dict[str, float]) -> Image.Image:
    rows = []
    for code in SHEET_CODES:
        with Image.open(photos[code]) as photo:
            pictures = [np.asarray(photo.convert("RGB"))]
        pictures += [np.asarray(bank_picture(renderer, {code: 100}, 1, 0, c)) for c in ({}, gamma)]
        cells = [
            np.pad(_central(picture), ((4, 4), (4, 4), (0, 0)), constant_values=255) for picture in pictures
        ]
        rows.append(np.concatenate(cells, axis=1))
    return Image.fromarray(np.concatenate(rows, axis=0))


def _central(rgb: np.ndarray) -> np.ndarray:
    crop, _ = tile_crop(rgb)
    tile = np.asarray(Image.fromarray(crop).resize((SHEET_TILE, SHEET_TILE), Image.Resampling.LANCZOS))
    start = (SHEET_TILE - SHEET_CROP) // 2
    return tile[start : start + SHEET_CROP, start : start + SHEET_CROP]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--refine", action="store_true", help="repeat the gamma step once")
    parser.add_argument("--sheet", type=Path, help="write the crop sheet (JPEG) here")
    args = parser.parse_args(argv)
    if not (args.photos / "labels.csv").is_file():
        print(f"skipped: {args.photos} has no labels.csv (the reference photos are not here)")
        return 0
    renderer = choose_renderer("bank", get_settings().bank_dir)
    singles = single_colour_photos(args.photos)
    photo = {}
    for code, path in sorted(singles.items()):
        with Image.open(path) as picture:
            photo[code] = tile_figures(np.asarray(picture.convert("RGB")))["between"]
    bank = bank_spreads(renderer, sorted(singles), {})
    gamma = {code: photo[code] / bank[code] for code in singles}
    if args.refine:
        refined = bank_spreads(renderer, sorted(singles), gamma)
        gamma = {code: gamma[code] * photo[code] / refined[code] for code in singles}
    if args.sheet:
        sheet(renderer, singles, gamma).save(args.sheet, quality=82)
        print(f"wrote {args.sheet}")
    shots = shot_check(args.photos, renderer)
    print(
        "colour    region spread: photo  bank  gamma   shot check: single | in mixes (median, range, n)  bank"
    )
    for code in sorted(singles):
        found, rendered = shots.get(code, ([], []))
        check = f"{found[0]:.3f}" if found else "-"
        if len(found) > 1:
            mixed = found[1:]
            check += f" | {np.median(mixed):.3f}  {min(mixed):.3f}-{max(mixed):.3f}  {len(mixed):2d}"
            check += f"   bank {np.median(rendered):.3f}" if rendered else ""
        print(f"{code:8s}  {photo[code]:19.3f} {bank[code]:5.3f} {gamma[code]:6.2f}   {check}")
    print("\nlargest share error, seeds 1-3      as shipped   each colour's gamma")
    for (mix, angle), before, after in zip(
        CASES, share_errors(renderer, {}), share_errors(renderer, gamma), strict=True
    ):
        name = " / ".join(f"{share} {code}" for code, share in mix.items())
        print(f"{name:36s} {angle:3d}  {before:5.1f}   {after:5.1f}")
    print("\nsingles composed, second colour read minus true (points): halves, checker")
    for codes in PAIRS:
        for name, contrast in (("as shipped", {}), ("gamma", gamma)):
            tiles = [np.asarray(bank_picture(renderer, {code: 100}, 1, 0, contrast)) for code in codes]
            halves, checker = composed_errors(*tiles, list(codes))
            print(f"{'/'.join(codes):12s} {name:10s} {halves:+5.1f} {checker:+5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
