"""Reverse match: CIEDE2000 as published, the best mix found for a colour that is a mix's look, and
bad targets refused naming the input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from plitka.match import best_mixes, ciede2000, parse_hex, picked_pixel
from plitka.palette import PALETTE
from plitka.request import RequestError


def test_ciede2000_matches_the_published_pairs_and_scikit_image():
    # Sharma, Wu, Dalal (2005), table 1: pairs 1, 7, 17 and 34 with their ΔE00
    first = np.array([[50, 2.6772, -79.7751], [50, 0, 0], [50, 2.5, 0], [90.9257, -0.5406, -0.9208]])
    second = np.array([[50, 0, -82.7485], [50, -1, 2], [73, 25, -18], [88.6381, -0.8985, -0.7239]])
    assert ciede2000(first, second) == pytest.approx([2.0425, 2.3669, 27.1492, 1.5381], abs=1e-4)
    skimage_color = pytest.importorskip("skimage.color")
    rng = np.random.default_rng(0)
    a = rng.uniform([0, -100, -100], [100, 100, 100], (500, 3))
    b = rng.uniform([0, -100, -100], [100, 100, 100], (500, 3))
    assert np.abs(ciede2000(a, b) - skimage_color.deltaE_ciede2000(a, b)).max() < 1e-9


def linear(rgb):
    srgb = np.array(rgb, float) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def test_the_look_of_a_mix_is_found_again():
    """A target made as 40% red and 60% white look (mean in linear light) is matched by that mix."""
    look = 0.4 * linear(PALETTE["RED"].rgb) + 0.6 * linear(PALETTE["WHITE"].rgb)
    srgb = np.where(look <= 0.0031308, 12.92 * look, 1.055 * look ** (1 / 2.4) - 0.055)
    target = tuple(int(v) for v in np.round(srgb * 255))
    best = best_mixes(target, count=3)
    assert best[0].shares == {"RED": 40.0, "WHITE": 60.0}
    assert best[0].delta_e < 0.5
    assert [m.delta_e for m in best] == sorted(m.delta_e for m in best)
    assert all(2 <= len(m.shares) <= 3 and sum(m.shares.values()) == pytest.approx(100) for m in best)


def test_a_far_colour_is_matched_with_an_honest_distance():
    best = best_mixes(parse_hex("#ff00ff"), count=1)[0]  # pure magenta: nothing in the palette is near
    assert best.delta_e > 10


@pytest.mark.parametrize("text", ["", "#12345", "#gggggg", "red", "#" + "1" * 40, "12 34 56"])
def test_bad_hex_is_refused(text):
    with pytest.raises(RequestError, match=r"target: .* is not a colour"):
        parse_hex(text)


def test_hex_forms():
    assert parse_hex("#8a3b2c") == parse_hex("8A3B2C") == (0x8A, 0x3B, 0x2C)
    assert parse_hex("#a32") == (0xAA, 0x33, 0x22)


def test_count_and_pixel_are_bounded():
    with pytest.raises(RequestError, match="count"):
        best_mixes((1, 2, 3), count=11)
    photo = Image.new("RGB", (40, 30), (10, 20, 30))
    assert picked_pixel(photo, "39,29") == (10, 20, 30)
    for bad in ("40,0", "1,2,3", "-1,2", "a,b", "1" * 30):
        with pytest.raises(RequestError, match="at: "):
            picked_pixel(photo, bad)


def test_cli_match_prints_mixes_and_writes_their_picture(tmp_path, capsys):
    import json

    from plitka.cli import main

    assert main(["match", "#8a3b2c", "--count", "2", "--out", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["target"] == "#8a3b2c" and len(printed["mixes"]) == 2
    assert printed["mixes"][0]["delta_e2000"] < 5
    assert Image.open(tmp_path / "match.png").height == 2 * 264
    assert main(["match"]) == 2
    assert "target: give a hex colour" in capsys.readouterr().err
