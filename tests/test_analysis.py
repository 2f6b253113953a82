"""Colour analysis: tile segmentation and colour proportions on synthetic tiles; reference photos."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from crumbs import red_crumbs_shaded_deeper_than_blue, shaded_crumbs, white_crumbs_with_dark_pockets
from PIL import Image

from plitka.analysis import (
    EvalReport,
    TileNotFoundError,
    evaluate_reference_set,
    granule_colour,
    measure_proportions,
    segment_colours,
    tile_mask,
)
from plitka.analysis.measure import round_to_total
from plitka.colour.rays import cheapest, squared_norms
from plitka.layout import build_layout
from plitka.palette import PALETTE
from plitka.palette.palette import DATA_FILE
from plitka.render import render_tile

GAP = -1
BACKGROUND = -2
REPO = Path(__file__).resolve().parents[1]


def synthetic_tile(
    shares: dict[str, float],
    angle: float = 45.0,
    side: int = 512,
    cell: int = 16,
    gap: int = 2,
    canvas: int = 1024,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A square tile of square granules in palette colours with dark gaps, on white, rotated.

    Each granule gets its own brightness (0.85-1.05) and the picture some noise. Returns the RGB
    picture and its label map: index into shares' codes, GAP or BACKGROUND.
    """
    rng = np.random.default_rng(seed)
    codes = list(shares)
    per_row = side // cell
    counts = np.round(np.array([shares[code] for code in codes]) / 100 * per_row**2).astype(int)
    counts[0] += per_row**2 - counts.sum()
    cells = rng.permutation(np.repeat(np.arange(len(codes)), counts)).reshape(per_row, per_row)
    labels = np.kron(cells, np.ones((cell, cell), int))
    rows, cols = np.mgrid[:side, :side]
    labels[(rows % cell < gap) | (cols % cell < gap)] = GAP
    brightness = np.kron(rng.uniform(0.85, 1.05, (per_row, per_row)), np.ones((cell, cell)))[..., None]
    colours = np.array([PALETTE[code].rgb for code in codes], dtype=float)
    tile = np.where(labels[..., None] >= 0, colours[np.maximum(labels, 0)] * brightness, 10.0)
    tile = np.clip(tile + rng.normal(0, 3, tile.shape), 0, 255).astype(np.uint8)

    picture = np.full((canvas, canvas, 3), 255, np.uint8)
    label_map = np.full((canvas, canvas), BACKGROUND, np.int16)
    offset = (canvas - side) // 2
    picture[offset : offset + side, offset : offset + side] = tile
    label_map[offset : offset + side, offset : offset + side] = labels
    rotation = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), angle, 1.0)
    picture = cv2.warpAffine(picture, rotation, (canvas, canvas), borderValue=(255, 255, 255))
    label_map = cv2.warpAffine(
        label_map, rotation, (canvas, canvas), flags=cv2.INTER_NEAREST, borderValue=BACKGROUND
    )
    return picture, label_map


def visible_shares(picture: np.ndarray, label_map: np.ndarray, codes: list[str]) -> dict[str, float]:
    """Granule area of each colour within the measured tile area, in percent."""
    labels = label_map[tile_mask(picture)]
    labels = labels[labels >= 0]
    return {code: 100 * float(np.mean(labels == index)) for index, code in enumerate(codes)}


def max_error(measured: dict[str, float], expected: dict[str, float]) -> float:
    assert measured.keys() == expected.keys()
    return max(abs(measured[code] - expected[code]) for code in expected)


# --- proportions on synthetic tiles ------------------------------------------------------------


@pytest.mark.parametrize(
    ("shares", "angle"),
    [
        ({"RED": 50, "BLUE": 30, "YELLOW": 20}, 45),
        ({"BLUE": 10, "DKGREEN": 40, "RED": 40, "YELLOW": 10}, 45),
        ({"DKGREEN": 60, "TERCOT": 25, "SKYBLUE": 15}, 0),
        ({"ORANGE": 34, "VIOLET": 33, "BEIGE": 33}, 150),
        ({"KHAKI": 50, "DKBLUE": 50}, 45),
        ({"LIMEGRN": 70, "LILAC": 30}, 90),
    ],
)
def test_synthetic_tile_measured_within_one_point(shares: dict[str, float], angle: float) -> None:
    picture, label_map = synthetic_tile(shares, angle)
    expected = visible_shares(picture, label_map, list(shares))
    assert max_error(measure_proportions(picture, list(shares)), expected) <= 1.0


@pytest.mark.parametrize("black", [5, 30])
def test_black_and_white_synthetic_tile(black: int) -> None:
    # BLACK also takes the one-pixel blend where its granules meet the dark gaps, which the
    # truth (whole granules only) does not count: about 2 points at 30% BLACK, rotated.
    shares = {"BLACK": black, "WHITE": 100 - black}
    picture, label_map = synthetic_tile(shares, angle=45)
    expected = visible_shares(picture, label_map, list(shares))
    assert max_error(measure_proportions(picture, list(shares)), expected) <= 2.5


def test_measure_accepts_pil_image_and_array_alike() -> None:
    picture, _ = synthetic_tile({"RED": 60, "BLUE": 40}, angle=30)
    from_array = measure_proportions(picture, ["RED", "BLUE"])
    assert measure_proportions(Image.fromarray(picture), ["RED", "BLUE"]) == from_array


def test_proportions_keep_requested_order_and_sum_to_100() -> None:
    picture, _ = synthetic_tile({"YELLOW": 20, "RED": 45, "BLUE": 35}, angle=10)
    measured = measure_proportions(picture, ["BLUE", "YELLOW", "RED"])
    assert list(measured) == ["BLUE", "YELLOW", "RED"]
    assert sum(measured.values()) == pytest.approx(100.0, abs=1e-9)


def test_one_code_is_the_whole_tile() -> None:
    picture, _ = synthetic_tile({"RED": 100}, angle=0)
    assert measure_proportions(picture, ["RED"]) == {"RED": 100.0}


def test_requested_colour_absent_from_picture_measures_near_zero() -> None:
    picture, _ = synthetic_tile({"RED": 50, "YELLOW": 50}, angle=0)
    assert measure_proportions(picture, ["RED", "YELLOW", "BLUE"])["BLUE"] <= 1.0


@pytest.mark.parametrize(
    ("codes", "message"),
    [([], "at least one"), (["RED", "RED"], "repeat"), (["RED", "NOPE"], "unknown colour codes: NOPE")],
)
def test_bad_codes_are_rejected(codes: list[str], message: str) -> None:
    picture, _ = synthetic_tile({"RED": 100}, angle=0, canvas=600)
    with pytest.raises(ValueError, match=message):
        measure_proportions(picture, codes)


def test_segmentation_labels_cover_tile_only() -> None:
    picture, _ = synthetic_tile({"RED": 50, "BLUE": 50}, angle=45)
    segmentation = segment_colours(picture, ["RED", "BLUE"])
    labels = segmentation.labels
    assert labels.dtype == np.int8
    assert set(np.unique(labels)) == {-1, 0, 1}
    assert labels[0, 0] == -1  # a corner of the diamond's box is background
    assert segmentation.centres_lab.shape == (2, 3)


def test_round_to_total_keeps_sum_exact() -> None:
    rounded = round_to_total(np.array([100 / 3, 100 / 3, 100 / 3]))
    assert sum(rounded) == pytest.approx(100.0)
    assert sorted(rounded) == [33.3, 33.3, 33.4]


# --- tile mask ---------------------------------------------------------------------------------


def square_corners(centre: tuple[float, float], side: float, angle: float) -> np.ndarray:
    return cv2.boxPoints(((centre[0], centre[1]), (side, side), angle))


def test_tile_mask_of_rotated_tile_stays_inside_and_covers_it() -> None:
    for angle in (0, 45, 150):
        picture, label_map = synthetic_tile({"RED": 50, "BLUE": 50}, angle=angle)
        mask = tile_mask(picture)
        tile = label_map != BACKGROUND
        assert mask.shape == picture.shape[:2]
        assert not (mask & ~tile).any(), f"mask leaves the tile at {angle}°"
        assert mask.sum() > 0.8 * tile.sum(), f"mask misses much of the tile at {angle}°"


def test_tile_mask_finds_white_tile_on_white_background() -> None:
    picture, label_map = synthetic_tile({"WHITE": 100}, angle=20)
    mask = tile_mask(picture)
    tile = label_map != BACKGROUND
    assert not (mask & ~tile).any()
    assert mask.sum() > 0.8 * tile.sum()


def test_tile_mask_leaves_out_soft_edge_shadow_on_grey_background() -> None:
    picture, label_map = synthetic_tile({"YELLOW": 60, "BLUE": 40}, angle=0, canvas=800)
    tile = label_map != BACKGROUND
    shadow = cv2.GaussianBlur(np.roll(tile, (14, 14), axis=(0, 1)).astype(np.float32), (0, 0), 6)
    background = 238 - 90 * shadow[..., None]
    picture = np.where(tile[..., None], picture, background).astype(np.uint8)
    mask = tile_mask(picture)
    assert not (mask & ~tile).any()
    assert mask.sum() > 0.8 * tile.sum()


def test_tile_mask_of_non_square_picture_has_its_shape() -> None:
    picture = np.full((500, 900, 3), 250, np.uint8)
    corners = square_corners((600, 250), 300, 45)
    cv2.fillConvexPoly(picture, corners.astype(np.int32), (200, 40, 40))
    noise = np.random.default_rng(1).integers(0, 60, picture.shape, dtype=np.uint8)
    inside = np.zeros(picture.shape[:2], np.uint8)
    cv2.fillConvexPoly(inside, corners.astype(np.int32), 1)
    picture = np.where(inside[..., None] == 1, picture - noise // 2, picture).astype(np.uint8)
    mask = tile_mask(picture)
    assert mask.shape == (500, 900)
    assert not (mask & (inside == 0)).any()
    assert mask.sum() > 0.8 * inside.sum()


def test_close_up_without_background_is_all_tile() -> None:
    picture, _ = synthetic_tile({"RED": 50, "BLUE": 50}, angle=0, side=512, canvas=512)
    assert tile_mask(picture[40:-40, 40:-40]).all()


def test_blank_picture_has_no_tile() -> None:
    with pytest.raises(TileNotFoundError):
        tile_mask(np.full((300, 300, 3), 255, np.uint8))


# --- granule colour ----------------------------------------------------------------------------


def test_granule_colour_of_synthetic_single_colour_tile_is_close_to_its_colour() -> None:
    picture, _ = synthetic_tile({"SKYBLUE": 100}, angle=30)
    lab = cv2.cvtColor(
        np.float32([[granule_colour(picture), PALETTE["SKYBLUE"].rgb]]) / 255, cv2.COLOR_RGB2Lab
    )
    assert np.linalg.norm(lab[0, 0] - lab[0, 1]) < 6  # the granules are 0.85-1.05 as bright


# --- evaluation --------------------------------------------------------------------------------


def write_reference_set(root: Path) -> None:
    """Two synthetic mixes, one single colour and a labels.csv in the reference-tiles layout."""
    (root / "photos").mkdir(parents=True)
    (root / "singles").mkdir()
    rows = [
        ("photos/a.png", {"BLUE": 30, "RED": 70}, "as_named"),
        ("photos/b.png", {"BLUE": 60, "DKGREEN": 20, "RED": 20}, "corrected"),
        ("singles/RED.png", {"RED": 100}, "as_named"),
    ]
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "family", "label_in_name", "proportions", "trust"])
        for index, (file, shares, trust) in enumerate(rows):
            Image.fromarray(synthetic_tile(shares, angle=15 * index, canvas=700)[0]).save(root / file)
            proportions = ";".join(f"{code}:{share}" for code, share in shares.items())
            writer.writerow([file, "-".join(sorted(shares)), proportions, proportions, trust])


def test_evaluate_reference_set_report(tmp_path: Path) -> None:
    write_reference_set(tmp_path)
    report = evaluate_reference_set(tmp_path)
    assert isinstance(report, EvalReport)
    summary = report.to_dict(include_files=False)
    assert set(summary) == {"mae", "families"}
    detail = report.to_dict()
    assert [row["file"] for row in detail["files"]] == ["photos/a.png", "photos/b.png"]
    # Each family's mae recomputed from its photo's own expected and measured shares (one photo each).
    by_file = {row["file"]: row for row in detail["files"]}
    errors = {
        name: [abs(row["measured"][code] - share) for code, share in row["expected"].items()]
        for name, row in by_file.items()
    }
    assert summary["families"] == {
        "BLUE-RED": {"n": 1, "mae": pytest.approx(np.mean(errors["photos/a.png"]), abs=0.001)},
        "BLUE-DKGREEN-RED": {"n": 1, "mae": pytest.approx(np.mean(errors["photos/b.png"]), abs=0.001)},
    }
    every_error = errors["photos/a.png"] + errors["photos/b.png"]
    assert summary["mae"] == pytest.approx(np.mean(every_error), abs=0.001)
    assert summary["mae"] < 1.5
    json.dumps(detail)  # plain data, ready for --json
    table = report.format_table()
    assert "overall" in table and "trust=corrected" in table and "photos/b.png" in table


def test_evaluate_includes_singles_on_request(tmp_path: Path) -> None:
    write_reference_set(tmp_path)
    report = evaluate_reference_set(tmp_path, include_singles=True)
    assert [result.file for result in report.files][-1] == "singles/RED.png"
    assert report.families()["RED"] == {"n": 1, "mae": 0.0}


def test_evaluate_missing_labels(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"labels\.csv"):
        evaluate_reference_set(tmp_path)


# --- reference photos (../shared/reference-tiles) ------------------------------------------------


@pytest.fixture(scope="module")
def reference_report(reference_tiles: Path) -> EvalReport:
    return evaluate_reference_set(reference_tiles)


# labels.csv as revised on 2026-11-30 (../shared/README.md): BLUEp50_DKGREENp30_REDp20 is as named and
# BLUEp20_DKGREENp50_REDp30 is gone. With those labels the overall MAE measured 1.13, 0.81 since 2026-12-01.


@pytest.mark.reference
def test_reference_overall_mae_meets_target(reference_report: EvalReport) -> None:
    assert reference_report.mae <= 1.0, reference_report.format_table()


@pytest.mark.reference
def test_reference_overall_mae_does_not_regress(reference_report: EvalReport) -> None:
    """0.81 on 2026-12-01, once hued facets counted and border blends went by share."""
    assert reference_report.mae <= 0.83, reference_report.format_table()


@pytest.mark.reference
def test_reference_trusted_labels_within_target(reference_report: EvalReport) -> None:
    as_named = reference_report.by_trust()["as_named"]
    assert as_named["n"] == 18
    assert as_named["mae"] <= 1.5, reference_report.format_table()


@pytest.mark.reference
def test_reference_corrected_labels_within_target(reference_report: EvalReport) -> None:
    corrected = reference_report.by_trust()["corrected"]
    assert corrected["n"] == 7
    assert corrected["mae"] <= 1.5, reference_report.format_table()


@pytest.mark.reference
def test_reference_families(reference_report: EvalReport) -> None:
    families = reference_report.families()
    assert {name: summary["n"] for name, summary in families.items()} == {
        "BLACK-WHITE": 5,
        "BLUE-DKGREEN-RED-YELLOW": 7,
        "BLUE-DKGREEN-RED": 8,
        "BLUE-RED": 5,
    }
    for name, summary in families.items():
        assert summary["mae"] <= 2.0, f"{name}\n{reference_report.format_table()}"


@pytest.mark.reference
@pytest.mark.parametrize("family", ["BLACK-WHITE", "BLUE-DKGREEN-RED-YELLOW", "BLUE-DKGREEN-RED", "BLUE-RED"])
def test_reference_family_within_one_point(reference_report: EvalReport, family: str) -> None:
    assert reference_report.families()[family]["mae"] <= 1.0, reference_report.format_table()


@pytest.mark.reference
def test_committed_palette_matches_measurement(reference_tiles: Path, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("measure_palette", REPO / "tools" / "measure_palette.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    data_file = tmp_path / "colors.json"
    data_file.write_bytes(DATA_FILE.read_bytes())
    tool.measure_palette(reference_tiles, data_file=data_file)
    assert data_file.read_text(encoding="utf-8") == DATA_FILE.read_text(encoding="utf-8")


def test_deep_shadows_of_a_colour_are_not_read_as_black() -> None:
    """Dark red is red in shadow: the shade penalty alone would call it BLACK (docs/colors.md)."""
    measured = measure_proportions(shaded_crumbs("RED"), ["BLACK", "RED"])
    assert measured["BLACK"] <= 1.0, measured


def test_shaded_facets_of_a_hued_mix_count_and_grey_gaps_do_not() -> None:
    """RED crumbs lit from 0.3 to 1.1 among evenly lit BLUE ones, grey gaps between all: a facet turned
    from the light keeps its crumb's hue and is the crumb's colour (cut at shade 0.6, RED read 34.6 for
    40.8); a grey gap as dark is no colour at all (counted by shade alone, RED read 62.1)."""
    picture, red_share = red_crumbs_shaded_deeper_than_blue()
    measured = measure_proportions(picture, ["BLUE", "RED"])
    assert measured["RED"] == pytest.approx(red_share, abs=1.0), measured


def test_border_blends_of_a_photo_like_render_go_to_the_colour_with_the_larger_part() -> None:
    """Our 60% BLUE / 40% RED render halved and saved as JPEG (4:2:0 chroma, quality 75), as the
    reference photos are: the blended borders read 63.5% BLUE by the nearest ray, 61.1 by share.
    The render itself reads 60.2; the rest is crumb corners that halving loses."""
    render = render_tile(build_layout({"BLUE": 60, "RED": 40}, size=1024, seed=1), angle=0)
    saved = io.BytesIO()
    render.resize((512, 512), Image.LANCZOS).save(saved, "JPEG", quality=75)
    measured = measure_proportions(Image.open(saved), ["BLUE", "RED"])
    assert measured["BLUE"] == pytest.approx(60, abs=1.5), measured


def test_shaded_crumbs_of_a_pair_that_differs_in_hue_are_told_apart_by_hue() -> None:
    """DKGREEN and LTGREEN crumbs lit from 0.3 to 1.1: a shaded LTGREEN facet is as dark as DKGREEN but
    keeps LTGREEN's hue. Decided by lightness per region, the picture read about 90% DKGREEN."""
    dark, light = shaded_crumbs("DKGREEN", seed=0), shaded_crumbs("LTGREEN", seed=10)
    crumbs = np.random.default_rng(100).random((32, 32)) < 0.3
    is_dark = crumbs.repeat(20, axis=0).repeat(20, axis=1)
    measured = measure_proportions(np.where(is_dark[..., None], dark, light), ["DKGREEN", "LTGREEN"])
    assert measured["DKGREEN"] == pytest.approx(100 * is_dark.mean(), abs=1.0), measured


@pytest.mark.parametrize("mix, angle", [({"GRAY": 50, "LTGRAY": 50}, 0), ({"WHITE": 50, "PEARL": 50}, 30)])
@pytest.mark.xfail(
    strict=True,
    reason="known limit: lightness pairs are decided per granule region, which reads our own "
    "renders 1-4 points off; a whole-crumb rule that reads them within 1 point reads the locked "
    "seed outputs 2-5 points off instead (docs/colors.md, accuracy on the product's own renders)",
)
def test_a_lightness_pair_render_measures_within_one_point(mix: dict[str, float], angle: int) -> None:
    """Seeds 1-3, as docs/colors.md's table: one seed alone may land near (WHITE/PEARL seed 1: 0.3)."""
    assert_our_render_measures_within_one_point(mix, angle, seeds=(1, 2, 3))


def test_dark_pockets_among_white_crumbs_are_not_black_crumbs() -> None:
    """Pockets 4 px across where white crumbs meet, as dark as BLACK, have no body: counted as BLACK,
    the picture read 17.7% for 15.5."""
    picture, black_share = white_crumbs_with_dark_pockets()
    measured = measure_proportions(picture, ["BLACK", "WHITE"])
    assert measured["BLACK"] == pytest.approx(black_share, abs=0.5), measured


def test_a_black_and_white_render_measures_within_one_point() -> None:
    """BLACK 15 / WHITE 85 at 30°: the crevices' dark pockets stay out of BLACK (read 16.4 when they were
    deeper; the pocket rule itself: test_dark_pockets_among_white_crumbs_are_not_black_crumbs)."""
    assert_our_render_measures_within_one_point({"BLACK": 15, "WHITE": 85}, angle=30)


def assert_our_render_measures_within_one_point(
    mix: dict[str, float], angle: int, seeds: tuple[int, ...] = (1,)
) -> None:
    """The product's own 1024 px renders (exact by construction) as the report's `measured` reads them."""
    for seed in seeds:
        picture = render_tile(build_layout(mix, size=1024, seed=seed), angle=angle)
        measured = measure_proportions(picture, list(mix))
        for code, share in mix.items():
            assert measured[code] == pytest.approx(share, abs=1.0), (seed, measured)


def test_cheapest_colour_per_pixel_is_numpys_argmin_first_on_ties() -> None:
    rng = np.random.default_rng(5)
    cost = rng.integers(0, 4, size=(5000, 4)).astype(np.float32)  # many ties
    cost[::7] = np.inf
    assert np.array_equal(cheapest(cost), cost.argmin(axis=1))
    vectors = rng.normal(size=(5000, 3)).astype(np.float32)
    assert np.array_equal(squared_norms(vectors), (vectors**2).sum(axis=1))
