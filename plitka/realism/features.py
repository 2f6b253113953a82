"""Hand-crafted features of a small RGB patch, in named groups, and the picture's granule scale.

Each feature is something a person would point at when telling a photo of crumbs from a render:
its colours, how its edges run (and whether they lean one way, as under one light), its micro-texture
(local binary patterns), the grain inside crumbs, highlights, dark crevices, how fast detail falls off
with frequency (spectrum slope) and how far colours stay alike (correlation length).
"""

from __future__ import annotations

import cv2
import numpy as np

from plitka.colour.spaces import lab_image

NOISE_SIGMA = 1.5  # px: the high-pass that isolates grain from shading
FLAT_GRADIENT = 12.0  # L units per px: below this a pixel is inside a crumb, not on an edge
HIGHLIGHT_STEP = 15.0  # L units above the patch median
DARK_FRACTION = 0.5  # of the median L: darker is a crevice
LBP_POINTS = 8
LBP_RADII = (1, 2)
LBP_BINS = LBP_POINTS + 2  # "uniform" LBP: P + 1 uniform codes and one for all the others
MAX_LAG = 16  # px searched for the correlation length

GROUPS: dict[str, tuple[str, ...]] = {
    "colour": (
        "L_mean", "L_std", "L_p01", "L_p50", "L_p99",
        "a_mean", "a_std", "b_mean", "b_std", "chroma_mean", "chroma_std",
    ),
    "gradient": ("grad_mean", "grad_std", "grad_p90", "gx_skew", "gy_skew", "grad_skew", "laplace_mean"),
    "lbp": tuple(f"lbp_r{radius}_{code}" for radius in LBP_RADII for code in range(LBP_BINS)),
    "noise": ("L_noise_inside", "chroma_noise_inside", "L_noise_all"),
    "highlight": ("highlight_p99", "highlight_share"),
    "crevice": ("dark_share", "dark_edge_share", "black_share"),
    "spectrum": ("spectrum_slope", "high_frequency_share"),
    "correlation": ("correlation_length", "correlation_lag2", "correlation_lag4"),
}  # fmt: skip
NAMES: tuple[str, ...] = tuple(name for names in GROUPS.values() for name in names)


def patch_features(rgb: np.ndarray) -> np.ndarray:
    """The NAMES features (float32) of one HxWx3 uint8 patch."""
    lab = lab_image(rgb)
    light, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    gx = cv2.Sobel(light, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    gy = cv2.Sobel(light, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    magnitude = np.hypot(gx, gy)
    values = [
        *_colour(light, a, b),
        *_gradient(light, gx, gy, magnitude),
        *_lbp(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)),
        *_noise(light, a, b, magnitude),
        *_highlight(light),
        *_crevice(light, magnitude),
        *_spectrum(light),
        *_correlation(lab),
    ]
    return np.asarray(values, dtype=np.float32)


def correlation_length(lab: np.ndarray) -> float:
    """Lag (px, interpolated) at which the autocorrelation of the Lab field falls to 1/e, averaged
    over directions: the typical size of a patch of one colour, a crumb. Several crumbs must fit."""
    correlation = _radial_autocorrelation(lab, min(MAX_LAG * 8, min(lab.shape[:2]) // 2))
    return _first_crossing(correlation, np.exp(-1))


def _colour(light: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[float]:
    chroma = np.hypot(a, b)
    p01, p50, p99 = np.percentile(light, (1, 50, 99))
    return [
        light.mean(),
        light.std(),
        p01,
        p50,
        p99,
        a.mean(),
        a.std(),
        b.mean(),
        b.std(),
        chroma.mean(),
        chroma.std(),
    ]


def _gradient(light: np.ndarray, gx: np.ndarray, gy: np.ndarray, magnitude: np.ndarray) -> list[float]:
    laplace = np.abs(cv2.Laplacian(light, cv2.CV_32F, ksize=3))
    return [
        magnitude.mean(),
        magnitude.std(),
        np.percentile(magnitude, 90),
        _skew(gx),  # one light from a side makes bright-then-dark edges: a skewed gradient
        _skew(gy),
        _skew(magnitude),
        laplace.mean(),
    ]


def lbp_histogram(grey: np.ndarray, radius: int) -> np.ndarray:
    """Shares of the LBP_BINS uniform local binary pattern codes of a grey picture, off its border:
    the micro-texture at `radius` pixels."""
    from skimage.feature import local_binary_pattern  # eval-only dependency

    codes = local_binary_pattern(grey, LBP_POINTS, radius, method="uniform")
    inner = codes[radius:-radius, radius:-radius].astype(np.intp)
    return np.bincount(inner.ravel(), minlength=LBP_BINS) / inner.size


def _lbp(grey: np.ndarray) -> list[float]:
    return [share for radius in LBP_RADII for share in lbp_histogram(grey, radius)]


def _noise(light: np.ndarray, a: np.ndarray, b: np.ndarray, magnitude: np.ndarray) -> list[float]:
    """Grain: what a light blur removes, inside crumbs (off edges) and everywhere."""
    inside = magnitude < FLAT_GRADIENT
    residuals = [channel - cv2.GaussianBlur(channel, (0, 0), NOISE_SIGMA) for channel in (light, a, b)]
    chroma = np.hypot(residuals[1], residuals[2])
    if inside.sum() < 16:
        return [0.0, 0.0, float(residuals[0].std())]
    return [float(residuals[0][inside].std()), float(chroma[inside].mean()), float(residuals[0].std())]


def _highlight(light: np.ndarray) -> list[float]:
    median = np.median(light)
    return [np.percentile(light, 99) - median, (light > median + HIGHLIGHT_STEP).mean()]


def _crevice(light: np.ndarray, magnitude: np.ndarray) -> list[float]:
    dark = light < DARK_FRACTION * np.median(light)
    near_edge = cv2.dilate((magnitude > FLAT_GRADIENT).view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return [dark.mean(), (dark & near_edge).sum() / max(dark.sum(), 1), (light < 20).mean()]


def _spectrum(light: np.ndarray) -> list[float]:
    """Slope of log power over log frequency (radially averaged), and the share of power in the top
    half of the frequencies: soft photos lose fine detail faster than crisp renders."""
    field = (light - light.mean()) * np.outer(np.hanning(light.shape[0]), np.hanning(light.shape[1]))
    power = np.abs(np.fft.fftshift(np.fft.fft2(field))) ** 2
    radius = _radius_grid(light.shape).astype(np.intp)
    radial = np.bincount(radius.ravel(), power.ravel()) / np.maximum(np.bincount(radius.ravel()), 1)
    top = min(light.shape) // 2
    frequencies = np.arange(2, top)
    slope = np.polyfit(np.log(frequencies), np.log(radial[2:top] + 1e-6), 1)[0]
    return [slope, radial[top // 2 : top].sum() / max(radial[1:top].sum(), 1e-6)]


def _correlation(lab: np.ndarray) -> list[float]:
    correlation = _radial_autocorrelation(lab, MAX_LAG)
    return [_first_crossing(correlation, np.exp(-1)), correlation[2], correlation[4]]


def _radial_autocorrelation(lab: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation of the (mean-free) Lab field, summed over channels, averaged over directions,
    lags 0..max_lag (FFT, zero-padded so it does not wrap)."""
    height, width = lab.shape[:2]
    field = lab - lab.reshape(-1, 3).mean(axis=0)
    spectrum = np.fft.rfft2(field, s=(2 * height, 2 * width), axes=(0, 1))
    covariance = np.fft.irfft2((np.abs(spectrum) ** 2).sum(axis=2), s=(2 * height, 2 * width))
    overlap = np.fft.irfft2(np.abs(np.fft.rfft2(np.ones((height, width)), s=(2 * height, 2 * width))) ** 2)
    covariance = np.fft.fftshift(covariance / np.maximum(overlap, 1))
    radius = np.rint(_radius_grid(covariance.shape)).astype(np.intp)
    near = radius <= max_lag
    radial = np.bincount(radius[near], covariance[near], minlength=max_lag + 1)
    radial /= np.maximum(np.bincount(radius[near], minlength=max_lag + 1), 1)
    return radial / max(radial[0], 1e-9)


def _first_crossing(curve: np.ndarray, level: float) -> float:
    below = np.flatnonzero(curve < level)
    if len(below) == 0:
        return float(len(curve) - 1)
    lag = int(below[0])
    before, after = curve[lag - 1], curve[lag]
    return float(lag - 1 + (before - level) / max(before - after, 1e-9))


def _radius_grid(shape: tuple[int, ...]) -> np.ndarray:
    ys, xs = np.indices(shape[:2], dtype=np.float32)
    return np.hypot(ys - shape[0] // 2, xs - shape[1] // 2)


def _skew(values: np.ndarray) -> float:
    centred = values - values.mean()
    spread = centred.std()
    return float((centred**3).mean() / spread**3) if spread > 1e-6 else 0.0
