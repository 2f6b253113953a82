"""The scene room: a periodic texture with no seam and the mix's shares, ground laid at true scale,
corners parsed and checked."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from plitka.analysis import measure_proportions
from plitka.layout import CRUMB_SPACING, build_layout
from plitka.render import render_tile
from plitka.render.procedural import TILE_FILL
from plitka.request import RequestError
from plitka.scene.ground import SCENES, Camera, cast, sample
from plitka.scene.request import build_scene_request, check_corners, parse_corners
from plitka.scene.texture import CRUMB_MM, seam_score, texture_from_layout

MIX = {"RED": 60.0, "WHITE": 40.0}


@pytest.fixture(scope="module")
def layout():
    return build_layout(MIX, size=1024, seed=7)


@pytest.fixture(scope="module")
def texture(layout):
    return texture_from_layout(layout)


def test_texture_repeats_without_a_seam(texture):
    assert seam_score(texture.pixels) < 4


def test_seam_score_finds_the_seam_of_a_plain_crop(layout, texture):
    """The yardstick can fail: the same crop without the wrap has a seam at every period."""
    side = texture.pixels.shape[0]
    plain = np.asarray(render_tile(layout, angle=0))[120 : 120 + side, 120 : 120 + side]
    assert seam_score(plain) > 10


def test_texture_keeps_the_mix(texture):
    measured = measure_proportions(Image.fromarray(texture.pixels), list(MIX))
    for code, share in MIX.items():
        assert measured[code] == pytest.approx(share, abs=2.0)


def test_texture_scale_is_the_crumb_size(texture):
    assert texture.mm_per_px == pytest.approx(CRUMB_MM / (CRUMB_SPACING * 1024 * TILE_FILL))
    assert 100 < texture.period_mm < 200  # a 15 cm sample: 1-4 mm crumbs, about 50 across


def test_ground_repeats_the_texture_every_period(texture):
    x = np.array([[10.0, 500.0, 1234.5]])
    y = np.array([[3.0, 77.0, 999.0]])
    footprint = np.full_like(x, texture.mm_per_px)
    here = sample(texture, x, y, footprint)
    there = sample(texture, x + texture.period_mm, y - 2 * texture.period_mm, footprint)
    assert np.abs(here - there).max() < 1.0
    assert np.abs(here - sample(texture, x + 0.37 * texture.period_mm, y, footprint)).max() > 5


def test_camera_meets_the_ground_where_geometry_says():
    camera = Camera(height_mm=1500, pitch_deg=20, fov_deg=60)
    ground = cast(camera, (400, 300))
    centre = ground.z_mm[149:151, 199:201].mean()
    assert centre == pytest.approx(1500 / np.tan(np.radians(20)), rel=0.01)
    assert np.isnan(ground.z_mm[0]).all()  # the top row looks above the horizon
    assert ground.footprint_mm[-1].mean() < ground.footprint_mm[160].mean()  # near pixels cover less


@pytest.mark.parametrize("name", sorted(SCENES))
def test_scene_shows_the_surface_in_its_lower_part(texture, name):
    picture = np.asarray(SCENES[name](texture, (300, 200))).astype(float)
    near = picture[170:, 100:200].reshape(-1, 3).mean(axis=0)
    expected = texture.pixels.reshape(-1, 3).mean(axis=0)
    assert np.abs(near - expected).max() < 45  # lit differently, but the mix's colour


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3", "3 values"),
        ("1,2,3,4,5,6,7,8,9", "9 values"),
        ("1,2,3,4,5,6,7,inf", "not a finite number"),
        ("1,2,3,4,5,6,7,8" + " " * 200, "at most 200"),
        ("a,b,c,d,e,f,g,h", "not a number"),
    ],
)
def test_corners_text_is_refused_clearly(text, message):
    with pytest.raises(RequestError, match=message) as error:
        parse_corners(text)
    assert error.value.field == "room_corners"


@pytest.mark.parametrize(
    ("corners", "message"),
    [
        ([[0, 0], [900, 0], [0, 600], [900, 600]], "convex"),  # crossed: a bow tie
        ([[0, 0], [900, 0], [500, 100], [0, 600]], "convex"),  # one corner folded in
        ([[0, 0], [900, 0], [900, 600], [0, 601]], "lie in the photo"),
        ([[0, 0], [10, 0], [10, 10], [0, 10]], "at least 16 px"),
        ([[0, 0], [60, 0], [60, 60], [0, 60]], "at least 1%"),
    ],
)
def test_corners_must_make_a_fair_quadrilateral(corners, message):
    with pytest.raises(RequestError, match=message):
        check_corners(np.array(corners, float), (900, 600))


def test_scene_inputs_are_checked():
    with pytest.raises(RequestError, match="scene: 'beach' is not one of"):
        build_scene_request(scene="beach")
    with pytest.raises(RequestError, match="room_width_m"):
        build_scene_request(room_width_m=float("nan"))
    assert not build_scene_request().wanted
    assert build_scene_request(scene="gym").wanted


def test_cli_generate_writes_the_scene_and_the_room_photo(tmp_path, capsys):
    from plitka.cli import main

    photo = tmp_path / "room.png"
    Image.new("RGB", (600, 400), (150, 150, 150)).save(photo)
    argv = ["generate", "50% blue, 50% yellow", "--seed", "2", "--quality", "preview", "--out", str(tmp_path)]
    assert (
        main(
            [
                *argv,
                "--scene",
                "terrace",
                "--room-photo",
                str(photo),
                "--room-corners",
                "0,200,600,200,600,400,0,400",
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "scene.png").size == (1200, 800)
    room = np.asarray(Image.open(tmp_path / "room.png")).astype(float)
    assert room.shape == (400, 600, 3)
    assert np.abs(room[:190] - 150).max() <= 1  # above the floor area: the photo as it was
    assert room[220:].std(axis=(0, 1)).mean() > 10  # the floor: crumb, not the flat grey
    assert main([*argv, "--scene", "beach"]) == 2
    assert "scene: 'beach' is not one of none, playground, gym, terrace" in capsys.readouterr().err
