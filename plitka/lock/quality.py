"""How much of a picture's own detail a re-colouring kept: the correlation of the high-pass L* of the
picture before and after (1: every edge and grain where it was; flat paint gives about 0.3)."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from plitka.colour.regions import REFERENCE_SIDE
from plitka.colour.spaces import as_rgb_array, lab_image

HIGH_PASS_SIGMA_PX = 2.0  # at 1024 px: grain, crevices and facet edges; not the lighting


def detail_kept(before: Image.Image | np.ndarray, after: Image.Image | np.ndarray) -> float:
    """Pearson correlation of the high-pass L* of two pictures of the same size."""
    first, second = (_high_pass(as_rgb_array(picture)) for picture in (before, after))
    if first.shape != second.shape:
        raise ValueError(f"pictures differ in size: {first.shape} and {second.shape}")
    first, second = first.ravel() - first.mean(), second.ravel() - second.mean()
    denominator = float(np.sqrt((first**2).sum() * (second**2).sum()))
    return float((first * second).sum() / denominator) if denominator > 0 else 0.0


def _high_pass(rgb: np.ndarray) -> np.ndarray:
    lightness = lab_image(rgb)[..., 0].astype(np.float64)
    sigma = HIGH_PASS_SIGMA_PX * max(rgb.shape[:2]) / REFERENCE_SIDE
    return lightness - cv2.GaussianBlur(lightness, (0, 0), sigma)
