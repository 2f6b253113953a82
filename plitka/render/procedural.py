"""Procedural engine: a photo-like top view of the tile, computed from its granule layout.

The layout's granule ids are projected (rotated, scaled) into the picture first, so every later step
works on hard-edged picture pixels and no resampling blends two colours; along the tile edge some
crumbs are left out, for a ragged edge. The look imitates the reference photos, soft frontal and
ambient light over a heap of chips:

* facets: each crumb is cut by a random net of facets, each tilted at random; under frontal light a
  facet's brightness depends only on how far it is tilted, so no direction is lit more than another,
  and the few facing the camera carry a highlight;
* depth: crumbs lower in the heap (the layout's stacking order) are darker, and every crumb darkens
  towards its outline over a width that wanders along it: ambient occlusion in the crevices. Where
  it is deep, a pixel is a dark gap. That depends on geometry only, never on a pixel's colour, so
  every colour loses the same share of its area to gaps;
* rubber: fine grain, specks and colour noise inside each crumb;
* softness: the shading is computed from distances, not from the staircase outline, and blurred;
  the finished shades are blurred once more, each colour's own shades and the gaps' apart, as a
  camera softens fine detail, so grain becomes smooth ramps and no colour is blended.

The shade picks an entry of a per-colour table with two bands: the colour's own shades, limited so
that each stays nearer to its own colour than to any other colour of the mix, a gap or the
background, and below them dark shades of the colour that are nearest to the gap colour. A pixel
jumps from one band to the other, never through the shades between, which would read as another
colour; so the measured proportions stay equal to the requested ones. Colours are never blended:
each pixel takes on some of the lightness of the colours and gaps around it, within its own band.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from plitka.layout import CRUMB_RADIUS, GranuleLayout, interior_pixels
from plitka.palette import PALETTE, Palette

LOOKS_STREAM = 0x7173  # seeds the crumbs' looks apart from the layout's own random stream
BACKGROUND = -2  # projected id outside the tile
TILE_FILL = 0.86  # the tile's extent over the picture side, as in the reference photos

# Shades: 0 = the crumb's own colour, -1 black, +1 white; lengths in crumb radii unless named px.
EXPOSURE = 0.35  # overall lift: the renders' median lightness on the photos' (docs/realism.md, "Tone")
BRIGHTNESS_SPREAD = 0.12  # sigma of a crumb's overall shade offset
FACET_SPACING = 1.3  # grid step of the facet net
FACET_TILT = 0.55  # radians: sigma of a facet's tilt (Rayleigh)
FACET_GAIN = 1.1  # shade per unit of cosine lost to the tilt
HIGHLIGHT_TILT = 0.12  # radians: facets tilted less than this face the camera...
HIGHLIGHT = 0.35  # ...and brighten this much
DEPTH_SHADE = 0.08  # darkening of the lowest crumb of the heap against the highest
RIM_SHADE = 0.4  # darkening right at a crumb's outline (occlusion in the crevice)
RIM_WIDTH = 0.07  # over which the rim darkening fades
RIM_VARIATION = 0.7  # sigma of the crevices' relative width along their length
LOWER_RIM = 0.8  # extra rim darkening of the lowest crumbs over the highest
COARSE_NOISE = 0.4  # the scale of that variation
POCKETS = 0.3  # log-normal sigma of the crevices' depth along them: dark pockets, not even lines
GRAIN = 0.15  # sigma of the rubber's fine grain, added after the soft focus
GRAIN_SIGMA = 1.0  # pixels of a 1024 tile: its scale, coarse enough to survive a resize to the photos
GLINT = 0.12  # brightening of that band where it is strongest
GLINT_DEPTH = 1.6  # pixels of a 1024 tile from the outline
RAMP = 0.1  # sigma of smooth shading within a facet
RAMP_SCALE = 0.5  # its scale
SPECK_SHARE = 0.004  # pixels that are a speck
SPECK_SHADE = 0.35  # sigma of a speck's shade
GAP_OCCLUSION = 0.8  # pixels darkened this much by occlusion are gaps
SOFTNESS = 0.7  # blur of the shading (not of the colours), in pixels of a 1024 tile
BLEED = 0.8  # how much of the surrounding colours' lightness a pixel takes on
BLEED_SIGMA = 1.0  # pixels of a 1024 tile
GAP_LIGHTNESS = 0.2  # a gap's lightness over its crumb's colour's, as far as bleeding goes
MIN_BLUR = 0.3  # pixels; a smaller blur changes nothing visible
CAMERA_SOFTNESS = 1.0  # blur of the finished shades within each colour, in pixels of a 1024 tile
GAP_SHADE = -0.5  # darker shades jump to a dark gap colour
LOOK_ALIKE_CHROMA = 20.0  # Lab units of (a, b) apart: two colours then differ mainly in lightness
OWN_DARKEST = -0.2  # a crumb's own shading goes no darker: past that a pixel reads as shadow, not colour
GAP_DARKEST = -0.88  # the deepest gaps' shade (deep, not pitch black); the lightest: the colour's limit
BRIGHT_ROOM = 0.06  # shade a colour should be able to brighten by
DARK_CURVE = 1.0  # how soon the dark side levels off towards the colour's darkest shade
HIGHLIGHT_PALENESS = 1.3  # how far a highlight turns towards white, per shade squared
LIT_GAIN = 0.05  # brightening per unit of shade, before the highlight's paleness
SHADOW_SATURATION = 1.0  # extra saturation per unit of darkening

TINTS = (
    8  # a power of two; colour variants per palette colour; pixels pick one by a noise field: colour noise
)
TINT_SPREAD = 0.035  # per-channel sigma of a variant's colour factor
TINT_GRAIN = 0.8  # pixels of a 1024 tile: the scale of the colour noise
SHADE_LEVELS = 256
LEVEL_SHADES = np.arange(SHADE_LEVELS) / (SHADE_LEVELS / 2) - 1  # the shade each level stands for
OFF_TILE = 255  # the group of background pixels in _soft_within_colours
GAP_LEVEL = int((GAP_SHADE + 1) * SHADE_LEVELS / 2)  # the lowest level of a colour's own shades
GAP_RGB = np.array([24, 22, 20])
GAP_CLASS_RGB = (12, 11, 10)  # what "dark gap" means when keeping colours apart
COLOR_MARGIN = 0.85  # use this part of the shade range that keeps a colour nearest to itself
HASH_SIZE = 1 << 16  # facet looks are drawn per (crumb, facet) pair through a hash table this long

BACKGROUND_RGB = 255.0
DROP_SHADOW = 0.03  # darkening right under the tile edge: faint as in the photos, and never WHITE
SHADOW_OFFSET = (0.005, 0.007)  # x, y, as fractions of the picture side: the camera a little off the lamp
SHADOW_SIGMA = 0.012
EDGE_BAND = 0.015  # ragged edge: crumbs wholly this close to the tile edge (fraction of its side)...
EDGE_DROP = 0.8  # ...are left out this often, so that the crumbs reaching further in stick out
EDGE_NICK = 0.006  # and crumbs reaching further in lose their part this close to the edge...
NICK_DROP = 0.5  # ...this often


def render_tile(
    layout: GranuleLayout, angle: int = 0, size: int | None = None, palette: Palette = PALETTE
) -> Image.Image:
    """RGB top view of the tile, laid at `angle` degrees (any; the request offers a few) on a light
    background, size x size pixels."""
    size = size or layout.size
    rng = np.random.default_rng([layout.seed, LOOKS_STREAM])
    granules = _projected_granules(layout, angle, size, rng)
    tile_px = _tile_side(angle, size)
    shade, occlusion = _shade(granules, layout, tile_px, rng)
    tables, rows, tints = _color_tables(layout, palette, rng)
    pixel_rows = rows[granules] + ((tints[granules] + _tint_noise(granules, size, tile_px)) & (TINTS - 1))
    lightness = tables[:, SHADE_LEVELS // 2].astype(np.float32).mean(axis=1) + 1  # + 1: never 0
    levels = _levels(shade, occlusion, lightness[pixel_rows], tile_px)
    levels = _soft_within_colours(levels, pixel_rows // TINTS, granules, tile_px)
    pixels = np.take(_as_rgbx(tables).ravel(), pixel_rows * SHADE_LEVELS + levels)
    pixels = np.where(granules == BACKGROUND, _background(angle, size), pixels)
    return Image.frombuffer("RGBX", (size, size), pixels, "raw", "RGBX", 0, 1).convert("RGB")


def picture_granules(layout: GranuleLayout, angle: int = 0, size: int | None = None) -> np.ndarray:
    """The granule id of each pixel of render_tile's picture (BACKGROUND around the tile)."""
    rng = np.random.default_rng([layout.seed, LOOKS_STREAM])  # a fresh stream, as render_tile starts one
    return _projected_granules(layout, angle, size or layout.size, rng)


def _projected_granules(layout: GranuleLayout, angle: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """The granule ids with the ragged edge (drawn from `rng` first), as seen in the picture."""
    return _project(_with_ragged_edge(layout, rng), angle, size)


def _tile_side(angle: int, size: int) -> float:
    """Side of the tile in the picture, so that the rotated square spans TILE_FILL of it."""
    turn = np.radians(angle)
    return float(size * TILE_FILL / (abs(np.cos(turn)) + abs(np.sin(turn))))


def _with_ragged_edge(layout: GranuleLayout, rng: np.random.Generator) -> np.ndarray:
    """Granule ids with crumbs along the tile edge left out, as crumbs break off a real edge: some of the
    crumbs lying wholly in the outer EDGE_BAND, and the outer EDGE_NICK of a few reaching further in."""
    granules = layout.granules.copy()
    size, count = layout.size, len(layout.granule_color)
    band, nick = (max(1, round(fraction * size)) for fraction in (EDGE_BAND, EDGE_NICK))
    reaches_in = layout.granule_areas > _areas_in_frame(granules, band, count)
    chance = rng.random(count)
    whole = ~reaches_in & (chance < EDGE_DROP)
    nicked = reaches_in & (chance < NICK_DROP)
    for width, dropped in ((band, whole), (nick, nicked)):
        dropped = np.append(dropped, [False, False])  # ids -2, -1 pick these
        for strip in _edge_strips(granules, width):
            strip[dropped[strip]] = BACKGROUND
    return granules


def _areas_in_frame(granules: np.ndarray, width: int, count: int) -> np.ndarray:
    """Pixels per granule within `width` of the edge (the frame is a few percent of the tile: counting
    it is far quicker than counting the inside, and the layout knows the whole areas)."""
    frame = np.concatenate([strip.ravel() for strip in _edge_strips(granules, width)])
    return np.bincount(frame[frame >= 0], minlength=count)


def _edge_strips(granules: np.ndarray, width: int) -> tuple[np.ndarray, ...]:
    """Views of the four strips within `width` of the edge, not overlapping (the corners lie in the top
    and bottom ones), so that counting them counts each pixel once."""
    middle = granules[width:-width]
    return granules[:width], granules[-width:], middle[:, :width], middle[:, -width:]


def _project(granules: np.ndarray, angle: int, size: int) -> np.ndarray:
    """Granule ids as seen in the picture: the tile rotated by `angle`, centred, BACKGROUND around it."""
    source = granules.shape[0]
    scale = _tile_side(angle, size) / source
    matrix = cv2.getRotationMatrix2D((source / 2, source / 2), angle, scale)
    matrix[:, 2] += (size - source) / 2
    return cv2.warpAffine(granules, matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=BACKGROUND)


def _shade(
    granules: np.ndarray, layout: GranuleLayout, tile_px: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel shade (0 = the crumb's own colour, -1 black, +1 white) and the part of it that is
    occlusion (crevices), which alone decides where a pixel is a dark gap."""
    radius = CRUMB_RADIUS * tile_px
    count = len(layout.granule_color)
    size = granules.shape[0]
    offset = rng.normal(0, BRIGHTNESS_SPREAD, count)
    lowness = 1 - np.arange(count) / count  # stacking order: later crumbs lie higher
    facet_shades = _facet_shades(rng)
    _, coarse, specks, _ = _noise(size, tile_px)
    ramps = _ramps(size, radius)

    crumb_shade = _per_granule(EXPOSURE + offset - DEPTH_SHADE * lowness, granules)
    shade = crumb_shade + _facets(granules, facet_shades, size, radius) + RAMP * ramps + specks
    to_outline = cv2.distanceTransform(_interior(granules), cv2.DIST_L2, cv2.DIST_MASK_5)
    rim_width = RIM_WIDTH * radius * np.maximum(1 + RIM_VARIATION * coarse, 0.2)
    depth = RIM_SHADE * (1 + LOWER_RIM * _per_granule(lowness, granules)) * np.exp(POCKETS * coarse)
    occlusion = depth * np.exp(-to_outline / rim_width)
    occlusion[granules < 0] = 1.0
    # Chips catch the frontal light along their broken edges: a light band just inside the outline.
    glint_px = GLINT_DEPTH * tile_px / 1024
    shade += GLINT * np.maximum(coarse + 0.5, 0) * np.exp(-(((to_outline - glint_px) / glint_px) ** 2))
    return shade - occlusion, occlusion


@lru_cache(maxsize=4)
def _ramps(size: int, radius: float) -> np.ndarray:
    """Smooth shading over about half a crumb (unit sigma): facets are not flat, light runs over them."""
    white = np.random.default_rng(size + 2).standard_normal((size, size)).astype(np.float32)
    field = cv2.GaussianBlur(white, (0, 0), RAMP_SCALE * radius)
    field *= 1 / field.std()
    field.setflags(write=False)
    return field


def _facet_shades(rng: np.random.Generator) -> np.ndarray:
    """Shade of a facet per hash slot: frontal light, so only how far a facet is tilted counts."""
    tilt = rng.rayleigh(FACET_TILT, HASH_SIZE)
    shades = FACET_GAIN * (np.cos(np.minimum(tilt, np.pi / 2)) - np.cos(FACET_TILT))
    return (shades + HIGHLIGHT * (tilt < HIGHLIGHT_TILT)).astype(np.float32)


def _facets(granules: np.ndarray, facet_shades: np.ndarray, size: int, radius: float) -> np.ndarray:
    """Each pixel's facet shade: a facet is where one cell of the facet net crosses one crumb."""
    net = _facet_net(size, round(FACET_SPACING * radius * 16) / 16)
    slots = (granules.astype(np.uint32) * np.uint32(2654435761) + net * np.uint32(40503)) % HASH_SIZE
    return facet_shades[slots]


@lru_cache(maxsize=8)
def _facet_net(size: int, spacing: float) -> np.ndarray:
    """Voronoi cells of a jittered grid (uint32 ids), the same for every tile of this size."""
    rng = np.random.default_rng(size)
    steps = np.arange(0, size, max(spacing, 1.0))
    grid = np.stack(np.meshgrid(steps, steps), -1).reshape(-1, 2) + rng.uniform(
        0, spacing, (len(steps) ** 2, 2)
    )
    pixels = np.clip(grid.astype(np.intp), 0, size - 1)
    seeds = np.ones((size, size), np.uint8)
    seeds[pixels[:, 1], pixels[:, 0]] = 0
    _, labels = cv2.distanceTransformWithLabels(
        seeds, cv2.DIST_L2, cv2.DIST_MASK_3, labelType=cv2.DIST_LABEL_PIXEL
    )
    net = labels.astype(np.uint32)
    net.setflags(write=False)
    return net


def _tint_noise(granules: np.ndarray, size: int, tile_px: float) -> np.ndarray:
    """Per-pixel tint offset 0..TINTS-1 (0 off the crumbs): smooth noise, so colour noise comes in
    specks of a pixel or two, as in the rubber of the photos."""
    field = _noise(size, tile_px)[3]
    return np.where(granules >= 0, field, 0)


def _levels(shade: np.ndarray, occlusion: np.ndarray, lightness: np.ndarray, tile_px: float) -> np.ndarray:
    """Shade levels 0..255 (SHADE_LEVELS // 2 = the crumb's own colour) after the soft focus of a photo.
    Pixels occluded more than GAP_OCCLUSION are gaps (levels below GAP_SHADE), all others stay in their
    colour's own range, however the shading darkens them. The shading is blurred; colours are not, as a
    blend of two colours may read as a third. Instead each pixel takes on some of the lightness of the
    colours and gaps around it, within its own colour's range: edges and gaps look soft."""
    blur = SOFTNESS * tile_px / 1024
    if blur >= MIN_BLUR:
        shade = cv2.GaussianBlur(shade, (0, 0), blur)
        occlusion = cv2.GaussianBlur(occlusion, (0, 0), blur)
    gap = occlusion > GAP_OCCLUSION
    seen = np.where(gap, GAP_LIGHTNESS * lightness, lightness)
    bleed = cv2.GaussianBlur(seen, (0, 0), max(BLEED_SIGMA * tile_px / 1024, MIN_BLUR)) / seen - 1
    darkest_gap = GAP_SHADE - 1 / (SHADE_LEVELS / 2)
    shade += GRAIN * _noise(shade.shape[0], tile_px)[0]  # after the blur: grain is sharp in the photos
    shade = np.where(gap, np.minimum(shade, darkest_gap), np.maximum(shade + BLEED * bleed, GAP_SHADE))
    levels = np.clip((shade + 1) * (SHADE_LEVELS / 2), 0, SHADE_LEVELS - 1)
    return levels.astype(np.uint8)


def _soft_within_colours(
    levels: np.ndarray, colours: np.ndarray, granules: np.ndarray, tile_px: float
) -> np.ndarray:
    """The camera's softness without blending colours: each finished level is averaged with the nearby
    pixels of its own group, a colour's own shades or the gap shades of any colour (a normalised
    convolution per group). An average of one band's levels stays in that band, so every pixel still
    reads as its own colour or as gap and the layout's counts stay exact, while grain and shading
    steps turn into the smooth ramps of a photo. Per colour, not one blur of all own shades: a crumb
    taking its neighbours' shading blurs colours that differ only in lightness (GRAY, LTGRAY) together
    for the eye and for measure_proportions."""
    sigma = CAMERA_SOFTNESS * tile_px / 1024
    if sigma < MIN_BLUR:
        return levels
    groups = (colours + 1).astype(np.uint8)
    groups[levels < GAP_LEVEL] = 0
    groups[granules == BACKGROUND] = OFF_TILE
    values = levels.astype(np.float32)
    soft = values.copy()
    for group in np.flatnonzero(np.bincount(groups.ravel(), minlength=OFF_TILE + 1)[:OFF_TILE]):
        member = groups == group
        weight = member.astype(np.float32)
        total = cv2.GaussianBlur(values * weight, (0, 0), sigma)
        np.copyto(soft, cv2.divide(total, cv2.GaussianBlur(weight, (0, 0), sigma)), where=member)
    return np.rint(soft).astype(np.uint8)


def _per_granule(values: np.ndarray, granules: np.ndarray) -> np.ndarray:
    """Spread per-granule values over the pixels (0 on gaps and background)."""
    return np.append(values, [0, 0]).astype(np.float32)[granules]  # ids -1 and -2 pick the appended zeros


def _interior(granules: np.ndarray) -> np.ndarray:
    """1 inside a crumb, 0 on gaps, background and every pixel where two crumbs meet."""
    return interior_pixels(granules, granules >= 0).view(np.uint8)


@lru_cache(maxsize=8)
def _noise(size: int, tile_px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Noise fields, the same for every tile of this size: fine grain and coarse (unit sigma; the
    latter over a crumb radius or so, for the width of the crevices), specks (shades, mostly 0) and
    the tint offsets of the colour noise."""
    rng = np.random.default_rng(size)
    white = rng.standard_normal((size, size)).astype(np.float32)
    fields = []
    for sigma in (max(0.5, GRAIN_SIGMA * tile_px / 1024), COARSE_NOISE * CRUMB_RADIUS * tile_px):
        field = cv2.GaussianBlur(white, (0, 0), sigma)
        field *= 1 / field.std()
        fields.append(field)
    speck = rng.random((size, size)) < SPECK_SHARE
    specks = np.where(speck, rng.normal(0, SPECK_SHADE, (size, size)), 0).astype(np.float32)
    specks = cv2.GaussianBlur(specks, (0, 0), max(MIN_BLUR, 0.5 * tile_px / 1024)) * 2
    tint = cv2.GaussianBlur(rng.standard_normal((size, size)).astype(np.float32), (0, 0), TINT_GRAIN)
    tint_offsets = np.clip((tint / tint.std() + 2.5) * (TINTS / 5), 0, TINTS - 1).astype(np.int32)
    for field in (*fields, specks, tint_offsets):
        field.setflags(write=False)
    return fields[0], fields[1], specks, tint_offsets


def _color_tables(
    layout: GranuleLayout, palette: Palette, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colour tables, one row of SHADE_LEVELS colours per (colour, tint) plus a gap row and a background
    row; the first row of every granule's colour (the gap and background rows last, for ids -1 and -2),
    and every granule's own tint (0 for those two)."""
    tables = _tables_of(tuple(palette[code].rgb for code in layout.codes))
    tint_of = rng.integers(0, TINTS, len(layout.granule_color))
    granule_rows = layout.granule_color.astype(np.intp) * TINTS
    gap_row, background_row = len(tables) - 2, len(tables) - 1
    # ids -2, -1 index from the end
    rows_of = np.append(granule_rows, [background_row, gap_row]).astype(np.int32)
    return tables, rows_of, np.append(tint_of, [0, 0]).astype(np.int32)


@lru_cache(maxsize=64)
def _tables_of(colors: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    """The tables of a mix's colours (the tints are the same for every seed, so a mix's tables are
    computed once: they cost more than a 512 preview's own pixels)."""
    bases = np.array(colors, dtype=float)
    tints = 1 + np.random.default_rng(LOOKS_STREAM).normal(0, TINT_SPREAD, (len(bases), TINTS, 3))
    rows = [_shade_row(base * tint, bases, own) for own, base in enumerate(bases) for tint in tints[own]]
    shades = LEVEL_SHADES[:, None]
    rows.append(GAP_RGB * (1 + 0.4 * shades))
    rows.append(np.full((SHADE_LEVELS, 3), BACKGROUND_RGB))
    tables = np.clip(np.round(np.array(rows)), 0, 255).astype(np.uint8)
    tables.setflags(write=False)
    return tables


def _shade_row(color: np.ndarray, bases: np.ndarray, own: int) -> np.ndarray:
    """SHADE_LEVELS colours from black-ward (-1) through `color` (0) to white-ward (+1), squeezed into
    the range where the colour stays nearest to bases[own] (RGB and Lab), clear of gaps and background;
    shades below GAP_SHADE jump to dark shades of the colour that are nearest to the gap colour."""
    darkest, lightest, gap_lightest = _safe_shade_range(color, bases, own)
    if _has_darker_look_alike(color, bases, own):
        darkest = max(darkest, OWN_DARKEST)
    shades = LEVEL_SHADES
    # A colour with little room to brighten (white) is shaded a little darker overall, as in the photos,
    # so that its lit side does not flatten out.
    shift = max(0.0, BRIGHT_ROOM - lightest)
    toned = shades - shift
    lit = lightest * np.tanh(np.maximum(toned, 0) / max(lightest, 1e-6))  # soft: no flat patches
    # The dark side is scaled to the colour's range, down to GAP_SHADE: the whole range stays in use.
    dark = darkest * np.tanh(DARK_CURVE * np.minimum(toned, 0) / (GAP_SHADE - shift)) / np.tanh(DARK_CURVE)
    squeezed = np.where(toned < 0, dark, lit)
    deep = shades < GAP_SHADE
    depth = (shades[deep] + 1) / (GAP_SHADE + 1)  # 0 at -1, 1 at GAP_SHADE
    floor = min(GAP_DARKEST, gap_lightest)  # dark enough, but never darker than it must be
    squeezed[deep] = floor + depth * (gap_lightest - floor)
    return _shaded(color, squeezed)


def _has_darker_look_alike(color: np.ndarray, bases: np.ndarray, own: int) -> bool:
    """Whether the mix holds a darker colour of about this chroma (BLACK for WHITE, GRAY for LTGRAY):
    then a darkened pixel of this colour would read as that one, so its shading stays shallow."""
    if len(bases) < 2:
        return False
    lab, others = _lab(color[None])[0], _lab(np.delete(bases, own, axis=0))
    darker = others[:, 0] < lab[0]
    return bool((darker & (np.linalg.norm(others[:, 1:] - lab[1:], axis=1) < LOOK_ALIKE_CHROMA)).any())


def _shaded(color: np.ndarray, shades: np.ndarray) -> np.ndarray:
    """Shade < 0 darkens towards black, richer in colour (light bounced between crumbs); > 0 brightens,
    turning pale only near the top (rubber highlights)."""
    shades = np.asarray(shades, dtype=float)[:, None]
    darker = color * (1 + shades)
    grey = darker.mean(axis=1, keepdims=True)
    darker = np.clip(grey + (darker - grey) * (1 - SHADOW_SATURATION * shades), 0, 255)
    brighter = np.minimum(color * (1 + LIT_GAIN * shades), 255)
    brighter += (255 - brighter) * HIGHLIGHT_PALENESS * shades**2
    return np.where(shades < 0, darker, brighter)


def _safe_shade_range(color: np.ndarray, bases: np.ndarray, own: int) -> tuple[float, float, float]:
    """Most negative and most positive shade that keep `color` classified as bases[own], and the
    lightest shade up to which every darker one is classified as a gap."""
    shades = np.linspace(-1, 1, 2 * SHADE_LEVELS + 1)
    candidates = np.clip(_shaded(color, shades), 0, 255)
    others = np.vstack([np.delete(bases, own, axis=0), [BACKGROUND_RGB] * 3])
    others = others[~np.all(others == bases[own], axis=1)]  # an identical colour cannot be told apart anyway
    references = np.vstack([bases[own], GAP_CLASS_RGB, others])  # own colour: class 0, gap: class 1
    nearest_rgb, nearest_lab = _nearest(candidates, references), _nearest(_lab(candidates), _lab(references))
    stays_own = (nearest_rgb == 0) & (nearest_lab == 0)
    middle = len(shades) // 2
    bad_below = np.flatnonzero(~stays_own[:middle])
    bad_above = np.flatnonzero(~stays_own[middle:])
    darkest = shades[bad_below[-1] + 1] if len(bad_below) else -1.0
    lightest = shades[middle + bad_above[0] - 1] if len(bad_above) else 1.0
    not_gap = np.flatnonzero((nearest_rgb != 1) | (nearest_lab != 1))
    gap_lightest = shades[not_gap[0] - 1] if len(not_gap) and not_gap[0] > 0 else -1.0
    return (
        COLOR_MARGIN * min(darkest, 0.0),
        COLOR_MARGIN * max(lightest, 0.0),
        -1 + COLOR_MARGIN * (gap_lightest + 1),
    )


def _nearest(colors: np.ndarray, references: np.ndarray) -> np.ndarray:
    return np.linalg.norm(colors[:, None, :] - references[None, :, :], axis=2).argmin(axis=1)


def _lab(rgb: np.ndarray) -> np.ndarray:
    pixels = (np.asarray(rgb, dtype=np.float32) / 255).reshape(-1, 1, 3)
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def _as_rgbx(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., 3) as one uint32 per colour, its bytes R, G, B, 0: numpy gathers and picks 4-byte
    items several times faster than 3-byte rows (docs/realism.md, "Speed")."""
    rgbx = np.zeros((*rgb.shape[:-1], 4), np.uint8)
    rgbx[..., :3] = rgb
    return rgbx.view(np.uint32)[..., 0]


@lru_cache(maxsize=32)
def _background(angle: int, size: int) -> np.ndarray:
    """The light background (RGBX, as _as_rgbx) with the drop shadow of a plain square tile (the ragged
    edge hardly matters)."""
    small = max(64, size // 4)  # the shadow is smooth: compute it at a quarter of the size
    square = np.ones((small, small), np.float32)
    matrix = cv2.getRotationMatrix2D((small / 2, small / 2), angle, _tile_side(angle, small) / small)
    matrix[:, 2] += np.array(SHADOW_OFFSET) * small
    shadow = cv2.warpAffine(square, matrix, (small, small), flags=cv2.INTER_LINEAR)
    shadow = cv2.GaussianBlur(shadow, (0, 0), SHADOW_SIGMA * small)
    shadow = cv2.resize(shadow, (size, size), interpolation=cv2.INTER_LINEAR)
    light = np.round(BACKGROUND_RGB * (1 - DROP_SHADOW * shadow)).astype(np.uint8)
    light = _as_rgbx(np.repeat(light[..., None], 3, axis=2))
    light.setflags(write=False)
    return light
