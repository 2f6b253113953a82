"""Labelled photos for training: labels.csv in reference-tiles' format, pictures checked, captions from
the engine's own prompt builder, and augmentation that keeps the colour shares.

labels.csv has at least the columns `file` (a path under the folder) and `proportions`
('BLUE:10;RED:90', the shares as they really are: reference-tiles' corrected column), one row a photo.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from plitka.colour.tile import TileNotFoundError, tile_mask
from plitka.diffusion.prompt import build_prompt
from plitka.request import RequestError, TileRequest, parse_color_text
from plitka.training.inputs import TrainingInputError

LABELS_FILE = "labels.csv"
REQUIRED_COLUMNS = ("file", "proportions")
MAX_LABELS_BYTES = 1 << 20
MAX_PHOTOS = 300  # each kept tile area is up to 1280² RGB (4.7 MiB) at 1024 px: 1.4 GiB at most
PICTURE_FORMATS = ("JPEG", "PNG", "WEBP")
MIN_PICTURE_SIDE = 128
MAX_PICTURE_PIXELS = 50_000_000  # refused before decoding (a decompression bomb is a small file)
WORK_SIDE = 2048  # photos are analysed at most this large
KEPT_OVERSAMPLE = 1.25  # the tile area is kept this much larger than the training side, for crops
MIN_CROP_FRACTION = 0.75  # of the tile area's side
CAPTION_SOURCE = "labels.csv proportions -> plitka.diffusion.prompt.build_prompt (the engine's prompt)"


@dataclass(frozen=True)
class TrainingPhoto:
    file: str
    mix: dict[str, float]
    caption: str
    tile: Image.Image  # the largest square of the tile's area, at most KEPT_OVERSAMPLE x the training side


def caption_for(mix: dict[str, float]) -> str:
    """What the engine prompts with for this mix (top view), so training and inference read the same words."""
    return build_prompt(TileRequest(mix=mix))


def load_photos(root: Path, resolution: int, field: str = "input_images") -> list[TrainingPhoto]:
    """Every photo labels.csv lists under `root`, checked, with its caption and tile area."""
    rows = read_labels(root, field)
    return [_photo(root, number, row, resolution, field) for number, row in enumerate(rows, start=2)]


def read_labels(root: Path, field: str) -> list[dict[str, str]]:
    path = root / LABELS_FILE
    if not path.is_file() or path.is_symlink():
        raise TrainingInputError(field, f"needs a {LABELS_FILE} at its top (columns: file, proportions)")
    if path.stat().st_size > MAX_LABELS_BYTES:
        raise TrainingInputError(field, f"{LABELS_FILE} is larger than {MAX_LABELS_BYTES >> 20} MiB")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise TrainingInputError(field, f"{LABELS_FILE} must be UTF-8 text") from None
    try:
        reader = csv.DictReader(io.StringIO(text))
        missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise TrainingInputError(field, f"{LABELS_FILE} lacks the column(s) {', '.join(missing)}")
        rows = []
        for row in reader:
            if len(rows) >= MAX_PHOTOS:
                raise TrainingInputError(field, f"{LABELS_FILE} lists more than {MAX_PHOTOS} photos")
            rows.append(row)
    except csv.Error as error:
        raise TrainingInputError(field, f"{LABELS_FILE} is not valid CSV: {error}") from None
    if not rows:
        raise TrainingInputError(field, f"{LABELS_FILE} lists no photos")
    return rows


def parse_mix(text: str, where: str, field: str) -> dict[str, float]:
    """'BLUE:10;RED:90' -> {'BLUE': 10.0, 'RED': 90.0}, through the request's own colour parser."""
    pairs = [item.split(":") for item in (text or "").split(";") if item.strip()]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise TrainingInputError(
            field, f"{where}: proportions must read like 'BLUE:10;RED:90', got {text!r:.60}"
        )
    try:
        return parse_color_text(", ".join(f"{share.strip()}% {code.strip()}" for code, share in pairs))
    except RequestError as error:
        raise TrainingInputError(field, f"{where}: {error.detail}") from None


def _photo(root: Path, number: int, row: dict[str, str], resolution: int, field: str) -> TrainingPhoto:
    where = f"{LABELS_FILE} line {number}"
    name = (row.get("file") or "").strip()
    mix = parse_mix(row.get("proportions") or "", where, field)
    path = _inside(root, name, where, field)
    tile = _tile_area(_open_picture(path, where, field), where, field)
    side = min(tile.width, round(resolution * KEPT_OVERSAMPLE))
    return TrainingPhoto(name, mix, caption_for(mix), tile.resize((side, side), Image.Resampling.LANCZOS))


def _inside(root: Path, name: str, where: str, field: str) -> Path:
    """The file a row names, refused unless it is a plain file inside `root`."""
    if not name or name.startswith(("/", "\\")) or ".." in Path(name).parts:
        raise TrainingInputError(
            field, f"{where}: file must be a relative path inside the folder, got {name!r:.80}"
        )
    base = root.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base) or (base / name).is_symlink():
        raise TrainingInputError(field, f"{where}: {name!r:.80} points outside the folder")
    if not path.is_file():
        raise TrainingInputError(field, f"{where}: {name!r:.80} is not in the folder")
    return path


def _open_picture(path: Path, where: str, field: str) -> Image.Image:
    try:
        with Image.open(path) as picture:
            if picture.format not in PICTURE_FORMATS:
                raise TrainingInputError(
                    field, f"{where}: {path.name} is {picture.format}; allowed: {', '.join(PICTURE_FORMATS)}"
                )
            width, height = picture.size
            if min(width, height) < MIN_PICTURE_SIDE or width * height > MAX_PICTURE_PIXELS:
                raise TrainingInputError(
                    field,
                    f"{where}: {path.name} is {width}x{height}; allowed: sides from {MIN_PICTURE_SIDE} px, "
                    f"at most {MAX_PICTURE_PIXELS // 1_000_000} MP",
                )
            picture.draft("RGB", (WORK_SIDE, WORK_SIDE))  # JPEG: decode at a reduced size directly
            rgb = picture.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as error:
        raise TrainingInputError(field, f"{where}: {path.name} is not a readable picture ({error})") from None
    rgb.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
    return rgb


def _tile_area(picture: Image.Image, where: str, field: str) -> Image.Image:
    """The largest axis-aligned square inside the tile (background, edge and shadow excluded)."""
    rgb = np.asarray(picture)
    try:
        mask = tile_mask(rgb)
    except TileNotFoundError as error:
        raise TrainingInputError(field, f"{where}: {error}") from None
    # Chessboard distance to the nearest non-tile pixel = half the side of the largest square centred
    # there; the zero frame makes the picture's edge count as outside.
    framed = np.pad(mask.astype(np.uint8), 1)
    distance = cv2.distanceTransform(framed, cv2.DIST_C, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    half = int(distance[y, x]) - 1
    if 2 * half + 1 < MIN_PICTURE_SIDE:
        raise TrainingInputError(
            field, f"{where}: the tile is too small in the picture (under {MIN_PICTURE_SIDE} px)"
        )
    return picture.crop((x - half, y - half, x + half + 1, y + half + 1))


def augmented(photo: TrainingPhoto, resolution: int, rng: random.Random) -> Image.Image:
    """A random crop of the tile area, flipped and turned by a multiple of 90°: the granules' colour
    shares stay what the label says (a crop of a random mix is the same mix)."""
    side = photo.tile.width
    crop = rng.randint(max(1, round(side * MIN_CROP_FRACTION)), side)
    left, top = rng.randint(0, side - crop), rng.randint(0, side - crop)
    image = photo.tile.crop((left, top, left + crop, top + crop)).resize(
        (resolution, resolution), Image.Resampling.BICUBIC
    )
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    turns = rng.randrange(4)
    if turns:
        image = image.transpose(
            (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)[turns]
        )
    return image


def centre(photo: TrainingPhoto, resolution: int) -> Image.Image:
    """The whole tile area at the training side, unaugmented (the fixed batch)."""
    return photo.tile.resize((resolution, resolution), Image.Resampling.BICUBIC)
