"""The ordered colours as the lock and the measurement see them: shade rays in (L*+16, a*, b*).

Two ordered colours are a lightness pair when they differ in lightness ((L*+16) by a factor from
PAIR_RATIO[0] to PAIR_RATIO[1]) more than in colour (their a*b*, at the darker one's lightness, closer than
PAIR_AB_DISTANCE): PEARL/WHITE/LTGRAY, GRAY/WHITE, DKGREEN/LTGREEN, BLUE/DKBLUE. A shaded granule
of the lighter one looks, pixel by pixel, like the darker one; those are told apart per granule,
by its lit level. (BLACK/WHITE, a factor 2.8 apart, never pass for each other; RED/ORANGE differ in
hue at one lightness; the pixel rule does better there.)

Shadow. A pixel far darker than its colour (shade below SHADOW_SHADE) is a gap between granules, not
colour. In a hued mix (every ordered colour has palette chroma HUED_CHROMA or more) a gap is told
from a shaded facet by hue instead, down to DEEP_SHADOW_SHADE: a facet turned from the light keeps
its crumb's hue, a gap is grey. A mix with a grey colour cannot use hue that way (a shaded WHITE
facet is as grey as a gap), nor one with a lightness pair.
"""

from __future__ import annotations

import numpy as np

from plitka.colour.spaces import shade_space

PAIR_RATIO = (1.08, 1.8)  # PEARL/WHITE 1.10, GRAY/WHITE 1.57, DKGRAY/WHITE 2.3, BLACK/WHITE 2.8
PAIR_AB_DISTANCE = 15.0  # DKGREEN/LTGREEN 14.2, RED/ORANGE 12.5 (but at one lightness)
SHADOW_SHADE = 0.6  # of its colour: darker is a gap, not colour (measurement and lock alike)
DEEP_SHADOW_SHADE = 0.3  # in a hued mix; 0.05-0.45 read the reference photos 0.79-0.84 overall
HUED_CHROMA = 20.0  # palette C*: BROWN 21, DKGREEN 27, RED 59; KHAKI 19, WHTGRN 14, greys under 7
SHADE_SIGMA = 8.0  # Lab units of distance from a ray that cost as much as...
SHADE_WEIGHT = 30.0  # ...this times log(shade)^2 (the measurement's values)
SHADE_RANGE = (0.05, 2.0)  # shades of its colour that a ray explains
SHADOW_FIT_MARGIN = 100.0  # squared Lab units: a shadow must fit its ray this much better (10 units)
ADAPT_WINDOW = (0.85, 1.2)  # shades of its colour whose pixels give a colour's lit level in a picture...
ADAPT_ITERATIONS = 5  # ...found this many times over, from the palette colour
ADAPT_MIN_PIXELS = 50  # a colour with fewer lit pixels keeps its centre
MAX_CENTRE_SHIFT = 40.0  # Lab units: an adapted centre stays this near where it started


def is_hued_mix(centres_lab: np.ndarray) -> bool:
    """Whether every colour (Kx3 CIELAB palette colours) has a hue that its shadows keep, and no two
    form a lightness pair (their rays converge in shadow: a deep LTGREEN shadow is DKGREEN's hue too)."""
    return bool(not is_grey(centres_lab).any() and not lightness_pairs(centres_lab).any())


def is_grey(centres_lab: np.ndarray) -> np.ndarray:
    """K bool: colours (Kx3 CIELAB) with less chroma than HUED_CHROMA, whose shadows keep no hue."""
    return np.hypot(centres_lab[:, 1], centres_lab[:, 2]) < HUED_CHROMA


def shadow_floor(centres_lab: np.ndarray) -> float:
    """Shade below which a pixel of a colour in this mix is shadow, whatever its hue."""
    return DEEP_SHADOW_SHADE if is_hued_mix(centres_lab) else SHADOW_SHADE


def lightness_pairs(centres_lab: np.ndarray) -> np.ndarray:
    """KxK bool: colours i != j that form a lightness pair."""
    rays = shade_space(centres_lab).astype(np.float64)
    darker = np.minimum(rays[:, None, 0], rays[None, :, 0])
    ratio = np.maximum(rays[:, None, 0], rays[None, :, 0]) / darker
    first = rays[:, None, 1:] * (darker / rays[:, None, 0])[..., None]  # a*b* at the darker one's level
    second = rays[None, :, 1:] * (darker / rays[None, :, 0])[..., None]
    ab_distance = np.linalg.norm(first - second, axis=-1)
    return (ratio >= PAIR_RATIO[0]) & (ratio < PAIR_RATIO[1]) & (ab_distance < PAIR_AB_DISTANCE)


def ray_cost(lab: np.ndarray, centres_lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NxK cost of explaining each colour (Nx3 CIELAB) as a shade of each centre, and NxK shades.

    Squared distance from the centre's ray in SHADE_SIGMA units plus SHADE_WEIGHT * log(shade)^2.
    """
    distance2, shade = ray_distances(lab, centres_lab)
    return shade_cost(distance2, shade), shade


def shade_cost(distance2: np.ndarray, shade: np.ndarray) -> np.ndarray:
    """The cost of squared distances from rays at those shades (ray_cost); keeps their dtype."""
    return distance2 / SHADE_SIGMA**2 + SHADE_WEIGHT * np.log(shade) ** 2


def ray_distances(
    lab: np.ndarray, centres_lab: np.ndarray, dtype: type = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """NxK squared distances (Lab units) of each colour (Nx3 CIELAB) from each centre's ray, and the
    NxK shades along the rays (clipped to SHADE_RANGE); float32 for a whole picture's pixels."""
    pixels = shade_space(lab).astype(dtype, copy=False)
    centres = shade_space(centres_lab).astype(dtype)
    dots = pixels @ centres.T
    norms2 = (centres**2).sum(axis=1)
    shade = np.clip(dots / norms2, *SHADE_RANGE).astype(dtype, copy=False)
    distance2 = squared_norms(pixels)[:, None] - shade * (2 * dots - shade * norms2)
    return np.maximum(distance2, 0), shade


def lit_centre(lab_pixels: np.ndarray, start: np.ndarray, max_shift: float = MAX_CENTRE_SHIFT) -> np.ndarray:
    """A colour's lit centre (CIELAB) in a picture, found as the measurement adapts one: from `start`,
    ADAPT_ITERATIONS times the mean of the colour's pixels (Nx3 CIELAB) whose shade on the centre's ray
    lies within ADAPT_WINDOW, kept within max_shift of start."""
    pixels = shade_space(lab_pixels).astype(np.float64)
    origin = shade_space(np.asarray(start, np.float64))
    centre = origin.copy()
    for _ in range(ADAPT_ITERATIONS):
        shade = pixels @ centre / (centre @ centre)
        lit = (shade >= ADAPT_WINDOW[0]) & (shade <= ADAPT_WINDOW[1])
        if lit.sum() < ADAPT_MIN_PIXELS:
            break
        step = pixels[lit].mean(axis=0) - origin
        centre = origin + step * min(1.0, max_shift / max(float(np.linalg.norm(step)), 1e-6))
    return centre - shade_space(np.zeros(3))


def shadows_to_their_colour(distance2: np.ndarray, shade: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A pixel that lies on some colour's ray in its shadow (shade below SHADOW_SHADE) far closer than
    on the ray of the colour its cost picks is that colour's shadow: a deep shadow on RED is dark red,
    not a BLACK crumb, and dark yellow is no GRSGRN. Its shade then says it is shadow.
    distance2, shade: NxK squared distances from each colour's ray and the shades along it."""
    chosen = np.take_along_axis(distance2, labels[:, None], axis=1)[:, 0]
    as_shadow = np.where(shade < SHADOW_SHADE, distance2, np.inf)
    nearest_shadow = cheapest(as_shadow)
    shadow_fit = np.take_along_axis(as_shadow, nearest_shadow[:, None], axis=1)[:, 0]
    is_shadow = shadow_fit + SHADOW_FIT_MARGIN < chosen
    return np.where(is_shadow, nearest_shadow, labels)


def cheapest(cost: np.ndarray) -> np.ndarray:
    """N: each row's column of least cost (NxK), the first on ties: cost.argmin(axis=1), as a loop over
    the few columns, which NumPy runs several times faster than a reduction along each short row."""
    best, index = cost[:, 0], np.zeros(len(cost), np.int64)
    for column in range(1, cost.shape[1]):
        better = cost[:, column] < best
        best = np.where(better, cost[:, column], best)
        index[better] = column
    return index


def squared_norms(vectors: np.ndarray) -> np.ndarray:
    """N: (vectors**2).sum(axis=1) for Nx3 vectors, summed column by column (in the same order, so to the
    same bits; several times faster than a reduction along each short row)."""
    return vectors[:, 0] ** 2 + vectors[:, 1] ** 2 + vectors[:, 2] ** 2
