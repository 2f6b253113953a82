"""Draw the palette as a grid of labelled swatches: docs/images/palette.png.

    python tools/palette_swatches.py [--out PNG] [--columns N]

Each swatch shows the colour's sRGB from colors.json as a flat band, a crop of the product's own
procedural render of a 100% tile of that colour (plitka.render.swatch), and its code,
English name and hex value. The same palette and library versions give the same file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from plitka.palette import PALETTE, PaletteColor
from plitka.render.swatch import crumb_crop

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "images" / "palette.png"

CELL_WIDTH = 132
FLAT_HEIGHT = 18  # the band of the exact palette colour
CROP_HEIGHT = 64  # the rendered crumbs below it
LABEL_HEIGHT = 34
GAP = 8
RGB = tuple[int, int, int]
PAPER: RGB = (255, 255, 255)
INK: RGB = (40, 40, 40)
FAINT: RGB = (110, 110, 110)
TEXT_LEVELS = 7  # anti-aliasing steps kept between the paper and each ink
PNG_COLOURS = 256
CHUNK = 16384  # pixels matched against the palette at a time


def swatch(color: PaletteColor, crumbs: Image.Image, fonts: tuple[ImageFont.ImageFont, ...]) -> Image.Image:
    """One cell: flat colour, crumbs, then the code and hex value over the English name."""
    bold, small = fonts
    cell = Image.new("RGB", (CELL_WIDTH, FLAT_HEIGHT + CROP_HEIGHT + LABEL_HEIGHT), PAPER)
    cell.paste(Image.new("RGB", (CELL_WIDTH, FLAT_HEIGHT), color.rgb), (0, 0))
    cell.paste(crumbs, (0, FLAT_HEIGHT))
    draw = ImageDraw.Draw(cell)
    draw.rectangle((0, 0, CELL_WIDTH - 1, FLAT_HEIGHT + CROP_HEIGHT - 1), outline=FAINT)
    text_top = FLAT_HEIGHT + CROP_HEIGHT + 3
    draw.text((1, text_top), color.code, font=bold, fill=INK)
    draw.text((CELL_WIDTH - 1, text_top + 2), color.hex, font=small, fill=FAINT, anchor="ra")
    draw.text((1, text_top + 16), color.name_en, font=small, fill=INK)
    return cell


def grid(cells: list[Image.Image], columns: int) -> Image.Image:
    """The cells row by row on white paper."""
    rows = -(-len(cells) // columns)
    width, height = cells[0].size
    sheet = Image.new("RGB", (GAP + columns * (width + GAP), GAP + rows * (height + GAP)), PAPER)
    for index, cell in enumerate(cells):
        row, column = divmod(index, columns)
        sheet.paste(cell, (GAP + column * (width + GAP), GAP + row * (height + GAP)))
    return sheet


def text_shades() -> list[RGB]:
    """Paper, the two inks and the anti-aliasing steps between them."""
    shades = [PAPER]
    for ink in (INK, FAINT):
        for step in range(1, TEXT_LEVELS + 1):
            share = step / TEXT_LEVELS
            shades.append(tuple(round(p + share * (i - p)) for p, i in zip(PAPER, ink, strict=True)))
    return shades


def crop_shades(crumbs: Image.Image, count: int) -> list[RGB]:
    """The `count` colours that best stand for one rendered crop."""
    flat = crumbs.quantize(count, method=Image.Quantize.MEDIANCUT).getpalette()[: 3 * count]
    return [tuple(flat[i : i + 3]) for i in range(0, len(flat), 3)]


def png_palette(colors: list[PaletteColor], crops: list[Image.Image]) -> np.ndarray:
    """At most 256 entries: every exact palette colour, the text shades, and each crop's own shades,
    so that no crumb is drawn in a shade of another colour and the flat bands stay exact."""
    entries = [color.rgb for color in colors] + text_shades()
    per_crop = (PNG_COLOURS - len(entries)) // len(crops)
    for crumbs in crops:
        entries += crop_shades(crumbs, per_crop)
    return np.array(entries, dtype=np.int32)


def indexed(sheet: Image.Image, palette: np.ndarray) -> Image.Image:
    """Each pixel as its nearest palette entry, exactly (Pillow's own mapping rounds the colours)."""
    pixels = np.asarray(sheet, dtype=np.int32).reshape(-1, 3)
    index = np.concatenate(
        [
            ((part[:, None, :] - palette[None]) ** 2).sum(axis=2).argmin(axis=1)
            for part in np.split(pixels, range(CHUNK, len(pixels), CHUNK))
        ]
    )
    image = Image.fromarray(index.astype(np.uint8).reshape(sheet.height, sheet.width), mode="P")
    image.putpalette(palette.astype(np.uint8).ravel().tolist())
    return image


def write_png(colors: list[PaletteColor], out: Path, columns: int) -> int:
    """Draw the sheet, save it with its own palette; return the file size in bytes."""
    fonts = (ImageFont.load_default(13), ImageFont.load_default(11))  # Pillow's bundled font: same everywhere
    crops = [crumb_crop(color, CELL_WIDTH, CROP_HEIGHT) for color in colors]
    sheet = grid([swatch(c, crumbs, fonts) for c, crumbs in zip(colors, crops, strict=True)], columns)
    out.parent.mkdir(parents=True, exist_ok=True)
    indexed(sheet, png_palette(colors, crops)).save(out, optimize=True)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"PNG to write (default {DEFAULT_OUT})")
    parser.add_argument("--columns", type=int, default=6, help="swatches per row (default 6)")
    args = parser.parse_args(argv)
    if args.columns < 1:
        parser.error("--columns must be at least 1")
    size = write_png(list(PALETTE), args.out, args.columns)
    print(f"{args.out}: {len(PALETTE)} colours, {size // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
