"""Measure the visible colour proportions of a tile picture, and the colour of a single-colour tile.

Model (in CIELAB, on the tile only, at least ANALYSIS_SIDE_PX across):

* Shading. Darkening a colour by a factor scales XYZ, and CIELAB's (L+16, a, b) then scales by the
  cube root of that factor. So every requested colour is a ray in this "shade space": a pixel x is
  explained by colour k as shade * centre_k, shade being the projection of x on the ray. Its cost
  is the squared distance from the ray in units of SHADE_SIGMA (Lab units) plus
  SHADE_WEIGHT * log(shade)^2, which keeps colours of one hue but different lightness (BLACK and
  WHITE, GRAY and LTGRAY) apart. Each pixel takes the cheapest colour.
* Shadows. Pixels much darker than their colour (shade < SHADOW_SHADE) are gaps between granules
  and are not counted; in a hued mix (plitka.colour.rays.is_hued_mix) a pixel down to
  DEEP_SHADOW_SHADE that lies nearer its colour's ray than the grey axis is a facet turned from the
  light, keeps its crumb's hue, and counts (a grey gap does not). A gap next to a dark colour
  (BLACK), and the dark rim where any granule meets a gap, cannot be told from a dark granule by
  colour, but they are thin: of the remaining pixels only those inside a 3x3 square of their own
  colour (a morphological opening) count.
* Thin pixels put back. The opening also cuts the corners and slivers off real granules, and it
  cuts far more from a minority colour's isolated crumbs (convex, all edge) than from the majority
  colour around them (concave there): a 15% colour read ~1.5 points low. So a thin pixel that
  touches another colour counts after all when it is no blend of the other colours around it:
  (a) its cost under its own colour is below the squared distance to every shade-space cone
  {s * centre_i + t * centre_j, s, t >= 0} of the other colours among its 8 neighbours (i = j: a
  shaded neighbour). A blend of two neighbours (blue + yellow reading DKGREEN) lies in their cone,
  and a rim or gap line reading BLACK lies on a neighbour's ray, so those stay out; a corner of a
  RED crumb among BLUE ones does not. Or (b) it touches no shadow pixel, at least CORNER_SUPPORT
  of its 8 neighbours are its own colour's interior, and (a) holds for every cone of two distinct
  other colours: the corner of a BLACK crumb among WHITE ones, which (a) cannot tell from a shaded
  WHITE. CORNER_SUPPORT 3 is the one parameter; 1-2 put back more BLACK than the BLACK/WHITE
  photos show (+0.02 MAE), 3 brings a 15% BLACK render within 1 point.
* Shadows of another colour. The shade penalty can hand a deep shadow of one colour to a darker
  colour it fits worse (dark red reading BLACK beside red granules). A pixel whose distance from a
  colour's ray in that colour's shadow is SHADOW_FIT_MARGIN below its distance from the chosen
  colour's ray is that colour's shadow (not counted, or counted as that colour's facet in a hued
  mix). Measured: the seed outputs' BLACK/RED/WHITE
  pictures, once locked, read within 0.4 point instead of 1.5; the reference photos move by 0.01.
* Pockets. A crevice deepens into dark pockets among light crumbs, as dark as a BLACK crumb and
  wider than the 3x3 opening. A crumb has a body, a pocket (thin, concave) has none: a patch of
  a colour as dark as another requested colour's shadow (below SHADOW_SHADE of the lightest
  centre) that is nowhere wider than 2 * MIN_BODY_RADIUS_PX is not counted. Measured: 15% BLACK
  rendered among WHITE read 16.4, now 15.3; the reference photos read the same, photo for photo.
  MIN_BODY_RADIUS_PX 2.0 (at 1024 px) left the renders as they were on the enlarged analysis
  grid; 2.5 is the first value that removes the 3-px-wide pockets there.
* Border blends. A lens, resampling and JPEG's half-resolution chroma mix two crumbs' colours along
  their border, in gamma-encoded sRGB. A half-and-half blend of RED and BLUE lies nearer BLUE's ray
  (BLUE has less chroma), so the nearest ray drew every border inside the red crumb: our 60% BLUE
  render, halved and saved with the photos' JPEG settings, read 62.7, as the 60% BLUE photo did.
  A pixel that two colours present within BLEND_RADIUS_PX explain as a blend (a non-negative sum in
  sRGB) better than its own colour's ray by BLEND_FIT_MARGIN takes the colour with the larger part:
  the border lies where the blend is half and half. The reference photos read the same (within
  0.03 of MAE) for margins 0.03-0.12 and radii 1-3. Only in a hued mix: with a grey colour the two
  sides of a border are counted down to different depths (the white side's blend is still lit, the
  red side's already shadow), so deciding the counted ones by share moved the border one way (a
  degraded RED/WHITE render read 61.8 for 60 with it, 60.3 without).
* Lightness pairs (plitka.colour.rays) are decided per granule region, since a shaded facet of the
  lighter colour is, pixel for pixel, the darker one; except where a pair differs in hue as well and
  a pixel's hue decides (PAIR_HUE_MARGIN): a shaded LTGREEN facet keeps LTGREEN's hue.
* Lighting. The photos' lighting shifts some colours (BLUE and DKGREEN in the mix photos are
  lighter than in their single-colour photos, DKGREEN also greener and yellower, about 20 and 30
  Lab units away), so the centres start at the palette colours of the requested codes and are
  re-estimated ADAPT_ITERATIONS times (k-means style) as the mean of each colour's well-lit
  (shade within ADAPT_WINDOW) granule-interior pixels in the middle of the tile, each kept within
  MAX_CENTRE_SHIFT of its palette colour so that a colour missing from the picture cannot wander
  off to another one's granules.

Nothing is fitted per photo. SHADOW_SHADE, the square opening and ANALYSIS_SIDE_PX were chosen on
the whole reference set together with synthetic tiles rotated by 0-150 degrees; the result moves
by less than 0.1 point of MAE for SHADE_SIGMA 6-12 and SHADE_WEIGHT 15-60. The result is visible
area, not granule share: a global calibration share ~ area^gamma (one parameter) was tried on the
reference photos, and its best gamma was 1.0, so none is applied.

Limits: colours that differ mainly in lightness (GRAY/LTGRAY/DKGRAY, PEARL/WHITE, DKBLUE/BLUE)
overlap once granules are shaded differently, and gaps only somewhat darker than BLACK and wider
than ~5 px at the analysis size count as BLACK; expect several points of error there.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from plitka.colour.rays import (
    ADAPT_ITERATIONS,
    ADAPT_MIN_PIXELS,
    ADAPT_WINDOW,
    MAX_CENTRE_SHIFT,
    SHADE_RANGE,
    SHADE_SIGMA,
    SHADOW_SHADE,
    cheapest,
    is_hued_mix,
    lightness_pairs,
    shade_cost,
    shadow_floor,
    shadows_to_their_colour,
)
from plitka.colour.regions import REFERENCE_SIDE, crevices, segment_granules
from plitka.colour.spaces import SHADE_SHIFT, as_rgb_array, lab_image, lab_to_rgb
from plitka.colour.tile import TileNotFoundError, tile_mask
from plitka.palette import PALETTE, Palette

ANALYSIS_SIDE_PX = 640  # smallest tile side analysed: granules ~10-25 px across, gaps 1-3 px
MAX_ANALYSIS_SIDE_PX = 1024
INTERIOR_KERNEL = np.ones((3, 3), np.uint8)
LIT_PERCENTILES = (35, 95)  # lightness band taken as "the granule's colour" in a single-colour tile
NOT_COUNTED = -1
CORNER_SUPPORT = 3  # own-colour interior pixels among a thin pixel's 8 neighbours to call it a corner
MIN_BODY_RADIUS_PX = 2.5  # at 1024 px: a patch of a colour nowhere wider than twice this is no crumb
# Lab units: above every grey pair's ray separation (LTGRAY/PEARL 4.1), below the hued pairs' (8.2-14.7)
PAIR_HUE_MARGIN = 6.0
BLEND_RADIUS_PX = 2  # at the analysis size: colours this near a pixel may have blended into it
BLEND_FIT_MARGIN = 0.05  # sRGB 0-1 (13 of 255): how much better a blend must fit than the own colour


@dataclass(frozen=True)
class ColourSegmentation:
    """Per-pixel colour labels on the analysis grid (the tile cropped and resampled)."""

    codes: tuple[str, ...]
    labels: np.ndarray  # HxW int8: index into codes, NOT_COUNTED for background, shadows and gaps
    centres_lab: np.ndarray  # Kx3 CIELAB centres after adapting to the picture

    def pixel_counts(self) -> np.ndarray:
        counted = self.labels[self.labels != NOT_COUNTED]
        return np.bincount(counted, minlength=len(self.codes))

    def proportions(self) -> dict[str, float]:
        """Visible share of each colour in percent, rounded to 0.1, summing to exactly 100."""
        counts = self.pixel_counts()
        if counts.sum() == 0:
            raise TileNotFoundError("no granule pixels found on the tile")
        return dict(zip(self.codes, round_to_total(100 * counts / counts.sum()), strict=True))


def measure_proportions(
    image: Image.Image | np.ndarray, codes: Sequence[str], palette: Palette = PALETTE
) -> dict[str, float]:
    """Visible proportions (percent, summing to 100) of the requested palette colours on the tile.

    image: PIL image or HxWx3 uint8 RGB array, any size, the tile on a plain background at any
    in-plane rotation, or a close-up of granules. A single code is 100% without looking.
    Raises ValueError for empty, repeated or unknown codes, TileNotFoundError for a blank picture.
    """
    codes = _validated_codes(codes, palette)
    if len(codes) == 1:
        return {codes[0]: 100.0}
    return segment_colours(image, codes, palette).proportions()


def segment_colours(
    image: Image.Image | np.ndarray, codes: Sequence[str], palette: Palette = PALETTE
) -> ColourSegmentation:
    """Label every tile pixel with one of the requested colours, or NOT_COUNTED."""
    codes = _validated_codes(codes, palette)
    rgb, mask = tile_crop(as_rgb_array(image))
    shade_space = _shade_space(rgb)
    palette_centres = _shade_space(np.array([[palette[code].rgb for code in codes]], dtype=np.uint8))[0]
    centre = _central_half(mask)
    centres = _adapted_to_picture(shade_space[centre], mask[centre], palette_centres)
    palette_lab = palette_centres - SHADE_SHIFT
    hued, floor = is_hued_mix(palette_lab), shadow_floor(palette_lab)
    label_map = np.full(mask.shape, NOT_COUNTED, dtype=np.int8)
    label_map[mask] = _granule_labels(
        shade_space[mask], centres, mask, window=(SHADOW_SHADE, np.inf), restore_thin=True, hued_floor=floor
    )
    if hued:
        label_map = _border_blends_by_share(label_map, rgb, centres)
    label_map = _lightness_pairs_by_granule(label_map, rgb, shade_space, centres, palette_centres, floor)
    label_map = _without_bodiless_patches(label_map, centres)
    return ColourSegmentation(codes=codes, labels=label_map, centres_lab=centres - SHADE_SHIFT)


def tile_crop(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tile's bounding box, resampled so the tile is 640-1024 px across, and its mask."""
    mask = tile_mask(rgb)
    ys, xs = np.nonzero(mask)
    box = np.s_[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    side = np.sqrt(mask.sum())  # the tile's side even when rotated
    # Small tiles are enlarged to ANALYSIS_SIDE_PX; larger ones are analysed as they are (up to
    # MAX_ANALYSIS_SIDE_PX), because shrinking blends neighbouring granules into mixed colours.
    # Enlarging repeats pixels (nearest): interpolating would invent blends of two granules' colours
    # along every border, which the blend rule then drops unevenly (a locked 60% RED read 59.4).
    scale = float(np.clip(side, ANALYSIS_SIDE_PX, MAX_ANALYSIS_SIDE_PX)) / side
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    crop = cv2.resize(rgb[box], None, fx=scale, fy=scale, interpolation=interpolation)
    crop_mask = cv2.resize(mask[box].astype(np.uint8), crop.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    return crop, crop_mask.astype(bool)


def granule_colour(image: Image.Image | np.ndarray) -> tuple[int, int, int]:
    """sRGB a person would call the colour of a single-colour tile's granules.

    The median CIELAB colour of the tile pixels whose lightness lies between the LIT_PERCENTILES:
    the darker third is gaps and shaded facets, the brightest few percent specular highlights.
    """
    rgb = as_rgb_array(image)
    lab = lab_image(rgb)[tile_mask(rgb)]
    low, high = np.percentile(lab[:, 0], LIT_PERCENTILES)
    lit = lab[(lab[:, 0] >= low) & (lab[:, 0] <= high)]
    return lab_to_rgb(np.median(lit, axis=0))


def round_to_total(percentages: np.ndarray, total: float = 100.0, step: float = 0.1) -> list[float]:
    """Round to `step` so that the rounded values still add up to `total` (largest remainder)."""
    units = np.asarray(percentages, dtype=np.float64) / step
    rounded = np.floor(units)
    missing = round(total / step - rounded.sum())
    rounded[np.argsort(rounded - units)[:missing]] += 1
    return [round(float(value) * step, 1) for value in rounded]


def _validated_codes(codes: Sequence[str], palette: Palette) -> tuple[str, ...]:
    codes = tuple(codes)
    if not codes:
        raise ValueError("at least one colour code is needed")
    if len(set(codes)) != len(codes):
        raise ValueError(f"colour codes repeat: {', '.join(codes)}")
    unknown = [code for code in codes if code not in palette.codes]
    if unknown:
        raise ValueError(f"unknown colour codes: {', '.join(unknown)}")
    return codes


def _shade_space(rgb: np.ndarray) -> np.ndarray:
    """(L+16, a, b): coordinates that scale linearly when a colour is shaded."""
    return lab_image(rgb) + SHADE_SHIFT


def _central_half(mask: np.ndarray) -> tuple[slice, slice]:
    """The middle half (in each direction) of the tile's box: inside the tile at any rotation."""
    height, width = mask.shape
    return np.s_[height // 4 : height - height // 4, width // 4 : width - width // 4]


def _adapted_to_picture(shade_space: np.ndarray, mask: np.ndarray, palette_centres: np.ndarray) -> np.ndarray:
    """Centres re-estimated ADAPT_ITERATIONS times from the colours' well-lit granule interiors."""
    pixels = shade_space[mask]
    centres = palette_centres.copy()
    for _ in range(ADAPT_ITERATIONS):
        labels = _granule_labels(pixels, centres, mask, window=ADAPT_WINDOW)
        centres = _adapted_centres(pixels, labels, centres, palette_centres)
    return centres


def _assign(pixels: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cheapest colour of each pixel, the pixel's shade relative to that colour and its cost."""
    dots = pixels @ centres.T
    centre_norms2 = (centres**2).sum(axis=1)
    shade = np.clip(dots / centre_norms2, *SHADE_RANGE)
    # |pixel - shade * centre|^2 = |pixel|^2 - shade * (2 * dots - shade * |centre|^2)
    distance2 = np.einsum("ij,ij->i", pixels, pixels)[:, None] - shade * (2 * dots - shade * centre_norms2)
    cost = shade_cost(distance2, shade)
    labels = shadows_to_their_colour(distance2, shade, cheapest(cost))
    chosen = labels[:, None]
    chosen_shade = np.take_along_axis(shade, chosen, axis=1)[:, 0]
    return labels, chosen_shade, np.take_along_axis(cost, chosen, axis=1)[:, 0]


def _granule_labels(
    pixels: np.ndarray,
    centres: np.ndarray,
    mask: np.ndarray,
    window: tuple[float, float],
    restore_thin: bool = False,
    hued_floor: float | None = None,
) -> np.ndarray:
    """Colour index of each tile pixel (pixels in mask order), or NOT_COUNTED.

    Pixels whose shade lies outside window are dropped first (shadows, and for adapting the
    centres also shaded facets and highlights). Of the rest, only those inside a 3x3 square of
    their colour are kept: gaps between granules, and the dark rims where a granule meets a gap,
    are thin, so a morphological opening of each colour's mask removes them. With restore_thin,
    thin pixels that are neither a blend nor a shade of their neighbours are kept as well
    (_true_thin_pixels). With hued_floor below window[0], a darker pixel down to hued_floor counts
    too where it keeps its colour's hue (_keeps_its_hue).
    """
    labels, shade, cost = _assign(pixels, centres)
    counted = (shade >= window[0]) & (shade <= window[1])
    if hued_floor is not None and hued_floor < window[0]:
        deeper = (shade >= hued_floor) & (shade < window[0])
        counted |= deeper & _keeps_its_hue(pixels, centres[labels], shade)
    labels = np.where(counted, labels, NOT_COUNTED)
    label_map = np.full(mask.shape, NOT_COUNTED, dtype=np.int8)
    label_map[mask] = labels
    interior = np.zeros(mask.shape, dtype=bool)
    for index in range(len(centres)):
        blob = (label_map == index).astype(np.uint8)
        interior |= cv2.morphologyEx(blob, cv2.MORPH_OPEN, INTERIOR_KERNEL).astype(bool)
    if restore_thin:
        ys, xs = np.nonzero((label_map != NOT_COUNTED) & ~interior)
        image = np.zeros((*mask.shape, 3), dtype=np.float32)
        image[mask] = pixels
        cost_map = np.zeros(mask.shape, dtype=np.float32)
        cost_map[mask] = cost * SHADE_SIGMA**2  # in squared Lab units, as the cone distances
        keep = _true_thin_pixels(image[ys, xs], cost_map[ys, xs], label_map, interior, ys, xs, centres)
        interior[ys[keep], xs[keep]] = True
    return np.where(interior[mask], labels, NOT_COUNTED)


def _keeps_its_hue(pixels: np.ndarray, own_centres: np.ndarray, shade: np.ndarray) -> np.ndarray:
    """Pixels lying nearer their colour's ray than the grey axis: a shaded facet, not a grey gap."""
    off_ray = np.linalg.norm(pixels - shade[:, None] * own_centres, axis=1)
    return off_ray < np.hypot(pixels[:, 1], pixels[:, 2])


def _true_thin_pixels(
    pixels: np.ndarray,
    own_cost: np.ndarray,
    label_map: np.ndarray,
    interior: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    centres: np.ndarray,
) -> np.ndarray:
    """Which thin pixels (at ys, xs, colours pixels, own_cost under their own colour) are real
    granule corners and slivers.

    Rules (a) and (b) of the module docstring; interior is the opening's result.
    """
    count = len(centres)
    padded = np.pad(label_map, 1, constant_values=NOT_COUNTED)
    padded_interior = np.pad(interior, 1)
    neighbours = np.zeros((len(ys), count), dtype=bool)
    own = label_map[ys, xs]
    gap_next = np.zeros(len(ys), dtype=bool)
    own_interior_next = np.zeros(len(ys), dtype=np.int8)
    for dy, dx in ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)):
        around = padded[ys + 1 + dy, xs + 1 + dx]
        neighbours |= around[:, None] == np.arange(count)
        gap_next |= around == NOT_COUNTED
        own_interior_next += (around == own) & padded_interior[ys + 1 + dy, xs + 1 + dx]
    neighbours[np.arange(len(ys)), own] = False
    keep = neighbours.any(axis=1)
    corner = keep & (own_interior_next >= CORNER_SUPPORT) & ~gap_next
    for first in range(count):
        for second in range(first, count):
            both = np.flatnonzero(neighbours[:, first] & neighbours[:, second])
            generators = centres[[first]] if first == second else centres[[first, second]]
            cone = np.broadcast_to(generators, (len(both), *generators.shape))
            blend = both[_cone_distance(pixels[both], cone) ** 2 <= own_cost[both]]
            keep[blend] = False
            if first != second:
                corner[blend] = False
    return keep | corner


def _border_blends_by_share(label_map: np.ndarray, rgb: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Counted pixels that are a blend of two colours found within BLEND_RADIUS_PX (a non-negative sum
    of their sRGB colours fitting BLEND_FIT_MARGIN better than the pixel's own colour's ray) take the
    colour with the larger part of the blend; of several such pairs, the one that fits best decides.
    The blend may be labelled a third colour (BLUE beside YELLOW reads DKGREEN). centres: shade space."""
    colours = np.clip(cv2.cvtColor((centres - SHADE_SHIFT)[None], cv2.COLOR_Lab2RGB)[0], 0, 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * BLEND_RADIUS_PX + 1,) * 2)
    near = np.stack(
        [cv2.dilate((label_map == k).astype(np.uint8), kernel).astype(bool) for k in range(len(centres))], -1
    )
    decided = label_map.copy()
    for own in range(len(centres)):
        others = np.delete(np.arange(len(centres)), own)
        ys, xs = np.nonzero((label_map == own) & near[..., others].any(axis=-1))
        if not len(ys):
            continue
        pixels = rgb[ys, xs].astype(np.float32) / 255
        own_error = _cone_distance(pixels, np.broadcast_to(colours[own], (len(pixels), 1, 3)))
        best_gain = np.full(len(ys), BLEND_FIT_MARGIN, np.float32)
        for first, second in itertools.combinations(range(len(centres)), 2):
            pair = colours[[first, second]].T  # 3x2
            parts = pixels @ np.linalg.pinv(pair).T.astype(np.float32)  # least squares, N x 2
            gain = own_error - np.linalg.norm(pixels - parts @ pair.T, axis=1)
            better = near[ys, xs, first] & near[ys, xs, second] & (parts > 0).all(axis=1) & (gain > best_gain)
            decided[ys[better], xs[better]] = np.where(parts[better, 1] > parts[better, 0], second, first)
            best_gain[better] = gain[better]
    return decided


def _lightness_pairs_by_granule(
    label_map: np.ndarray,
    rgb: np.ndarray,
    shade_space: np.ndarray,
    centres: np.ndarray,
    palette_centres: np.ndarray,
    floor: float = SHADOW_SHADE,
) -> np.ndarray:
    """Colours of a lightness pair (plitka.colour.rays) decided per granule, not per pixel.

    A shaded facet of a PEARL granule is, pixel for pixel, LTGRAY. So (1) the lit pixels of a pair's
    colours in one granule region (plitka.colour.regions) take the colour whose lightness (centres,
    as adapted) lies nearest, in log(L*+16), to the granule's level, the mean over those pixels;
    (2) a pixel of the pair lying in a crevice (plitka.colour.regions.crevices) takes
    the colour of the nearest lit pixel of the pair, so a rim between a light and a dark granule is
    shared between them down the middle. The pairs are those of the palette colours. (3) Where a
    pixel's hue decides, the region does not (_decided_by_hue).
    """
    pairs = lightness_pairs(palette_centres - SHADE_SHIFT)
    if not pairs.any():
        return label_map
    lightness = shade_space[..., 0]
    rim = crevices(shade_space, max(lightness.shape) / REFERENCE_SIDE)  # L*+16: the same depth below the mean
    regions = segment_granules(rgb).labels
    label_map = label_map.copy()
    log_level = np.log(np.maximum(lightness, 1e-3))
    for group in _pair_groups(pairs):
        in_group = np.isin(label_map, group)
        lit = in_group & ~rim
        if not lit.any():
            continue
        ids, values = regions[lit], log_level[lit]
        count = int(regions.max()) + 1
        level = np.bincount(ids, weights=values, minlength=count) / np.maximum(
            np.bincount(ids, minlength=count), 1
        )
        nearest = np.abs(level[:, None] - np.log(centres[group, 0])[None, :]).argmin(axis=1)
        label_map[lit] = np.asarray(group, dtype=np.int8)[nearest[ids]]
        _, closest = cv2.distanceTransformWithLabels(
            (~lit).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
        )
        lit_labels = np.zeros(closest.max() + 1, dtype=np.int8)
        lit_labels[closest[lit]] = label_map[lit]
        fix = in_group & rim
        label_map[fix] = lit_labels[closest[fix]]
    return _decided_by_hue(label_map, shade_space, palette_centres, centres, pairs, floor)


def _decided_by_hue(
    label_map: np.ndarray,
    shade_space: np.ndarray,
    palette_centres: np.ndarray,
    centres: np.ndarray,
    pairs: np.ndarray,
    floor: float = SHADOW_SHADE,
) -> np.ndarray:
    """Pixels of a pair whose hue tells its colours apart take the colour whose ray lies nearest, by
    PAIR_HUE_MARGIN Lab units at least, whatever their granule region reads; one in that colour's
    shadow is not counted. Some pairs differ in hue as well as lightness (DKGREEN/LTGREEN): a shaded
    LTGREEN facet lies on LTGREEN's ray, 11 units from DKGREEN's, and is LTGREEN (a locked
    DKGREEN/LTGREEN seed output read 1.7 points off). Grey pairs never pass the margin: their rays lie
    closer together than it. The palette's rays and the rays as adapted to the picture must agree: the
    palette's alone misread a picture under a colour cast, the adapted ones alone a pair whose centres
    pull each other (a BLUE/DKBLUE render read 11 points off). pairs: KxK; centres in shade space."""
    in_pair = np.isin(label_map, np.flatnonzero(pairs.any(axis=1)))
    if not in_pair.any():
        return label_map
    pixels = shade_space[in_pair].astype(np.float64)
    given = label_map[in_pair]
    candidates = pairs[given] | (np.arange(len(pairs)) == given[:, None])
    nearest, decided, shade = _nearest_ray(pixels, palette_centres, candidates)
    adapted_nearest, adapted_decided, adapted_shade = _nearest_ray(pixels, centres, candidates)
    decided &= adapted_decided & (adapted_nearest == nearest)
    counted = np.minimum(shade, adapted_shade) >= floor
    label_map = label_map.copy()
    label_map[in_pair] = np.where(decided, np.where(counted, nearest, NOT_COUNTED), given)
    return label_map


def _nearest_ray(
    pixels: np.ndarray, centres: np.ndarray, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel (N x 3, shade space), the candidate colour (N x K bool) whose ray lies nearest,
    whether the runner-up lies PAIR_HUE_MARGIN farther, and the pixel's shade along the nearest."""
    rays = centres.astype(np.float64)
    distance = np.stack(
        [_cone_distance(pixels, np.broadcast_to(ray, (len(pixels), 1, 3))) for ray in rays], axis=1
    )
    distance = np.where(candidates, distance, np.inf)
    nearest = distance.argmin(axis=1)
    ranked = np.sort(distance, axis=1)
    shade = np.einsum("ij,ij->i", pixels, rays[nearest]) / (rays[nearest] ** 2).sum(axis=1)
    return nearest, ranked[:, 1] - ranked[:, 0] >= PAIR_HUE_MARGIN, shade


def _without_bodiless_patches(label_map: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Patches (8-connected) of a colour as dark as another colour's shadow (its centre below
    SHADOW_SHADE of the lightest centre) that are nowhere wider than 2 * MIN_BODY_RADIUS_PX are not
    counted: a crumb has a body, a dark pocket of a crevice among light crumbs, thin and concave, has
    none, yet reads as BLACK by colour (15% BLACK rendered among WHITE read 16.4)."""
    radius = MIN_BODY_RADIUS_PX * max(label_map.shape) / 1024
    label_map = label_map.copy()
    as_dark_as_a_shadow = centres[:, 0] < SHADOW_SHADE * centres[:, 0].max()
    for index in np.flatnonzero(as_dark_as_a_shadow):
        patch = (label_map == index).astype(np.uint8)
        patches, ids = cv2.connectedComponents(patch, connectivity=8)
        depth = cv2.distanceTransform(np.pad(patch, 1), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
        bodiless = np.ones(patches, dtype=bool)
        bodiless[ids[depth > radius]] = False  # a patch with one pixel deeper than the radius has a body
        bodiless[0] = False  # the other pixels
        label_map[bodiless[ids]] = NOT_COUNTED
    return label_map


def _pair_groups(pairs: np.ndarray) -> list[list[int]]:
    """Connected groups (two or more colours) of the pair graph."""
    groups: list[list[int]] = []
    seen: set[int] = set()
    for start in range(len(pairs)):
        if start in seen or not pairs[start].any():
            continue
        group, frontier = {start}, [start]
        while frontier:
            node = frontier.pop()
            for other in np.flatnonzero(pairs[node]).tolist():
                if other not in group:
                    group.add(other)
                    frontier.append(other)
        seen |= group
        groups.append(sorted(group))
    return groups


def _cone_distance(pixels: np.ndarray, generators: np.ndarray) -> np.ndarray:
    """Distance of each pixel (N x 3) to the cone of non-negative sums of generators (N x G x 3, G <= 2)."""
    distance = np.full(len(pixels), np.inf, dtype=np.float32)
    for index in range(generators.shape[1]):
        ray = generators[:, index]
        scale = np.maximum(np.einsum("ij,ij->i", pixels, ray) / np.einsum("ij,ij->i", ray, ray), 0)
        distance = np.minimum(distance, np.linalg.norm(pixels - scale[:, None] * ray, axis=1))
    if generators.shape[1] == 2:
        # Least squares on the plane of the two generators, by Cramer's rule; a degenerate (flat)
        # cone is its two rays, already measured.
        gram = np.einsum("nia,nja->nij", generators, generators).astype(np.float64)
        right = np.einsum("nia,na->ni", generators, pixels).astype(np.float64)
        det = gram[:, 0, 0] * gram[:, 1, 1] - gram[:, 0, 1] ** 2
        flat = det <= 1e-9 * gram[:, 0, 0] * gram[:, 1, 1]
        det = np.where(flat, 1.0, det)
        first = (gram[:, 1, 1] * right[:, 0] - gram[:, 0, 1] * right[:, 1]) / det
        second = (gram[:, 0, 0] * right[:, 1] - gram[:, 0, 1] * right[:, 0]) / det
        coefficients = np.stack([first, second], axis=1).astype(np.float32)
        inside = (coefficients >= 0).all(axis=1) & ~flat
        plane = np.linalg.norm(pixels - np.einsum("ni,nia->na", coefficients, generators), axis=1)
        distance = np.where(inside, np.minimum(distance, plane), distance)
    return distance


def _adapted_centres(
    pixels: np.ndarray, labels: np.ndarray, centres: np.ndarray, palette_centres: np.ndarray
) -> np.ndarray:
    """Mean of each colour's pixels, kept within MAX_CENTRE_SHIFT of its palette colour.

    Pixels labelled NOT_COUNTED are left out. A colour with fewer than ADAPT_MIN_PIXELS pixels keeps
    its current centre.
    """
    count = len(centres)
    labels = np.where(labels == NOT_COUNTED, count, labels)
    sizes = np.bincount(labels, minlength=count + 1)[:count]
    sums = [np.bincount(labels, weights=pixels[:, axis], minlength=count + 1)[:count] for axis in range(3)]
    means = np.stack(sums, axis=1) / np.maximum(sizes, 1)[:, None]
    adapted = centres.copy()
    for index in np.flatnonzero(sizes >= ADAPT_MIN_PIXELS):
        shift = means[index] - palette_centres[index]
        shift *= min(1.0, MAX_CENTRE_SHIFT / max(float(np.linalg.norm(shift)), 1e-6))
        adapted[index] = palette_centres[index] + shift
    return adapted
