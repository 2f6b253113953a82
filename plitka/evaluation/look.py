"""What a person sees of the colour lock, beside the shares: do repainted crumbs look like the picture's
own crumbs of their colour, and is the new colour scattered as a real mix is?

- Lightness match, per colour: the repainted pixels' L* against the colour's kept pixels in the same
  picture: the difference of their medians, and the ratio of their spreads (interquartile ranges).
- Patchiness: each colour's share over an 8x8 grid of blocks (the measurement's counted pixels), its
  standard deviation over sqrt(p(1-p)), averaged with the shares p as weights. A colour scattered crumb
  by crumb varies little from block to block; laid in clouds, a lot. Where a picture showed an
  ordered colour on under 2% before, its before says nothing (near 0 whatever is done); the baseline
  is then the same crumbs with their colours shuffled at random (scatter_patchiness, on the lock's
  colour map for both).
- Invisibility: small patches wholly inside repainted crumbs against patches wholly inside kept crumbs of
  the same colour, told apart by gradient boosting on the realism features (plitka.realism), folds never
  sharing a picture. 0.5: a classifier cannot tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from plitka.analysis.measure import NOT_COUNTED, ColourSegmentation
from plitka.colour.regions import REFERENCE_SIDE
from plitka.colour.spaces import lab_image
from plitka.lock.lock import LockResult

GRID = 8
MIN_REPAINTED_SHARE = 0.02  # of the tile: a colour repainted less is not judged for its lightness
MIN_KEPT_SHARE = 0.02  # of the tile: a colour kept on less has no crumbs of its own to be matched against
PATCH_PX = 16  # at 1024 px: inside one crumb (crumbs are ~12-50 px across)
PATCH_INSIDE = 0.9  # share of a patch's pixels that must lie in crumbs of one kind
PATCHES_PER_KIND = 40  # per picture and colour, repainted and kept alike
SCATTER_DRAWS = 8  # random shuffles of the crumbs' colours averaged for the scatter baseline


@dataclass(frozen=True)
class LightnessMatch:
    code: str
    repainted_share: float  # percent of the tile
    median_difference: float  # L*: repainted minus kept
    spread_ratio: float  # interquartile range of repainted over kept

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "repainted_percent": round(self.repainted_share, 1),
            "median_delta_L": round(self.median_difference, 2),
            "spread_ratio": round(self.spread_ratio, 2),
        }


def lightness_match(locked: LockResult) -> list[LightnessMatch]:
    """Per colour repainted on at least MIN_REPAINTED_SHARE of the tile and kept on MIN_KEPT_SHARE."""
    lightness = lab_image(np.asarray(locked.image))[..., 0]
    colour_map = locked.colour_map()
    repainted = locked.repainted_regions[locked.regions] & (colour_map >= 0)
    tile = (colour_map >= 0).sum()
    matches = []
    for index, code in enumerate(locked.codes):
        new = lightness[repainted & (colour_map == index)]
        kept = lightness[~repainted & (colour_map == index)]
        if len(new) < MIN_REPAINTED_SHARE * tile or len(kept) < MIN_KEPT_SHARE * tile:
            continue
        spread = np.subtract(*np.percentile(kept, [75, 25]))
        matches.append(
            LightnessMatch(
                code,
                100 * len(new) / tile,
                float(np.median(new) - np.median(kept)),
                float(np.subtract(*np.percentile(new, [75, 25])) / max(spread, 1e-6)),
            )
        )
    return matches


def patchiness(segmentation: ColourSegmentation) -> float:
    """Share-weighted std over GRID x GRID blocks of each colour's share, over sqrt(p(1-p))."""
    labels = segmentation.labels
    rows = np.minimum(np.arange(labels.shape[0]) * GRID // labels.shape[0], GRID - 1)
    cols = np.minimum(np.arange(labels.shape[1]) * GRID // labels.shape[1], GRID - 1)
    block = (rows[:, None] * GRID + cols[None, :]).ravel()
    flat = labels.ravel()
    counted = flat != NOT_COUNTED
    totals = np.bincount(block[counted], minlength=GRID * GRID)
    shares = np.bincount(flat[counted], minlength=len(segmentation.codes)) / max(counted.sum(), 1)
    score = 0.0
    for index, share in enumerate(shares):
        if not 0 < share < 1:
            continue
        own = np.bincount(block[flat == index], minlength=GRID * GRID)
        local = own[totals > 0] / totals[totals > 0]
        score += share * float(local.std()) / np.sqrt(share * (1 - share))
    return score


def scatter_patchiness(
    locked: LockResult, rng: np.random.Generator, draws: int = SCATTER_DRAWS
) -> tuple[float, float]:
    """Patchiness of the lock's colour map, and the mean over `draws` of the same crumbs' colours
    shuffled at random: a mix scattered crumb by crumb, the baseline where the picture had too little
    of a colour before to compare with (its own before is then near 0 whatever the lock does)."""
    colour_map = locked.colour_map()
    tile = np.flatnonzero(locked.region_colour >= 0)

    def of(region_colour: np.ndarray) -> float:
        labels = np.where(colour_map >= 0, region_colour[locked.regions], NOT_COUNTED).astype(np.int8)
        return patchiness(ColourSegmentation(locked.codes, labels, np.zeros((len(locked.codes), 3))))

    shuffled = []
    for _ in range(draws):
        region_colour = locked.region_colour.copy()
        region_colour[tile] = rng.permutation(region_colour[tile])
        shuffled.append(of(region_colour))
    return of(locked.region_colour), float(np.mean(shuffled))


def invisibility_patches(
    locked: LockResult, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[int], list[int]]:
    """Patches (RGB) wholly inside repainted (label 1) and kept (label 0) crumbs of the same colour, as
    many of each kind per colour; and each patch's colour index."""
    rgb = np.asarray(locked.image)
    side = max(4, round(PATCH_PX * max(rgb.shape[:2]) / REFERENCE_SIDE))
    colour_map = locked.colour_map()
    repainted = locked.repainted_regions[locked.regions] & (colour_map >= 0)
    patches, labels, colours = [], [], []
    for index in range(len(locked.codes)):
        kinds = [_patch_corners((colour_map == index) & (repainted == kind), side) for kind in (False, True)]
        count = min(PATCHES_PER_KIND, *(len(corners) for corners in kinds))
        for kind, corners in enumerate(kinds):
            for y, x in corners[rng.choice(len(corners), count, replace=False)] if count else ():
                patches.append(rgb[y : y + side, x : x + side])
                labels.append(kind)
                colours.append(index)
    return patches, labels, colours


def _patch_corners(mask: np.ndarray, side: int) -> np.ndarray:
    """Top-left corners (Nx2) of side x side windows with PATCH_INSIDE of their pixels in mask."""
    inside = cv2.boxFilter(mask.astype(np.float32), -1, (side, side), normalize=True, anchor=(0, 0))
    valid = inside[: mask.shape[0] - side + 1, : mask.shape[1] - side + 1] >= PATCH_INSIDE
    corners = np.argwhere(valid)
    return corners[:: max(1, side // 2)]  # neighbouring corners overlap almost wholly
