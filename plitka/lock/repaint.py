"""Re-colour granule regions in CIELAB, keeping each pixel's own shading.

Shading darkens a colour by a factor: (L*+16, a*, b*) scale together (see plitka.analysis.measure).
So each pixel of a region painted colour k becomes k shaded by the pixel's own shade: its (L*+16)
times the region's gain, with a*b* on k's shade ray at that lightness. A region that keeps its
colour has gain 1 (its lightness is untouched) and only its a*b* are put on the ray, so no stray
tint (a pink highlight on red, a purple shadow on blue) reads as another colour. Above the
colour's own lightness a pixel is a highlight: a changed region's highlights are rolled off
smoothly towards L* 100 (kept, never clipped) and keep the lit colour's a*b* (they pale, as real
highlights do, instead of turning into a saturated, out-of-gamut shade). The per-region parameters
are blurred over about a pixel before they are applied, so new borders are as soft as the
picture's own, without dark seams or staircases.
"""

from __future__ import annotations

import cv2
import numpy as np

BORDER_SIGMA_PX = 0.9  # at 1024 px: how soft a new border between two colours is
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
) -> np.ndarray:
    """The picture (HxWx3 CIELAB) with the `painted` regions (N bool) put on their colours.

    labels: HxW region ids; gain: N factors on (L*+16); target_lab: Nx3 the colour (its lit level)
    each region is painted in; changed: N bool, the regions whose colour changes (their highlights
    are rolled off). Returns HxWx3 float32 CIELAB.
    """
    shade_target = target_lab + np.float32([16, 0, 0])
    roll_level = np.where(changed, target_lab[:, 0], NO_ROLL_OFF)
    per_region = np.concatenate(
        [
            gain[:, None],
            shade_target[:, 1:] / shade_target[:, :1],
            target_lab[:, :1],
            roll_level[:, None],
            painted[:, None],
        ],
        axis=1,
    ).astype(np.float32)  # gain, a*/(L*+16), b*/(L*+16), L* of the colour, roll-off level, weight
    fields = _soft(per_region[labels], BORDER_SIGMA_PX * scale)
    gain_map, chroma_a, chroma_b, level, roll_level_map, weight = (fields[..., i] for i in range(6))
    lightness = _roll_off((lab[..., 0] + 16) * gain_map - 16, roll_level_map)
    shade = np.minimum(lightness, level) + 16  # highlights keep the lit colour's a*b*
    new = np.stack([lightness, chroma_a * shade, chroma_b * shade], axis=-1)
    weight = weight[..., None]
    return (weight * new + (1 - weight) * lab).astype(np.float32)


def _soft(fields: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return fields
    channels = [cv2.GaussianBlur(fields[..., i], (0, 0), sigma) for i in range(fields.shape[-1])]
    return np.stack(channels, axis=-1)


def _roll_off(lightness: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Identity up to `level`; above it approaches WHITE_POINT with slope 1 at `level`, never reaching it."""
    room = np.maximum(WHITE_POINT - level, 1e-3)
    above = np.maximum(lightness - level, 0)
    return np.where(lightness > level, level + room * (1 - np.exp(-above / room)), lightness)


def to_rgb(lab: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 sRGB of a float CIELAB picture."""
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
