"""Every setting of the service, in one place: environment variables PLITKA_*, validated at start-up.

docs/tuning.md has the table; tests/test_settings.py keeps it in step with this class.
"""

from __future__ import annotations

import logging
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A PLITKA_* variable holds a value the service cannot start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLITKA_", extra="ignore", frozen=True)

    work_dir: Path = Field(
        default=Path(tempfile.gettempdir()) / "plitka",
        description="Folder for the files of each prediction (one sub-folder per prediction).",
    )
    keep_outputs: int = Field(
        default=16,
        ge=1,
        le=10_000,
        description="How many predictions' output folders are kept in work_dir before the oldest go.",
    )
    image_quality: int = Field(
        default=95, ge=50, le=100, description="Encoder quality for webp and jpg outputs (png is lossless)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the service's log lines."
    )

    # --- diffusion weights: a Hugging Face repo id[@revision], a local path or an http(s) URL[#sha256=HEX]
    sdxl_source: str = Field(
        default="stabilityai/stable-diffusion-xl-base-1.0",
        description="SDXL base 1.0 in diffusers layout (UNet, text encoders, tokenizers, scheduler, VAE).",
    )
    vae_source: str = Field(
        default="madebyollin/sdxl-vae-fp16-fix",
        description="The VAE; the fp16-fix VAE decodes in fp16 without NaNs. Empty: the base's own VAE.",
    )
    controlnet_canny_source: str = Field(
        default="diffusers/controlnet-canny-sdxl-1.0",
        description="SDXL ControlNet for canny edges (0/90 deg).",
    )
    controlnet_lineart_source: str = Field(
        default="ShermanG/ControlNet-Standard-Lineart-for-SDXL",
        description="SDXL ControlNet for line art (30-60 and 120-150 deg). Must be an SDXL one.",
    )
    controlnet_softedge_source: str = Field(
        default="TheMistoAI/MistoLine", description="SDXL ControlNet for soft edges (other angles)."
    )
    lora_source: str = Field(
        default="", description="The product's LoRA (.safetensors, file or URL). Empty: none."
    )
    ti_source: str = Field(
        default="",
        description="The product's Textual Inversion: clip_l and clip_g tensors for <s0><s1>. Empty: none.",
    )
    annotator_source: str = Field(
        default="lllyasviel/Annotators",
        description="controlnet-aux annotator weights (line art, soft edges); unused without controlnet-aux.",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Weights cache: <dir>/hub, <dir>/url. Unset: Hugging Face's cache, ~/.cache/plitka/url.",
    )
    lora_scale: float = Field(default=0.75, ge=0.0, le=2.0, description="Default LoRA strength.")
    device: Literal["auto", "cuda", "cpu"] = Field(
        default="auto",
        description="Where diffusion runs: auto picks cuda when present (fp16), else cpu (fp32).",
    )
    channels_last: bool = Field(
        default=True,
        description="On CUDA, keep the UNet, ControlNets and VAE in channels-last memory format.",
    )
    torch_compile: bool = Field(
        default=False,
        description="torch.compile the UNet and ControlNets when they are built (opt-in; see bench --gpu).",
    )
    preload: str = Field(
        default="",
        description="Models built at setup: 'base', 'all' or names (comma-separated, see docs). Empty: none.",
    )
    model_idle_seconds: float = Field(
        default=900.0, ge=0.0, description="Unload a model unused this long (0: never)."
    )
    model_cache_gib: float = Field(
        default=0.0,
        ge=0.0,
        description="Unload least-recently-used idle models beyond this many GiB of weights (0: no limit).",
    )

    # --- memory guard and concurrency (docs/governor.md)
    vram_fraction: float | None = Field(
        default=None,
        ge=0.5,
        le=0.8,
        description="Share of the GPU for this process. Unset: 0.80 (>= 24 GiB), 0.75 (>= 12 GiB), 0.70.",
    )
    cuda_alloc_conf: str = Field(
        default="expandable_segments:True",
        description="Allocator settings, set before CUDA starts; a PYTORCH_ALLOC_CONF already set wins.",
    )
    guard_interval: float = Field(
        default=2.0, gt=0.0, le=60.0, description="Seconds between the memory guard's readings."
    )
    guard_soft: float = Field(
        default=0.80, gt=0.0, lt=1.0, description="Share of the budget above which the cache is emptied."
    )
    guard_hard: float = Field(
        default=0.95, gt=0.0, le=1.0, description="Share of the budget above which idle models are evicted."
    )
    guard_cooldown: float = Field(
        default=10.0, ge=0.0, description="Seconds before the guard repeats the same action."
    )
    memory_margin: float = Field(
        default=1.2, ge=1.0, le=3.0, description="Factor on the measured peaks in the admission estimate."
    )
    allow_degrade: bool = Field(
        default=True, description="Run short of memory with VAE tiling, then model CPU offload, not fail."
    )
    cpu_fallback: bool = Field(
        default=False, description="Run a generation that does not fit on the GPU on the CPU (slow)."
    )
    memory_snapshot: Path | None = Field(
        default=None, description="Write a CUDA memory snapshot here (a file, or a folder) on out of memory."
    )
    max_concurrency: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Predictions served at once; the rest get HTTP 409 from Cog. Above 1, coglet 0.23.1 delivers"
            " each prediction's outputs only when it ends (no streamed preview)."
        ),
    )
    queue_timeout: float = Field(
        default=300.0, gt=0.0, description="Seconds a prediction waits for the device before failing busy."
    )
    prompt_overrides: bool = Field(
        default=False,
        description=(
            "Honour params_json overrides.prompt / negative_prompt. Off: any caller of a public model"
            " could write the prompt, so they are refused."
        ),
    )
    prompt_max_length: int = Field(
        default=500, ge=1, le=2000, description="Characters a prompt override may have, where allowed."
    )
    stuck_seconds: float = Field(
        default=900.0,
        ge=0.0,
        description="plitka serve restarts coglet after it is BUSY this long (a stuck prediction; 0: never).",
    )
    metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Port of the Prometheus exposition (0: none)."
    )

    # --- the procedural engine's renderer (docs/bank.md)
    renderer: Literal["auto", "bank", "flat"] = Field(
        default="flat",
        description="flat: the 2-D renderer; bank: the lit bank (refused if absent); auto: bank if present.",
    )
    bank_dir: Path | None = Field(
        default=None, description="Folder of the lit bank (plitka build-bank). Unset: the one in plitka/bank."
    )

    def prompt_limit(self) -> int:
        """Characters a prompt override may have; 0 where they are refused."""
        return self.prompt_max_length if self.prompt_overrides else 0

    @model_validator(mode="after")
    def _soft_below_hard(self) -> Settings:
        if self.guard_soft >= self.guard_hard:
            raise ValueError(
                f"PLITKA_GUARD_SOFT ({self.guard_soft}) must be below PLITKA_GUARD_HARD ({self.guard_hard})"
            )
        return self


def load_settings() -> Settings:
    """Read the environment; a bad value stops start-up with one line per offending variable."""
    try:
        return Settings()
    except ValidationError as error:
        lines = [_describe_error(item) for item in error.errors()]
        raise SettingsError("invalid settings: " + "; ".join(lines)) from None


def _describe_error(item: Any) -> str:
    if not item["loc"]:  # a check across fields names them itself
        return str(item["msg"]).removeprefix("Value error, ")
    return f"PLITKA_{'_'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
