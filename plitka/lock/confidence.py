"""How much a picture looks like a crumb surface, 0-1, from its granule regions.

Crumb is many small granules of similar size, parted by dark crevices. A flat graphic has few large
regions and no crevices, a blur neither edges nor crevices; pavers' surface texture cuts into many
regions, but only their grooves are crevices, not the borders between those regions. Each
sign is scored 0-1 between a clearly-not and a clearly-crumb value; the confidence is the lowest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (not crumb, crumb) for each sign, in a 1024 px picture's terms. Crumb: granules 1-3% of the side
# (so several hundred or more on a tile), crevices a few percent of the area, most of the area in
# granule-sized regions.
GRANULES = (60.0, 300.0)  # granule-sized regions on the whole tile
CREVICE_SHARE = (0.01, 0.04)
CREVICE_BORDERS = (0.08, 0.2)  # of region borders that are crevices: crumb 0.3-0.75, noisy pavers 0.00
GRANULE_AREA_SHARE = (0.3, 0.7)  # of the tile, in regions no larger than LARGE_REGION
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


def crumb_confidence(areas: np.ndarray, crevice_share: float, crevice_borders: float) -> Confidence:
    """areas: pixel count of each region on the tile; crevice_share: crevice pixels / tile pixels;
    crevice_borders: share of region borders that are crevices (regions.crevice_border_share)."""
    total = float(areas.sum())
    fraction = areas / max(total, 1.0)
    granule_sized = (fraction >= SMALL_REGION) & (fraction <= LARGE_REGION)
    signs = {
        "granules": _score(float(granule_sized.sum()), GRANULES),
        "crevices": _score(crevice_share, CREVICE_SHARE),
        "crevice_borders": _score(crevice_borders, CREVICE_BORDERS),
        "granule_area": _score(float(fraction[granule_sized].sum()), GRANULE_AREA_SHARE),
    }
    return Confidence(min(signs.values()), signs)


def _score(value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))
