"""Measure how each production colour shades, from its single-colour photo, into palette/shading.json.

    python tools/measure_shading.py [--reference DIR]

DIR (default <repo>/../shared/reference-tiles) holds labels.csv and the single-colour photos. A
colour's look (plitka.lock.appearance) is the distribution of lightness over the tile's pixels; the
lock paints a crumb with it where a picture shows no crumbs of that colour. The product reads
shading.json, never the photos.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure_palette import single_colour_photos

from plitka.analysis.evaluate import DEFAULT_REFERENCE
from plitka.colour.spaces import as_rgb_array, lab_image
from plitka.colour.tile import tile_mask
from plitka.lock.appearance import SHADING_FILE, look_of


def measure_shading(reference: Path) -> dict[str, dict]:
    looks = {}
    for code, path in sorted(single_colour_photos(reference).items()):
        with Image.open(path) as photo:
            rgb = as_rgb_array(photo)
        looks[code] = look_of(lab_image(rgb)[..., 0][tile_mask(rgb)], "model").to_dict()
    return looks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="reference-tiles folder")
    args = parser.parse_args(argv)
    if not (args.reference / "labels.csv").is_file():
        parser.error(f"{args.reference} has no labels.csv")
    looks = measure_shading(args.reference)
    source = "measured from ../shared/reference-tiles singles by tools/measure_shading.py"
    SHADING_FILE.write_text(json.dumps({"source": source, "colors": looks}) + "\n", encoding="utf-8")
    print(f"wrote {SHADING_FILE} ({len(looks)} colours, {SHADING_FILE.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
