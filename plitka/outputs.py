"""Where a prediction's files go: one folder each under the work dir, the oldest pruned."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from PIL import Image

# Pillow's format names and the options that keep the picture faithful.
_PIL_FORMATS = {"png": "PNG", "webp": "WEBP", "jpg": "JPEG"}


class OutputFolders:
    def __init__(self, root: Path, keep: int):
        self.root = root
        self.keep = keep

    def new_folder(self) -> Path:
        """A fresh folder for one prediction; folders beyond `keep` are removed, oldest first."""
        self.root.mkdir(parents=True, exist_ok=True)
        folder = self.root / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        self._prune()
        return folder

    def _prune(self) -> None:
        folders = sorted((p for p in self.root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for old in folders[: max(0, len(folders) - self.keep)]:
            shutil.rmtree(old, ignore_errors=True)


def save_image(image: Image.Image, path_without_suffix: Path, output_format: str, quality: int) -> Path:
    path = path_without_suffix.with_suffix(f".{output_format}")
    options = {} if output_format == "png" else {"quality": quality}
    if output_format == "webp":
        options["method"] = 4
    image.save(path, _PIL_FORMATS[output_format], **options)
    return path
