"""docs/images/scene-sheet.jpg: three mixes (rows) in the three scenes (columns), procedural engine.

.venv/bin/python tools/scene_sheet.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from plitka.layout import build_layout
from plitka.request import build_request
from plitka.scene.ground import SCENES
from plitka.scene.texture import texture_from_layout

ROOT = Path(__file__).resolve().parent.parent
MIXES = ("60% red, 40% white", "50% blue, 50% yellow", "50% green apple, 30% dark gray, 20% white")
CELL = (600, 400)


def main() -> None:
    sheet = Image.new("RGB", (CELL[0] * len(SCENES), CELL[1] * len(MIXES)), "white")
    draw = ImageDraw.Draw(sheet)
    for row, text in enumerate(MIXES):
        request = build_request(colors=text)
        texture = texture_from_layout(build_layout(request.mix, size=1024, seed=row + 1))
        for column, scene in enumerate(SCENES.values()):
            picture = scene(texture).resize(CELL, Image.Resampling.LANCZOS)
            sheet.paste(picture, (column * CELL[0], row * CELL[1]))
        draw.rectangle((6, row * CELL[1] + 6, 16 + 7 * len(text), row * CELL[1] + 24), fill="white")
        draw.text((11, row * CELL[1] + 9), text, fill="black")
    path = ROOT / "docs" / "images" / "scene-sheet.jpg"
    sheet.save(path, "JPEG", quality=85, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
