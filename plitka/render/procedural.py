"""Procedural engine: a photorealistic top view of the tile, computed from its granule layout.

The layout's granule ids are projected (rotated, scaled) into the picture first, so every later step
works on hard-edged picture pixels and no resampling blends two colours. Each crumb gets a height
field from its distance to its outline (bevelled sides, a flat top); its normals give a lambert +
specular shade, crumbs lying lower than their neighbours get a cast shadow, and the lower crumb's
pixels along every outline are a dark crevice. The shade picks an entry of a per-colour table; each
table is limited so that every shaded pixel stays nearer to its own colour than to any other colour
of the mix, a gap or the background, which keeps the measured proportions equal to the requested
ones. The uncovered spots of the layout are the only near-black pixels.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from plitka.layout import CRUMB_RADIUS, GranuleLayout
from plitka.palette import PALETTE, Palette

LOOKS_STREAM = 0x7173  # seeds the crumbs' looks apart from the layout's own random stream
BACKGROUND = -2  # projected id outside the tile
TILE_FILL = 0.86  # the tile's extent over the picture side, as in the reference photos

LIGHT = np.array([-0.45, -0.55, 0.70]) / np.linalg.norm([-0.45, -0.55, 0.70])  # from the upper left
VIEW = np.array([0.0, 0.0, 1.0])  # straight down
HALFWAY = (LIGHT + VIEW) / np.linalg.norm(LIGHT + VIEW)
DIFFUSE = 0.55  # shade per unit of lambert change from a flat crumb
SPECULAR = 0.2
CREVICE_SHADE = -0.55  # a crevice in the upper crumb's shadow
LIT_CREVICE_SHADE = -0.2
EXPOSURE = 0.2  # overall lift, so the typical crumb shows its own colour
CAST_SHADOW = 0.6  # shade per crumb radius a pixel lies below the surface towards the light
SHADOW_REACH = 0.4  # crumb radii towards the light where that surface is taken
RIM_SHADOW = 0.2  # darkening right at a crumb's outline (occlusion in the crevice)
RIM_WIDTH = 0.2  # crumb radii over which the rim darkening fades
DOME_TOP = 0.3  # crumb radii from the outline where a crumb's top flattens
STEEPNESS = (0.6, 1.2)  # range of a crumb's side slope
HIGHLIGHT_PALENESS = 0.3
SHADOW_SATURATION = 1.0  # extra saturation per unit of darkening
SOFTNESS = 0.6  # blur of the shading (not of the colours), in pixels of a 1024 tile
MIN_BLUR = 0.3  # pixels; a smaller blur changes nothing visible
ROUGHNESS = 0.12  # height of the fine surface texture, in pixels of a 1024 tile

TINTS = 8  # colour variants per palette colour; each crumb gets one
TINT_SPREAD = 0.006  # per-channel sigma of a variant's colour factor
BRIGHTNESS_SPREAD = 0.12  # sigma of a crumb's overall shade offset
SHADE_LEVELS = 256
GAP_RGB = np.array([16, 14, 13])
GAP_CLASS_RGB = (12, 11, 10)  # what "dark gap" means when keeping colours apart
COLOR_MARGIN = 0.85  # use this part of the shade range that keeps a colour nearest to itself

BACKGROUND_RGB = 255.0
DROP_SHADOW = 0.03  # darkening right under the tile edge: faint as in the photos, and never WHITE
SHADOW_OFFSET = (0.006, 0.010)  # x, y, as fractions of the picture side (light from the upper left)
SHADOW_SIGMA = 0.012
EDGE_BAND = 0.006  # ragged edge: crumbs this close to the tile edge (fraction of its side) may be missing
EDGE_DROP = 0.4  # part of those crumbs left out


def render_tile(
    layout: GranuleLayout, angle: int = 0, size: int | None = None, palette: Palette = PALETTE
) -> Image.Image:
    """RGB top view of the tile, laid at `angle` degrees (any; the request offers a few) on a light
    background, size x size pixels."""
    size = size or layout.size
    rng = np.random.default_rng([layout.seed, LOOKS_STREAM])
    granules = _project(_with_ragged_edge(layout, rng), angle, size)
    tile_px = _tile_side(angle, size)
    shade = _shade(granules, layout, tile_px, rng)
    tables, rows = _color_tables(layout, palette, rng)
    rgb = tables[rows[granules], shade]
    return Image.fromarray(_on_background(rgb, granules == BACKGROUND, angle, size))


def _tile_side(angle: int, size: int) -> float:
    """Side of the tile in the picture, so that the rotated square spans TILE_FILL of it."""
    turn = np.radians(angle)
    return float(size * TILE_FILL / (abs(np.cos(turn)) + abs(np.sin(turn))))


def _with_ragged_edge(layout: GranuleLayout, rng: np.random.Generator) -> np.ndarray:
    """Granule ids with some crumbs along the tile edge left out, as crumbs break off a real edge."""
    granules = layout.granules.copy()
    band = max(1, round(EDGE_BAND * layout.size))
    dropped = np.append(rng.random(len(layout.granule_color)) < EDGE_DROP, [False, False])
    for strip in (granules[:band], granules[-band:], granules[:, :band], granules[:, -band:]):
        strip[dropped[strip]] = BACKGROUND
    return granules


def _project(granules: np.ndarray, angle: int, size: int) -> np.ndarray:
    """Granule ids as seen in the picture: the tile rotated by `angle`, centred, BACKGROUND around it."""
    source = granules.shape[0]
    scale = _tile_side(angle, size) / source
    matrix = cv2.getRotationMatrix2D((source / 2, source / 2), angle, scale)
    matrix[:, 2] += (size - source) / 2
    return cv2.warpAffine(granules, matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=BACKGROUND)


def _crevices(granules: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where two crumbs meet, the pixel of the lower one: the crevice between them. Returned as the
    crevices in the shadow of the upper crumb (it lies left of or above them) and the lit ones."""
    left, right, top, bottom = granules[:, :-1], granules[:, 1:], granules[:-1], granules[1:]
    shadowed = np.zeros(granules.shape, bool)
    lit = np.zeros(granules.shape, bool)
    lit[:, :-1] |= (left < right) & (left >= 0)
    shadowed[:, 1:] |= (right < left) & (right >= 0)
    lit[:-1] |= (top < bottom) & (top >= 0)
    shadowed[1:] |= (bottom < top) & (bottom >= 0)
    return shadowed, lit & ~shadowed


def _shade(
    granules: np.ndarray, layout: GranuleLayout, tile_px: float, rng: np.random.Generator
) -> np.ndarray:
    """Per-pixel shade level 0..255 (SHADE_LEVELS // 2 = the crumb's own colour)."""
    radius = CRUMB_RADIUS * tile_px
    count = len(layout.granule_color)
    steepness = _per_granule(rng.uniform(*STEEPNESS, count), granules)
    offset = _per_granule(rng.normal(0, BRIGHTNESS_SPREAD, count), granules)
    lying = _per_granule(np.arange(count) / count, granules)  # stacking order: later crumbs lie higher

    to_outline = cv2.distanceTransform(_interior(granules), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    dome = np.minimum(to_outline, DOME_TOP * radius) * steepness + _roughness(granules.shape[0], tile_px)
    lambert, specular = _lighting(dome)
    shade = DIFFUSE * (lambert - LIGHT[2]) + SPECULAR * specular + offset + EXPOSURE
    shade -= CAST_SHADOW * _cast_shadow(dome + lying * radius, radius)
    shade -= RIM_SHADOW * np.exp(to_outline * (-1 / (RIM_WIDTH * radius)))
    # Crevices keep the lower crumb's colour, darkened: so they never count as another colour or a gap.
    shadowed, lit = _crevices(granules)
    shade[shadowed] = CREVICE_SHADE
    shade[lit] = np.minimum(shade[lit], LIT_CREVICE_SHADE)
    blur = SOFTNESS * tile_px / 1024
    if blur >= MIN_BLUR:
        shade = cv2.GaussianBlur(shade, (0, 0), blur)  # the soft focus of a photo
    levels = np.clip((shade + 1) * (SHADE_LEVELS / 2), 0, SHADE_LEVELS - 1)
    return levels.astype(np.uint8)


def _cast_shadow(height: np.ndarray, radius: float) -> np.ndarray:
    """How far (in crumb radii) the surface a little towards the light rises above each pixel."""
    toward_light = np.round(-SHADOW_REACH * radius * LIGHT[:2] / np.linalg.norm(LIGHT[:2])).astype(int)
    occluder = np.roll(cv2.GaussianBlur(height, (0, 0), 0.3 * radius), toward_light[::-1], axis=(0, 1))
    return np.maximum(occluder - height, 0) / radius


def _per_granule(values: np.ndarray, granules: np.ndarray) -> np.ndarray:
    """Spread per-granule values over the pixels (0 on gaps and background)."""
    return np.append(values, [0, 0]).astype(np.float32)[granules]  # ids -1 and -2 pick the appended zeros


def _interior(granules: np.ndarray) -> np.ndarray:
    """1 inside a crumb, 0 on gaps, background and every pixel where two crumbs meet."""
    inside = granules >= 0
    horizontal = granules[:, 1:] != granules[:, :-1]
    vertical = granules[1:] != granules[:-1]
    inside[:, 1:] &= ~horizontal
    inside[:, :-1] &= ~horizontal
    inside[1:] &= ~vertical
    inside[:-1] &= ~vertical
    return inside.view(np.uint8)


@lru_cache(maxsize=8)
def _roughness(size: int, tile_px: float) -> np.ndarray:
    """Fine bumps of the rubber surface: smoothed noise, the same for every tile of this size."""
    noise = np.random.default_rng(size).standard_normal((size, size)).astype(np.float32)
    sigma = max(0.6, tile_px / 1024)
    bumps = cv2.GaussianBlur(noise, (0, 0), sigma)
    bumps *= ROUGHNESS * (tile_px / 1024) / bumps.std()
    bumps.setflags(write=False)
    return bumps


def _lighting(height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lambert term and a Blinn highlight of a height field lit from LIGHT, seen from straight above."""
    slope_x = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    slope_y = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    inverse_norm = 1 / np.sqrt(slope_x * slope_x + slope_y * slope_y + 1)
    lambert = (LIGHT[2] - LIGHT[0] * slope_x - LIGHT[1] * slope_y) * inverse_norm
    facing = np.maximum((HALFWAY[2] - HALFWAY[0] * slope_x - HALFWAY[1] * slope_y) * inverse_norm, 0)
    for _ in range(5):  # facing ** 32 by squaring: far cheaper than np.power
        facing *= facing
    return lambert, facing


def _color_tables(
    layout: GranuleLayout, palette: Palette, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Colour tables, one row of SHADE_LEVELS colours per (colour, tint) plus a gap row and a background
    row, and the row of every granule (the gap and background rows last, for ids -1 and -2)."""
    bases = np.array([palette[code].rgb for code in layout.codes], dtype=float)
    tints = 1 + rng.normal(0, TINT_SPREAD, (len(bases), TINTS, 3))
    rows = [_shade_row(base * tint, bases, own) for own, base in enumerate(bases) for tint in tints[own]]
    shades = np.linspace(-1, 1, SHADE_LEVELS)[:, None]
    rows.append(GAP_RGB * (1 + 0.4 * shades))
    rows.append(np.full((SHADE_LEVELS, 3), BACKGROUND_RGB))
    tables = np.clip(np.round(np.array(rows)), 0, 255).astype(np.uint8)
    tint_of = rng.integers(0, TINTS, len(layout.granule_color))
    granule_rows = layout.granule_color.astype(np.intp) * TINTS + tint_of
    gap_row, background_row = len(rows) - 2, len(rows) - 1
    return tables, np.append(granule_rows, [background_row, gap_row])  # ids -2, -1 index from the end


def _shade_row(color: np.ndarray, bases: np.ndarray, own: int) -> np.ndarray:
    """SHADE_LEVELS colours from black-ward (-1) through `color` (0) to white-ward (+1), squeezed into
    the range where the colour stays nearest to bases[own] (RGB and Lab), clear of gaps and background."""
    darkest, lightest = _safe_shade_range(color, bases, own)
    shades = np.linspace(-1, 1, SHADE_LEVELS)
    limit = np.maximum(np.where(shades < 0, -darkest, lightest), 1e-6)
    squeezed = limit * np.tanh(shades / limit)  # a soft limit, so shading never flattens into patches
    return _shaded(color, squeezed)


def _shaded(color: np.ndarray, shades: np.ndarray) -> np.ndarray:
    """Shade < 0 darkens towards black, richer in colour (light bounced between crumbs); > 0 brightens,
    turning pale only near the top (rubber highlights)."""
    shades = np.asarray(shades, dtype=float)[:, None]
    darker = color * (1 + shades)
    grey = darker.mean(axis=1, keepdims=True)
    darker = np.clip(grey + (darker - grey) * (1 - SHADOW_SATURATION * shades), 0, 255)
    brighter = np.minimum(color * (1 + shades), 255)
    brighter += (255 - brighter) * HIGHLIGHT_PALENESS * shades**2
    return np.where(shades < 0, darker, brighter)


def _safe_shade_range(color: np.ndarray, bases: np.ndarray, own: int) -> tuple[float, float]:
    """Most negative and most positive shade that keep `color` classified as bases[own]."""
    shades = np.linspace(-1, 1, 2 * SHADE_LEVELS + 1)
    candidates = np.clip(_shaded(color, shades), 0, 255)
    others = np.vstack([np.delete(bases, own, axis=0), GAP_CLASS_RGB, [BACKGROUND_RGB] * 3])
    others = others[~np.all(others == bases[own], axis=1)]  # an identical colour cannot be told apart anyway
    references = np.vstack([bases[own], others])  # own colour first: class 0
    stays_own = (_nearest(candidates, references) == 0) & (_nearest(_lab(candidates), _lab(references)) == 0)
    middle = len(shades) // 2
    bad_below = np.flatnonzero(~stays_own[:middle])
    bad_above = np.flatnonzero(~stays_own[middle:])
    darkest = shades[bad_below[-1] + 1] if len(bad_below) else -1.0
    lightest = shades[middle + bad_above[0] - 1] if len(bad_above) else 1.0
    return COLOR_MARGIN * min(darkest, 0.0), COLOR_MARGIN * max(lightest, 0.0)


def _nearest(colors: np.ndarray, references: np.ndarray) -> np.ndarray:
    return np.linalg.norm(colors[:, None, :] - references[None, :, :], axis=2).argmin(axis=1)


def _lab(rgb: np.ndarray) -> np.ndarray:
    pixels = (np.asarray(rgb, dtype=np.float32) / 255).reshape(-1, 1, 3)
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def _on_background(rgb: np.ndarray, background: np.ndarray, angle: int, size: int) -> np.ndarray:
    """Put the light background with the tile's soft drop shadow under the background pixels."""
    light = _background(angle, size)
    rgb[background] = light[background][:, None]
    return rgb


@lru_cache(maxsize=32)
def _background(angle: int, size: int) -> np.ndarray:
    """Background brightness with the drop shadow of a plain square tile (the ragged edge hardly matters)."""
    small = max(64, size // 4)  # the shadow is smooth: compute it at a quarter of the size
    square = np.ones((small, small), np.float32)
    matrix = cv2.getRotationMatrix2D((small / 2, small / 2), angle, _tile_side(angle, small) / small)
    matrix[:, 2] += np.array(SHADOW_OFFSET) * small
    shadow = cv2.warpAffine(square, matrix, (small, small), flags=cv2.INTER_LINEAR)
    shadow = cv2.GaussianBlur(shadow, (0, 0), SHADOW_SIGMA * small)
    shadow = cv2.resize(shadow, (size, size), interpolation=cv2.INTER_LINEAR)
    light = np.round(BACKGROUND_RGB * (1 - DROP_SHADOW * shadow)).astype(np.uint8)
    light.setflags(write=False)
    return light
