"""The customer's own photo with the surface laid in: four corners of the floor area, the texture
mapped through their homography, the photo's own shading kept.

Each photo pixel inside the corners is taken back through the inverse homography to a point on the
floor (mm) and reads the repeated texture there, from the mip level that matches its footprint (as
on a scene's ground). The photo's light (its low-frequency luminance inside the corners, over its
median) multiplies the laid-in surface, so shadows and falloff stay where the photo has them.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from plitka.scene.ground import sample
from plitka.scene.texture import Texture

MAX_SIDE_PX = 2048  # a larger photo is scaled down to this first (its shading is low-frequency anyway)
SHADING_BLUR = 0.04  # of the floor area's size: detail finer than this is the old floor's, not the light's
SHADING_RANGE = (0.25, 1.8)  # the light's factor, over its median in the area
SUPERSAMPLE = 4  # of the area's mask, for smooth edges


def lay_in_photo(photo: Image.Image, corners: np.ndarray, texture: Texture, width_mm: float) -> Image.Image:
    """`photo` with the floor area inside `corners` ((4, 2) pixels: far left, far right, near right,
    near left) covered by the repeated texture, the area taken as a square `width_mm` on a side."""
    scale = min(1.0, MAX_SIDE_PX / max(photo.size))
    if scale < 1:
        size = (round(photo.width * scale), round(photo.height * scale))
        photo = photo.resize(size, Image.Resampling.LANCZOS)
    corners = np.asarray(corners, np.float64) * scale
    pixels = np.asarray(photo.convert("RGB")).astype(np.float32)
    square = np.array([[0, 0], [width_mm, 0], [width_mm, width_mm], [0, width_mm]], np.float32)
    to_floor = cv2.getPerspectiveTransform(corners.astype(np.float32), square)
    x_mm, y_mm, footprint = _floor_points(to_floor, pixels.shape[:2])
    inside = _area_mask(corners, pixels.shape[:2])
    surface = sample(texture, x_mm, y_mm, footprint) * _shading(pixels, inside, corners)[..., None]
    out = pixels * (1 - inside[..., None]) + surface * inside[..., None]
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def _floor_points(to_floor: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Floor coordinates (mm) of every pixel centre and the floor size of a pixel there."""
    height, width = shape
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    points = np.stack([u, v, np.ones_like(u)], -1) @ to_floor.T
    w = points[..., 2]
    x, y = points[..., 0] / w, points[..., 1] / w
    # The Jacobian of the homography at each pixel: how far one pixel step moves on the floor.
    a, b = to_floor[0], to_floor[1]
    c = to_floor[2]
    dx = np.hypot((a[0] - x * c[0]) / w, (b[0] - y * c[0]) / w)
    dy = np.hypot((a[1] - x * c[1]) / w, (b[1] - y * c[1]) / w)
    return x, y, np.sqrt(dx * dy)


def _area_mask(corners: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 coverage of the quadrilateral, anti-aliased."""
    height, width = shape
    big = np.zeros((height * SUPERSAMPLE, width * SUPERSAMPLE), np.uint8)
    cv2.fillConvexPoly(big, np.round(corners * SUPERSAMPLE).astype(np.int32), 255, cv2.LINE_AA)
    return cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def _shading(pixels: np.ndarray, inside: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The photo's light over the area: its luminance blurred within the area, over its median there."""
    luminance = pixels @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    sigma = SHADING_BLUR * np.ptp(corners, axis=0).max()
    weight = cv2.GaussianBlur(inside, (0, 0), sigma) + 1e-6
    light = cv2.GaussianBlur(luminance * inside, (0, 0), sigma) / weight  # the area's own pixels only
    middle = np.median(light[inside > 0.5]) if (inside > 0.5).any() else 1.0
    return np.clip(light / max(middle, 1.0), *SHADING_RANGE)
