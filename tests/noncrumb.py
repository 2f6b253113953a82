"""Pictures that are not crumb, made here, for the colour lock's confidence: each must be declined.

Each kind is a way a picture can look busy, edged or dark-lined without being a heap of granules:
flat cut-paper shapes, a lattice with piping, cracks on a plain surface, stripes, smooth photo-like
gradients, text, noise, flat mosaic cells with dark joints, polka dots. Sizes vary as customers' do.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Maker = Callable[[int, np.random.Generator], np.ndarray]


def cut_paper(side: int, rng: np.random.Generator) -> np.ndarray:
    """Flat black and white shapes, about half of each."""
    picture = np.full((side, side, 3), 245, np.uint8)
    for _ in range(40):
        points = rng.integers(0, side, (rng.integers(3, 7), 2)).astype(np.int32)
        shade = 15 if rng.random() < 0.6 else 245
        cv2.fillPoly(picture, [cv2.convexHull(points)], (shade, shade, shade))
    return picture


def lattice(side: int, rng: np.random.Generator) -> np.ndarray:
    """A red lattice with white piping on a dark ground."""
    picture = np.full((side, side, 3), 40, np.uint8)
    pitch = int(rng.integers(side // 24, side // 12))
    bar = max(3, pitch // 3)
    for offset in range(0, side, pitch):
        for slab in (np.s_[offset : offset + bar, :], np.s_[:, offset : offset + bar]):
            picture[slab] = (190, 40, 35)
        for edge in (offset, offset + bar - 1):
            picture[min(edge, side - 1), :] = 250
            picture[:, min(edge, side - 1)] = 250
    return picture


def cracks(side: int, rng: np.random.Generator) -> np.ndarray:
    """A white surface with a mild texture and black cracks."""
    picture = np.clip(rng.normal(235, 4, (side, side, 3)), 0, 255).astype(np.uint8)
    for _ in range(60):
        point = rng.uniform(0, side, 2)
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(20, 80))):
            angle += rng.normal(0, 0.4)
            step = point + 8 * np.array([np.cos(angle), np.sin(angle)])
            cv2.line(picture, tuple(int(v) for v in point), tuple(int(v) for v in step), (20, 20, 20), 2)
            point = step
    return picture


def stripes(side: int, rng: np.random.Generator) -> np.ndarray:
    """Diagonal stripes of two colours."""
    y, x = np.indices((side, side))
    width = rng.integers(side // 60, side // 20)
    band = ((x + y) // width) % 2 == 0
    return np.where(band[..., None], np.uint8([200, 50, 40]), np.uint8([240, 240, 235])).astype(np.uint8)


def gradient_photo(side: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth light and colour gradients with sensor noise, as a photo of a plain wall."""
    y, x = np.indices((side, side)) / side
    base = np.stack([120 + 80 * x, 100 + 60 * y, 90 + 40 * (1 - x)], axis=-1)
    vignette = 1 - 0.4 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    return np.clip(base * vignette[..., None] + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)


def text(side: int, rng: np.random.Generator) -> np.ndarray:
    """Lines of black text on white."""
    picture = np.full((side, side, 3), 250, np.uint8)
    scale = side / 900
    words = ["rubber", "crumb", "tile", "sixty", "percent", "red", "forty", "white", "granules", "order"]
    for row in range(int(30 * scale), side, int(34 * scale) + 1):
        line = " ".join(rng.choice(words, 8))
        cv2.putText(picture, line, (5, row), cv2.FONT_HERSHEY_SIMPLEX, scale, (10, 10, 10), 2, cv2.LINE_AA)
    return picture


def noise(side: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform colour noise."""
    return rng.integers(0, 256, (side, side, 3), dtype=np.uint8)


def blob_noise(side: int, rng: np.random.Generator) -> np.ndarray:
    """Colour noise blurred to crumb-sized blobs: texture at the right scale, but no crumb."""
    blobs = cv2.GaussianBlur(rng.normal(128, 60, (side, side, 3)).astype(np.float32), (0, 0), side / 200)
    return np.clip((blobs - 128) * 4 + 128, 0, 255).astype(np.uint8)


def mosaic(side: int, rng: np.random.Generator) -> np.ndarray:
    """Flat-coloured cells of crumb size with dark joints, as a mosaic or terrazzo print."""
    points = rng.uniform(0, side, (side * side // 900, 2)).astype(np.float32)
    subdivision = cv2.Subdiv2D((0, 0, side, side))
    for point in points:
        subdivision.insert((float(point[0]), float(point[1])))
    facets, _ = subdivision.getVoronoiFacetList([])
    picture = np.zeros((side, side, 3), np.uint8)
    colours = np.array([[200, 50, 40], [240, 240, 235], [30, 30, 30]])
    for facet in facets:
        cv2.fillPoly(picture, [facet.astype(np.int32)], colours[rng.integers(0, 3)].tolist())
        cv2.polylines(picture, [facet.astype(np.int32)], True, (25, 25, 25), 2)
    return picture


def polka_dots(side: int, rng: np.random.Generator) -> np.ndarray:
    """Flat dots of two colours on a plain ground."""
    picture = np.full((side, side, 3), (235, 230, 220), np.uint8)
    radius = max(4, side // 60)
    for _ in range(side * side // (radius * radius * 12)):
        centre = tuple(int(v) for v in rng.integers(0, side, 2))
        colour = (200, 50, 40) if rng.random() < 0.5 else (20, 20, 20)
        cv2.circle(picture, centre, radius, colour, -1, cv2.LINE_AA)
    return picture


MAKERS: dict[str, Maker] = {
    "cut_paper": cut_paper,
    "lattice": lattice,
    "cracks": cracks,
    "stripes": stripes,
    "gradient_photo": gradient_photo,
    "text": text,
    "noise": noise,
    "blob_noise": blob_noise,
    "mosaic": mosaic,
    "polka_dots": polka_dots,
}
SIDES = (640, 1024)


def noncrumb_pictures() -> dict[str, np.ndarray]:
    """Every kind at every side, named kind@side."""
    return {
        f"{name}@{side}": make(side, np.random.default_rng(side))
        for name, make in MAKERS.items()
        for side in SIDES
    }
