"""The colour lock: a picture of crumb + the ordered mix -> the same picture in the ordered shares.

1. Granule regions (regions.py; the layout's own granules where they still line up).
2. One ordered colour per region under area quotas, block by block, changing as little as it can
   (quota.py). The area counted is what a person sees as colour: the region's pixels not in shadow.
3. Regions that change colour are re-coloured in CIELAB keeping each pixel's shading (repaint.py);
   the others are left as they are. Regions of a lightness pair (colours.py) are always re-lit to
   their colour's level, so a shaded PEARL granule cannot pass for LTGRAY.
4. A confidence that the picture is crumb at all (confidence.py); below LOCK_MIN_CONFIDENCE
   nothing is painted and the result says why.
The lock never measures its own output: the measurement (plitka.analysis) judges it afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from plitka.colour.rays import (
    SHADOW_SHADE,
    cheapest,
    is_grey,
    lightness_pairs,
    lit_centre,
    ray_cost,
    ray_distances,
    shade_cost,
    shadow_floor,
    shadows_to_their_colour,
)
from plitka.colour.regions import (
    REFERENCE_SIDE,
    Regions,
    crevice_border_share,
    crevices,
    layout_regions,
    segment_granules,
)
from plitka.colour.spaces import as_rgb_array, lab_image, palette_lab
from plitka.colour.tile import TileNotFoundError, tile_mask
from plitka.lock.appearance import (
    DONOR_MIN_SHARE,
    MAX_LOOK_PIXELS,
    Look,
    exposure,
    flat_look,
    look_of,
    model_look,
)
from plitka.lock.confidence import Confidence, crumb_confidence
from plitka.lock.quota import BLOCKS, assign_colours
from plitka.lock.repaint import repaint, to_rgb
from plitka.lock.texture import MIN_AREA, copy_insides
from plitka.palette import PALETTE, Palette

PLAIN_COST = 4.0  # a region whose colour costs less than this (ray_cost units) plainly is that colour
MATERIALS = 6  # clusters of region colour (chromaticity and lightness) that share a lit level
VARIATION_RANGE = (0.7, 1.4)  # a granule's level over its material's, as kept
PAIR_VARIATION = 0.3  # exponent on that variation for lightness-pair colours (1 = all of it)
MATCH_PICTURE_AB = 4.0  # the painted colour follows the picture's own kept colour up to this far (a*b*)
MATCH_PICTURE_L = 8.0  # and this far in L* (not for lightness pairs)


@dataclass
class LockResult:
    image: Image.Image
    codes: tuple[str, ...]
    regions: np.ndarray  # HxW int32 region id
    region_colour: np.ndarray  # per region: index into codes, -1 off the tile
    repainted_regions: np.ndarray  # per region: bool, re-coloured (not kept as it was)
    repainted_share: float  # percent of the tile's pixels re-coloured
    confidence: Confidence
    layout_share: float = 0.0  # percent of pixels whose regions came from the granule layout
    painted: bool = True
    reason: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def areas(self) -> np.ndarray:
        """Pixels per region."""
        return np.bincount(self.regions.ravel(), minlength=self.region_colour.size)

    def colour_map(self) -> np.ndarray:
        """HxW index into codes of the colour each pixel was given, -1 off the tile."""
        return self.region_colour[self.regions]

    def describe(self) -> dict:
        return {
            "painted": self.painted,
            **({"reason": self.reason} if self.reason else {}),
            "repainted_percent": round(self.repainted_share, 2),
            "confidence": self.confidence.describe(),
            "regions": int(self.region_colour.size),
            "layout_regions_percent": round(self.layout_share, 1),
            "seconds": round(self.seconds, 3),
        }


def lock_colours(
    image: Image.Image | np.ndarray,
    mix: Mapping[str, float],
    granules: np.ndarray | None = None,
    palette: Palette = PALETTE,
    force: bool = False,
) -> LockResult:
    """The picture with each colour of `mix` (code -> percent) covering its share of the tile.

    granules: the picture's granule ids from the layout it was rendered from (same HxW, negative
    for gap or background), used where they line up. force: paint even a picture that does not
    look like crumb (a picture with no texture at all is never painted).
    """
    start = time.perf_counter()
    codes = tuple(mix)
    shares = np.array([mix[code] for code in codes], dtype=np.float64)
    shares /= shares.sum()
    rgb = as_rgb_array(image)
    lab = lab_image(rgb)
    scale = max(rgb.shape[:2]) / REFERENCE_SIDE
    try:
        on_tile = tile_mask(rgb)
    except TileNotFoundError:
        return _unpainted(rgb, codes, "does not look like a crumb surface (no granule texture)", start)
    regions = segment_granules(rgb, lab)
    layout_share = 0.0
    if granules is not None and granules.shape == on_tile.shape:
        regions, layout_share = layout_regions(granules, lab, regions)
    shadow = crevices(lab, scale)
    stats = _region_stats(regions, lab, on_tile, shadow)
    confidence = crumb_confidence(
        stats.area[stats.on_tile],
        float(shadow[on_tile].mean()),
        crevice_border_share(regions, lab),
        lab[..., 0],
        on_tile,
    )
    result = LockResult(
        image=Image.fromarray(rgb),
        codes=codes,
        regions=regions.labels,
        region_colour=np.full(regions.count, -1, np.int64),
        repainted_regions=np.zeros(regions.count, bool),
        repainted_share=0.0,
        confidence=confidence,
        layout_share=100 * layout_share,
    )
    if not confidence.looks_like_crumb and not force:
        result.painted = False
        result.reason = f"does not look like a crumb surface (confidence {confidence.value:.2f})"
    else:
        _paint(result, lab, regions, stats, on_tile, shadow, shares, palette, scale)
    result.seconds = time.perf_counter() - start
    return result


def _unpainted(rgb: np.ndarray, codes: tuple[str, ...], reason: str, start: float) -> LockResult:
    return LockResult(
        image=Image.fromarray(rgb),
        codes=codes,
        regions=np.zeros(rgb.shape[:2], np.int32),
        region_colour=np.full(1, -1, np.int64),
        repainted_regions=np.zeros(1, bool),
        repainted_share=0.0,
        confidence=Confidence(0.0, {}),
        painted=False,
        reason=reason,
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class RegionStats:
    area: np.ndarray  # pixels
    on_tile: np.ndarray  # bool: some of the region lies on the tile
    mean_lab: np.ndarray  # Nx3 of its pixels out of shadow (all pixels where it is all shadow)
    centroid: np.ndarray  # Nx2 (y, x)


def _region_stats(regions: Regions, lab: np.ndarray, on_tile: np.ndarray, shadow: np.ndarray) -> RegionStats:
    flat = regions.labels.ravel()
    count = regions.count
    area = np.bincount(flat, minlength=count).astype(np.float64)
    tile_part = np.bincount(flat, weights=on_tile.ravel(), minlength=count)
    mean = _lit_mean(flat, lab.reshape(-1, 3), (~shadow).ravel(), count, area)
    ys, xs = np.indices(regions.labels.shape)
    centroid = (
        np.stack([np.bincount(flat, weights=axis.ravel(), minlength=count) for axis in (ys, xs)], 1)
        / np.maximum(area, 1)[:, None]
    )
    return RegionStats(area, tile_part > 0, mean.astype(np.float32), centroid)


def _paint(
    result: LockResult,
    lab: np.ndarray,
    regions: Regions,
    stats: RegionStats,
    on_tile: np.ndarray,
    shadow: np.ndarray,
    shares: np.ndarray,
    palette: Palette,
    scale: float,
) -> None:
    codes = result.codes
    centres = palette_lab(codes, palette)
    pair_of = lightness_pairs(centres)
    pairs = pair_of.any(axis=1)
    tile = np.flatnonzero(stats.on_tile)
    mean = stats.mean_lab[tile]
    cost, _ = ray_cost(mean, centres)
    material_level = _material_levels(mean)
    floor = shadow_floor(centres)
    current = cost.argmin(axis=1)
    rows = np.arange(len(tile))
    plain = (cost[rows, current] < PLAIN_COST) & ~pairs[current]
    targets = _target_colours(centres, mean, plain, current, pairs)
    looks = _looks(lab, regions.labels, on_tile, tile, current, codes, centres, floor)
    stray = looks.strays(pair_of)
    counted, level = _counted_pixels(regions, lab, tile, material_level, on_tile & (stray < 0), floor)
    variation = np.clip((level + 16) / (material_level + 16), *VARIATION_RANGE)
    weight = looks.counted(regions.labels, tile, floor)
    as_today = (np.arange(len(codes))[None, :] == current[:, None]) | pairs[None, :]
    weight = np.where(as_today, counted[:, None], weight)
    block = _block_of(stats.centroid[tile], lab.shape[:2])
    strays = np.bincount(stray[stray >= 0], minlength=len(codes)).astype(np.float64)
    colour = assign_colours(cost, weight, shares, block, stats.centroid[tile], strays)
    keep = (colour == current) & ~pairs[colour]
    weight = weight[rows, colour]

    count = regions.count
    gain = np.ones(count, np.float32)
    target_lab = stats.mean_lab.copy()
    painted = np.zeros(count, bool)
    changed = np.zeros(count, bool)
    relit = np.zeros(count, bool)  # changed regions re-lit by a gain (lightness pairs), not by look
    exponent = np.where(pairs[colour], PAIR_VARIATION, 1.0)
    region_gain = (targets[colour, 0] + 16) * variation**exponent / (level + 16)
    by_gain = ~keep & pairs[colour]
    gain[tile] = np.where(by_gain, region_gain, 1.0)
    target_lab[tile] = targets[colour]
    target_lab[tile[keep], 0] = mean[keep, 0]  # a kept region keeps its own lightness
    painted[tile] = True
    changed[tile] = ~keep
    relit[tile] = by_gain
    contrast = np.ones(count, np.float32)
    contrast[tile] = _brightened_contrast(gain[tile])
    region_level = np.zeros(count, np.float32)
    region_level[tile] = level
    looked = np.zeros(count, bool)
    looked[tile] = ~keep & ~by_gain
    lab_in = looks.painted(lab, regions.labels, looked, tile, colour)
    lab_in[..., 0] = _lightness_with_donor_insides(
        lab, lab_in, regions.labels, tile, colour, keep, looked, looks, stats.area, stray
    )
    # set at its own lit level, as a kept region's colour is: its pixels' a*b* follow their shade alike
    target_lab[looked, 0] = _lit_lightness(regions.labels, lab_in[..., 0], shadow, looked)[looked]
    lab_out = repaint(
        lab_in,
        regions.labels,
        gain,
        target_lab,
        painted,
        changed,
        scale,
        on_tile,
        contrast,
        region_level,
        rolled=relit,
    )
    result.image = Image.fromarray(to_rgb(lab_out))
    result.region_colour[tile] = colour
    result.repainted_regions = changed
    result.repainted_share = float(100 * weight[~keep].sum() / max(weight.sum(), 1))


@dataclass(frozen=True)
class _Looks:
    """Each tile pixel's rank in the look of the colour its region shows now, and each colour's look as
    a region painted that colour takes it (plitka.lock.appearance)."""

    source: np.ndarray  # HxW index of the colour the pixel's region shows now, -1 off the tile
    reads_as: np.ndarray  # HxW index of the colour the pixel reads as (_reads_as), -1 for none
    rank: np.ndarray  # HxW float32 rank in that colour's look
    targets: list[Look]
    levels: np.ndarray  # K: each colour's lit L* as the measurement would find it in the picture
    centres: np.ndarray  # Kx3 CIELAB: each colour's lit centre in the picture (the palette's if not shown)

    def strays(self, pairs: np.ndarray) -> np.ndarray:
        """HxW colour index of the pixels of a grey colour's crumbs that read as another grey (not a
        lightness pair apart, which only a whole granule tells apart), -1 elsewhere. On the grey axis
        shade alone makes one colour another: a white crumb's deep shade reads BLACK, and whites kept as
        they were left BLACK 3 points over the order."""
        own, other = np.maximum(self.source, 0), np.maximum(self.reads_as, 0)
        grey = is_grey(self.centres)
        stray = (self.reads_as >= 0) & (self.source >= 0) & (self.reads_as != self.source)
        stray &= ~pairs[own, other] & grey[own] & grey[other]
        return np.where(stray, self.reads_as, -1)

    def counted(self, labels: np.ndarray, tile: np.ndarray, floor: float) -> np.ndarray:
        """NxK counted pixels of each tile region painted each colour by its look: those not darker than
        `floor` of the colour's lit level."""
        weight = np.zeros((len(tile), len(self.targets)))
        on_tile = self.source >= 0
        for index, (target, level) in enumerate(zip(self.targets, self.levels, strict=True)):
            lowest = target.rank(np.array([floor * (level + 16) - 16]))[0]
            lit = on_tile & (self.rank >= lowest)
            weight[:, index] = np.bincount(labels[lit], minlength=labels.max() + 1)[tile]
        return weight

    def painted(
        self, lab: np.ndarray, labels: np.ndarray, moved: np.ndarray, tile: np.ndarray, colour: np.ndarray
    ) -> np.ndarray:
        """lab with the pixels of the `moved` regions (N bool) at their rank in their new colour's look."""
        target_of = np.full(moved.size, -1, np.int64)
        target_of[tile] = colour
        pixel_target = np.where(moved[labels] & (self.source >= 0), target_of[labels], -1)
        out = lab.copy()
        for index, target in enumerate(self.targets):
            where = pixel_target == index
            out[..., 0][where] = target.lightness(self.rank[where])
        return out


def _looks(
    lab: np.ndarray,
    labels: np.ndarray,
    on_tile: np.ndarray,
    tile: np.ndarray,
    current: np.ndarray,
    codes: tuple[str, ...],
    centres: np.ndarray,
    floor: float,
) -> _Looks:
    """Each colour's look from the crumbs that show it now, and where the picture shows it on under
    DONOR_MIN_SHARE of the tile, the model at the picture's light."""
    source_of = np.full(labels.max() + 1, -1, np.int64)
    source_of[tile] = current
    shows = np.where(on_tile, source_of[labels], -1)
    showing = {index: mask for index in range(len(codes)) if (mask := shows == index).any()}
    lit = centres.astype(np.float64).copy()
    for index, mask in showing.items():
        lit[index] = lit_centre(_sampled(lab, mask), centres[index])
    reads_as = _reads_as(lab, on_tile, lit, floor)
    lightness = lab[..., 0]
    sources = {index: look_of(_sampled(lightness, mask)) for index, mask in showing.items()}
    minimum = DONOR_MIN_SHARE * on_tile.sum()
    shown = {index for index, mask in showing.items() if mask.sum() >= minimum}
    factor = exposure({codes[index]: look for index, look in sources.items()})
    rank = np.zeros(shows.shape, np.float32)
    for index, mask in showing.items():
        rank[mask] = sources[index].rank(lightness[mask])
    for index in np.flatnonzero(_like_a_gap(centres)):
        if index in showing:
            _flatten_ranks(rank, labels, showing[index], (lit[index, 0] + 16) / (lit[:, 0].max() + 16))
    targets = [
        sources[index] if index in shown else _modelled(code, centres[index], factor)
        for index, code in enumerate(codes)
    ]
    levels = np.where(
        [index in shown for index in range(len(codes))], lit[:, 0], (centres[:, 0] + 16) * factor - 16
    )
    return _Looks(shows, reads_as, rank, targets, levels, lit)


def _lightness_with_donor_insides(
    lab: np.ndarray,
    painted: np.ndarray,
    labels: np.ndarray,
    tile: np.ndarray,
    colour: np.ndarray,
    keep: np.ndarray,
    looked: np.ndarray,
    looks: _Looks,
    area: np.ndarray,
    stray: np.ndarray,
) -> np.ndarray:
    """painted's L* with the insides of the regions moved by look copied from kept crumbs of their new
    colour, for the colours whose look comes from the picture (plitka.lock.texture)."""
    shown = [index for index, look in enumerate(looks.targets) if look.source == "picture"]
    donors = {index: tile[keep & (colour == index) & (area[tile] >= MIN_AREA)] for index in shown}
    moved = looked[tile] & np.isin(colour, shown)
    return copy_insides(lab[..., 0], painted[..., 0], labels, tile[moved], colour[moved], donors, stray >= 0)


def _lit_lightness(
    labels: np.ndarray, lightness: np.ndarray, shadow: np.ndarray, regions: np.ndarray
) -> np.ndarray:
    """N: the mean L* out of shadow of each of the `regions` (N bool; over all its pixels where it is all
    shadow), 0 for the others."""
    where = regions[labels]
    return _lit_mean(labels[where], lightness[where][:, None], ~shadow[where], len(regions))[:, 0]


def _lit_mean(
    ids: np.ndarray, values: np.ndarray, lit: np.ndarray, count: int, area: np.ndarray | None = None
) -> np.ndarray:
    """count x C: per region id, the mean of values (N x C) over its `lit` pixels (N bool), or over all
    its pixels where none is lit; area: the pixels per id, if already counted."""
    if area is None:
        area = np.bincount(ids, minlength=count)
    lit = lit.astype(np.float64)
    lit_area = np.bincount(ids, weights=lit, minlength=count)
    unlit = (lit_area == 0)[ids]  # the pixels of regions all in shadow: only they need the plain mean
    columns = []
    for channel in values.T.astype(np.float64):
        lit_sum = np.bincount(ids, weights=channel * lit, minlength=count)
        all_mean = np.bincount(ids[unlit], weights=channel[unlit], minlength=count) / np.maximum(area, 1)
        columns.append(np.where(lit_area > 0, lit_sum / np.maximum(lit_area, 1), all_mean))
    return np.stack(columns, axis=1)


def _sampled(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """values[mask][::n], about MAX_LOOK_PIXELS of them, without gathering all of values[mask] first."""
    where = np.flatnonzero(mask)
    rows = values.reshape(mask.size, *values.shape[mask.ndim :])
    return rows[where[:: max(1, len(where) // MAX_LOOK_PIXELS)]]


def _reads_as(lab: np.ndarray, on_tile: np.ndarray, centres: np.ndarray, floor: float) -> np.ndarray:
    """HxW colour index each tile pixel reads as, -1 for none, as the measurement reads a pixel: the
    nearest ray, unless it lies far nearer another colour's ray in its shadow; not darker than `floor`
    of it; and inside a 3x3 square of that colour (thin lines are gaps and rims)."""
    # every pixel, then the tile's: gathering the tile's pixels first costs more than the rest of a close-up
    distance2, shade = ray_distances(lab.reshape(-1, 3), centres, np.float32)
    reads = shadows_to_their_colour(distance2, shade, cheapest(shade_cost(distance2, shade)))
    lit = np.take_along_axis(shade, reads[:, None], axis=1)[:, 0] >= floor
    reads_as = np.where(on_tile & lit.reshape(on_tile.shape), reads.reshape(on_tile.shape), -1)
    square = np.ones((3, 3), np.uint8)
    inside = np.zeros(on_tile.shape, bool)
    for index in range(len(centres)):
        inside |= cv2.morphologyEx((reads_as == index).astype(np.uint8), cv2.MORPH_OPEN, square) > 0
    return np.where(inside, reads_as, -1)


def _flatten_ranks(rank: np.ndarray, labels: np.ndarray, where: np.ndarray, factor: float) -> None:
    """Ranks of the pixels in `where` drawn towards their region's mean rank by `factor` (in place)."""
    ids = labels[where]
    mean = np.bincount(ids, weights=rank[where], minlength=labels.max() + 1) / np.maximum(
        np.bincount(ids, minlength=labels.max() + 1), 1
    )
    rank[where] = mean[ids] + (rank[where] - mean[ids]) * factor


def _modelled(code: str, centre: np.ndarray, factor: float) -> Look:
    """A colour's look where the picture shows too few of its crumbs: the model at the picture's light."""
    model = model_look(code)
    return model.exposed(factor) if model is not None else flat_look(float(centre[0]))


def _like_a_gap(centres: np.ndarray) -> np.ndarray:
    """K bool: grey colours as dark as the lightest colour's shadow. Their crumbs' shading is mostly
    sheen and noise, which a pixel's rank in their look carries: a BLACK crumb painted WHITE by rank
    came out mottled, with dark specks. Their ranks are drawn towards their crumb's mean by the ratio
    of their level to the lightest colour's (_flatten_ranks): the sheen, alike on every colour, varies
    a light crumb that much less."""
    return is_grey(centres) & (centres[:, 0] + 16 < SHADOW_SHADE * (centres[:, 0].max() + 16))


def _brightened_contrast(gain: np.ndarray) -> np.ndarray:
    """Exponent on each region's relative shading (1 keeps it): 1 / gain where a region is brightened.

    A crumb returns its colour times the shading plus a sheen that is alike for every colour. On a dark
    crumb the sheen is much of what varies; painted light, the same sheen varies it far less. Kept
    whole, a BLACK crumb turned WHITE stayed mottled grey, and its dark half read BLACK (30% BLACK
    ordered read 35.2; now 30.1). The simplest exponent that removes it: 1/gain (1/gain^0.5 read 31.7)."""
    return np.minimum(1.0, 1.0 / np.maximum(gain, 1e-3)).astype(np.float32)


def _material_levels(mean: np.ndarray) -> np.ndarray:
    """Each region's material's lit level (L*): the median over the regions of its colour cluster."""
    shade = mean[:, :1] + 16
    features = np.concatenate([100 * mean[:, 1:] / shade, 40 * np.log(shade)], axis=1).astype(np.float32)
    clusters = min(MATERIALS, len(mean))
    if clusters < 2:
        return np.full(len(mean), float(np.median(mean[:, 0])) if len(mean) else 0.0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, labels, _ = cv2.kmeans(features, clusters, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    levels = np.array(
        [np.median(mean[labels == k, 0]) if (labels == k).any() else 0 for k in range(clusters)]
    )
    return levels[labels]


def _counted_pixels(
    regions: Regions,
    lab: np.ndarray,
    tile: np.ndarray,
    material_level: np.ndarray,
    on_tile: np.ndarray,
    floor: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per tile region, its pixels that read as colour rather than shadow (not darker than floor times
    their material's level, plitka.colour.rays.shadow_floor), and the mean L* of its lit pixels
    (SHADOW_SHADE): the granule's level as a person sees it. Painting keeps each pixel's shade
    relative to its material and puts it on its colour's ray (a deep shadow keeps the hue that the
    measurement looks for), so the count does not depend on the colour the region gets. Only pixels
    on the tile count."""
    level = np.zeros(regions.count, np.float32)
    level[tile] = material_level
    relative = (lab[..., 0] + 16) / (level[regions.labels] + 16)
    flat = regions.labels.ravel()
    counted = np.bincount(flat, weights=((relative >= floor) & on_tile).ravel(), minlength=regions.count)
    lit = (relative >= SHADOW_SHADE) & on_tile
    level = _lit_mean(flat, lab[..., :1].reshape(-1, 1), lit.ravel(), regions.count)[:, 0]
    return counted[tile], level[tile]


def _block_of(centroid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    rows = np.clip((centroid[:, 0] * BLOCKS / shape[0]).astype(int), 0, BLOCKS - 1)
    cols = np.clip((centroid[:, 1] * BLOCKS / shape[1]).astype(int), 0, BLOCKS - 1)
    return rows * BLOCKS + cols


def _target_colours(
    centres: np.ndarray, mean: np.ndarray, keep: np.ndarray, colour: np.ndarray, pairs: np.ndarray
) -> np.ndarray:
    """Kx3: each colour as painted: its palette colour, moved a little towards how the picture shows it."""
    targets = centres.astype(np.float32).copy()
    for index in range(len(centres)):
        own = keep & (colour == index)
        if own.sum() < 5:
            continue
        seen = np.median(mean[own], axis=0)
        shift_ab = seen[1:] - centres[index, 1:]
        shift_ab *= min(1.0, MATCH_PICTURE_AB / max(float(np.linalg.norm(shift_ab)), 1e-6))
        targets[index, 1:] += shift_ab
        if not pairs[index]:  # lighter or darker along the colour's own shade ray
            level = centres[index, 0] + np.clip(
                seen[0] - centres[index, 0], -MATCH_PICTURE_L, MATCH_PICTURE_L
            )
            targets[index] = (targets[index] + [16, 0, 0]) * (level + 16) / (centres[index, 0] + 16) - [
                16,
                0,
                0,
            ]
    return targets
