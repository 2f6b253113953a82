"""The output of a training: one tar with the LoRA, the TI and a manifest, which PLITKA_LORA_SOURCE and
PLITKA_TI_SOURCE take as it is (a path or a URL)."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from plitka.diffusion.loaders import LORA_FILE, MANIFEST_FILE, TI_FILE

MANIFEST_FORMAT = "plitka-weights/1"


def write_bundle(
    path: Path,
    lora_layers: dict[str, Any],
    textual_inversion: dict[str, Any],
    manifest: dict[str, Any],
    images: dict[str, Image.Image],
) -> Path:
    """Write the tar at `path` (replaced whole: written beside it, then renamed)."""
    from diffusers import StableDiffusionXLPipeline
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        folder = Path(scratch)
        StableDiffusionXLPipeline.save_lora_weights(
            folder, unet_lora_layers=lora_layers, weight_name=LORA_FILE, safe_serialization=True
        )
        save_file({key: rows.contiguous() for key, rows in textual_inversion.items()}, str(folder / TI_FILE))
        partial = folder / "weights.tar"
        with tarfile.open(partial, "w") as tar:
            tar.add(folder / LORA_FILE, arcname=LORA_FILE)
            tar.add(folder / TI_FILE, arcname=TI_FILE)
            _add_bytes(
                tar, MANIFEST_FILE, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
            )
            for name, image in images.items():
                encoded = io.BytesIO()
                image.save(encoded, format="PNG")
                _add_bytes(tar, name, encoded.getvalue())
        partial.replace(path)
    return path


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a weights tar (for tests, the CLI and people)."""
    with tarfile.open(path) as tar:
        member = tar.extractfile(MANIFEST_FILE)
        if member is None:
            raise ValueError(f"{path} has no {MANIFEST_FILE}")
        return json.loads(member.read())
