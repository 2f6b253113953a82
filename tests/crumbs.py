"""Synthetic crumb pictures with known shares, for the measurement and the lock."""

from __future__ import annotations

import cv2
import numpy as np

from plitka.palette import PALETTE

SIDE = 640


def shaded_crumbs(code: str, side: int = SIDE, crumb: int = 20, seed: int = 0) -> np.ndarray:
    """Square crumbs of one colour, each lit along its own random direction from 0.3 to 1.1 of the
    colour: deep shadows of the colour itself, as on the seed outputs' red granules."""
    rng = np.random.default_rng(seed)
    lab = cv2.cvtColor(np.float32([[PALETTE[code].rgb]]) / 255, cv2.COLOR_RGB2Lab)[0, 0]
    ray = lab + np.float32([16, 0, 0])
    cells = side // crumb
    angles = rng.uniform(0, 2 * np.pi, (cells, cells)).repeat(crumb, 0).repeat(crumb, 1)
    offset = np.arange(side) % crumb - crumb / 2
    tilt = (np.cos(angles) * offset[None, :] + np.sin(angles) * offset[:, None]) / (crumb / 2)
    shade = np.clip(0.7 + 0.4 * tilt, 0.3, 1.1).astype(np.float32)
    lab = shade[..., None] * ray - np.float32([16, 0, 0])
    return np.round(np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0, 1) * 255).astype(np.uint8)


def red_crumbs_shaded_deeper_than_blue(
    crumb: int = 20, gap: int = 4, gap_grey: int = 60
) -> tuple[np.ndarray, float]:
    """40% RED crumbs lit from 0.3 to 1.1 among evenly lit BLUE ones, with neutral dark grey gaps
    (sRGB 60 is L* 25: shade 0.4-0.6 of either colour) between all; and RED's share of the crumb area
    (percent)."""
    red = shaded_crumbs("RED", side=SIDE, crumb=crumb)
    blue = np.full((SIDE, SIDE, 3), PALETTE["BLUE"].rgb, np.uint8)
    cells = SIDE // crumb
    is_red = (np.random.default_rng(7).random((cells, cells)) < 0.4).repeat(crumb, 0).repeat(crumb, 1)
    picture = np.where(is_red[..., None], red, blue)
    in_gap = (np.arange(SIDE) % crumb) < gap
    gaps = in_gap[:, None] | in_gap[None, :]
    picture[gaps] = gap_grey
    return picture, float(100 * is_red[~gaps].mean())
