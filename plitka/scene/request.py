"""The scene inputs of a prediction, each bounded and refused with a RequestError naming it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from plitka.limits import quote
from plitka.lock.photo import load_photo
from plitka.request import RequestError

SCENE_CHOICES = ("none", "playground", "gym", "terrace")
MAX_CORNERS_TEXT = 200  # characters of room_corners: 8 numbers of a few digits each need under 80
ROOM_WIDTH_RANGE_M = (0.5, 50.0)
MIN_AREA_SHARE = 0.01  # of the photo: a smaller floor area shows nothing of the surface
MIN_SIDE_PX = 16  # each side of the area, in photo pixels
CORNERS_FORM = "8 numbers 'x1,y1,...,x4,y4' (pixels: far left, far right, near right, near left)"


@dataclass(frozen=True)
class SceneRequest:
    scene: str = "none"
    room_photo: Image.Image | None = None
    room_corners: np.ndarray | None = None  # (4, 2) photo pixels
    room_width_m: float = 3.0

    @property
    def wanted(self) -> bool:
        return self.scene != "none" or self.room_photo is not None


def build_scene_request(
    scene: str = "none",
    room_photo: Path | str | None = None,
    room_corners: str | None = None,
    room_width_m: float = 3.0,
) -> SceneRequest:
    if scene not in SCENE_CHOICES:
        raise RequestError("scene", f"{quote(scene)} is not one of {', '.join(SCENE_CHOICES)}")
    width = _room_width(room_width_m)
    if (room_photo is None) != (room_corners is None or room_corners.strip() == ""):
        missing = "room_corners" if room_photo is not None else "room_photo"
        raise RequestError(missing, "room_photo and room_corners go together: give both or neither")
    if room_photo is None:
        return SceneRequest(scene=scene, room_width_m=width)
    corners = parse_corners(room_corners or "")  # the cheap check before decoding the photo
    photo = _load_room_photo(room_photo)
    check_corners(corners, photo.size)
    return SceneRequest(scene=scene, room_photo=photo, room_corners=corners, room_width_m=width)


def _room_width(value: float) -> float:
    low, high = ROOM_WIDTH_RANGE_M
    if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        raise RequestError("room_width_m", f"{quote(value)} is not a width from {low} to {high} metres")
    return float(value)


def _load_room_photo(path: Path | str) -> Image.Image:
    try:
        return load_photo(path)
    except RequestError as error:  # load_photo names its own input; this one is room_photo
        raise RequestError("room_photo", error.detail) from None


def parse_corners(text: str) -> np.ndarray:
    """'x1,y1,x2,y2,x3,y3,x4,y4' (photo pixels: far left, far right, near right, near left) -> (4, 2)."""
    field, expected = "room_corners", CORNERS_FORM
    if len(text) > MAX_CORNERS_TEXT:
        raise RequestError(field, f"{len(text)} characters; at most {MAX_CORNERS_TEXT}: {expected}")
    parts = text.split(",")
    if len(parts) != 8:
        raise RequestError(field, f"{len(parts)} values in {quote(text)}; give {expected}")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise RequestError(field, f"{quote(text)} holds a value that is not a number; {expected}") from None
    if not all(math.isfinite(value) for value in values):
        raise RequestError(field, f"{quote(text)} has a value that is not a finite number")
    return np.array(values, np.float64).reshape(4, 2)


def check_corners(corners: np.ndarray, size: tuple[int, int]) -> None:
    """Inside the photo, a convex quadrilateral (no crossed or folded sides), not tiny."""
    field = "room_corners"
    width, height = size
    if (corners < 0).any() or (corners[:, 0] > width).any() or (corners[:, 1] > height).any():
        raise RequestError(field, f"each corner must lie in the photo, 0..{width} x 0..{height} px")
    edges = np.roll(corners, -1, axis=0) - corners
    if (np.hypot(*edges.T) < MIN_SIDE_PX).any():
        raise RequestError(field, f"each side must be at least {MIN_SIDE_PX} px long")
    turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    if not ((turns > 0).all() or (turns < 0).all()):
        raise RequestError(field, "the four corners must make a convex quadrilateral, in order around it")
    x, y = corners.T
    area = abs(np.sum(x * np.roll(y, -1) - y * np.roll(x, -1))) / 2  # the shoelace formula
    if area < MIN_AREA_SHARE * width * height:
        raise RequestError(field, f"the area is {area:.0f} px; at least {MIN_AREA_SHARE:.0%} of the photo")
