"""Draw photo | 2-D renderer | lit bank, at matched granule scale, for four mixes: docs/images/bank.jpg
(about 20 s; needs ../shared/reference-tiles and the eval extras).

    python tools/bank_figure.py [--reference DIR] [--out JPG]

Each row is one labelled mix: a crop of its reference photo at 1:1, then same-sized crops of each
renderer's 1024 px tile (seed 1, angle 0) resized by the scale eval-realism estimates for that
renderer, so a crumb is as large in all three.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from realism_figure import MIXES, save_sheet  # noqa: E402

from plitka.analysis.evaluate import DEFAULT_REFERENCE, parse_proportions, read_labels  # noqa: E402
from plitka.bank import choose_renderer  # noqa: E402
from plitka.colour.spaces import as_rgb_array  # noqa: E402
from plitka.realism import reference  # noqa: E402

COLUMNS = ("photo", "2-D renderer", "lit bank")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "bank.jpg")
    args = parser.parse_args()
    rows = {row["file"]: row for row in read_labels(args.reference)}
    photos = [reference._photo(args.reference, rows[name]) for name in MIXES]
    renders = {name: [_render(name, rows[file]) for file in MIXES] for name in ("flat", "bank")}
    save_sheet(photos, renders, COLUMNS, args.out)
    return 0


def _render(renderer: str, row: dict[str, str]) -> reference.Picture:
    chosen = choose_renderer(renderer)
    picture = chosen.render(chosen.layout(parse_proportions(row["proportions"]), 1024, 1), 0)
    rgb, mask = reference.tile_area(as_rgb_array(picture))
    return reference.Picture(row["file"], row["proportions"], 1, rgb, mask)


if __name__ == "__main__":
    raise SystemExit(main())
