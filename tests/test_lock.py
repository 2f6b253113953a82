"""The colour lock (plitka.lock) on procedural renders whose colours drifted from the order, and on
pictures that are not crumb at all."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from crumbs import red_crumbs_shaded_deeper_than_blue
from PIL import Image

from plitka.analysis import measure_proportions
from plitka.colour.rays import lightness_pairs
from plitka.colour.spaces import lab_image, palette_lab
from plitka.evaluation.lock import evaluate_recolour
from plitka.layout import build_layout
from plitka.lock import LOCK_MIN_CONFIDENCE, lock_colours
from plitka.lock.quality import detail_kept
from plitka.lock.quota import assign_colours
from plitka.lock.repaint import _roll_off
from plitka.lock.texture import insides
from plitka.render import render_tile
from plitka.render.procedural import picture_granules

SIZE = 768


def render(
    mix: dict[str, float], seed: int = 3, angle: int = 0, size: int = SIZE
) -> tuple[Image.Image, np.ndarray]:
    """A procedural render of the mix (tile on its background) and the granule id of each pixel."""
    layout = build_layout(mix, size=size, seed=seed)
    return render_tile(layout, angle), picture_granules(layout, angle)


def close_up(mix: dict[str, float], seed: int = 3) -> Image.Image:
    """Granules only, edge to edge, as the sdxl finals and the seed outputs show them."""
    picture, _ = render(mix, seed)
    return picture.crop((SIZE // 8, SIZE // 8, SIZE - SIZE // 8, SIZE - SIZE // 8))


@pytest.fixture(scope="module")
def drifted():
    """A close-up of 85% red / 15% white, locked to the order 60% red / 40% white."""
    picture = close_up({"RED": 85, "WHITE": 15})
    return picture, lock_colours(picture, {"RED": 60, "WHITE": 40})


@pytest.mark.parametrize(
    ("made", "ordered"),
    [
        ({"RED": 85, "WHITE": 15}, {"RED": 60, "WHITE": 40}),
        ({"BLUE": 50, "YELLOW": 50}, {"BLUE": 10, "RED": 30, "YELLOW": 60}),
        ({"RED": 100}, {"BLUE": 25, "GRSGRN": 25, "RED": 25, "YELLOW": 25}),
    ],
)
def test_locked_picture_measures_the_ordered_shares(made, ordered):
    """Within 0.5 point of the order by the measurement, as the issue asks (seed 3; over seeds 3-6 the
    worst colour reads 0.6 off, see docs/colors.md)."""
    picture = close_up(made)
    locked = lock_colours(picture, ordered)
    assert locked.painted
    measured = measure_proportions(locked.image, list(ordered))
    for code, share in ordered.items():
        assert measured[code] == pytest.approx(share, abs=0.5), measured


def test_a_tile_on_its_background_is_locked_on_the_tile_only():
    picture, _ = render({"RED": 85, "WHITE": 15})
    locked = lock_colours(picture, {"RED": 60, "WHITE": 40})
    measured = measure_proportions(locked.image, ["RED", "WHITE"])
    assert measured["RED"] == pytest.approx(60, abs=0.5), measured
    corner = np.s_[:20, :20]  # background
    assert np.array_equal(np.asarray(locked.image)[corner], np.asarray(picture)[corner])


def test_the_lock_counts_shaded_facets_of_a_hued_mix_as_the_measurement_does():
    """A picture already in its order stays in it: RED crumbs with deep-shaded facets among flat BLUE
    ones, thin black crevices between. Had the lock counted only RED's lit pixels, it would have
    painted BLUE crumbs RED (read 45)."""
    picture, red_share = red_crumbs_shaded_deeper_than_blue(gap=2, gap_grey=30)
    locked = lock_colours(picture, {"RED": red_share, "BLUE": 100 - red_share}, force=True)
    measured = measure_proportions(locked.image, ["RED", "BLUE"])
    assert measured["RED"] == pytest.approx(red_share, abs=0.5), measured


@pytest.mark.reference
def test_the_seed_outputs_are_locked_within_half_a_point_and_none_over_one(seed_outputs):
    """The issue's bar on the earlier product's 20 finals, as `plitka eval-recolor` reads them (~40 s)."""
    summary = evaluate_recolour(seed_outputs, invisibility=False).summary()
    assert summary["after"] <= 0.5, summary
    assert summary["worst_after"] <= 1.0, summary
    assert summary["detail"] >= 0.85, summary


def test_lightness_pairs_are_locked_within_four_points():
    """PEARL/LTGRAY/WHITE differ almost only in lightness: the hardest case (docs/colors.md)."""
    picture = close_up({"WHITE": 70, "LTGRAY": 30})
    ordered = {"PEARL": 50, "LTGRAY": 20, "WHITE": 30}
    measured = measure_proportions(lock_colours(picture, ordered).image, list(ordered))
    for code, share in ordered.items():
        assert measured[code] == pytest.approx(share, abs=4.0), measured


def test_black_turned_white_measures_the_ordered_shares():
    """A BLACK crumb painted WHITE loses most of its relative shading (its sheen): kept whole, its
    darker half stayed grey and read BLACK (35.2 for 30)."""
    locked = lock_colours(close_up({"BLACK": 50, "WHITE": 50}), {"BLACK": 30, "WHITE": 70})
    measured = measure_proportions(locked.image, ["BLACK", "WHITE"])
    assert measured["BLACK"] == pytest.approx(30, abs=1.0), measured


def test_repainted_regions_are_their_palette_colour_at_their_own_lightness(drifted):
    """No surplus hidden in odd tints: each repainted region's mean a*b* is within ΔE 5 of its palette
    colour shaded to the region's own mean lightness."""
    picture, locked = drifted
    before, after = lab_image(np.asarray(picture)), lab_image(np.asarray(locked.image))
    codes = locked.codes
    palette = palette_lab(codes)
    changed = [region for region in _changed_regions(before, after, locked) if locked.areas[region] >= 150]
    assert len(changed) > 50
    for region in changed:  # granule-sized regions (a 1-px soft border tints a speck more)
        pixels = after[locked.regions == region]
        colour = palette[locked.region_colour[region]]
        shade = (pixels[:, 0].mean() + 16) / (colour[0] + 16)
        expected_ab = colour[1:] * shade
        assert np.linalg.norm(pixels[:, 1:].mean(axis=0) - expected_ab) < 5.0, (region, codes)


def test_kept_crumbs_keep_their_detail_and_repainted_rims_their_shading(drifted):
    """Not flat paint: the picture's fine detail (high-pass L*) stays; and along every repainted region's
    rim (its inside is copied from a crumb of its new colour, plitka.lock.texture) the lightness still
    varies as it did, pixel for pixel in the same order (rank correlation: the look maps each pixel's
    lightness through a curve; the rims' median reads 0.91, their 10th percentile 0.78, as the soft
    border blends them). With the insides copied the detail kept reads 0.77; flat paint reads about 0.3."""
    picture, locked = drifted
    assert detail_kept(picture, locked.image) >= 0.7
    before, after = lab_image(np.asarray(picture)), lab_image(np.asarray(locked.image))
    changed = _changed_regions(before, after, locked)[:300]
    rims = np.isin(locked.regions, changed) & ~insides(locked.regions, np.asarray(changed))
    correlations = []
    for region in changed:
        rim = rims & (locked.regions == region)
        if rim.sum() >= 40:
            ranks = [np.argsort(np.argsort(values[rim, 0])) for values in (before, after)]
            correlations.append(np.corrcoef(*ranks)[0, 1])
    assert len(correlations) > 50
    assert np.median(correlations) > 0.85 and np.percentile(correlations, 10) > 0.65


def test_whites_keep_their_highlights():
    """Red granules with glossy highlights turned white: the highlights still stand above the
    granule, rolled off towards white, not clipped at it."""
    picture = np.asarray(close_up({"RED": 85, "WHITE": 15})).astype(np.float32)
    lightness = lab_image(picture.astype(np.uint8))[..., 0]
    glossy = lightness > np.percentile(lightness, 93)
    picture[glossy] = picture[glossy] * 0.5 + 127  # a specular sheen: halfway to white
    picture = picture.clip(0, 255).astype(np.uint8)
    locked = lock_colours(picture, {"RED": 60, "WHITE": 40})
    before, after = lab_image(picture), lab_image(np.asarray(locked.image))
    white = locked.codes.index("WHITE")
    turned = np.isin(locked.regions, _changed_regions(before, after, locked)) & (locked.colour_map() == white)
    sheen, body = after[turned & glossy, 0], after[turned & ~glossy, 0]
    assert np.median(sheen) - np.median(body) > 2.0
    assert np.std(sheen) > 0.5  # the highlights keep their own shape


def test_highlights_roll_off_towards_white_without_clipping():
    level = np.full(6, 93.0)
    lightness = np.array([80.0, 93.0, 96.0, 110.0, 120.0, 140.0])
    rolled = _roll_off(lightness, level)
    assert np.array_equal(rolled[:2], lightness[:2])  # below the colour's own lightness: untouched
    assert np.all(np.diff(rolled) > 0) and rolled.max() < 100.0  # every highlight distinct, none clipped


def test_new_borders_are_soft_without_dark_seams(drifted):
    """Where two repainted neighbours now differ in colour, the border is no darker, relative to
    the granules beside it, than the same pixels were before; and it steps over more than one pixel.
    The median one-pixel step across the new borders reads 29.4-30.6 L* on seeds 3-5, and 35.6-37.0
    with the borders left unsoftened (the render's own edges are soft already)."""
    picture, locked = drifted
    before, after = lab_image(np.asarray(picture))[..., 0], lab_image(np.asarray(locked.image))[..., 0]
    colours = locked.colour_map()
    border = np.zeros(colours.shape, bool)
    border[:, 1:] |= (colours[:, 1:] != colours[:, :-1]) & (colours[:, 1:] >= 0) & (colours[:, :-1] >= 0)
    around = cv2.dilate(border.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & ~border
    seam_before = before[border].mean() / before[around].mean()
    seam_after = after[border].mean() / after[around].mean()
    assert seam_after > seam_before - 0.05
    steps = np.abs(np.diff(after, axis=1))[border[:, 1:]]
    assert np.median(steps) < 33


def test_a_region_is_a_whole_granule_not_a_cut_through_one():
    picture, granules = render({"BLUE": 40, "RED": 30, "YELLOW": 30}, seed=9)
    locked = lock_colours(picture, {"BLUE": 20, "RED": 40, "YELLOW": 40})  # no layout: segmented
    ids = granules[granules >= 0]
    regions = locked.regions[granules >= 0]
    pairs = ids.astype(np.int64) * (regions.max() + 1) + regions
    unique, counts = np.unique(pairs, return_counts=True)
    largest = np.zeros(ids.max() + 1)
    np.maximum.at(largest, unique // (regions.max() + 1), counts)
    area = np.bincount(ids)
    big = area >= 40  # granules under 40 px are mostly edge
    cut = 1 - largest[big].sum() / area[big].sum()
    assert cut < 0.15, cut


def test_the_layout_granules_are_used_where_they_line_up():
    picture, granules = render({"RED": 80, "WHITE": 20})
    locked = lock_colours(picture, {"RED": 50, "WHITE": 50}, granules=granules)
    assert locked.layout_share > 40
    misaligned = np.roll(granules, 7, axis=(0, 1))
    assert lock_colours(picture, {"RED": 50, "WHITE": 50}, granules=misaligned).layout_share < 20


def _flat_graphic() -> np.ndarray:
    picture = np.full((SIZE, SIZE, 3), 240, np.uint8)
    picture[: SIZE // 2] = (200, 60, 50)
    cv2.circle(picture, (SIZE // 2, SIZE // 2), SIZE // 5, (20, 20, 20), -1)
    return picture


def _pavers() -> np.ndarray:
    """Grey concrete pavers in a running bond, with dark grooves and a fine noise."""
    rng = np.random.default_rng(1)
    picture = np.clip(rng.normal(150, 6, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    for row in range(0, SIZE, 96):
        picture[row : row + 6] = 60
        offset = 0 if (row // 96) % 2 else 96
        for col in range(offset, SIZE, 192):
            picture[row : row + 96, col : col + 6] = 60
    return picture


def _blurred_render() -> np.ndarray:
    """Crumb out of focus: still some texture (a tile is found), but no crevices between regions."""
    return cv2.GaussianBlur(np.asarray(close_up({"RED": 60, "WHITE": 40})), (0, 0), 3)


@pytest.mark.parametrize("make", [_flat_graphic, _pavers, _blurred_render])
def test_a_picture_that_is_not_crumb_is_flagged_and_left_unpainted(make):
    picture = make()
    locked = lock_colours(picture, {"RED": 60, "WHITE": 40})
    assert locked.confidence.value < LOCK_MIN_CONFIDENCE
    assert not locked.painted and "does not look like a crumb surface" in locked.reason
    assert np.array_equal(np.asarray(locked.image), picture)


def test_crumb_is_recognised_as_crumb(drifted):
    _, locked = drifted
    assert locked.confidence.value >= 0.9


def test_quota_assignment_lands_within_one_region_of_each_share():
    rng = np.random.default_rng(0)
    weight = rng.uniform(50, 400, 2000)
    cost = rng.uniform(0, 10, (2000, 3)) * weight[:, None]
    shares = np.array([0.2, 0.5, 0.3])
    colour = assign_colours(cost, weight, shares, rng.integers(0, 16, 2000))
    areas = np.bincount(colour, weights=weight, minlength=3)
    assert np.abs(areas - shares * weight.sum()).max() <= weight.max()


def test_lightness_pairs_are_the_colours_that_differ_mainly_in_lightness():
    codes = ["PEARL", "WHITE", "LTGRAY", "DKGREEN", "LTGREEN", "BLACK", "RED", "ORANGE"]
    pairs = lightness_pairs(palette_lab(codes))
    named = {(codes[i], codes[j]) for i, j in zip(*np.nonzero(pairs), strict=True) if i < j}
    assert {("PEARL", "WHITE"), ("PEARL", "LTGRAY"), ("WHITE", "LTGRAY"), ("DKGREEN", "LTGREEN")} <= named
    assert ("BLACK", "WHITE") not in named and ("RED", "ORANGE") not in named


def _changed_regions(before: np.ndarray, after: np.ndarray, locked) -> list[int]:
    """Regions on the tile whose mean a*b* moved by more than 10 (re-coloured, not just tidied)."""
    regions = locked.regions.ravel()
    count = locked.region_colour.size
    area = np.bincount(regions, minlength=count)
    moved = []
    for lab in (before, after):
        moved.append(
            np.stack([np.bincount(regions, weights=lab[..., c].ravel(), minlength=count) for c in (1, 2)], 1)
            / np.maximum(area, 1)[:, None]
        )
    shift = np.linalg.norm(moved[1] - moved[0], axis=1)
    return [int(r) for r in np.flatnonzero((shift > 10) & (locked.region_colour >= 0) & (area >= 30))]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_small_locked_tile_measures_the_order_within_half_a_point(seed):
    """A 512 px final (the sdxl engine's preview size): its tile is enlarged for the measurement,
    which must repeat pixels, not interpolate blends of two colours along every border (BLUE then
    reads 0.8 low). Seeds 1-8 read within 0.2 (RED 0.5-0.6 high while the renderer drew deeper
    crevice pockets)."""
    picture, granules = render({"BLUE": 50, "YELLOW": 50}, seed=seed, size=512)
    ordered = {"BLUE": 10, "RED": 30, "YELLOW": 60}
    locked = lock_colours(picture, ordered, granules=granules)
    measured = measure_proportions(locked.image, list(ordered))
    for code, share in ordered.items():
        assert measured[code] == pytest.approx(share, abs=0.5), measured
