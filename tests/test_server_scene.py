"""The scene outputs through the real Cog HTTP server (coglet): a scene picture after the usual four
outputs, the surface laid into a room photo made here (its light kept, the rest of it untouched), and
every bad scene input refused with one clear message naming it."""

from __future__ import annotations

import base64
import io
import json

import cv2
import numpy as np
import pytest
from PIL import Image

from plitka.cog_client import decode, predict, running_server

pytestmark = pytest.mark.server

CORNERS = np.array(
    [[250, 300], [650, 300], [880, 590], [20, 590]]
)  # far left, far right, near right, near left
WALL_RGB = (200, 190, 170)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("work")) as url:
        yield url


def room_photo() -> Image.Image:
    """A 900 x 600 room: a beige wall, a grey floor lit from the right (twice as bright there as at
    the left), with a dark shadow band across it."""
    yy, xx = np.mgrid[0:600, 0:900]
    pixels = np.zeros((600, 900, 3), np.float32)
    pixels[:] = WALL_RGB
    floor = yy > 280
    pixels[floor] = (120, 120, 120)
    pixels[floor] *= (0.6 + 0.6 * xx[floor] / 900)[:, None]
    pixels[floor & (np.abs(xx - 450) < 35)] *= 0.45
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def data_uri(picture: Image.Image | bytes) -> str:
    if isinstance(picture, bytes):
        return "data:application/octet-stream;base64," + base64.b64encode(picture).decode()
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def corners_text(corners: np.ndarray) -> str:
    return ",".join(str(int(value)) for value in corners.ravel())


def picture(data_uri_text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(decode(data_uri_text))).convert("RGB")).astype(np.float32)


def inside_mask(shape: tuple[int, int], corners: np.ndarray, margin: int) -> np.ndarray:
    """The quadrilateral shrunk by `margin` px (grown where negative)."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, corners.astype(np.int32), 1)
    kernel = np.ones((2 * abs(margin) + 1,) * 2, np.uint8)
    return (cv2.erode(mask, kernel) if margin > 0 else cv2.dilate(mask, kernel)).astype(bool)


def test_scene_and_room_photo_come_after_the_four_outputs(server):
    photo = room_photo()
    result = predict(
        server,
        colors="50% blue, 50% yellow",
        seed=3,
        scene="playground",
        room_photo=data_uri(photo),
        room_corners=corners_text(CORNERS),
    )
    assert result["status"] == "succeeded", result.get("error")
    *_, report, scene, room = result["output"]
    assert len(result["output"]) == 6
    assert json.loads(decode(report))["requested"] == {"BLUE": 50.0, "YELLOW": 50.0}
    assert result["metrics"]["timing"]["scene_s"] > 0
    assert Image.open(io.BytesIO(decode(scene))).size == (1200, 800)
    scene_pixels = picture(scene)
    ground = scene_pixels[700:]  # the near ground: the mix, blue and yellow, not grey or green
    assert abs(ground[..., 2].mean() - ground[..., 0].mean()) < 60  # neither the fence's green nor sky

    room = picture(room)
    original = np.asarray(photo).astype(np.float32)
    assert room.shape == original.shape
    outside = ~inside_mask(room.shape[:2], CORNERS, margin=-3)
    assert np.abs(room[outside] - original[outside]).max() <= 2  # the rest of the photo untouched
    inside = inside_mask(room.shape[:2], CORNERS, margin=3)
    laid = room[inside]
    assert laid.std(axis=0).mean() > 10  # crumb texture, not the old flat grey
    assert np.abs(laid[:, 2] - laid[:, :2].mean(axis=1)).mean() > 15  # blue and yellow crumbs, not grey
    # The photo's light is kept: its right side is brighter than its left by the photo's own factor.
    light = room.mean(axis=2)
    rows = slice(480, 580)
    left, right = light[rows, 120:300].mean(), light[rows, 600:780].mean()
    photo_light = original.mean(axis=2)
    expected = photo_light[rows, 600:780].mean() / photo_light[rows, 120:300].mean()
    assert right / left == pytest.approx(expected, rel=0.15)
    shadow, beside = light[rows, 430:470].mean(), light[rows, 500:540].mean()
    assert shadow < 0.7 * beside  # the shadow band stays


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"room_corners": "0,0,10,0,10,10,0,10"}, "room_photo: room_photo and room_corners go together"),
        ({"room_photo": "photo"}, "room_corners: room_photo and room_corners go together"),
        ({"room_photo": "photo", "room_corners": "1,2,3,4,5,6,7"}, "room_corners: 7 values"),
        ({"room_photo": "photo", "room_corners": "1,2,3,4,5,6,7,x"}, "not a number"),
        ({"room_photo": "photo", "room_corners": "1,2,3,4,5,6,7,nan"}, "not a finite number"),
        ({"room_photo": "photo", "room_corners": "0,0,900,0,0,600,900,600"}, "convex quadrilateral"),
        ({"room_photo": "photo", "room_corners": "0,0,901,0,900,600,0,600"}, "must lie in the photo"),
        ({"room_photo": "photo", "room_corners": "0,0,40,0,40,40,0,40"}, "at least 1% of the photo"),
        (
            {"room_photo": "not an image", "room_corners": "0,0,900,0,900,600,0,600"},
            "room_photo: not an image",
        ),
        ({"room_photo": "tiny", "room_corners": "0,0,90,0,90,60,0,60"}, "room_photo: 100x100 is too small"),
        ({"scene": "gym", "image": "photo"}, "scene: not with image yet"),
    ],
)
def test_bad_scene_input_fails_with_one_clear_message(server, inputs, message):
    files = {
        "photo": data_uri(room_photo()),
        "not an image": data_uri(b"not a picture at all" * 10),
        "tiny": data_uri(Image.new("RGB", (100, 100))),
    }
    inputs = {
        key: files.get(value, value) if key in ("room_photo", "image") else value
        for key, value in inputs.items()
    }
    result = predict(server, colors="50% red, 50% white", quality="preview", **inputs)
    assert result["status"] == "failed", result
    assert message in result["error"]
    assert "Traceback" not in result["error"]


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"scene": "beach"}, "scene"),
        ({"room_width_m": 0.1}, "room_width_m"),
        ({"room_width_m": 51}, "room_width_m"),
        ({"room_corners": "1," * 150 + "1"}, "room_corners"),
    ],
)
def test_schema_refuses_scene_values_outside_the_form(server, inputs, field):
    result = predict(server, colors="red", **inputs)
    assert result["http_status"] == 422, result
    assert field in json.dumps(result)


def test_an_sdxl_scene_is_cut_from_the_diffused_final(tmp_path_factory, tiny_weights):
    """With engine=sdxl (tiny random weights) the scene shows the final picture, not a fresh render:
    it differs from the procedural scene of the same layout."""
    small = json.dumps({"overrides": {"resolution": 512, "steps": 2}})
    with running_server(tmp_path_factory.mktemp("sdxl"), **tiny_weights.environment()) as url:
        scenes = {}
        for engine in ("sdxl", "procedural"):
            result = predict(
                url, colors="60% red, 40% white", params_json=small, seed=5, engine=engine, scene="gym"
            )
            assert result["status"] == "succeeded", result.get("error")
            assert json.loads(decode(result["output"][3]))["engine"] == engine
            scenes[engine] = picture(result["output"][4])
    near = slice(600, 800)
    assert np.abs(scenes["sdxl"][near] - scenes["procedural"][near]).mean() > 2
