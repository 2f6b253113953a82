"""Cog adapter for `cog train` (cog.yaml `train: "train.py:train"`): labelled photos in, weights tar out.

coglet serves it at /trainings when started with `--x-mode train` and COG_TRAIN_TYPE_STUB=train.py:train
(`plitka serve --train`). The work is plitka.training's; this file only maps the form onto it.
"""

import re
import tempfile
import uuid
from typing import Any

from cog import BaseModel, Input, Path

from plitka.settings import configure_logging, get_settings
from plitka.training import TRAINING_FIELDS, TrainingService, build_config, unpack_archive


class TrainingOutput(BaseModel):
    weights: Path


def _input(name: str) -> Any:
    """The form field of a training input, from the one table of bounds and defaults."""
    spec = TRAINING_FIELDS[name]
    if spec.choices:  # Cog wants two choices or more: one allowed value is a pattern
        pattern = "^(" + "|".join(re.escape(choice) for choice in spec.choices) + ")$"
        return Input(default=spec.default, regex=pattern, description=spec.description)
    return Input(default=spec.default, ge=spec.low, le=spec.high, description=spec.description)


def train(
    input_images: Path = Input(  # noqa: B008 -- Cog reads the form from the defaults
        description=(
            "A .zip or .tar of photos with labels.csv (columns file, proportions like 'BLUE:10;RED:90'), "
            "as ../shared/reference-tiles. At most 2,000 entries, 64 MiB a picture."
        )
    ),
    steps: int = _input("steps"),
    batch_size: int = _input("batch_size"),
    resolution: int = _input("resolution"),
    unet_lr: float = _input("unet_lr"),
    ti_lr: float = _input("ti_lr"),
    ti_freeze_fraction: float = _input("ti_freeze_fraction"),
    lora_rank: int = _input("lora_rank"),
    ti_tokens: str = _input("ti_tokens"),
    snr_gamma: float = _input("snr_gamma"),
    noise_offset: float = _input("noise_offset"),
    validation_every: int = _input("validation_every"),
    seed: int = _input("seed"),
) -> TrainingOutput:
    """Train the product's LoRA and TI; the tar goes into PLITKA_LORA_SOURCE and PLITKA_TI_SOURCE."""
    config = build_config(
        steps=steps,
        batch_size=batch_size,
        resolution=resolution,
        unet_lr=unet_lr,
        ti_lr=ti_lr,
        ti_freeze_fraction=ti_freeze_fraction,
        lora_rank=lora_rank,
        ti_tokens=ti_tokens,
        snr_gamma=snr_gamma,
        noise_offset=noise_offset,
        validation_every=validation_every,
        seed=seed,
    )
    settings = get_settings()
    configure_logging(settings)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    out = settings.work_dir / "trainings" / uuid.uuid4().hex / "plitka-weights.tar"
    with tempfile.TemporaryDirectory(dir=settings.work_dir) as scratch:
        data = unpack_archive(Path(input_images), Path(scratch) / "data")
        TrainingService(settings).train(data, config, out, progress=lambda line: print(line, flush=True))
    return TrainingOutput(weights=Path(out))
