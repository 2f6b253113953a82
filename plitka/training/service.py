"""One training from labelled photos to the weights tar, with its models under the governor's ModelManager.

The trainer's models (its own SDXL base, VAE and noise schedule: training changes them, so they are
never shared with the engine's) are one named model, "trainer", in the same ModelManager the engine
uses when both live in one process. Before they are built, idle inference models are unloaded; while
training, the trainer holds the device's gate, so a prediction waits for it instead of fighting for
memory; afterwards the trainer's models are unloaded and the cache emptied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from plitka import __version__
from plitka.diffusion import loaders
from plitka.diffusion.sources import WeightsError, parse_source
from plitka.governor import ModelManager, ModelSpec
from plitka.governor.gate import GenerationGate
from plitka.settings import Settings, get_settings
from plitka.training.bundle import MANIFEST_FORMAT, write_bundle
from plitka.training.dataset import CAPTION_SOURCE, load_photos
from plitka.training.inputs import TrainingConfig
from plitka.training.trainer import LORA_TARGETS, Trainer, TrainingModels
from plitka.training.validation import Validator

log = logging.getLogger("plitka.training")

TRAINER_MODEL = "trainer"


class TrainingService:
    def __init__(
        self,
        settings: Settings | None = None,
        manager: ModelManager | None = None,
        gate: GenerationGate | None = None,
    ):
        self.settings = settings or get_settings()
        self.manager = manager or ModelManager()
        self.gate = gate
        if TRAINER_MODEL not in self.manager.declared():
            self.manager.declare(
                ModelSpec(TRAINER_MODEL, lambda _: self._load_models(), description="the trainer's own SDXL")
            )

    def train(
        self, data: Path, config: TrainingConfig, out: Path, progress: Callable[[str], None] = log.info
    ) -> dict[str, Any]:
        """Train on the labelled photos in folder `data`, write the tar at `out`; returns its manifest."""
        start = time.perf_counter()
        photos = load_photos(data, config.resolution)
        progress(f"{len(photos)} labelled photos; caption of the first: {photos[0].caption!r}")
        validator = Validator()
        with self._device_turn():
            evicted = self.manager.evict_lru(reason="training")
            if evicted:
                progress(f"unloaded idle models to make room: {', '.join(evicted)}")
            try:
                with self.manager.acquire(TRAINER_MODEL) as models:
                    trainer = Trainer(config, photos, models, validator, progress)
                    history = trainer.run()
                    manifest = _manifest(config, photos, models, trainer, time.perf_counter() - start)
                    write_bundle(
                        out, trainer.lora_layers(), trainer.textual_inversion(), manifest, validator.images
                    )
            finally:
                self.manager.unload(TRAINER_MODEL, reason="trained")
                _empty_cuda_cache()
        progress(f"wrote {out}: loss {history.losses[0]:.5f} -> {history.losses[-1]:.5f}")
        return manifest

    @contextmanager
    def _device_turn(self) -> Iterator[None]:
        with self.gate.enter() if self.gate else nullcontext():
            yield

    def _load_models(self) -> TrainingModels:
        import torch
        from diffusers import DDPMScheduler

        settings = self.settings
        runtime = loaders.pick_runtime(settings.device, channels_last=False, compile=False)
        if runtime.device == "cuda":  # weights in bf16 (fp16 overflows in training); trained rows in fp32
            runtime = loaders.Runtime("cuda", torch.bfloat16)
        base_source = parse_source("PLITKA_SDXL_SOURCE", settings.sdxl_source)
        if base_source is None:
            raise WeightsError("PLITKA_SDXL_SOURCE", "must name the SDXL base weights to train on")
        base = loaders.load_base(base_source, runtime, settings.cache_dir)
        base.text_encoder.float()
        base.text_encoder_2.float()
        vae_source = parse_source("PLITKA_VAE_SOURCE", settings.vae_source)
        if vae_source is None:
            vae = loaders.load_vae(base_source, runtime, settings.cache_dir, subfolder="vae")
        else:
            vae = loaders.load_vae(vae_source, runtime, settings.cache_dir, subfolder=None)
        noise = DDPMScheduler.from_config(base.scheduler.config)
        return TrainingModels(base, vae, noise, runtime, base.source)


def _manifest(
    config: TrainingConfig, photos: list, models: TrainingModels, trainer: Trainer, seconds: float
) -> dict[str, Any]:
    history = trainer.log
    last = history.validations[-1] if history.validations else {}
    return {
        "format": MANIFEST_FORMAT,
        "plitka_version": __version__,
        "base_model": models.source,
        "device": models.runtime.device,
        "dtype": str(models.runtime.dtype).removeprefix("torch."),
        "steps": config.steps,
        "config": {name: getattr(config, name) for name in config.__dataclass_fields__},
        "lora": {
            "file": loaders.LORA_FILE,
            "rank": config.lora_rank,
            "alpha": config.lora_rank,
            "target_modules": list(LORA_TARGETS),
        },
        "textual_inversion": {
            "file": loaders.TI_FILE,
            "tokens": list(config.tokens),
            "keys": ["clip_l", "clip_g"],
            "rows": history.ti_rows,
        },
        "captions": {
            "source": CAPTION_SOURCE,
            "photos": [{"file": photo.file, "mix": photo.mix, "caption": photo.caption} for photo in photos],
        },
        "loss": {
            "first_step": history.losses[0],
            "last_step": history.losses[-1],
            "fixed_batch": history.fixed_batch_loss,
        },
        "validation": {"mae": last.get("mae"), "history": history.validations},
        "seconds": round(seconds, 2),
        "mean_step_seconds": round(trainer.mean_step_seconds(), 4),
    }


def _empty_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
