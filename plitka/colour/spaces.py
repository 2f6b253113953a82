"""Pixel spaces of the colour model: 8-bit sRGB arrays, CIELAB, and shade space (L*+16, a*, b*).

Shading darkens a colour by a factor; CIELAB's (L*+16, a*, b*) then scale together (by the cube root
of that factor), so in shade space each colour is a ray from the origin (see plitka.colour.rays).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from plitka.palette import PALETTE, Palette

SHADE_SHIFT = np.float32([16, 0, 0])  # CIELAB + this = shade space


def as_rgb_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB view of a PIL image or an array (grey and RGBA accepted)."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 RGB image, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {array.dtype}")
    return array[..., :3]


def lab_image(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 float32 CIELAB (L 0-100) of an sRGB uint8 picture."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> tuple[int, int, int]:
    """One CIELAB colour (L 0-100) as an 8-bit sRGB triple."""
    rgb = cv2.cvtColor(np.asarray(lab, dtype=np.float32).reshape(1, 1, 3), cv2.COLOR_Lab2RGB)[0, 0]
    red, green, blue = (int(value) for value in np.clip(np.round(rgb * 255), 0, 255))
    return red, green, blue


def palette_lab(codes: Sequence[str], palette: Palette = PALETTE) -> np.ndarray:
    """Kx3 float32 CIELAB of the codes' palette colours."""
    rgb = np.array([[palette[code].rgb for code in codes]], dtype=np.float32) / 255
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[0]


def shade_space(lab: np.ndarray) -> np.ndarray:
    """(L*+16, a*, b*) of CIELAB colours: coordinates that scale linearly when a colour is shaded."""
    return lab + SHADE_SHIFT
