"""Re-colour granule regions in CIELAB, keeping each pixel's own shading.

Shading darkens a colour by a factor: (L*+16, a*, b*) scale together (see plitka.analysis.measure).
So each pixel of a region painted colour k becomes k shaded by the pixel's own shade: its (L*+16)
times the region's gain, with a*b* on k's shade ray at that lightness. A region that keeps its
colour has gain 1 (its lightness is untouched) and only its a*b* are put on the ray, so no stray
tint (a pink highlight on red, a purple shadow on blue) reads as another colour. Above the
colour's own lightness a pixel is a highlight: a changed region's highlights are rolled off
smoothly towards L* 100 (kept, never clipped) and keep the lit colour's a*b* (they pale, as real
highlights do, instead of turning into a saturated, out-of-gamut shade). Each pixel is
painted with its own region's parameters; then a thin band along every changed border is blended
with its blur, so new borders are as soft as the picture's own, without seams or staircases.
"""

from __future__ import annotations

import cv2
import numpy as np

BORDER_SIGMA_PX = 0.7  # at 1024 px: how soft a new border between two colours is
WHITE_POINT = 100.0
NO_ROLL_OFF = 1000.0  # a roll-off level no pixel reaches


def repaint(
    lab: np.ndarray,
    labels: np.ndarray,
    gain: np.ndarray,
    target_lab: np.ndarray,
    painted: np.ndarray,
    changed: np.ndarray,
    scale: float = 1.0,
    where: np.ndarray | None = None,
    contrast: np.ndarray | None = None,
    region_level: np.ndarray | None = None,
    rolled: np.ndarray | None = None,
) -> np.ndarray:
    """The picture (HxWx3 CIELAB) with the `painted` regions (N bool) put on their colours.

    labels: HxW region ids; gain: N factors on (L*+16); target_lab: Nx3 the colour (its lit level)
    each region is painted in; changed: N bool, the regions whose colour changes (their highlights
    are rolled off); where: HxW bool, the only pixels painted (the tile); contrast: N exponents on
    each pixel's shade relative to its region's level region_level (N, L*), 1 or None keeping it;
    rolled: N bool, the regions whose highlights are rolled off (None: the changed ones).
    Returns HxWx3 float32 CIELAB.
    """
    shade_target = target_lab + np.float32([16, 0, 0])
    roll_level = np.where(changed if rolled is None else rolled, target_lab[:, 0], NO_ROLL_OFF)
    per_region = np.stack(
        [
            gain,
            shade_target[:, 1] / shade_target[:, 0],
            shade_target[:, 2] / shade_target[:, 0],
            target_lab[:, 0],
            roll_level,
        ],
        axis=1,
    ).astype(np.float32)
    fields = per_region[labels]
    gain_map, chroma_a, chroma_b, level, roll_level_map = (fields[..., i] for i in range(5))
    shaded = (lab[..., 0] + 16) * gain_map
    if contrast is not None and region_level is not None:
        base = (region_level + 16).astype(np.float32)[labels]
        relative = np.maximum(lab[..., 0] + 16, 1e-3) / base
        shaded = base * gain_map * relative ** contrast.astype(np.float32)[labels]
    lightness = _roll_off(shaded - 16, roll_level_map)
    shade = np.minimum(lightness, level) + 16  # highlights keep the lit colour's a*b*
    new = np.stack([lightness, chroma_a * shade, chroma_b * shade], axis=-1)
    on = painted[labels] if where is None else painted[labels] & where
    out = np.where(on[..., None], new, lab).astype(np.float32)
    return _softened_borders(out, labels, changed, BORDER_SIGMA_PX * scale)


def _softened_borders(lab: np.ndarray, labels: np.ndarray, changed: np.ndarray, sigma: float) -> np.ndarray:
    """Blend a thin band along the borders of changed regions with its blur, as soft as a lens draws
    a border: no staircase, no seam (the band is blurred after painting, so no gain leaks across)."""
    touched = changed[labels]
    border = np.zeros(labels.shape, bool)
    border[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    border[1:] |= labels[1:] != labels[:-1]
    weight = cv2.GaussianBlur((border & touched).astype(np.float32), (0, 0), max(sigma, 0.5))
    # the border pixels themselves fully, their neighbours half
    weight = np.minimum(1.0, 2 * weight)[..., None]
    blurred = cv2.GaussianBlur(lab, (0, 0), max(sigma, 0.5))
    return (weight * blurred + (1 - weight) * lab).astype(np.float32)


def _roll_off(lightness: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Identity up to `level`; above it approaches WHITE_POINT with slope 1 at `level`, never reaching it."""
    rolled = lightness > level
    start = level[rolled]
    room = np.maximum(WHITE_POINT - start, 1e-3)
    out = lightness.copy()
    out[rolled] = start + room * (1 - np.exp(-(lightness[rolled] - start) / room))
    return out


def to_rgb(lab: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 sRGB of a float CIELAB picture."""
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
