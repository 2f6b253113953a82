"""Reverse match: a target colour -> the 2- and 3-colour palette mixes whose look is nearest to it.

The look of a mix from a step away is the area-weighted mean of its colours' measured sRGB, taken in
linear light (what the eye and a camera add up over many crumbs), then compared with the target in
CIEDE2000. Shares are searched on a 5% grid, each colour at least 10%: all 406 pairs and 3,654
triples of the 29 colours, about 450,000 mixes, in one vectorised pass (~0.3 s).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from plitka.limits import quote
from plitka.palette import PALETTE, Palette
from plitka.request import RequestError

STEP = 5  # percent: the grid of shares
MIN_SHARE = 10  # percent: a colour below this hardly shows
MAX_RESULTS = 10
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


@dataclass(frozen=True)
class Match:
    shares: dict[str, float]  # palette code -> percent
    look_rgb: tuple[int, int, int]
    delta_e: float

    def describe(self) -> str:
        return ", ".join(f"{share:g}% {code}" for code, share in self.shares.items())


def parse_hex(text: str, field: str = "target") -> tuple[int, int, int]:
    """'#8a3b2c', '8a3b2c' or '#a32' -> (r, g, b); anything else a RequestError naming `field`."""
    match = _HEX.fullmatch(text.strip()) if len(text) <= 16 else None
    if not match:
        raise RequestError(field, f"{quote(text)} is not a colour; give a hex colour such as '#8a3b2c'")
    digits = match[1] if len(match[1]) == 6 else "".join(2 * char for char in match[1])
    return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def hex_of(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in rgb)


def best_mixes(target_rgb: tuple[int, int, int], count: int = 5, palette: Palette = PALETTE) -> list[Match]:
    """The `count` mixes (2 or 3 colours, the best shares for each set of colours) nearest to the target."""
    if not 1 <= count <= MAX_RESULTS:
        raise RequestError("count", f"{count} is not from 1 to {MAX_RESULTS}")
    codes = palette.codes
    linear = _to_linear(np.array([palette[code].rgb for code in codes], np.float64) / 255)
    target = srgb_to_lab(np.array([target_rgb], np.float64) / 255)[0]
    best: list[Match] = []
    for size in (2, 3):
        sets = np.array(list(itertools.combinations(range(len(codes)), size)))
        grid = _share_grid(size)  # (G, size) fractions
        looks = np.einsum("gk,skc->sgc", grid, linear[sets])  # (S, G, 3) linear light
        distance = ciede2000(srgb_to_lab(_to_srgb(looks.reshape(-1, 3))), target).reshape(
            len(sets), len(grid)
        )
        per_set = distance.argmin(axis=1)
        for index in np.argsort(distance[np.arange(len(sets)), per_set])[:count]:
            shares = grid[per_set[index]]
            look = np.round(_to_srgb(looks[index, per_set[index]]) * 255).astype(int)
            best.append(
                Match(
                    shares={
                        codes[c]: round(float(100 * s), 1) for c, s in zip(sets[index], shares, strict=True)
                    },
                    look_rgb=(int(look[0]), int(look[1]), int(look[2])),
                    delta_e=round(float(distance[index, per_set[index]]), 2),
                )
            )
    return sorted(best, key=lambda match: match.delta_e)[:count]


def _share_grid(size: int) -> np.ndarray:
    steps = range(MIN_SHARE, 100 - MIN_SHARE * (size - 1) + 1, STEP)
    rows = [combo for combo in itertools.product(steps, repeat=size - 1) if 100 - sum(combo) >= MIN_SHARE]
    grid = np.array([[*combo, 100 - sum(combo)] for combo in rows], np.float64) / 100
    return grid


def _to_linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0, 1)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def srgb_to_lab(srgb: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB in 0..1 -> CIELAB (D65), as OpenCV computes it."""
    return (
        cv2.cvtColor(srgb.astype(np.float32).reshape(-1, 1, 3), cv2.COLOR_RGB2Lab)
        .reshape(-1, 3)
        .astype(np.float64)
    )


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu, Dalal 2005), vectorised over rows. By hand: OpenCV has
    no ΔE2000 and scikit-image (which has) is not in the runtime image; checked against it in tests."""
    lab1, lab2 = np.broadcast_arrays(np.asarray(lab1, np.float64), np.asarray(lab2, np.float64))
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(
        np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)
    )
    h_mean = np.where(c1p * c2p == 0, h_sum, h_mean)
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = (
        -2
        * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2))))
    )
    return np.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dhh / s_h) ** 2 + r_t * (dc / s_c) * (dhh / s_h))


PICK_RADIUS = 2  # px: a picked pixel is the median of the 5 x 5 around it (one crumb is not the look)


def picked_pixel(photo: Image.Image, at: str) -> tuple[int, int, int]:
    """The colour at 'x,y' (pixels) of `photo`: the median of the pixels around it."""
    parts = at.split(",") if len(at) <= 24 else []
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise RequestError("at", f"{quote(at)} is not a pixel; give 'x,y' in whole pixels")
    x, y = (int(part) for part in parts)
    if not (x < photo.width and y < photo.height):
        raise RequestError("at", f"{x},{y} is outside the {photo.width}x{photo.height} picture")
    pixels = np.asarray(photo.convert("RGB"))
    around = pixels[
        max(0, y - PICK_RADIUS) : y + PICK_RADIUS + 1, max(0, x - PICK_RADIUS) : x + PICK_RADIUS + 1
    ]
    median = np.median(around.reshape(-1, 3), axis=0)
    return int(median[0]), int(median[1]), int(median[2])
