"""Measure each production colour's sRGB from its single-colour photo and write it to colors.json.

    python tools/measure_palette.py [--reference DIR] [--dry-run]

DIR (default <repo>/../shared/reference-tiles) holds labels.csv and singles/<CODE>.jpg. Only the
"rgb" field of each colour is rewritten; the product reads colors.json, never the photos.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image

from plitka.analysis.evaluate import DEFAULT_REFERENCE, parse_proportions, read_labels
from plitka.analysis.measure import granule_colour
from plitka.palette.palette import DATA_FILE


def single_colour_photos(reference: Path) -> dict[str, Path]:
    """Code -> photo for the labels.csv rows that are one colour at 100%."""
    singles = {}
    for row in read_labels(reference):
        proportions = parse_proportions(row["proportions"])
        if len(proportions) == 1:
            singles[next(iter(proportions))] = reference / row["file"]
    return singles


def measure_palette(reference: Path, data_file: Path = DATA_FILE, dry_run: bool = False) -> dict[str, tuple]:
    """Measure every palette colour that has a single-colour photo; write them unless dry_run."""
    data = json.loads(data_file.read_text(encoding="utf-8"))
    photos = single_colour_photos(reference)
    missing = [row["code"] for row in data["colors"] if row["code"] not in photos]
    if missing:
        raise SystemExit(f"no single-colour photo for: {', '.join(missing)}")
    measured = {}
    for row in data["colors"]:
        with Image.open(photos[row["code"]]) as photo:
            row["rgb"] = list(granule_colour(photo))
        measured[row["code"]] = tuple(row["rgb"])
    if not dry_run:
        data_file.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="reference-tiles folder")
    parser.add_argument("--dry-run", action="store_true", help="print the colours, leave colors.json alone")
    args = parser.parse_args(argv)
    if not (args.reference / "labels.csv").is_file():
        parser.error(f"{args.reference} has no labels.csv")
    for code, rgb in measure_palette(args.reference, dry_run=args.dry_run).items():
        print(f"{code:8} #{rgb[0]:02X}{rgb[1]:02X}{rgb[2]:02X}  {rgb}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
