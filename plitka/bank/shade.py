"""Per-request shading of a bank heap (deferred shading): numpy and OpenCV only.

A request picks a heap and one of its eight orientations (turns and mirrors) by its seed, assigns the
heap's crumbs to colours by visible area exactly as plitka/layout.py does (a random draw, then random
crumbs re-coloured until every colour's area is within BALANCE_TOLERANCE of its share), and multiplies
each crumb's measured palette albedo into the light the heap's render says that pixel receives; the
sheen is added on top. Then the camera: the tile laid at the requested angle and sensor noise; no lens
softness, as the photos' edges show none (docs/bank.md, "Camera chain"). Colours are never chosen per
pixel, so the shares are those of the visible crumbs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from plitka.bank.store import Bank, HeapBuffers
from plitka.layout import GAP, GranuleLayout, _balance_colors, _validated_shares
from plitka.palette import PALETTE, Palette

LOOKS_STREAM = 0xB4E7  # seeds a request's looks apart from its colour draw
TILE_FILL = 0.86  # the tile's extent over the picture side, as the procedural engine's
EXPOSURE = 1.0  # over the heap's own exposure (a typical lit crumb shows its palette colour)
ALBEDO_SPREAD = 0.08  # sigma of a crumb's albedo factor: crumbs of one colour differ a little
BINDER_RGB = (20, 19, 18)  # the binder's colour as albedo, sRGB
SHEEN = 1.0  # scale of the rendered sheen
FLARE = 0.004  # linear light a lens's veiling glare adds everywhere: the darkest gaps are never black
SENSOR_NOISE = 4.0  # sRGB units, per channel
GRAIN = 0.12  # sigma of the rubber's fine grain, a factor on the light (log scale)
GRAIN_SIGMA = 0.8  # pixels of a 1024 picture: its scale
BACKGROUND = 250
SHADOW = 0.06  # the tile's faint drop shadow on the background
SHADOW_SIGMA = 0.012  # of the picture side
SHADOW_OFFSET = (0.005, 0.007)
NOISE_PAD = 256  # noise textures are this much larger than the picture: the range of a request's crop
NOISE_STREAM = 0x6E01
LUT_LEVELS = 4096
LUT_TOP = 3.0  # linear values above this are white
SHOULDER = 0.75  # linear value above which highlights roll off towards white, as a camera's tone curve


@dataclass(frozen=True, eq=False)
class BankLayout(GranuleLayout):
    """A layout whose crumbs are a bank heap's (seen in one orientation); `heap` and `turn` say which."""

    heap: HeapBuffers | None = None
    turn: int = 0  # 0-7: quarter turns, +4 mirrored


def bank_layout(bank: Bank, shares: dict[str, float], seed: int = 0, size: int | None = None) -> BankLayout:
    """The heap and orientation the seed picks, its visible crumbs at size x size (default: the heap's)
    coloured to the shares by area."""
    codes, fractions = _validated_shares(shares)
    rng = np.random.default_rng(seed)
    heap = bank.heaps[seed % len(bank.heaps)]
    turn = (seed // len(bank.heaps)) % 8
    granules = _oriented(_visible(_resampled(heap.crumb, size or heap.size)), turn)
    areas = np.bincount(granules[granules >= 0])
    colors = rng.choice(len(codes), size=len(areas), p=fractions)
    colors = _balance_colors(areas, colors, fractions, rng).astype(np.int8)
    layout = BankLayout(codes=codes, granules=granules, granule_color=colors, seed=seed, heap=heap, turn=turn)
    layout.__dict__["granule_areas"] = areas
    return layout


def render_bank_tile(
    layout: BankLayout, angle: int = 0, size: int | None = None, palette: Palette = PALETTE
) -> Image.Image:
    """RGB top view of the bank layout's tile at `angle` degrees on a light background, size x size."""
    size = size or layout.size
    heap = layout.heap
    rng = np.random.default_rng([layout.seed, LOOKS_STREAM])
    ids = picture_granules(layout, angle, size)
    light, sheen = heap.light, heap.specular
    # the layout's orientation of the heap, folded into the one warp (no turned copies of the buffers)
    matrix = _placement(heap.size, angle, size) @ np.linalg.inv(_orientation(heap.size, layout.turn))
    if np.hypot(*matrix[0, :2]) < 0.6:  # shrinking past 0.6: average first, as a lens would
        light, sheen = _halved_buffers(heap)
        matrix = matrix @ np.diag([2.0, 2.0, 1.0])  # half-size source: twice the linear part
    matrix = matrix[:2]
    light = _warp(light, matrix, size, cv2.INTER_LINEAR, 0)
    sheen = _warp(sheen, matrix, size, cv2.INTER_LINEAR, 0)
    exposure = np.float32(EXPOSURE * heap.exposure)
    albedo = _crumb_albedo(layout, palette, rng) * exposure  # rows: crumbs, then binder, then background
    top, left = rng.integers(0, NOISE_PAD, 2)
    grain, sensor = _noise_textures(size)
    light *= grain[top : top + size, left : left + size]
    linear = albedo[ids] * light[..., None]
    linear += (sheen * np.float32(SHEEN * exposure) + np.float32(FLARE))[..., None]
    rgb = _to_srgb(linear)  # no lens blur: the photos' edges are sharper than even the unblurred render's
    off_tile = ids == -2
    rgb[off_tile] = _background(angle, size)[off_tile]
    noise = sensor[left : left + size, top : top + size]  # another crop than the grain's
    rgb[~off_tile] += noise[~off_tile]  # the bright background shows no noise in the photos
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def _orientation(side: int, turn: int) -> np.ndarray:
    """3x3 map from a pixel of the heap seen in orientation `turn` (_oriented) to the heap's own pixel."""
    last = side - 1
    quarter = np.array([[0.0, -1, last], [1, 0, 0], [0, 0, 1]])  # np.rot90 once: out[y, x] = in[x, last - y]
    mirror = np.array([[-1.0, 0, last], [0, 1, 0], [0, 0, 1]])  # [:, ::-1]
    matrix = np.linalg.matrix_power(quarter, turn % 4)
    return matrix @ mirror if turn >= 4 else matrix


@lru_cache(maxsize=8)
def _halved_buffers(heap: HeapBuffers) -> tuple[np.ndarray, np.ndarray]:
    return _halved(heap.light), _halved(heap.specular)


def picture_granules(layout: BankLayout, angle: int = 0, size: int | None = None) -> np.ndarray:
    """The granule id of each pixel of render_bank_tile's picture (-2 around the tile, -1 binder)."""
    size = size or layout.size
    matrix = _placement(layout.size, angle, size)[:2]
    return _warp(layout.granules.astype(np.float32), matrix, size, cv2.INTER_NEAREST, -2).astype(np.int32)


@lru_cache(maxsize=4)
def _noise_textures(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The rubber's grain (a fine log-normal factor on the light) and the sensor's noise, drawn once per
    picture size and NOISE_PAD larger: each request takes its own crop, which costs nothing."""
    rng = np.random.default_rng(NOISE_STREAM)
    side = size + NOISE_PAD
    noise = rng.standard_normal((side, side), dtype=np.float32)
    sigma = GRAIN_SIGMA * size / 1024
    if sigma >= 0.3:
        noise = cv2.GaussianBlur(noise, (0, 0), sigma) * np.float32(
            2 * np.sqrt(np.pi) * sigma
        )  # sigma 1 again
    sensor = rng.standard_normal((side, side, 3), dtype=np.float32) * np.float32(SENSOR_NOISE)
    return np.exp(np.float32(GRAIN) * noise), sensor


def _visible(crumb: np.ndarray) -> np.ndarray:
    """Crumb ids numbered 0..n-1 over the visible crumbs, GAP on the binder."""
    visible = np.bincount(crumb[crumb >= 0]) > 0
    renumber = np.append(np.cumsum(visible, dtype=np.int32) - 1, GAP)
    return renumber[crumb]  # -1 picks the appended GAP


def _resampled(crumb: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resampling (ids never blend)."""
    if size == crumb.shape[0]:
        return crumb
    index = (np.arange(size) + 0.5) * crumb.shape[0] // size
    return crumb[index.astype(np.intp)][:, index.astype(np.intp)]


def _oriented(array: np.ndarray, turn: int) -> np.ndarray:
    turned = np.rot90(array, turn % 4)
    return np.ascontiguousarray(turned[:, ::-1] if turn >= 4 else turned)


def _placement(side: int, angle: int, size: int) -> np.ndarray:
    """3x3 affine map from heap pixels to picture pixels: the tile turned by angle, spanning TILE_FILL."""
    turn = np.radians(angle)
    tile = size * TILE_FILL / (abs(np.cos(turn)) + abs(np.sin(turn)))
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, tile / side)
    matrix[:, 2] += (size - side) / 2
    return np.vstack([matrix, [0, 0, 1]])


def _halved(array: np.ndarray) -> np.ndarray:
    return cv2.resize(array, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def _warp(array: np.ndarray, matrix: np.ndarray, size: int, interpolation: int, border: float) -> np.ndarray:
    return cv2.warpAffine(
        array, matrix, (size, size), flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=border
    )


def _crumb_albedo(layout: GranuleLayout, palette: Palette, rng: np.random.Generator) -> np.ndarray:
    colours = np.array([palette[code].rgb for code in layout.codes], np.float32)
    linear = _srgb_to_linear(colours)[layout.granule_color]
    linear *= rng.lognormal(0.0, ALBEDO_SPREAD, (len(linear), 1)).astype(np.float32)
    binder = _srgb_to_linear(np.array([BINDER_RGB], np.float32))
    return np.concatenate([linear, binder, np.zeros((1, 3), np.float32)])  # ids -2, -1 pick the last two


def _srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


_LUT = None


def _to_srgb(linear: np.ndarray) -> np.ndarray:
    global _LUT
    if _LUT is None:
        c = np.linspace(0, LUT_TOP, LUT_LEVELS)
        over = np.maximum(c - SHOULDER, 0) / (1 - SHOULDER)
        c = np.minimum(c, SHOULDER) + (1 - SHOULDER) * (1 - np.exp(-over))
        encoded = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(np.minimum(c, 1), 1 / 2.4) - 0.055)
        _LUT = np.clip(encoded * 255, 0, 255).astype(np.float32)
    index = np.clip(linear * ((LUT_LEVELS - 1) / LUT_TOP), 0, LUT_LEVELS - 1).astype(np.int32)
    return _LUT[index]


@lru_cache(maxsize=16)
def _background(angle: int, size: int) -> np.ndarray:
    """The light background with the tile's faint drop shadow (the same for every heap at an angle)."""
    tile = np.ones((size, size), np.float32)
    tile = _warp(tile, _placement(size, angle, size)[:2], size, cv2.INTER_NEAREST, 0)
    shift = np.float32([[1, 0, SHADOW_OFFSET[0] * size], [0, 1, SHADOW_OFFSET[1] * size]])
    shadow = cv2.GaussianBlur(cv2.warpAffine(tile, shift, (size, size)), (0, 0), SHADOW_SIGMA * size)
    return np.repeat((BACKGROUND * (1 - SHADOW * shadow))[..., None], 3, axis=2)
