"""The procedural renderer as it was before issue 13 (a frozen copy, for bench/procedural.py and
docs/images/realism.jpg to show side by side with today's plitka/render/procedural.py).

Procedural engine: a photorealistic top view of the tile, computed from its granule layout.

The layout's granule ids are projected (rotated, scaled) into the picture first, so every later step
works on hard-edged picture pixels and no resampling blends two colours; along the tile edge some
crumbs are left out, for a ragged edge. Each crumb gets a height field from its distance to its
outline (bevelled sides, a flat top, a random tilt, fine bumps); its normals give a lambert + specular
shade. Occlusion is computed apart from it: shadows that higher crumbs cast on lower ones (a march
towards the light), and crevices of uneven width along the outlines. Where the occlusion is deep, a
pixel is a dark gap. That depends on geometry only, never on a pixel's colour, so every colour loses
the same share of its area to gaps.

The shade picks an entry of a per-colour table with two bands: the colour's own shades, limited so
that each stays nearer to its own colour than to any other colour of the mix, a gap or the
background, and below them dark shades of the colour that are nearest to the gap colour. A pixel
jumps from one band to the other, never through the shades between, which would read as another
colour; so the measured proportions stay equal to the requested ones. The soft focus of a photo is
imitated in shade only: the shading is blurred, and each pixel takes on some of the lightness of the
colours and gaps around it, within its own band.
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

# Light from the upper left. float32: a float64 constant would turn the per-pixel maths float64.
LIGHT = (np.array([-0.45, -0.55, 0.70]) / np.linalg.norm([-0.45, -0.55, 0.70])).astype(np.float32)
VIEW = np.float32([0.0, 0.0, 1.0])  # straight down
HALFWAY = ((LIGHT + VIEW) / np.linalg.norm(LIGHT + VIEW)).astype(np.float32)
DIFFUSE = 0.72  # shade per unit of lambert change from a flat crumb
SPECULAR = 0.57  # shade of a full highlight
CREVICE_SHADE = 0.3  # darkening of the lower crumb's pixels along an outline
STACK_HEIGHT = 0.8  # crumb radii between the lowest and the highest crumb
SHADOW_SLOPE = 0.5  # a crumb's side slope as far as casting shadows goes: below the light's, 0.98
GAP_SHADE = -0.5  # darker shades jump to a dark gap colour
GAP_OCCLUSION = 0.6  # pixels darkened this much by occlusion are gaps
GAP_DARKEST = -0.95  # the shade of the deepest gaps; the lightest is the colour's own limit
BRIGHT_ROOM = 0.06  # shade a colour should be able to brighten by
DARK_CURVE = 1.0  # how soon the dark side levels off towards the colour's darkest shade
EXPOSURE = 0.22  # overall lift, so the typical crumb shows its own colour
CAST_SHADOW = 0.6  # darkening in a crumb's full cast shadow
SHADOW_REACH = 0.6  # crumb radii towards the light searched for what casts a shadow
PENUMBRA = 1.0  # pixels of height over which a cast shadow fades in
RIM_SHADOW = 0.1  # darkening right at a crumb's outline (occlusion in the crevice)
RIM_WIDTH = 0.12  # crumb radii over which the rim darkening fades
RIM_VARIATION = 0.5  # sigma of the crevices' relative width and depth along their length
COARSE_NOISE = 0.4  # crumb radii: the scale of that variation
DOME_TOP = 0.4  # crumb radii from the outline where a crumb's top flattens
STEEPNESS = (0.9, 1.6)  # range of a crumb's side slope
TILT = 0.25  # sigma of a crumb's overall slope
HIGHLIGHT_PALENESS = 1.3  # how far a highlight turns towards white, per shade squared
LIT_GAIN = 0.05  # brightening per unit of shade, before the highlight's paleness
SHADOW_SATURATION = 1.0  # extra saturation per unit of darkening
SOFTNESS = 0.6  # blur of the shading (not of the colours), in pixels of a 1024 tile
BLEED = 1.0  # how much of the surrounding colours' lightness a pixel takes on
BLEED_SIGMA = 0.8  # pixels of a 1024 tile
GAP_LIGHTNESS = 0.2  # a gap's lightness over its crumb's colour's, as far as bleeding goes
MIN_BLUR = 0.3  # pixels; a smaller blur changes nothing visible
ROUGHNESS = 0.1  # height of the fine surface texture, in pixels of a 1024 tile

TINTS = 8  # colour variants per palette colour; each crumb gets one
TINT_SPREAD = 0.006  # per-channel sigma of a variant's colour factor
BRIGHTNESS_SPREAD = 0.09  # sigma of a crumb's overall shade offset
SHADE_LEVELS = 256
LEVEL_SHADES = np.arange(SHADE_LEVELS) / (SHADE_LEVELS / 2) - 1  # the shade each level stands for
GAP_RGB = np.array([16, 14, 13])
GAP_CLASS_RGB = (12, 11, 10)  # what "dark gap" means when keeping colours apart
COLOR_MARGIN = 0.85  # use this part of the shade range that keeps a colour nearest to itself

BACKGROUND_RGB = 255.0
DROP_SHADOW = 0.03  # darkening right under the tile edge: faint as in the photos, and never WHITE
SHADOW_OFFSET = (0.006, 0.010)  # x, y, as fractions of the picture side (light from the upper left)
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
    tables, rows = _color_tables(layout, palette, rng)
    pixel_rows = rows[granules]
    lightness = tables[:, SHADE_LEVELS // 2].astype(np.float32).mean(axis=1) + 1  # + 1: never 0
    rgb = tables[pixel_rows, _levels(shade, occlusion, lightness[pixel_rows], tile_px)]
    return Image.fromarray(_on_background(rgb, granules == BACKGROUND, angle, size))


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
    inner = granules[band:-band, band:-band]
    reaches_in = np.bincount(inner.ravel() + 1, minlength=count + 1)[1:] > 0  # + 1: gaps to bin 0
    chance = rng.random(count)
    whole = ~reaches_in & (chance < EDGE_DROP)
    nicked = reaches_in & (chance < NICK_DROP)
    for width, dropped in ((band, whole), (nick, nicked)):
        dropped = np.append(dropped, [False, False])  # ids -2, -1 pick these
        for strip in (granules[:width], granules[-width:], granules[:, :width], granules[:, -width:]):
            strip[dropped[strip]] = BACKGROUND
    return granules


def _project(granules: np.ndarray, angle: int, size: int) -> np.ndarray:
    """Granule ids as seen in the picture: the tile rotated by `angle`, centred, BACKGROUND around it."""
    source = granules.shape[0]
    scale = _tile_side(angle, size) / source
    matrix = cv2.getRotationMatrix2D((source / 2, source / 2), angle, scale)
    matrix[:, 2] += (size - source) / 2
    return cv2.warpAffine(granules, matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=BACKGROUND)


def _crevices(granules: np.ndarray) -> np.ndarray:
    """Where two crumbs meet, the pixel of the lower one: the crevice between them."""
    left, right, top, bottom = granules[:, :-1], granules[:, 1:], granules[:-1], granules[1:]
    crevice = np.zeros(granules.shape, bool)
    crevice[:, :-1] |= (left < right) & (left >= 0)
    crevice[:, 1:] |= (right < left) & (right >= 0)
    crevice[:-1] |= (top < bottom) & (top >= 0)
    crevice[1:] |= (bottom < top) & (bottom >= 0)
    return crevice


def _shade(
    granules: np.ndarray, layout: GranuleLayout, tile_px: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel shade (0 = the crumb's own colour, -1 black, +1 white) and the part of it that is
    occlusion (crevices, cast shadows), which alone decides where a pixel is a dark gap."""
    radius = CRUMB_RADIUS * tile_px
    count = len(layout.granule_color)
    steepness = _per_granule(rng.uniform(*STEEPNESS, count), granules)
    offset = _per_granule(rng.normal(0, BRIGHTNESS_SPREAD, count), granules)
    tilt = rng.normal(0, TILT, (2, count))
    lying = _per_granule(np.arange(count) / count, granules)  # stacking order: later crumbs lie higher
    fine, coarse = _noise(granules.shape[0], tile_px)

    to_outline = cv2.distanceTransform(_interior(granules), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    bevel = np.minimum(to_outline, DOME_TOP * radius)
    height = bevel * steepness + ROUGHNESS * (tile_px / 1024) * fine
    lambert, specular = _lighting(height, _per_granule(tilt[0], granules), _per_granule(tilt[1], granules))
    shade = DIFFUSE * (lambert - LIGHT[2]) + SPECULAR * specular + offset + EXPOSURE
    # Shadows are cast by whole crumbs onto lower ones; a crumb's sides are too gentle to shadow itself.
    occlusion = CAST_SHADOW * _cast_shadow((bevel * SHADOW_SLOPE + lying * STACK_HEIGHT * radius), radius)
    # Occlusion in the crevices, over a width that wanders along them: gaps of uneven width.
    rim_width = RIM_WIDTH * radius * np.maximum(1 + RIM_VARIATION * coarse, 0.1)
    occlusion += RIM_SHADOW * np.exp(-to_outline / rim_width)
    crevice = _crevices(granules)
    occlusion[crevice] += CREVICE_SHADE * (1 + RIM_VARIATION * coarse[crevice])
    return shade - occlusion, occlusion


def _levels(shade: np.ndarray, occlusion: np.ndarray, lightness: np.ndarray, tile_px: float) -> np.ndarray:
    """Shade levels 0..255 (SHADE_LEVELS // 2 = the crumb's own colour) after the soft focus of a photo.
    Pixels occluded more than GAP_OCCLUSION are gaps (levels below GAP_SHADE), all others stay in their
    colour's own range, however the lighting darkens them. The shading is blurred; colours are not, as a
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
    shade = np.where(gap, np.minimum(shade, darkest_gap), np.maximum(shade + BLEED * bleed, GAP_SHADE))
    levels = np.clip((shade + 1) * (SHADE_LEVELS / 2), 0, SHADE_LEVELS - 1)
    return levels.astype(np.uint8)


def _cast_shadow(height: np.ndarray, radius: float) -> np.ndarray:
    """0..1: how much the surface towards the light, within SHADOW_REACH crumb radii, hides each pixel
    from it (a march along the light's direction, soft over PENUMBRA pixels)."""
    toward_light = LIGHT[:2] / np.linalg.norm(LIGHT[:2])
    drop_per_px = LIGHT[2] / np.linalg.norm(LIGHT[:2])  # the light ray's rise per pixel of travel
    occluder = np.full_like(height, -np.inf)
    size = height.shape[0]
    for step in range(1, max(2, round(SHADOW_REACH * radius) + 1)):
        dx, dy = np.round(step * toward_light).astype(int)
        ray = height[max(dy, 0) : size + min(dy, 0), max(dx, 0) : size + min(dx, 0)] - step * drop_per_px
        target = occluder[max(-dy, 0) : size + min(-dy, 0), max(-dx, 0) : size + min(-dx, 0)]
        np.maximum(target, ray, out=target)
    return np.clip((occluder - height) * (1 / PENUMBRA), 0, 1)


def _per_granule(values: np.ndarray, granules: np.ndarray) -> np.ndarray:
    """Spread per-granule values over the pixels (0 on gaps and background)."""
    return np.append(values, [0, 0]).astype(np.float32)[granules]  # ids -1 and -2 pick the appended zeros


def _interior(granules: np.ndarray) -> np.ndarray:
    """1 inside a crumb, 0 on gaps, background and every pixel where two crumbs meet."""
    return interior_pixels(granules, granules >= 0).view(np.uint8)


@lru_cache(maxsize=8)
def _noise(size: int, tile_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed noise of unit sigma, the same for every tile of this size: fine (the bumps of the rubber
    surface) and coarse (over about a crumb radius, for the width of the crevices)."""
    white = np.random.default_rng(size).standard_normal((size, size)).astype(np.float32)
    fields = []
    for sigma in (max(0.6, tile_px / 1024), COARSE_NOISE * CRUMB_RADIUS * tile_px):
        field = cv2.GaussianBlur(white, (0, 0), sigma)
        field *= 1 / field.std()
        field.setflags(write=False)
        fields.append(field)
    return fields[0], fields[1]


def _lighting(height: np.ndarray, tilt_x: np.ndarray, tilt_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lambert term and a Blinn highlight of a height field (each crumb tilted by the given slopes) lit
    from LIGHT, seen from straight above."""
    slope_x = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8) + tilt_x
    slope_y = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8) + tilt_y
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
    shades = LEVEL_SHADES[:, None]
    rows.append(GAP_RGB * (1 + 0.4 * shades))
    rows.append(np.full((SHADE_LEVELS, 3), BACKGROUND_RGB))
    tables = np.clip(np.round(np.array(rows)), 0, 255).astype(np.uint8)
    tint_of = rng.integers(0, TINTS, len(layout.granule_color))
    granule_rows = layout.granule_color.astype(np.intp) * TINTS + tint_of
    gap_row, background_row = len(rows) - 2, len(rows) - 1
    return tables, np.append(granule_rows, [background_row, gap_row])  # ids -2, -1 index from the end


def _shade_row(color: np.ndarray, bases: np.ndarray, own: int) -> np.ndarray:
    """SHADE_LEVELS colours from black-ward (-1) through `color` (0) to white-ward (+1), squeezed into
    the range where the colour stays nearest to bases[own] (RGB and Lab), clear of gaps and background;
    shades below GAP_SHADE jump to dark shades of the colour that are nearest to the gap colour."""
    darkest, lightest, gap_lightest = _safe_shade_range(color, bases, own)
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
    squeezed[deep] = GAP_DARKEST + depth * (gap_lightest - GAP_DARKEST)
    return _shaded(color, squeezed)


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
