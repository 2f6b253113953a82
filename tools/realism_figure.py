"""Draw photo | renderer before issue 13 | today's renderer, at matched granule scale, for four mixes:
docs/images/realism.jpg (about 20 s; needs ../shared/reference-tiles and the eval extras).

    python tools/realism_figure.py [--reference DIR] [--out JPG]

Each row is one labelled mix: a crop of its reference photo, then the same-sized crops of both
renderers' 1024 px tiles (seed 1, angle 0) resized by the scale eval-realism estimates (the photos'
colour-field correlation length over the renders'), so a crumb is as large in all three.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))  # procedural_v1: the renderer before issue 13

import procedural_v1  # noqa: E402

from plitka.analysis.evaluate import DEFAULT_REFERENCE, parse_proportions, read_labels  # noqa: E402
from plitka.colour.spaces import as_rgb_array  # noqa: E402
from plitka.layout import build_layout  # noqa: E402
from plitka.realism import reference  # noqa: E402
from plitka.render import render_tile  # noqa: E402

MIXES = (
    "photos/REDp40_BLUEp60.jpg",
    "photos/BLACKp40_WHITEp60.jpg",
    "photos/BLUEp33_DKGREENp33_REDp34.jpg",
    "photos/BLUEp10_DKGREENp40_REDp40_YELLOWp10.jpg",
)
CROP = 224
LABEL = 22
COLUMNS = ("photo", "before issue 13", "today")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "realism.jpg")
    args = parser.parse_args()
    rows = {row["file"]: row for row in read_labels(args.reference)}
    photos = [reference._photo(args.reference, rows[name]) for name in MIXES]
    renders = {
        label: [_render(renderer, rows[name]) for name in MIXES]
        for label, renderer in (("before", procedural_v1.render_tile), ("today", render_tile))
    }
    save_sheet(photos, renders, COLUMNS, args.out)
    return 0


def save_sheet(photos: list, renders: dict[str, list], columns: tuple[str, ...], out: Path) -> None:
    """One row per photo: its centre crop, then each renderer's picture of the mix resized to the
    photos' granule scale and cropped alike; a title over each column."""
    figure = Image.new("RGB", (CROP * len(columns), LABEL + CROP * len(photos)), "white")
    draw = ImageDraw.Draw(figure)
    font = ImageFont.load_default(size=16)
    for column, title in enumerate(columns):
        draw.text((column * CROP + 6, 3), title, fill=(30, 30, 30), font=font)
    scales = {label: reference.granule_scale(photos, pictures) for label, pictures in renders.items()}
    for index, photo in enumerate(photos):
        crops = [_centre_crop(photo.rgb)]
        for label, pictures in renders.items():
            resized = cv2.resize(
                pictures[index].rgb, None, fx=scales[label], fy=scales[label], interpolation=cv2.INTER_AREA
            )
            crops.append(_centre_crop(resized))
        for column, crop in enumerate(crops):
            figure.paste(Image.fromarray(crop), (column * CROP, LABEL + index * CROP))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.save(out, quality=85)
    print(out)


def _render(renderer, row: dict[str, str]) -> reference.Picture:
    layout = build_layout(parse_proportions(row["proportions"]), size=1024, seed=1)
    rgb, mask = reference.tile_area(as_rgb_array(renderer(layout, 0)))
    return reference.Picture(row["file"], row["proportions"], 1, rgb, mask)


def _centre_crop(rgb: np.ndarray) -> np.ndarray:
    top, left = (rgb.shape[0] - CROP) // 2, (rgb.shape[1] - CROP) // 2
    return np.ascontiguousarray(rgb[top : top + CROP, left : left + CROP])


if __name__ == "__main__":
    raise SystemExit(main())
