"""The measured palette data in plitka/palette/colors.json (written by tools/measure_palette.py)."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import cv2
import numpy as np
import pytest

from plitka.palette import PALETTE, Palette
from plitka.palette.palette import DATA_FILE


def lab(code: str) -> np.ndarray:
    return cv2.cvtColor(np.float32([[PALETTE[code].rgb]]) / 255, cv2.COLOR_RGB2Lab)[0, 0]


def test_palette_has_29_colours_each_with_measured_rgb() -> None:
    assert len(PALETTE) == 29
    for color in PALETTE:
        assert len(color.rgb) == 3
        assert all(isinstance(value, int) and 0 <= value <= 255 for value in color.rgb), color.code
        assert color.hex.startswith("#") and len(color.hex) == 7


def test_colors_json_keeps_its_layout() -> None:
    text = DATA_FILE.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=1) + "\n"


def test_light_and_dark_colours() -> None:
    assert lab("WHITE")[0] > 85
    assert lab("BLACK")[0] < 30
    lightness = [lab(code)[0] for code in ("BLACK", "DKGRAY", "GRAY", "LTGRAY", "WHITE")]
    assert lightness == sorted(lightness)
    assert lab("DKBLUE")[0] < lab("BLUE")[0] < lab("SKYBLUE")[0]


@pytest.mark.parametrize("code", ["BLACK", "DKGRAY", "GRAY", "LTGRAY", "WHITE", "PEARL"])
def test_greys_are_nearly_neutral(code: str) -> None:
    assert np.hypot(*lab(code)[1:]) < 10


@pytest.mark.parametrize(
    ("code", "dominant"),
    [("RED", 0), ("ORANGE", 0), ("TERCOT", 0), ("BLUE", 2), ("DKBLUE", 2), ("SKYBLUE", 2), ("GRNAPL", 1)],
)
def test_dominant_channel(code: str, dominant: int) -> None:
    rgb = np.array(PALETTE[code].rgb)
    others = np.delete(rgb, dominant)
    assert rgb[dominant] > others.max() + 40, f"{code} {PALETTE[code].rgb}"


def test_hues_where_expected() -> None:
    red, green, blue = PALETTE["YELLOW"].rgb
    assert min(red, green) > blue + 80
    assert lab("DKGREEN")[1] < -15  # green side of a*
    assert lab("LILAC")[1] > 30 and lab("VIOLET")[2] < -20


def test_colours_are_distinct() -> None:
    for first, second in combinations(PALETTE.codes, 2):
        assert np.linalg.norm(lab(first) - lab(second)) > 5, (first, second)


def test_missing_rgb_is_an_error(tmp_path: Path) -> None:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    data["colors"][0]["rgb"] = None
    path = tmp_path / "colors.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="BEIGE: rgb must be three integers"):
        Palette.load(path)
