"""Validation during training: two mixes rendered as the engine renders them (image-to-image from the
exact procedural layout, with the LoRA and TI being trained), measured with the colour measurement."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from plitka.analysis import measure_proportions
from plitka.colour.tile import TileNotFoundError
from plitka.diffusion import loaders
from plitka.diffusion.prompt import DEFAULT_NEGATIVE
from plitka.layout import build_layout
from plitka.presets import QUALITY_PRESETS
from plitka.render import render_tile
from plitka.request import TileRequest
from plitka.training.dataset import caption_for

log = logging.getLogger("plitka.training")

VALIDATION_MIXES: tuple[dict[str, float], ...] = (
    {"RED": 60.0, "WHITE": 40.0},
    {"BLUE": 10.0, "DKGREEN": 45.0, "RED": 45.0},  # the family whose captions were wrong before
)
VALIDATION_SEED = 7
PRESET = QUALITY_PRESETS["preview"]  # the fastest preset: validation costs training time


@dataclass
class Validator:
    """Renders and measures the validation mixes; keeps the last images for the output tar."""

    images: dict[str, Image.Image] = field(default_factory=dict)

    def __call__(self, trainer: Any, step: int) -> dict[str, Any]:
        torch = trainer.torch
        models = trainer.models
        pipe = loaders.img2img_pipeline(models.base, models.vae)
        pipe.scheduler = models.base.scheduler
        trainer.unet.eval()
        results = []
        with torch.no_grad(), trainer._autocast():
            for number, mix in enumerate(VALIDATION_MIXES, start=1):
                image = self._render(pipe, mix, trainer.config.resolution, trainer.device)
                self.images[f"validation/mix{number}.png"] = image
                results.append(_measured(mix, image))
        maes = [result["mae"] for result in results if result["mae"] is not None]
        mean = round(float(np.mean(maes)), 3) if maes else None
        trainer.progress(
            f"validation at step {step}: "
            + "; ".join(f"{result['mix']}: MAE {_points(result['mae'])}" for result in results)
            + f"; mean MAE {_points(mean)}"
        )
        return {"step": step, "mae": mean, "mixes": results}

    @staticmethod
    def _render(pipe: Any, mix: dict[str, float], side: int, device: str) -> Image.Image:
        import torch

        layout = build_layout(mix, size=side, seed=VALIDATION_SEED)
        init = render_tile(layout, angle=0, size=side)
        return pipe(
            prompt=caption_for(mix),
            negative_prompt=DEFAULT_NEGATIVE,
            image=init,
            strength=PRESET.strength,
            num_inference_steps=PRESET.steps,
            guidance_scale=PRESET.guidance,
            generator=torch.Generator(device=device).manual_seed(VALIDATION_SEED),
        ).images[0]


def _measured(mix: dict[str, float], image: Image.Image) -> dict[str, Any]:
    words = TileRequest(mix=mix).describe_mix()
    try:
        measured = measure_proportions(image, list(mix))
    except TileNotFoundError as error:  # an untrained model can paint something that is not a tile
        return {"mix": words, "measured": None, "mae": None, "why": str(error)}
    mae = float(np.mean([abs(measured[code] - share) for code, share in mix.items()]))
    return {"mix": words, "measured": measured, "mae": round(mae, 3)}


def _points(value: float | None) -> str:
    return "not measurable" if value is None else f"{value:.2f} points"
