"""How a bank's crumbs read next to the photos' chips, through the colour measurement's own path (about
a minute): docs/bank.md, "Geometry trials".

    PLITKA_BANK_DIR=/tmp/bank python tools/bank_geometry.py [--photos ../shared/reference-tiles]

Part 1, single-colour tiles, photos (singles/) and the bank's renders at 1024 px (seeds 1-2) alike:
the tile cropped and resampled as `measure_proportions` does (`tile_crop`), then in the middle half of
the tile: granule seeds and regions (`segment_granules`), black share (L* < 20), dark floor (L* p1),
crevice share and how far crevices lie below the rest, and the spread of lit levels, ln(L*+16), between
regions and within them. Part 2, the bank only: each lightness pair at 50/50, every crumb pixel's true
colour against the measurement's label (or not counted), so a share error can be traced to the
confusion of one colour for the other or to one colour's shaded pixels dropping out. Part 3, photos and
bank alike: the two single-colour tiles of each pair composed by halves (left | right) and as a 4x4
checker, measured as the pair: what the measurement makes of each colour's own light, with no crumb of
one colour beside a crumb of the other (the true share is the tile area of each part).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from plitka.analysis import measure_proportions
from plitka.analysis.measure import segment_colours, tile_crop
from plitka.bank import choose_renderer
from plitka.colour.regions import REFERENCE_SIDE, _seeds, crevices, segment_granules
from plitka.colour.spaces import lab_image
from plitka.colour.tile import tile_mask
from plitka.settings import get_settings

SINGLES = ("WHITE", "PEARL", "LTGRAY", "GRAY", "RED")
# at 0 degrees: a 1024 render's tile is then analysed on its own grid, so the true colours line up exactly
PAIRS = ({"WHITE": 50, "PEARL": 50}, {"GRAY": 50, "LTGRAY": 50})
SEEDS = (1, 2)
MIN_REGION_PX = 20  # regions smaller than this give no level of their own


def tile_figures(rgb: np.ndarray) -> dict[str, float]:
    """The figures of part 1 for one picture of a tile on its background."""
    crop, mask = tile_crop(rgb)
    lab = lab_image(crop)
    height, width = mask.shape
    middle = np.s_[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]
    scale = max(crop.shape[:2]) / REFERENCE_SIDE
    regions = segment_granules(crop, lab).labels[middle]
    rim = crevices(lab, scale)[middle]
    lightness = lab[middle][..., 0]
    level = np.log(lightness + 16)[~rim]
    ids = regions[~rim]
    counts = np.bincount(ids)
    means = np.bincount(ids, weights=level) / np.maximum(counts, 1)
    kept = counts >= MIN_REGION_PX
    within = np.sqrt(np.bincount(ids, weights=(level - means[ids]) ** 2)[kept] / counts[kept])
    return {
        "seeds": float(len(np.unique(_seeds(lab, scale)[middle])) - 1),
        "regions": float(len(np.unique(regions))),
        "black": float((lightness < 20).mean()),
        "floor": float(np.percentile(lightness, 1)),
        "crevice": float(rim.mean()),
        "crevice_depth": float(np.median(lightness[rim]) - np.median(lightness[~rim])),
        "between": float(means[kept].std()),
        "within": float(within.mean()),
    }


def pair_confusion(renderer, mix: dict[str, float], seed: int, angle: int = 0) -> tuple[np.ndarray, dict]:
    """Rows: true colour; columns: read as each colour of the mix, then not counted (share of pixels)."""
    codes = list(mix)
    layout = renderer.layout(mix, 1024, seed)
    picture = np.asarray(renderer.render(layout, angle=angle))
    segmentation = segment_colours(picture, codes)
    ys, xs = np.nonzero(tile_mask(picture))
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    ids = renderer.picture_granules(layout, angle, 1024)[box]
    truth = np.where(ids >= 0, layout.granule_color[np.maximum(ids, 0)], -1).astype(np.float32)
    labels = segmentation.labels  # on tile_crop's grid: the box, resampled
    truth = cv2.resize(truth, labels.shape[::-1], interpolation=cv2.INTER_NEAREST)
    table = np.array(
        [[(labels[truth == row] == col).mean() for col in [*range(len(codes)), -1]] for row in range(2)]
    )
    return table, segmentation.proportions()


def composed_errors(first: np.ndarray, second: np.ndarray, codes: list[str]) -> list[float]:
    """Share of the second colour read minus its tile area (points), for halves and for a 4x4 checker."""
    height, width = first.shape[:2]
    rows, columns = np.mgrid[:height, :width]
    errors = []
    for part in (columns >= width // 2, (rows * 4 // height + columns * 4 // width) % 2 == 1):
        picture = np.where(part[..., None], second, first)
        mask = tile_mask(picture)
        truth = 100 * (mask & part).sum() / mask.sum()
        errors.append(measure_proportions(picture, codes)[codes[1]] - truth)
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=Path("../shared/reference-tiles"))
    args = parser.parse_args(argv)
    renderer = choose_renderer("bank", get_settings().bank_dir)
    print("tile            seeds regions  black  L*p1  crevice (dL*)   spread between / within")
    for code in SINGLES:
        rows = []
        photo = args.photos / "singles" / f"{code}.jpg"
        if photo.exists():
            rows.append(("photo", tile_figures(np.asarray(Image.open(photo).convert("RGB")))))
        for seed in SEEDS:
            picture = renderer.render(renderer.layout({code: 100}, 1024, seed), angle=0)
            rows.append((f"bank s{seed}", tile_figures(np.asarray(picture))))
        for name, f in rows:
            print(
                f"{code:6s} {name:8s} {f['seeds']:5.0f} {f['regions']:7.0f}  {f['black']:.3f}"
                f" {f['floor']:5.1f}  {f['crevice']:.3f} ({f['crevice_depth']:5.1f})"
                f"   {f['between']:.3f} / {f['within']:.3f}"
            )
    print("\npair at 50/50 (bank): true colour -> read as first, second, not counted; shares read")
    for mix in PAIRS:
        first, second = mix
        for seed in SEEDS:
            table, shares = pair_confusion(renderer, mix, seed)
            rows = "  ".join(
                f"{code}: " + " ".join(f"{v:.2f}" for v in row) for code, row in zip(mix, table, strict=True)
            )
            print(f"{first}/{second} s{seed}  {rows}   read {shares[first]:.1f} / {shares[second]:.1f}")
    print("\nsingles composed (second colour read minus true, points): halves, 4x4 checker")
    for mix in PAIRS:
        codes = list(mix)
        singles = [renderer.render(renderer.layout({code: 100}, 1024, 1), 0) for code in codes]
        pictures = {"bank": [np.asarray(picture) for picture in singles]}
        photos = [args.photos / "singles" / f"{code}.jpg" for code in codes]
        if all(path.exists() for path in photos):
            pictures["photo"] = [np.asarray(Image.open(path).convert("RGB")) for path in photos]
        for name, (first, second) in sorted(pictures.items(), reverse=True):
            halves, checker = composed_errors(first, second, codes)
            print(f"{'/'.join(codes):12s} {name:6s} {halves:+5.1f} {checker:+5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
