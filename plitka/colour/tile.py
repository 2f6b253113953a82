"""Find the tile in a top-view picture: a square of granules on a light, plain background.

The tile may be rotated in-plane by any angle (a diamond at 45°). Granules make texture (sharp
edges, dark gaps between them) everywhere on the tile, even a white tile on a white background,
while the background, gradients and soft shadows on it included, is smooth. So the tile is where
the local mean of |Laplacian| is high: the convex hull of the largest such region, shrunk by a
margin that drops the tile's ragged edge and any shadow it casts.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from plitka.colour.spaces import as_rgb_array

WORK_SIDE_PX = 400  # the mask is searched on a copy this size; plenty for a convex outline
BORDER_FRACTION = 0.02  # strip along the picture's edge that must look like background
TEXTURE_MIN = 15.0  # mean |Laplacian| of grey levels over 5x5 px; tiles >= ~28, soft shadows < ~8
EDGE_MARGIN_FRACTION = 0.03  # of the tile's side, dropped all round (ragged edge, edge shadow)
TEXTURE_REACH_PX = 3  # the texture map spreads this far past an edge (Laplacian 1 px, 5x5 mean 2 px)


class TileNotFoundError(ValueError):
    """The picture shows no tile that can be told apart from its background."""


def tile_mask(image: Image.Image | np.ndarray) -> np.ndarray:
    """Boolean HxW mask of the tile's usable area (background, tile edge and edge shadow excluded).

    A picture whose border is mostly textured (a close-up of granules) is all tile.
    Raises TileNotFoundError when nothing but background is found.
    """
    rgb = as_rgb_array(image)
    height, width = rgb.shape[:2]
    scale = min(1.0, WORK_SIDE_PX / max(height, width))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    foreground = _foreground(small)
    border = _border_strip(foreground)
    if border.mean() > 0.5:
        return np.ones((height, width), dtype=bool)
    hull = _largest_region_hull(foreground)
    if hull is None:
        raise TileNotFoundError("no tile found: the picture looks like plain background")
    small_mask = np.zeros(foreground.shape, dtype=np.uint8)
    cv2.fillConvexPoly(small_mask, hull, 255)
    small_mask = _shrink(small_mask, EDGE_MARGIN_FRACTION)
    if scale == 1.0:
        return small_mask > 127
    return cv2.resize(small_mask, (width, height), interpolation=cv2.INTER_LINEAR) > 127


def _border_strip(array: np.ndarray) -> np.ndarray:
    width = max(1, round(BORDER_FRACTION * max(array.shape[:2])))
    return np.concatenate(
        [
            array[:width].reshape(-1, *array.shape[2:]),
            array[-width:].reshape(-1, *array.shape[2:]),
            array[:, :width].reshape(-1, *array.shape[2:]),
            array[:, -width:].reshape(-1, *array.shape[2:]),
        ]
    )


def _foreground(rgb: np.ndarray) -> np.ndarray:
    """Pixels in granule texture: high local mean of |Laplacian|, which a smooth ramp lacks."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    laplacian = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=3))
    return cv2.blur(laplacian, (5, 5)) > TEXTURE_MIN


def _largest_region_hull(foreground: np.ndarray) -> np.ndarray | None:
    """Convex hull (Nx1x2 x,y points) of the largest foreground region.

    Specks (JPEG ringing, dust) are opened away first, so that closing the gaps in the tile's
    texture cannot join them to the tile.
    """
    side = max(foreground.shape)
    open_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side // 100 * 2 + 1,) * 2)
    close_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side // 40 * 2 + 1,) * 2)
    region = cv2.morphologyEx(foreground.astype(np.uint8), cv2.MORPH_OPEN, open_kernel)
    region = cv2.morphologyEx(region, cv2.MORPH_CLOSE, close_kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[largest, cv2.CC_STAT_AREA] < 0.01 * foreground.size:
        return None
    points = cv2.findNonZero((labels == largest).astype(np.uint8))
    return cv2.convexHull(points)


def _shrink(mask: np.ndarray, fraction: float) -> np.ndarray:
    """Erode the mask by `fraction` of its side (as a square of the same area) and the texture's reach."""
    radius = round(fraction * np.sqrt(np.count_nonzero(mask))) + TEXTURE_REACH_PX
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    return cv2.erode(mask, kernel)
