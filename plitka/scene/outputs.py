"""A prediction's scene outputs, written after its usual four: the scene picture, the room photo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from plitka.layout import GranuleLayout
from plitka.outputs import save_image
from plitka.scene.ground import SCENES
from plitka.scene.photo import lay_in_photo
from plitka.scene.request import SceneRequest
from plitka.scene.texture import texture_from_layout


def scene_outputs(
    request: SceneRequest,
    layout: GranuleLayout,
    final: Image.Image | None,
    angle: int,
    folder: Path,
    output_format: str,
    quality: int,
) -> Iterator[Path]:
    """Write and yield scene.<format> and/or room.<format>. The texture is cut from `final` where it is
    a top view at angle 0 of `layout` (procedural or diffused and locked), else from a fresh render."""
    source = final if angle == 0 and final is not None and final.width == layout.size else None
    texture = texture_from_layout(layout, source)
    if request.scene != "none":
        yield save_image(SCENES[request.scene](texture), folder / "scene", output_format, quality)
    if request.room_photo is not None and request.room_corners is not None:
        room = lay_in_photo(request.room_photo, request.room_corners, texture, request.room_width_m * 1000)
        yield save_image(room, folder / "room", output_format, quality)
