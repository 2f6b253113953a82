from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from plitka.layout import GranuleLayout, build_layout
from plitka.palette import PALETTE, Palette
from plitka.render import render_colormap, render_tile
from plitka.render.procedural import _areas_in_frame
from plitka.request import ANGLES

# Typical measured colours, fixed here so the tests do not depend on the palette file's current values.
TEST_RGB = {
    "RED": (199, 72, 60),
    "ORANGE": (192, 83, 44),
    "WHITE": (223, 219, 207),
    "BLACK": (47, 47, 47),
    "DKGRAY": (67, 66, 63),
    "GRAY": (115, 115, 111),
    "LTGRAY": (141, 141, 138),
    "BLUE": (61, 87, 180),
    "DKGREEN": (71, 132, 107),
    "YELLOW": (219, 202, 84),
}
TEST_PALETTE = Palette([replace(color, rgb=TEST_RGB.get(color.code, color.rgb)) for color in PALETTE])
GAP_RGB = (12, 11, 10)
RENDER_TOLERANCE = 0.3  # points; docs/colors.md, 'Accuracy on the product's own renders'
BACKGROUND_RGB = (255, 255, 255)


def measured_shares(
    image: Image.Image, codes: list[str], palette: Palette = TEST_PALETTE
) -> dict[str, float]:
    """Share of each code among the pixels nearest to one of them; gaps and background are two more
    colours, not counted."""
    references = np.array([palette[code].rgb for code in codes] + [GAP_RGB, BACKGROUND_RGB], dtype=np.float32)
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 1, 3)
    nearest = ((pixels - references) ** 2).sum(axis=2).argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(references))[: len(codes)]
    return {code: float(100 * count / counts.sum()) for code, count in zip(codes, counts, strict=True)}


@pytest.fixture(scope="module")
def layout() -> GranuleLayout:
    return build_layout({"RED": 60, "WHITE": 40}, size=1024, seed=5)


def test_output_size_and_mode(layout):
    final = render_tile(layout, palette=TEST_PALETTE)
    preview = render_tile(layout, size=512, palette=TEST_PALETTE)
    assert (final.mode, final.size) == ("RGB", (1024, 1024))
    assert (preview.mode, preview.size) == ("RGB", (512, 512))


def test_render_is_deterministic(layout):
    first = np.asarray(render_tile(layout, angle=30, size=512, palette=TEST_PALETTE))
    second = np.asarray(render_tile(layout, angle=30, size=512, palette=TEST_PALETTE))
    assert np.array_equal(first, second)


@pytest.mark.parametrize("angle", ANGLES)
def test_every_angle_shows_the_tile_on_a_light_background(layout, angle):
    picture = np.asarray(render_tile(layout, angle=angle, size=512, palette=TEST_PALETTE)).astype(int)
    corners = picture[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners >= 240).all()
    centre = picture[236:276, 236:276].reshape(-1, 3)
    assert (centre.min(axis=1) < 230).mean() > 0.5  # red crumbs, shaded white crumbs: not background


def test_drop_shadow_is_soft_and_lighter_than_any_palette_colour(layout):
    picture = np.asarray(render_tile(layout, palette=TEST_PALETTE)).astype(int)
    beside_the_tile = picture[:, 975:]  # right of the upright tile, where its shadow falls
    assert beside_the_tile.min() < 255
    lightest_palette_colour = max(sum(color.rgb) for color in PALETTE) / 3
    assert beside_the_tile.min() > (255 + lightest_palette_colour) / 2


def test_rotated_tile_is_a_diamond(layout):
    picture = np.asarray(render_tile(layout, angle=45, size=512, palette=TEST_PALETTE)).astype(int)
    assert (picture[40, 40] >= 240).all()  # where the upright tile would be
    assert (picture[256, 60] < 240).any()  # the diamond's left corner region


@pytest.mark.parametrize(
    "mix",
    [
        {"RED": 60, "WHITE": 40},
        {"BLACK": 5, "WHITE": 95},
        {"BLUE": 33, "DKGREEN": 33, "RED": 34},
        {"BLUE": 10, "DKGREEN": 10, "RED": 10, "YELLOW": 70},
        {"RED": 50, "ORANGE": 50},
        {"GRAY": 70, "LTGRAY": 30},
        {"BLACK": 50, "DKGRAY": 50},
        {"WHITE": 50, "PEARL": 50},
        {"BLUE": 85, "RED": 15},
    ],
    ids=lambda mix: "_".join(f"{code}{share}" for code, share in mix.items()),
)
def test_rendered_colours_keep_the_requested_proportions(mix):
    layout = build_layout(mix, size=1024, seed=8)
    for angle, size in ((0, None), (45, None), (135, 512)):
        shares = measured_shares(render_tile(layout, angle=angle, size=size, palette=TEST_PALETTE), list(mix))
        for code, share in mix.items():
            assert shares[code] == pytest.approx(share, abs=RENDER_TOLERANCE), (angle, size, shares)


def test_crumbs_are_shaded_not_flat():
    layout = build_layout({"RED": 100}, size=1024, seed=1)
    picture = np.asarray(render_tile(layout, palette=TEST_PALETTE)).astype(float)
    red = picture[300:700, 300:700, 0]
    assert red.std() > 10


def test_gaps_between_crumbs_are_dark_not_grey():
    layout = build_layout({"BLACK": 5, "WHITE": 95}, size=1024, seed=2)
    picture = np.asarray(render_tile(layout, palette=TEST_PALETTE)).astype(np.float32)
    references = np.array([TEST_RGB["BLACK"], TEST_RGB["WHITE"], GAP_RGB, BACKGROUND_RGB], dtype=np.float32)
    pixels = picture[200:824, 200:824].reshape(-1, 1, 3)
    nearest = ((pixels - references) ** 2).sum(axis=2).argmin(axis=1)
    assert 0.03 < (nearest == 2).mean() < 0.12  # shadowed crevices read as gaps, not as light outlines


def test_tile_edge_is_ragged(layout):
    picture = np.asarray(render_tile(layout, palette=TEST_PALETTE))
    top_of_tile = (picture[:, 200:824].min(axis=2) < 235).argmax(axis=0)  # first tile row in each column
    assert np.ptp(top_of_tile) >= 10  # crumbs missing along the edge, some a crumb deep


@pytest.mark.parametrize("seed", [1, 2])
def test_crumbs_reaching_inside_the_edge_band_are_found_from_the_band_alone(seed):
    layout = build_layout({"RED": 60, "WHITE": 40}, size=1024, seed=seed)
    band, count = 15, len(layout.granule_color)
    inner = layout.granules[band:-band, band:-band]
    counted_inside = np.bincount(inner[inner >= 0], minlength=count) > 0
    from_the_band = layout.granule_areas > _areas_in_frame(layout.granules, band, count)
    assert np.array_equal(from_the_band, counted_inside)
    assert (~counted_inside).sum() > 50  # crumbs lying wholly in the band, which the ragged edge may drop


def test_placeholder_palette_still_renders(layout):
    grey = Palette([replace(color, rgb=(128, 128, 128)) for color in PALETTE])
    assert render_tile(layout, size=256, palette=grey).size == (256, 256)


def test_colormap_has_a_legend(layout):
    picture = render_colormap(layout, {"RED": 60, "WHITE": 40}, palette=TEST_PALETTE)
    assert picture.mode == "RGB"
    assert picture.height >= layout.size
    assert picture.width > layout.size
    legend = np.asarray(picture)[:, layout.size :]
    assert legend.std() > 5  # swatches and text, not a blank strip
    swatch_colours = {tuple(pixel) for pixel in legend.reshape(-1, 3)}
    assert TEST_RGB["RED"] in swatch_colours
    assert TEST_RGB["WHITE"] in swatch_colours


def test_colormap_shows_the_layout_in_flat_colours(layout):
    picture = np.asarray(render_colormap(layout, {"RED": 60, "WHITE": 40}, palette=TEST_PALETTE))
    flat = picture[:, : layout.size].reshape(-1, 3)
    red = np.all(flat == TEST_RGB["RED"], axis=1).mean()
    white = np.all(flat == TEST_RGB["WHITE"], axis=1).mean()
    assert red / (red + white) == pytest.approx(0.6, abs=0.005)


def test_picture_granules_match_the_rendered_picture():
    from plitka.render.procedural import BACKGROUND, picture_granules

    layout = build_layout({"RED": 60, "WHITE": 40}, size=256, seed=5)
    ids = picture_granules(layout, 45, 256)
    picture = np.asarray(render_tile(layout, 45, 256)).astype(int)
    background = picture[ids == BACKGROUND].mean()
    assert background > 240 and picture[ids >= 0].mean() < background - 40
