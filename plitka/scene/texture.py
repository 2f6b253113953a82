"""A seamlessly repeatable texture cut from the tile's own picture, at a known physical scale.

The picture is made periodic by wrap-around, not by blending: in a band along the left edge, the
crumbs that cross the period's right boundary are laid in whole (their continuation from past the
boundary), on top of the crumbs there, as the layout itself drops crumbs on crumbs. Every pixel stays
a crumb's own pixel, no two colours are mixed, and across the period boundary the picture continues
as it does anywhere else. Then the same down the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from plitka.layout import CRUMB_SPACING, GranuleLayout
from plitka.render import render_tile
from plitka.render.procedural import EDGE_BAND, TILE_FILL, picture_granules

CRUMB_MM = 3.0  # typical visible width of an EPDM granule (they are 1-4 mm): fixes the render's scale
BAND_CRUMBS = 3.0  # width of the wrap band in crumb spacings: a crumb reaches at most ~2.6 across
PERIOD_STEP = 64  # the period is a multiple of this, so halving it for the mip levels stays periodic
EDGE_MARGIN = 2 * EDGE_BAND  # of the tile side, cut off inside the ragged edge
EVEN_OUT_CRUMBS = 4.0  # brightness patches wider than this (crumb spacings) are evened out...
EVEN_OUT_LIMIT = 0.2  # ...by at most this factor either way


@dataclass(frozen=True)
class Texture:
    pixels: np.ndarray  # (P, P, 3) uint8, periodic: repeating it shows no seam
    mm_per_px: float

    @property
    def period_mm(self) -> float:
        return self.pixels.shape[0] * self.mm_per_px


def texture_from_layout(layout: GranuleLayout, picture: Image.Image | None = None) -> Texture:
    """The periodic texture of `picture`, a top view at angle 0 of `layout` as render_tile makes it
    (rendered here when None)."""
    size = picture.width if picture is not None else layout.size
    if picture is None:
        picture = render_tile(layout, angle=0, size=size)
    granules = picture_granules(layout, 0, size)
    tile_px = size * TILE_FILL
    inset = int(np.ceil((size - tile_px) / 2 + EDGE_MARGIN * tile_px))
    crop = slice(inset, size - inset)
    pixels = np.asarray(picture.convert("RGB"))[crop, crop]
    spacing_px = CRUMB_SPACING * tile_px
    repeat = periodic(pixels, granules[crop, crop], band=round(BAND_CRUMBS * spacing_px))
    return Texture(pixels=even_out(repeat, EVEN_OUT_CRUMBS * spacing_px), mm_per_px=CRUMB_MM / spacing_px)


def even_out(pixels: np.ndarray, sigma: float) -> np.ndarray:
    """The periodic picture with its brightness patches wider than `sigma` evened out: repeated over a
    floor, such a patch recurs at every period and reads as a lattice. Crumb-sized detail is kept."""
    pad = int(3 * sigma)
    light = np.pad(pixels.astype(np.float32).mean(axis=2), pad, mode="wrap")  # blur across the wrap too
    patches = cv2.GaussianBlur(light, (0, 0), sigma)[pad:-pad, pad:-pad]
    gain = np.clip(patches.mean() / np.maximum(patches, 1.0), 1 - EVEN_OUT_LIMIT, 1 + EVEN_OUT_LIMIT)
    return np.clip(pixels * gain[..., None], 0, 255).astype(np.uint8)


def periodic(pixels: np.ndarray, ids: np.ndarray, band: int) -> np.ndarray:
    """(P, P, 3) periodic picture from a square crop and its crumb ids (P a multiple of PERIOD_STEP)."""
    side = min(ids.shape)
    period = (side - band) // PERIOD_STEP * PERIOD_STEP
    if period < PERIOD_STEP:
        raise ValueError(f"a {side} px crop is too small for a {band} px wrap band")
    pixels, ids = _wrap_columns(pixels[:side, :side], ids[:side, :side], period, band)
    pixels, ids = _wrap_columns(pixels.transpose(1, 0, 2), ids.T, period, band)
    return np.ascontiguousarray(pixels.transpose(1, 0, 2)[:period, :period])


def _wrap_columns(
    pixels: np.ndarray, ids: np.ndarray, period: int, band: int
) -> tuple[np.ndarray, np.ndarray]:
    """Columns 0..period-1, periodic across columns: the first `band` columns take on, whole, the crumbs
    that cross column `period` (what lies just past the boundary)."""
    beyond = ids[:, period : period + band]
    crossing = np.unique(beyond[:, 0])
    laid = np.isin(beyond, crossing[crossing >= 0])
    laid[:, :2] = True  # the first columns always continue the last: gaps there too
    laid = cv2.dilate(laid.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # with their rims
    out_pixels, out_ids = pixels[:, :period].copy(), ids[:, :period].copy()
    out_pixels[:, :band][laid] = pixels[:, period : period + band][laid]
    out_ids[:, :band][laid] = beyond[laid]
    return out_pixels, out_ids


def seam_score(texture: np.ndarray) -> float:
    """How much the step across the period boundary stands out from the steps between neighbouring
    columns and rows inside the period: its robust z-score (about 0-3 for no seam; a seam: tens)."""
    scores = []
    for picture in (texture, texture.transpose(1, 0, 2)):
        repeated = np.concatenate([picture, picture], axis=1).astype(np.float32)
        steps = np.abs(np.diff(repeated, axis=1)).mean(axis=(0, 2))  # one per neighbouring column pair
        boundary = steps[picture.shape[1] - 1]
        inside = np.delete(steps, picture.shape[1] - 1)
        spread = 1.4826 * np.median(np.abs(inside - np.median(inside))) + 1e-6
        scores.append(float((boundary - np.median(inside)) / spread))
    return max(scores)
