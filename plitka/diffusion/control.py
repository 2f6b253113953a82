"""ControlNet conditioning: which type the laying angle calls for, and the control image for it."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from PIL import Image

from plitka.layout import GranuleLayout
from plitka.render.procedural import picture_granules

ControlType = Literal["canny", "lineart", "softedge"]
CONTROL_TYPES: tuple[ControlType, ...] = ("canny", "lineart", "softedge")
CANNY_THRESHOLDS = (100, 200)
SOFT_EDGE_SIGMA = 1.5  # pixels of blur that turn layout outlines into soft edges


def control_type_for(angle: int) -> ControlType:
    """0 and 90 degrees -> canny; 30-60 and 120-150 -> lineart; any other angle -> soft edge."""
    turn = angle % 180
    if turn in (0, 90):
        return "canny"
    if 30 <= turn <= 60 or 120 <= turn <= 150:
        return "lineart"
    return "softedge"


def canny_edges(image: Image.Image) -> Image.Image:
    gray = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY)
    return Image.fromarray(cv2.Canny(gray, *CANNY_THRESHOLDS)).convert("RGB")


def layout_edges(layout: GranuleLayout, angle: int, size: int, soft: bool) -> Image.Image:
    """White granule outlines on black, in the picture's geometry: line art, or blurred for soft edges."""
    ids = picture_granules(layout, angle, size)
    edges = np.zeros(ids.shape, np.float32)
    edges[:, 1:] += ids[:, 1:] != ids[:, :-1]
    edges[1:, :] += ids[1:, :] != ids[:-1, :]
    edges = np.minimum(edges, 1.0)
    if soft:
        edges = cv2.GaussianBlur(edges, (0, 0), SOFT_EDGE_SIGMA)
        edges /= max(float(edges.max()), 1e-6)
    return Image.fromarray(np.round(edges * 255).astype(np.uint8)).convert("RGB")
