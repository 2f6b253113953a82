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


def white_crumbs_with_dark_pockets(
    black_share: float = 0.15, crumb: int = 16, pocket_px: int = 4, side: int = 1024
) -> tuple[np.ndarray, float]:
    """Evenly lit BLACK crumbs among WHITE ones and, where four WHITE crumbs meet, a dark pocket
    `pocket_px` across, as dark as a BLACK crumb: wider than a 3x3 opening, narrower than any crumb.
    Returns the picture and BLACK's share of the crumb area (percent)."""
    cells = side // crumb
    rng = np.random.default_rng(11)
    is_black = rng.random((cells, cells)) < black_share
    black_pixels = is_black.repeat(crumb, 0).repeat(crumb, 1)
    colour = np.where(is_black[..., None], np.float32(PALETTE["BLACK"].rgb), np.float32(PALETTE["WHITE"].rgb))
    lit = colour * rng.uniform(0.85, 1.0, (cells, cells, 1))  # each crumb lit a little differently
    picture = lit.repeat(crumb, 0).repeat(crumb, 1) + rng.normal(0, 3, (cells * crumb, cells * crumb, 1))
    picture = np.clip(picture, 0, 255).astype(np.uint8)
    corner_of_whites = ~(
        is_black | np.roll(is_black, 1, 0) | np.roll(is_black, 1, 1) | np.roll(is_black, 1, (0, 1))
    )
    pocket = np.zeros(picture.shape[:2], np.uint8)
    for row, column in zip(*np.nonzero(corner_of_whites[1:, 1:]), strict=True):
        cv2.circle(pocket, ((column + 1) * crumb, (row + 1) * crumb), pocket_px // 2, 1, -1)
    picture[pocket > 0] = 40
    black = (pocket == 0) & black_pixels
    return picture, float(100 * black.sum() / (pocket == 0).sum())
