"""The spec sheet: one A4 PDF with the picture, a 1:1 crop, the colours, the ordered and measured
shares, the quantities with their assumptions, and what reproduces the tile (seed, angle, code).

Drawn with reportlab's canvas (pure Python on Pillow): fixed positions on one page, no layout engine.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from plitka import __version__
from plitka.layout import CRUMB_SPACING
from plitka.order.quantities import Quantities
from plitka.order.share import code_for_report
from plitka.palette import PALETTE

# The picture's scale: crumbs 1-4 mm across lie about 2.5 mm apart, a grid step of CRUMB_SPACING of
# the tile's side, so the tile shows about 125 mm of floor; the 1:1 crop prints CROP_MM of it as CROP_MM.
CRUMB_PITCH_MM = 2.5
TILE_SIDE_MM = CRUMB_PITCH_MM / CRUMB_SPACING
CROP_MM = 50.0
PICTURE_MM = 95.0
JPEG_QUALITY = 90
MARGIN = 15 * mm


@dataclass(frozen=True)
class SheetContent:
    picture: Image.Image  # the final picture
    report: Mapping[str, Any]  # the generation's report.json
    code: str  # the share code (plitka.order.share)
    made: date
    order: Quantities | None = None


def write_sheet(content: SheetContent) -> bytes:
    """The PDF's bytes."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, invariant=1)
    canvas.setTitle(f"Plitka Pro spec sheet: {content.report['mix']}")
    canvas.setAuthor(f"Plitka Pro {__version__}")
    width, height = A4
    y = height - MARGIN
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(MARGIN, y - 12, "Plitka Pro - rubber-crumb floor specification")
    canvas.setFont("Helvetica", 9)
    canvas.drawRightString(width - MARGIN, y - 12, f"Date: {content.made.isoformat()}")
    canvas.setFont("Helvetica", 11)
    canvas.drawString(MARGIN, y - 30, f"Mix: {content.report['mix']}")
    y = _pictures(canvas, content.picture, y - 40)
    y = _colour_table(canvas, content, y - 10)
    if content.order is not None:
        y = _quantities(canvas, content.order, y - 8)
    _reproduce(canvas, content, y - 8)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _pictures(canvas: Canvas, picture: Image.Image, top: float) -> float:
    side = PICTURE_MM * mm
    canvas.drawImage(_jpeg(picture), MARGIN, top - side, side, side)
    crop_px = round(picture.width * CROP_MM / TILE_SIDE_MM)
    left = (picture.width - crop_px) // 2
    crop = picture.crop((left, left, left + crop_px, left + crop_px))
    x = MARGIN + side + 12 * mm
    canvas.drawImage(_jpeg(crop), x, top - CROP_MM * mm, CROP_MM * mm, CROP_MM * mm)
    canvas.setFont("Helvetica", 8)
    lines = [
        f"1:1 crop: {CROP_MM:g} mm of floor printed as {CROP_MM:g} mm",
        f"(print at 100%; the tile shows about {TILE_SIDE_MM:g} mm,",
        f"taking crumbs about {CRUMB_PITCH_MM:g} mm apart)",
        f"Left: the whole tile, {picture.width} x {picture.height} px.",
    ]
    for index, line in enumerate(lines):
        canvas.drawString(x, top - CROP_MM * mm - 12 - 10 * index, line)
    return top - side


def _jpeg(image: Image.Image) -> ImageReader:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
    buffer.seek(0)
    return ImageReader(buffer)


COLUMNS = (("Colour", 0), ("Code", 14), ("Name", 36), ("RGB", 74), ("Ordered %", 100), ("Measured %", 122))
ORDER_COLUMNS = (("kg", 146), ("Bags", 164))


def _colour_table(canvas: Canvas, content: SheetContent, top: float) -> float:
    report, order = content.report, content.order
    columns = COLUMNS + (ORDER_COLUMNS if order else ())
    canvas.setFont("Helvetica-Bold", 9)
    for title, x in columns:
        canvas.drawString(MARGIN + x * mm, top - 10, title)
    quantities = {colour.code: colour for colour in order.colours} if order else {}
    canvas.setFont("Helvetica", 9)
    y = top - 10
    for code, ordered in report["requested"].items():
        y -= 16
        colour = PALETTE[code]
        canvas.setFillColorRGB(*(channel / 255 for channel in colour.rgb))
        canvas.rect(MARGIN, y - 3, 10 * mm, 12, stroke=1, fill=1)
        canvas.setFillColorRGB(0, 0, 0)
        cells = [code, colour.name_en, colour.hex, f"{ordered:.1f}", f"{report['measured'].get(code, 0):.1f}"]
        if code in quantities:
            cells += [f"{quantities[code].kg:,.1f}", str(quantities[code].bags)]
        for (_, x), text in zip(columns[1:], cells, strict=False):
            canvas.drawString(MARGIN + x * mm, y, text)
    return y - 8


def _quantities(canvas: Canvas, order: Quantities, top: float) -> float:
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(MARGIN, top - 12, "Quantities")
    canvas.setFont("Helvetica", 9)
    lines = [
        f"Area {order.area_m2:,.2f} m², wear course {order.depth_mm:g} mm deep.",
        f"Rubber laid: {order.laid_rubber_kg:,.1f} kg; to order with wastage: {order.rubber_kg:,.1f} kg"
        f" in {order.bags} bags of {order.assumptions.bag_kg:g} kg.",
        f"PU binder: {order.binder_kg:,.1f} kg"
        f" ({order.assumptions.binder_share * 100:g}% of the rubber's weight, wastage included).",
    ]
    y = _lines(canvas, lines, top - 26)
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawString(MARGIN, y - 4, "Assumptions (typical published values; settable, see docs/order.md):")
    canvas.setFont("Helvetica", 9)
    return _lines(canvas, order.assumptions.describe(), y - 16)


def _reproduce(canvas: Canvas, content: SheetContent, top: float) -> None:
    report = content.report
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(MARGIN, top - 12, "To reproduce this tile")
    canvas.setFont("Helvetica", 9)
    lines = [
        f"Seed {report['seed']}, angle {report['angle']} degrees, quality {report['quality']},"
        f" engine {report['engine']}.",
        f"Share code: {content.code}",
        f"plitka generate --code {content.code}",
        f"Measured: the shares counted in the picture itself. Plitka Pro {__version__}.",
    ]
    _lines(canvas, lines, top - 26)


def _lines(canvas: Canvas, lines: list[str], top: float, leading: float = 12) -> float:
    for index, line in enumerate(lines):
        canvas.drawString(MARGIN, top - leading * index, line)
    return top - leading * len(lines)


def sheet_for(report: Mapping[str, Any], picture: Image.Image, order: Quantities | None, made: date) -> bytes:
    """The sheet of one generation: its report.json and final picture."""
    return write_sheet(SheetContent(picture, report, code_for_report(dict(report)), made, order))


def write_sheet_file(
    report: Mapping[str, Any], picture: Path, order: Quantities | None, folder: Path
) -> Path:
    """The sheet of a generation written beside its outputs, as `folder`/sheet.pdf."""
    with Image.open(picture) as image:
        pdf = sheet_for(report, image.convert("RGB"), order, datetime.now(UTC).date())
    path = folder / "sheet.pdf"
    path.write_bytes(pdf)
    return path
