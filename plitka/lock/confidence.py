"""How much a picture looks like a crumb surface, 0-1, from its granule regions.

Crumb is many small granules of similar size, parted by dark crevices, each shaded across its facets.
A flat graphic has few large regions and no crevices, a blur neither edges nor crevices; pavers'
surface texture cuts into many regions, but only their grooves are crevices, not the borders between
those regions. Flat shapes, a lattice, cracks on a plain surface, a mosaic or text can have all of
those, but between their edges they are flat (or carry only fine noise), where a crumb's facets are
shaded everywhere: the shading sign. Pixel noise has edges everywhere but no neighbouring pixels that
agree: the coherence sign. Each sign is scored 0-1 between a clearly-not and a clearly-crumb value;
the confidence is the lowest. (tests/noncrumb.py has the pictures each sign was set against.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from plitka.colour.regions import REFERENCE_SIDE

# (not crumb, crumb) for each sign, in a 1024 px picture's terms. Crumb: granules 1-3% of the side
# (so several hundred or more on a tile), crevices a few percent of the area, most of the area in
# granule-sized regions.
GRANULES = (60.0, 300.0)  # granule-sized regions on the whole tile
CREVICE_SHARE = (0.01, 0.04)
CREVICE_BORDERS = (0.08, 0.2)  # of region borders that are crevices: crumb 0.3-0.75, noisy pavers 0.00
GRANULE_AREA_SHARE = (0.3, 0.7)  # of the tile, in regions no larger than LARGE_REGION
SHADING = (0.2, 0.45)  # L* per px: median gradient between edges (flat art 0-0.14, crumb photos 0.53-1.1)
COHERENCE = (0.2, 0.45)  # lag-1 correlation of fine detail (pixel noise 0.0, crumb 0.53-0.91)
EDGE_GRADIENT = 4.0  # L* per px (after a 1 px blur): steeper is an edge, not shading
SHADING_SIGMA_PX = 2.0  # at 1024 px: blur before the shading gradient (removes sensor noise)
DETAIL_SIGMA_PX = 8.0  # at 1024 px: fine detail is what this blur removes
LARGE_REGION = 0.004  # of the tile's area: larger than any crumb (~6% of the side across)
SMALL_REGION = 0.00002  # of the tile's area: smaller is a speck, not a granule
LOCK_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Confidence:
    value: float
    signs: dict[str, float]  # each sign's own score

    def describe(self) -> dict:
        return {"value": round(self.value, 2), "signs": {k: round(v, 2) for k, v in self.signs.items()}}

    @property
    def looks_like_crumb(self) -> bool:
        return self.value >= LOCK_MIN_CONFIDENCE


def crumb_confidence(
    areas: np.ndarray,
    crevice_share: float,
    crevice_borders: float,
    lightness: np.ndarray,
    on_tile: np.ndarray,
) -> Confidence:
    """areas: pixel count of each region on the tile; crevice_share: crevice pixels / tile pixels;
    crevice_borders: share of region borders that are crevices (regions.crevice_border_share);
    lightness: HxW L*; on_tile: HxW bool."""
    total = float(areas.sum())
    fraction = areas / max(total, 1.0)
    granule_sized = (fraction >= SMALL_REGION) & (fraction <= LARGE_REGION)
    signs = {
        "granules": _score(float(granule_sized.sum()), GRANULES),
        "crevices": _score(crevice_share, CREVICE_SHARE),
        "crevice_borders": _score(crevice_borders, CREVICE_BORDERS),
        "granule_area": _score(float(fraction[granule_sized].sum()), GRANULE_AREA_SHARE),
        "shading": _score(shading_between_edges(lightness, on_tile), SHADING),
        "coherence": _score(detail_coherence(lightness, on_tile), COHERENCE),
    }
    return Confidence(min(signs.values()), signs)


def shading_between_edges(lightness: np.ndarray, on_tile: np.ndarray) -> float:
    """Median L* gradient (after SHADING_SIGMA_PX of blur) over the tile away from its edges: how much
    the surfaces between edges are shaded. A picture that is all edges counts as shaded."""
    scale = max(lightness.shape) / REFERENCE_SIDE
    edges = _gradient(lightness, scale) > EDGE_GRADIENT
    reach = 2 * max(1, round(2 * scale)) + 1
    edges = cv2.dilate(edges.astype(np.uint8), np.ones((reach, reach), np.uint8)).astype(bool)
    calm = on_tile & ~edges
    if calm.sum() < 0.001 * on_tile.sum():
        return float("inf")
    return float(np.median(_gradient(lightness, SHADING_SIGMA_PX * scale)[calm]))


def detail_coherence(lightness: np.ndarray, on_tile: np.ndarray) -> float:
    """Correlation of the fine detail (L* less its DETAIL_SIGMA_PX blur) of horizontally neighbouring
    tile pixels: about 0 for pixel noise, high where detail is made of shapes."""
    scale = max(lightness.shape) / REFERENCE_SIDE
    detail = lightness - cv2.GaussianBlur(lightness, (0, 0), DETAIL_SIGMA_PX * scale)
    both = on_tile[:, :-1] & on_tile[:, 1:]
    left, right = detail[:, :-1][both], detail[:, 1:][both]
    if len(left) < 2 or left.std() == 0 or right.std() == 0:
        return 0.0
    return float(np.corrcoef(left, right)[0, 1])


def _gradient(lightness: np.ndarray, sigma: float) -> np.ndarray:
    smooth = cv2.GaussianBlur(lightness, (0, 0), sigma)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    return np.hypot(gx, gy)


def _score(value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))
