"""A palette colour as the product itself draws it: a crop from the middle of a rendered 100% tile.

Used by tools/palette_swatches.py (docs/images/palette.png) and by the studio's swatches.
"""

from __future__ import annotations

from PIL import Image

from plitka.layout import build_layout
from plitka.palette import PaletteColor
from plitka.render.procedural import render_tile

RENDER_SIZE = 1024  # crumbs are ~1.6% of the tile side: about 14 px across at 1024, as in a photo
SEED = 7


def crumb_crop(color: PaletteColor, width: int, height: int) -> Image.Image:
    """A width x height piece from the middle of a rendered single-colour tile (same input, same pixels)."""
    layout = build_layout({color.code: 100.0}, size=RENDER_SIZE, seed=SEED)
    tile = render_tile(layout, angle=0, size=RENDER_SIZE)
    left, top = (RENDER_SIZE - width) // 2, (RENDER_SIZE - height) // 2
    return tile.crop((left, top, left + width, top + height))
