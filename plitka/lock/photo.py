"""Read a customer's photo for re-colouring: every way a file can be unfit is refused, naming `image`.

The size is read from the file's header and checked before a single pixel is decoded (a small file
can claim billions of pixels: a decompression bomb). CMYK, palette, greyscale and 16-bit pictures
are converted to 8-bit RGB; an alpha channel is dropped when every pixel is opaque and refused
otherwise (what lies under a transparent pixel is unknown); an animation is refused.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from plitka.request import RequestError

FIELD = "image"
MAX_PIXELS = 25_000_000
MIN_SIDE_PX = 256
FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")


def load_photo(path: Path | str) -> Image.Image:
    """The photo at `path` as a decoded 8-bit RGB image, or RequestError('image', why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=FORMATS) as picture:
                _check_header(picture)
                picture.load()
                return _as_rgb(picture)
    except RequestError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        if isinstance(error, UnidentifiedImageError):
            raise RequestError(FIELD, f"not an image; send a {', '.join(FORMATS)} file") from None
        raise RequestError(FIELD, f"too large; at most {MAX_PIXELS // 1_000_000} megapixels") from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt data
        raise RequestError(
            FIELD, f"cannot be decoded ({type(error).__name__}); send a complete file"
        ) from None


def _check_header(picture: Image.Image) -> None:
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise RequestError(
            FIELD, f"{width}x{height} is too large; at most {MAX_PIXELS // 1_000_000} megapixels"
        )
    if min(width, height) < MIN_SIDE_PX:
        raise RequestError(FIELD, f"{width}x{height} is too small; at least {MIN_SIDE_PX} px on each side")
    if getattr(picture, "n_frames", 1) > 1:
        raise RequestError(FIELD, "an animation; send a single still picture")


def _as_rgb(picture: Image.Image) -> Image.Image:
    if picture.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or float greyscale
        values = np.asarray(picture, dtype=np.float64)
        top = 65535.0 if picture.mode.startswith("I;16") or values.max() > 255 else 255.0
        grey = np.clip(np.round(values * 255 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if picture.mode == "P":
        picture = picture.convert("RGBA")
    if "A" in picture.mode or picture.mode == "LA":
        alpha = np.asarray(picture.getchannel("A"))
        if alpha.min() < 255:
            raise RequestError(FIELD, "has transparent pixels; send an opaque picture (no alpha)")
    return picture.convert("RGB")
