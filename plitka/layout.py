"""Granule layout: which crumb covers which pixel of the tile, and which colour each crumb has.

Two layers: a packed lower layer (Voronoi cells of a jittered grid, some left out) and random
convex shards (3-6 corners on a random ellipse, some of them small chips) dropped on it one by one, so
later ones hide parts of earlier ones, which gives the irregular, partly hidden outlines of real
crumb. Crumbs that would show only as thin slivers are handed to their neighbours. Spots that nothing
covers are the dark gaps; outlines between touching crumbs are left to the renderer. Colours are
drawn independently per crumb (a random mix, no clusters by construction), then balanced by
re-colouring random crumbs until each colour's visible area matches its requested share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

GAP = -1
MAX_COLORS = 4
SUM_TOLERANCE = 1.0  # percentage points

# Sizes as fractions of the tile side, read off the reference photos (crumbs ~1.5-2 % of the side).
CRUMB_SPACING = 0.020  # grid step of crumb centres, in each layer: crumbs the photos' size (docs/realism.md)
CRUMB_RADIUS = CRUMB_SPACING / 2  # typical visible crumb radius, for the renderer
MISSING_LOWER = 0.01  # part of the lower layer left out: with the shards above, a few dark pits
SHARD_SPACING = CRUMB_SPACING
SHARD_RADIUS = 0.65 * SHARD_SPACING  # about as wide as a cell, so shards overlap a little
SHARD_OVERHANG = 0.5  # grid cells
RADIUS_SPREAD = 0.2  # sigma of the log-normal shard radius
CHIP_SHARE = 0.3  # part of the shards that are small chips, as broken off the larger crumbs
CHIP_SCALE = 0.45  # a chip's radius over a shard's
ASPECT_RANGE = (1.0, 1.8)  # long / short axis of a shard
CORNER_CHOICES = np.array([3, 4, 5, 6])
CORNER_WEIGHTS = np.array([0.35, 0.35, 0.2, 0.1])
SLIVER_WIDTH = 0.002  # fraction of the tile side: crumbs thinner than about twice this are slivers
SUBPIXEL_BITS = 4
BALANCE_TOLERANCE = 0.0001  # fraction of the granule area; far finer than the 0.5 point promised


@dataclass(frozen=True, eq=False)
class GranuleLayout:
    codes: tuple[str, ...]  # palette codes; index i in maps refers to codes[i]
    granules: np.ndarray  # (H, W) int32 granule id per pixel, GAP (-1) in the gaps between granules
    granule_color: np.ndarray  # (n_granules,) colour index into codes
    seed: int

    @property
    def size(self) -> int:
        return self.granules.shape[0]

    @cached_property
    def granule_areas(self) -> np.ndarray:
        """Visible pixels per granule."""
        return np.bincount(self.granules[self.granules >= 0], minlength=len(self.granule_color))

    def color_map(self) -> np.ndarray:
        """(H, W) int8 colour index into `codes`, GAP (-1) in the gaps."""
        lut = np.append(self.granule_color, GAP).astype(np.int8)
        return lut[self.granules]  # GAP indexes the appended last entry

    def area_shares(self) -> dict[str, float]:
        """Percent of the granule (non-gap) area per code."""
        areas = np.bincount(self.granule_color, weights=self.granule_areas, minlength=len(self.codes))
        return {code: float(100 * area / areas.sum()) for code, area in zip(self.codes, areas, strict=True)}


def build_layout(shares: Mapping[str, float], size: int = 1024, seed: int = 0) -> GranuleLayout:
    """Lay out crumbs for `shares` (1-4 palette codes -> percent, summing to 100) on a size x size tile.

    Each colour's visible area matches its share to ~0.01 points at 1024 px; the same seed gives the
    same layout."""
    codes, fractions = _validated_shares(shares)
    rng = np.random.default_rng(seed)
    granules = _visible_granules(_without_slivers(_stacked_crumbs(size, rng)))
    areas = np.bincount(granules[granules >= 0])
    colors = rng.choice(len(codes), size=len(areas), p=fractions)
    colors = _balance_colors(areas, colors, fractions, rng).astype(np.int8)
    for array in (granules, colors, areas):
        array.setflags(write=False)
    layout = GranuleLayout(codes=codes, granules=granules, granule_color=colors, seed=seed)
    layout.__dict__["granule_areas"] = areas  # counted above already: the cached property's value
    return layout


def _validated_shares(shares: Mapping[str, float]) -> tuple[tuple[str, ...], np.ndarray]:
    if not 1 <= len(shares) <= MAX_COLORS:
        raise ValueError(f"a mix has 1 to {MAX_COLORS} colours, got {len(shares)}")
    values = np.array(list(shares.values()), dtype=float)
    if (values <= 0).any() or abs(values.sum() - 100) > SUM_TOLERANCE:
        raise ValueError(f"shares must be positive and sum to 100, got {dict(shares)}")
    return tuple(shares), values / values.sum()  # a request may sum to 100 +- 0.5: normalised here


def _stacked_crumbs(size: int, rng: np.random.Generator) -> np.ndarray:
    """Id map of two layers of crumbs: 0 = gap, higher ids lie higher. Upper shards cover most of a
    packed lower layer; where a lower crumb is missing and no shard covers the spot, a dark pit stays."""
    lower = _packed_layer(size, rng)
    upper = _shard_layer(size, rng)
    return np.where(upper > 0, upper + lower.max(), lower)


def _packed_layer(size: int, rng: np.random.Generator) -> np.ndarray:
    """Voronoi cells of a jittered grid (0 where a crumb is missing, i + 1 for the i-th crumb)."""
    centers = _jittered_grid(size, CRUMB_SPACING, 0.0, rng)  # Voronoi cells reach the edge anyway
    pixels = np.floor(centers).astype(np.intp)
    on_tile = ((pixels >= 0) & (pixels < size)).all(axis=1)
    seeds = np.zeros((size, size), np.int32)
    seeds[pixels[on_tile, 1], pixels[on_tile, 0]] = np.flatnonzero(on_tile) + 1
    _, labels = cv2.distanceTransformWithLabels(
        (seeds == 0).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_3, labelType=cv2.DIST_LABEL_PIXEL
    )
    seed_ids = np.append(0, seeds[seeds > 0])  # DIST_LABEL_PIXEL numbers the seed pixels in raster order
    seed_ids[rng.random(len(seed_ids)) < MISSING_LOWER] = 0
    return seed_ids[labels]


def _shard_layer(size: int, rng: np.random.Generator) -> np.ndarray:
    """Convex shards dropped one by one (0 = none, i + 1 = the i-th, which lies on the earlier ones)."""
    canvas = np.zeros((size, size), np.int32)
    # One OpenCV call per shard, as each needs its own id; about a microsecond each.
    for shard_id, polygon in enumerate(_shard_polygons(size, rng), start=1):
        cv2.fillConvexPoly(canvas, polygon, shard_id, cv2.LINE_8, SUBPIXEL_BITS)
    return canvas


def _shard_polygons(size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Corners at sorted random angles on a random ellipse (so always convex), in fixed-point pixels."""
    centers = _jittered_grid(size, SHARD_SPACING, SHARD_OVERHANG, rng)
    count = len(centers)
    chips = rng.random(count) < CHIP_SHARE
    radius = size * SHARD_RADIUS * rng.lognormal(0.0, RADIUS_SPREAD, count) * np.where(chips, CHIP_SCALE, 1.0)
    aspect = np.sqrt(rng.uniform(*ASPECT_RANGE, count))[:, None]
    corners = rng.choice(CORNER_CHOICES, size=count, p=CORNER_WEIGHTS)
    most = CORNER_CHOICES.max()
    steps = rng.uniform(0.5, 1.5, (count, most)) * (np.arange(most) < corners[:, None])
    angles = 2 * np.pi * np.cumsum(steps, axis=1) / steps.sum(axis=1, keepdims=True)
    ellipse = np.stack([np.cos(angles) * aspect, np.sin(angles) / aspect], -1)  # equal-area ellipse
    turn = rng.uniform(0, 2 * np.pi, count)
    rotation = np.stack([np.cos(turn), -np.sin(turn), np.sin(turn), np.cos(turn)], -1).reshape(count, 2, 2)
    points = centers[:, None, :] + radius[:, None, None] * np.einsum("nkj,nij->nki", ellipse, rotation)
    fixed = np.round(points * (1 << SUBPIXEL_BITS)).astype(np.int32)
    return [fixed[i, : corners[i]] for i in range(count)]


def _jittered_grid(size: int, spacing: float, overhang: float, rng: np.random.Generator) -> np.ndarray:
    """Crumb centres, one per grid cell (`spacing` = its side over the tile's), shuffled so that the order
    (stacking order) is random. The grid reaches `overhang` cells past the tile edge, so crumbs there
    are cut by the edge like in a mould."""
    spacing *= size
    first, last = -overhang, size / spacing + overhang
    steps = np.arange(np.floor(first), np.ceil(last))
    grid = np.stack(np.meshgrid(steps, steps), -1).reshape(-1, 2) * spacing
    return rng.permutation(grid + rng.uniform(0, spacing, grid.shape))


def interior_pixels(ids: np.ndarray, crumb: np.ndarray) -> np.ndarray:
    """The pixels of `crumb` (a bool mask) whose four neighbours carry their id: off every outline."""
    inside = crumb.copy()
    horizontal = ids[:, 1:] != ids[:, :-1]
    vertical = ids[1:] != ids[:-1]
    inside[:, 1:] &= ~horizontal
    inside[:, :-1] &= ~horizontal
    inside[1:] &= ~vertical
    inside[:-1] &= ~vertical
    return inside


def _without_slivers(crumbs: np.ndarray) -> np.ndarray:
    """Crumbs that show only as thin slivers between others (no pixel SLIVER_WIDTH from their outline)
    handed over to the nearest other crumb: real crumbs lie side by side and seldom show such slivers."""
    inside = interior_pixels(crumbs, crumbs > 0)
    to_outline = cv2.distanceTransform(inside.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_3)
    thick = np.bincount(crumbs[to_outline >= SLIVER_WIDTH * crumbs.shape[0]], minlength=crumbs.max() + 1) > 0
    thick[0] = True  # gaps stay gaps
    sliver = ~thick[crumbs]
    refill = sliver | (crumbs == 0)  # gaps give nothing to the slivers
    _, nearest = cv2.distanceTransformWithLabels(
        refill.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_3, labelType=cv2.DIST_LABEL_PIXEL
    )
    donors = np.append(0, crumbs[~refill])  # DIST_LABEL_PIXEL numbers the donor pixels in raster order
    return np.where(sliver, donors[nearest], crumbs)


def _visible_granules(crumbs: np.ndarray) -> np.ndarray:
    """Number the crumbs that stay visible 0..n-1, keeping their order; GAP where none lies."""
    visible = np.bincount(crumbs.ravel()) > 0
    visible[0] = False
    renumber = np.cumsum(visible, dtype=np.int32) - 1
    renumber[0] = GAP
    return renumber[crumbs]


def _balance_colors(
    areas: np.ndarray, colors: np.ndarray, fractions: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Re-colour random granules from the most over- to the most under-represented colour until every
    colour's area is within BALANCE_TOLERANCE of its target."""
    colors = colors.copy()
    targets = fractions * areas.sum()
    tolerance = BALANCE_TOLERANCE * areas.sum()
    for _ in range(8 * len(fractions)):
        excess = np.bincount(colors, weights=areas, minlength=len(fractions)) - targets
        if np.abs(excess).max() <= tolerance:
            break
        donor, taker = int(excess.argmax()), int(excess.argmin())
        amount = min(excess[donor], -excess[taker])
        colors[_granules_summing_to(areas, np.flatnonzero(colors == donor), amount, rng)] = taker
    return colors


def _granules_summing_to(
    areas: np.ndarray, candidates: np.ndarray, target: float, rng: np.random.Generator
) -> np.ndarray:
    """Random granules whose areas add up to about `target`: a random prefix, then the best-fitting one."""
    candidates = rng.permutation(candidates)
    running = np.cumsum(areas[candidates])
    taken = int(np.searchsorted(running, target, side="right"))
    rest = candidates[taken:]
    if len(rest) == 0:
        return candidates[:taken]
    left = target - (running[taken - 1] if taken else 0)
    closest = rest[np.abs(areas[rest] - left).argmin()]
    if abs(areas[closest] - left) < left:
        return np.append(candidates[:taken], closest)
    return candidates[:taken]
