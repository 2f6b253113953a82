"""Colour map: the layout in flat palette colours, with a legend of requested and actual shares."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from plitka.layout import GranuleLayout
from plitka.palette import PALETTE, Palette

GAP_RGB = (64, 64, 64)
PAPER_RGB = (255, 255, 255)
INK_RGB = (30, 30, 30)
MUTED_RGB = (110, 110, 110)
OUTLINE_RGB = (160, 160, 160)


def render_colormap(
    layout: GranuleLayout, requested: Mapping[str, float], palette: Palette = PALETTE
) -> Image.Image:
    """The layout in flat colours (gaps dark grey) with, to its right, a swatch per colour with its code,
    English name, requested percent and the layout's actual area percent."""
    flat = _flat_colors(layout, palette)
    unit = max(12, layout.size // 40)  # every legend measure scales with the map
    legend = _legend(layout, requested, palette, unit, height=layout.size)
    picture = Image.new("RGB", (flat.width + legend.width, layout.size), PAPER_RGB)
    picture.paste(flat, (0, 0))
    picture.paste(legend, (flat.width, 0))
    return picture


def _flat_colors(layout: GranuleLayout, palette: Palette) -> Image.Image:
    colors = np.array([palette[code].rgb for code in layout.codes] + [GAP_RGB], dtype=np.uint8)
    return Image.fromarray(colors[layout.color_map()])  # gap index -1 picks the appended GAP_RGB


def _legend(
    layout: GranuleLayout, requested: Mapping[str, float], palette: Palette, unit: int, height: int
) -> Image.Image:
    title_font = ImageFont.load_default(size=round(1.3 * unit))
    font = ImageFont.load_default(size=unit)
    small = ImageFont.load_default(size=round(0.8 * unit))
    actual = layout.area_shares()
    margin, swatch, row = unit, 3 * unit, 4 * unit
    width = margin + swatch + margin + 16 * unit + margin
    legend = Image.new("RGB", (width, height), PAPER_RGB)
    draw = ImageDraw.Draw(legend)
    draw.text((margin, margin), "Colour map", fill=INK_RGB, font=title_font)
    draw.text((margin, margin + 1.7 * unit), f"seed {layout.seed}", fill=MUTED_RGB, font=small)
    top = margin + 4 * unit
    for index, code in enumerate(layout.codes):
        y = top + index * row
        color = palette[code]
        draw.rectangle((margin, y, margin + swatch, y + swatch), fill=color.rgb, outline=OUTLINE_RGB)
        x = margin + swatch + margin
        draw.text((x, y), f"{code}  {color.name_en}", fill=INK_RGB, font=font)
        shares = f"requested {requested.get(code, 0.0):g}%   layout {actual[code]:.2f}%"
        draw.text((x, y + 1.5 * unit), shares, fill=MUTED_RGB, font=small)
    y = top + len(layout.codes) * row
    draw.rectangle((margin, y, margin + swatch, y + swatch), fill=GAP_RGB, outline=OUTLINE_RGB)
    draw.text((margin + swatch + margin, y + 0.5 * unit), "gaps between crumbs", fill=MUTED_RGB, font=small)
    return legend
