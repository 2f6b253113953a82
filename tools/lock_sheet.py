"""Draw docs/images/lock-before-after.jpg: seed outputs before and after the colour lock, whole and
in 1:1 crops, each row with its ordered mix and the measured error before and after.

    .venv/bin/python tools/lock_sheet.py            # reads ../shared/seed-outputs (about 20 s)

The seed outputs themselves are never committed; only this small sheet is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from plitka.analysis import measure_proportions
from plitka.analysis.evaluate import parse_proportions, read_labels
from plitka.lock import lock_colours

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seed-outputs"
OUT = ROOT / "docs" / "images" / "lock-before-after.jpg"
PICKED = (  # five drifts of different kinds
    "photos/05dbd862_20250903_023149.jpg",  # 60/40 red/white with too little white: new whites
    "photos/32cbff02_20250904_082649.jpg",  # 50/50 blue/red came out all red
    "photos/05dbd862_20250903_023311.jpg",  # four colours, yellow far too much
    "photos/3e4370ea_20250903_013000.jpg",  # a lightness pair: PEARL and LTGRAY
    "photos/05dbd862_20250903_023226.jpg",  # BLACK, RED, WHITE
)
CELL = 280
CROP = (372, 372, 652, 652)  # a 280 px 1:1 crop from the middle of each 1024 px picture
CAPTION = 44


def main() -> None:
    rows = {row["file"]: row for row in read_labels(SEEDS)}
    sheet = Image.new("RGB", (4 * CELL + 5 * 6, len(PICKED) * (CELL + CAPTION) + 40), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=15)
    heads = ("before (whole)", "after (whole)", "before 1:1", "after 1:1")
    for column, head in enumerate(heads):
        draw.text((6 + column * (CELL + 6), 12), head, fill=(30, 30, 30), font=font)
    for index, name in enumerate(PICKED):
        ordered = parse_proportions(rows[name]["proportions"])
        with Image.open(SEEDS / name) as opened:
            before = opened.convert("RGB")
        after = lock_colours(before, ordered).image
        errors = [_mae(ordered, measure_proportions(picture, list(ordered))) for picture in (before, after)]
        top = 40 + index * (CELL + CAPTION)
        mix = ", ".join(f"{share:g}% {code}" for code, share in ordered.items())
        caption = f"ordered {mix}: measured error {errors[0]:.1f} -> {errors[1]:.1f} points"
        draw.text((6, top + 6), caption, fill=(30, 30, 30), font=font)
        cells = (before.resize((CELL, CELL)), after.resize((CELL, CELL)), before.crop(CROP), after.crop(CROP))
        for column, cell in enumerate(cells):
            sheet.paste(cell, (6 + column * (CELL + 6), top + CAPTION - 12))
    sheet.save(OUT, quality=80, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


def _mae(ordered: dict[str, float], measured: dict[str, float]) -> float:
    return float(np.mean([abs(measured[code] - share) for code, share in ordered.items()]))


if __name__ == "__main__":
    main()
