"""plitka/realism/camera.py: the camera-chain figures measure what they say, on pictures made to know."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from plitka.realism.camera import camera_stats

SIDE = 256


def _steps(blur: float = 0.0) -> np.ndarray:
    """Grey squares of two levels in a checkerboard of 16 px: sharp steps, optionally blurred."""
    ys, xs = np.indices((SIDE, SIDE))
    grey = np.where(((ys // 16) + (xs // 16)) % 2 == 0, 70.0, 180.0).astype(np.float32)
    if blur:
        grey = cv2.GaussianBlur(grey, (0, 0), blur)
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def _everywhere() -> np.ndarray:
    return np.ones((SIDE, SIDE), bool)


def test_a_blurred_edge_measures_wider_than_a_sharp_one():
    sharp = camera_stats(_steps(), _everywhere())["edge_width"]
    soft = camera_stats(_steps(1.0), _everywhere())["edge_width"]
    assert sharp == pytest.approx(2.0, abs=0.1)  # one pixel to the next: the Sobel spreads it over two
    assert soft > 2.8


def test_white_noise_is_uncorrelated_and_blurred_noise_is_not():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 6, (SIDE, SIDE)).astype(np.float32)
    stats = {}
    for name, field in (("white", noise), ("blurred", cv2.GaussianBlur(noise, (0, 0), 1.0) * 3.5)):
        grey = np.clip(128 + field, 0, 255).astype(np.uint8)
        stats[name] = camera_stats(np.repeat(grey[..., None], 3, axis=2), _everywhere())
    assert abs(stats["white"]["noise_lag1"]) < 0.2 < stats["blurred"]["noise_lag1"]
    assert stats["white"]["noise"] > 1.0  # a flat grey with noise: the noise is measured on its faces
    assert stats["white"]["chroma_noise"] == pytest.approx(0, abs=0.5)  # grey noise has no colour


def test_the_dark_floor_and_black_share_read_the_darkest_pixels():
    picture = np.full((SIDE, SIDE, 3), 200, np.uint8)
    picture[100:140, 100:140] = 0  # 1,600 black pixels of 65,536 (the tile fills the picture)
    stats = camera_stats(picture, _everywhere())
    assert stats["black_share"] == pytest.approx(1600 / SIDE**2, rel=0.01)
    assert stats["dark_floor"] < 5
