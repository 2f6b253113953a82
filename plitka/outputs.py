"""Where a prediction's files go: one folder each under the work dir, the oldest pruned.

Only folders this service made are pruned: each holds MARKER, and nothing else in the work dir
(files of the operator, folders another program or coglet made there) is touched."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path

from PIL import Image

MARKER = ".plitka-output"  # written into every folder new_folder() makes; pruning needs it

# Pillow's format names and the options that keep the picture faithful.
_PIL_FORMATS = {"png": "PNG", "webp": "WEBP", "jpg": "JPEG"}


class OutputFolders:
    def __init__(self, root: Path, keep: int):
        self.root = root
        self.keep = keep

    def new_folder(self) -> Path:
        """A fresh folder for one prediction; folders beyond `keep` are removed, oldest first."""
        self.root.mkdir(parents=True, exist_ok=True)
        # Names sort in creation order (microseconds), which is what pruning goes by.
        folder = self.root / f"{datetime.now():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        (folder / MARKER).write_bytes(b"")
        self._prune()
        return folder

    def _prune(self) -> None:
        folders = sorted(path for path in self.root.iterdir() if self.is_ours(path))
        for old in folders[: max(0, len(folders) - self.keep)]:
            shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def is_ours(path: Path) -> bool:
        """A folder new_folder() made: a real folder (not a link to one elsewhere) with the marker."""
        return path.is_dir() and not path.is_symlink() and (path / MARKER).is_file()

    def writable(self) -> str:
        """Why no output folder can be made here, or '' where one can."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            return f"work dir {self.root} is not writable ({error.strerror or error})"
        return ""


PNG_COMPRESS_LEVEL = 3


def save_image(image: Image.Image, path_without_suffix: Path, output_format: str, quality: int) -> Path:
    path = path_without_suffix.with_suffix(f".{output_format}")
    # zlib level 3 instead of Pillow's 6: on these granule pictures 2-3x faster and no bigger.
    options = {"compress_level": PNG_COMPRESS_LEVEL} if output_format == "png" else {"quality": quality}
    if output_format == "webp":
        options["method"] = 4
    image.save(path, _PIL_FORMATS[output_format], **options)
    return path
