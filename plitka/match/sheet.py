"""A picture of reverse-match results: per mix, the target, the mix's mean look and a crop of its render."""

from __future__ import annotations

from PIL import Image, ImageDraw

from plitka.layout import build_layout
from plitka.match.match import Match
from plitka.render import render_tile

SWATCH = 128
RENDER = 384  # px of the render; its middle SWATCH * 2 is shown


def match_sheet(target_rgb: tuple[int, int, int], matches: list[Match], seed: int = 1) -> Image.Image:
    row_height = 2 * SWATCH + 8
    sheet = Image.new("RGB", (4 * SWATCH + 360, row_height * len(matches)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, match in enumerate(matches):
        top = row * row_height
        draw.rectangle((0, top, SWATCH - 1, top + 2 * SWATCH - 1), fill=target_rgb)
        draw.rectangle((SWATCH, top, 2 * SWATCH - 1, top + 2 * SWATCH - 1), fill=match.look_rgb)
        render = render_tile(build_layout(match.shares, size=RENDER, seed=seed), angle=0)
        margin = (RENDER - 2 * SWATCH) // 2
        sheet.paste(
            render.crop((margin, margin, margin + 2 * SWATCH, margin + 2 * SWATCH)), (2 * SWATCH, top)
        )
        text = f"{match.describe()}\ndE2000 of the mean look: {match.delta_e:.2f}\nleft: target, mean look"
        draw.multiline_text((4 * SWATCH + 12, top + 12), text, fill="black", spacing=6)
    return sheet
