"""A small labelled set made by the procedural renderer: tiles of known mixes on a plain background, in
reference-tiles' layout (labels.csv + JPEGs). For tests and benchmarks that must run without
../shared/reference-tiles; not a substitute for real photos when training for the product."""

from __future__ import annotations

from pathlib import Path

from plitka.layout import build_layout
from plitka.render import render_tile

MIXES: tuple[dict[str, float], ...] = (
    {"BLACK": 40.0, "WHITE": 60.0},
    {"BLUE": 10.0, "DKGREEN": 45.0, "RED": 45.0},
    {"RED": 70.0, "YELLOW": 30.0},
    {"BEIGE": 50.0, "BLUE": 25.0, "WHITE": 25.0},
)


def write_synthetic_set(folder: Path, count: int = 4, side: int = 384) -> Path:
    """`count` photos (the MIXES in turn, seeds 0..count-1) and their labels.csv in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["file,family,label_in_name,proportions,trust"]
    for number in range(count):
        mix = MIXES[number % len(MIXES)]
        name = f"synthetic-{number}.jpg"
        render_tile(build_layout(mix, size=side, seed=number), angle=0, size=side).save(
            folder / name, quality=92
        )
        shares = ";".join(f"{code}:{share:g}" for code, share in mix.items())
        lines.append(f"{name},{'-'.join(mix)},{shares},{shares},synthetic")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
