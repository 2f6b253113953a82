"""The camera chain a picture shows, measured: how noisy its flat crumb faces are, how far that noise is
correlated, how wide its sharpest edges are, how dark its darkest pixels (docs/bank.md).

Measured alike on the reference photos and on renders (tools/camera_chain.py: both through the
realism test's own resize and JPEG), so a renderer's camera settings can be set from the photos
instead of from the test's score.
"""

from __future__ import annotations

import cv2
import numpy as np

from plitka.colour.spaces import lab_image

NOISE_SIGMA = 1.5  # px: the high-pass that leaves the noise (as realism.features)
FLAT_GRADIENT = 4.0  # L* per px, smoothed: below it a pixel lies on a flat face
EDGE_PERCENTILE = 97  # the edges measured: local gradient maxima above this percentile of the tile's
EDGE_REACH = 3  # px either side of an edge over which its step is taken
INSIDE_PX = 9  # the tile's rim left out (its outline is no crumb edge)
NAMES = ("noise", "noise_lag1", "noise_lag2", "chroma_noise", "edge_width", "dark_floor", "black_share")


def camera_stats(rgb: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """The NAMES figures of one picture (HxWx3 uint8) over its tile (mask):

    noise: std of L* off a NOISE_SIGMA blur on flat faces; noise_lag1/2: that residual's correlation
    with itself one and two pixels on; chroma_noise: the mean a*b* residual there; edge_width: the
    median step across the sharpest edges (EDGE_REACH px either side) over their peak gradient: a step
    from one pixel to the next reads 2 (the Sobel gradient spreads it over two), a thin dark crevice
    less (its two sides alike), and any blur more;
    dark_floor: the tile's 1st percentile of L*; black_share: its share of pixels below L* 20.
    """
    lab = lab_image(rgb)
    light = lab[..., 0]
    inside = cv2.erode(mask.astype(np.uint8), np.ones((INSIDE_PX, INSIDE_PX), np.uint8)) > 0
    gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    gradient = np.hypot(gx, gy)
    flat = inside & (cv2.GaussianBlur(gradient, (0, 0), 1.0) < FLAT_GRADIENT)
    residual = [
        channel - cv2.GaussianBlur(channel, (0, 0), NOISE_SIGMA) for channel in np.moveaxis(lab, -1, 0)
    ]
    return {
        "noise": float(residual[0][flat].std()),
        "noise_lag1": _lag_correlation(residual[0], flat, 1),
        "noise_lag2": _lag_correlation(residual[0], flat, 2),
        "chroma_noise": float(np.hypot(residual[1], residual[2])[flat].mean()),
        "edge_width": _edge_width(light, gx, gy, gradient, inside),
        "dark_floor": float(np.percentile(light[inside], 1)),
        "black_share": float((light[inside] < 20).mean()),
    }


def _lag_correlation(residual: np.ndarray, flat: np.ndarray, lag: int) -> float:
    both = flat[:, :-lag] & flat[:, lag:]
    return float(np.corrcoef(residual[:, :-lag][both], residual[:, lag:][both])[0, 1])


def _edge_width(
    light: np.ndarray, gx: np.ndarray, gy: np.ndarray, gradient: np.ndarray, inside: np.ndarray
) -> float:
    """Median over the sharpest edges of |L(+reach) - L(-reach)| across the edge / peak gradient."""
    strong = (gradient >= np.percentile(gradient[inside], EDGE_PERCENTILE)) & (gradient > 0)
    peaks = inside & strong & (gradient >= cv2.dilate(gradient, np.ones((3, 3), np.uint8)))
    ys, xs = np.nonzero(peaks)
    across = np.stack([gy[ys, xs], gx[ys, xs]], axis=1) / gradient[ys, xs, None]

    def at(step: float) -> np.ndarray:
        y = np.clip(np.rint(ys + step * across[:, 0]).astype(np.intp), 0, light.shape[0] - 1)
        x = np.clip(np.rint(xs + step * across[:, 1]).astype(np.intp), 0, light.shape[1] - 1)
        return light[y, x]

    return float(np.median(np.abs(at(EDGE_REACH) - at(-EDGE_REACH)) / gradient[ys, xs]))
