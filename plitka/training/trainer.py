"""Pivotal tuning of SDXL with diffusers and peft: a LoRA on the UNet and new TI rows in both text encoders.

The loop is the one of diffusers' advanced SDXL DreamBooth LoRA script, cut to what the product uses:
noise-prediction loss with min-SNR weighting and offset noise, the LoRA on to_q/to_k/to_v/to_out.0
and the resnets' conv2, the new tokens' rows trained in both encoders with every other row restored
after each step, the TI frozen after a share of the steps; gradient checkpointing and bf16 autocast
on CUDA. torch is imported here only (the service starts without it).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from plitka.diffusion.loaders import Runtime, SdxlBase
from plitka.training.dataset import TrainingPhoto, augmented, centre
from plitka.training.inputs import TrainingConfig

log = logging.getLogger("plitka.training")

LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "conv2")  # as the earlier product's peft config
LORA_WEIGHT_DECAY = 0.004
MAX_GRAD_NORM = 1.0
FIXED_BATCH_SEED = 1234
FIXED_BATCH_PHOTOS = 4  # the fixed batch whose loss is compared before and after, whatever batch_size
LOG_LINES = 50  # about this many progress lines per training, whatever its length


@dataclass
class TrainingModels:
    """What a training holds: its own SDXL base (its UNet gets the LoRA, its encoders the new rows),
    the VAE and the training noise schedule."""

    base: SdxlBase
    vae: Any
    noise_scheduler: Any
    runtime: Runtime
    source: str


@dataclass
class Encoder:
    """One text encoder with its tokenizer and the rows of the new tokens."""

    model: Any
    tokenizer: Any
    key: str  # clip_l / clip_g
    token_ids: list[int] = field(default_factory=list)
    original: Any = None  # the embedding matrix as training started; other rows are restored to it

    @property
    def embedding(self) -> Any:
        return self.model.get_input_embeddings().weight

    def new_rows(self) -> Any:
        return self.embedding.detach()[self.token_ids].float().cpu().clone()


@dataclass
class TrainingLog:
    losses: list[float] = field(default_factory=list)
    fixed_batch_loss: dict[str, float] = field(default_factory=dict)  # before / after
    validations: list[dict[str, Any]] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    ti_rows: dict[str, Any] = field(default_factory=dict)


class Trainer:
    def __init__(
        self,
        config: TrainingConfig,
        photos: list[TrainingPhoto],
        models: TrainingModels,
        validate: Callable[[Trainer, int], dict[str, Any]] | None = None,
        progress: Callable[[str], None] = log.info,
    ):
        import torch

        self.torch = torch
        self.config = config
        self.photos = photos
        self.models = models
        self.validate = validate
        self.progress = progress
        self.device = models.runtime.device
        self.rng = random.Random(config.seed)
        self.generator = torch.Generator(device="cpu").manual_seed(config.seed)
        self.log = TrainingLog()
        base = models.base
        self.unet = base.unet
        self.encoders = [
            Encoder(base.text_encoder, base.tokenizer, "clip_l"),
            Encoder(base.text_encoder_2, base.tokenizer_2, "clip_g"),
        ]
        self._order: list[int] = []

    # --- set-up ----------------------------------------------------------------------------------

    def prepare(self) -> None:
        torch = self.torch
        torch.manual_seed(self.config.seed)
        self.models.vae.requires_grad_(False)
        self.unet.requires_grad_(False)
        for encoder in self.encoders:
            encoder.model.requires_grad_(False)
            self._add_tokens(encoder)
        self._add_lora()
        if self.device == "cuda":
            self.unet.enable_gradient_checkpointing()
            for encoder in self.encoders:
                encoder.model.gradient_checkpointing_enable()
        params = [p for p in self.unet.parameters() if p.requires_grad]
        groups = [{"params": params, "lr": self.config.unet_lr, "weight_decay": LORA_WEIGHT_DECAY}]
        if self.config.ti_lr > 0:
            embeddings = [encoder.embedding for encoder in self.encoders]
            for embedding in embeddings:
                embedding.requires_grad_(True)
            groups.append({"params": embeddings, "lr": self.config.ti_lr, "weight_decay": 0.0})
        self.optimizer = torch.optim.AdamW(groups)

    def _add_tokens(self, encoder: Encoder) -> None:
        """The new tokens into the tokenizer, one new row each, started at random rows of the
        embeddings' own scale."""
        torch = self.torch
        tokens = list(self.config.tokens)
        if any(token in encoder.tokenizer.get_vocab() for token in tokens):
            raise ValueError(f"the {encoder.key} tokenizer knows {tokens} already")
        encoder.tokenizer.add_tokens(tokens)
        encoder.token_ids = encoder.tokenizer.convert_tokens_to_ids(tokens)
        encoder.model.resize_token_embeddings(len(encoder.tokenizer))
        embedding = encoder.model.get_input_embeddings()
        embedding.weight.data = embedding.weight.data.float()  # the trained rows learn in fp32
        with torch.no_grad():
            scale = float(embedding.weight[: min(encoder.token_ids)].std())  # rows start on the CPU
            rows = torch.randn(len(tokens), embedding.weight.shape[1], generator=self.generator) * scale
            embedding.weight[encoder.token_ids] = rows.to(embedding.weight.device)
        encoder.original = embedding.weight.detach().clone()

    def _add_lora(self) -> None:
        from peft import LoraConfig

        rank = self.config.lora_rank
        self.unet.add_adapter(
            LoraConfig(
                r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=list(LORA_TARGETS)
            )
        )
        for parameter in self.unet.parameters():
            if parameter.requires_grad:
                parameter.data = parameter.data.float()  # LoRA weights learn in fp32 (bf16 autocast on CUDA)

    # --- the loop --------------------------------------------------------------------------------

    def run(self) -> TrainingLog:
        config = self.config
        self.prepare()
        fixed = self._fixed_batch()
        self.log.fixed_batch_loss["before"] = self._fixed_loss(fixed)
        every = max(1, config.steps // LOG_LINES)
        self.progress(
            f"training {config.steps} steps on {len(self.photos)} photos, batch {config.batch_size}, "
            f"{config.resolution} px, on {self.device}; fixed-batch loss before: "
            f"{self.log.fixed_batch_loss['before']:.5f}"
        )
        for step in range(1, config.steps + 1):
            start = time.perf_counter()
            if step == config.ti_trained_steps + 1 and config.ti_lr > 0:
                self._freeze_ti(step)
            loss = self._step(*self._batch())
            self.log.losses.append(loss)
            self.log.step_seconds.append(time.perf_counter() - start)
            if step % every == 0 or step == config.steps:
                recent = self.log.losses[-every:]
                self.progress(
                    f"step {step}/{config.steps} loss {loss:.5f} (mean of last {len(recent)}: "
                    f"{np.mean(recent):.5f}) {self.log.step_seconds[-1]:.2f} s/step"
                )
            if self.validate and config.validation_every and step % config.validation_every == 0:
                self.log.validations.append(self.validate(self, step))
        self.log.fixed_batch_loss["after"] = self._fixed_loss(fixed)
        self.progress(
            f"fixed-batch loss: before {self.log.fixed_batch_loss['before']:.5f}, "
            f"after {self.log.fixed_batch_loss['after']:.5f}"
        )
        if self.validate and not (config.validation_every and config.steps % config.validation_every == 0):
            self.log.validations.append(self.validate(self, config.steps))
        self.log.ti_rows = self._ti_changes()
        return self.log

    def _freeze_ti(self, step: int) -> None:
        for encoder in self.encoders:
            encoder.embedding.requires_grad_(False)
            encoder.embedding.grad = None  # AdamW skips a parameter without a gradient
        self.progress(f"step {step}: TI rows frozen, the LoRA goes on alone")

    def _step(self, pixels: Any, captions: list[str]) -> float:
        torch = self.torch
        self.unet.train()
        with self._autocast():
            loss = self._loss(pixels, captions, *self._noise(len(pixels), self.generator))
        loss.backward()
        trainable = [p for group in self.optimizer.param_groups for p in group["params"] if p.requires_grad]
        torch.nn.utils.clip_grad_norm_(trainable, MAX_GRAD_NORM)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._restore_other_rows()
        return float(loss.detach())

    def _restore_other_rows(self) -> None:
        """Only the new tokens' rows may move: AdamW's weight decay and momentum touch every row."""
        with self.torch.no_grad():
            for encoder in self.encoders:
                keep = self.torch.ones(encoder.original.shape[0], dtype=self.torch.bool)
                keep[encoder.token_ids] = False
                encoder.embedding[keep] = encoder.original[keep]

    def _autocast(self) -> Any:
        if self.device == "cuda":
            return self.torch.autocast("cuda", dtype=self.torch.bfloat16)
        return nullcontext()

    # --- batches ---------------------------------------------------------------------------------

    def _batch(self) -> tuple[Any, list[str]]:
        """batch_size photos, each once per pass over the set in a shuffled order, augmented."""
        images = []
        for _ in range(self.config.batch_size):
            if not self._order:
                self._order = list(range(len(self.photos)))
                self.rng.shuffle(self._order)
            images.append(self.photos[self._order.pop()])
        pixels = self._pixels([augmented(photo, self.config.resolution, self.rng) for photo in images])
        return pixels, [photo.caption for photo in images]

    def _fixed_batch(self) -> tuple[Any, list[str], Any, Any]:
        """The first photos' whole tile areas with fixed noise and timesteps spread over the schedule:
        the same loss before and after training says whether training lowered it."""
        torch = self.torch
        photos = self.photos[:FIXED_BATCH_PHOTOS]
        pixels = self._pixels([centre(photo, self.config.resolution) for photo in photos])
        generator = torch.Generator(device="cpu").manual_seed(FIXED_BATCH_SEED)
        noise, timesteps = self._noise(len(photos), generator, spread=True)
        return pixels, [photo.caption for photo in photos], noise, timesteps

    def _fixed_loss(self, fixed: tuple[Any, list[str], Any, Any]) -> float:
        pixels, captions, noise, timesteps = fixed
        self.unet.eval()
        with self.torch.no_grad(), self._autocast():
            return float(self._loss(pixels, captions, noise, timesteps, sample_latents=False))

    def _pixels(self, images: list[Image.Image]) -> Any:
        torch = self.torch
        array = np.stack([np.asarray(image.convert("RGB"), dtype=np.float32) for image in images])
        tensor = torch.from_numpy(array).permute(0, 3, 1, 2) / 127.5 - 1.0
        return tensor.to(self.device)

    def _noise(self, count: int, generator: Any, spread: bool = False) -> tuple[Any, Any]:
        torch = self.torch
        side = self.config.resolution // self._vae_scale()
        channels = self.models.vae.config.latent_channels
        noise = torch.randn(count, channels, side, side, generator=generator)
        if self.config.noise_offset:
            noise += self.config.noise_offset * torch.randn(count, channels, 1, 1, generator=generator)
        total = self.models.noise_scheduler.config.num_train_timesteps
        if spread:
            timesteps = torch.linspace(total * 0.1, total * 0.9, count).long()
        else:
            timesteps = torch.randint(0, total, (count,), generator=generator)
        return noise.to(self.device), timesteps.to(self.device)

    def _vae_scale(self) -> int:
        return 2 ** (len(self.models.vae.config.block_out_channels) - 1)

    # --- the loss --------------------------------------------------------------------------------

    def _loss(
        self, pixels: Any, captions: list[str], noise: Any, timesteps: Any, sample_latents: bool = True
    ) -> Any:
        torch = self.torch
        vae, scheduler = self.models.vae, self.models.noise_scheduler
        with torch.no_grad():
            posterior = vae.encode(pixels.to(vae.dtype)).latent_dist
            latents = posterior.sample(self.generator) if sample_latents else posterior.mode()
            latents = (latents * vae.config.scaling_factor).float()
        noisy = scheduler.add_noise(latents, noise, timesteps)
        embeds, pooled = self._encode(captions)
        side = float(self.config.resolution)
        time_ids = torch.tensor([[side, side, 0.0, 0.0, side, side]] * len(pixels), device=self.device)
        prediction = self.unet(
            noisy.to(self.unet.dtype),
            timesteps,
            encoder_hidden_states=embeds.to(self.unet.dtype),
            added_cond_kwargs={"text_embeds": pooled.to(self.unet.dtype), "time_ids": time_ids},
        ).sample.float()
        if scheduler.config.prediction_type == "v_prediction":
            target = scheduler.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        per_sample = ((prediction - target) ** 2).mean(dim=(1, 2, 3))
        return (per_sample * self._snr_weights(timesteps)).mean()

    def _snr_weights(self, timesteps: Any) -> Any:
        """Min-SNR-gamma weighting (Hang et al. 2023): min(SNR, gamma) / SNR, / (SNR + 1) for v."""
        torch = self.torch
        gamma = self.config.snr_gamma
        if not gamma:
            return torch.ones(len(timesteps), device=self.device)
        from diffusers.training_utils import compute_snr

        scheduler = self.models.noise_scheduler
        snr = compute_snr(scheduler, timesteps)
        weights = torch.clamp(snr, max=gamma)
        return weights / (snr + 1 if scheduler.config.prediction_type == "v_prediction" else snr)

    def _encode(self, captions: list[str]) -> tuple[Any, Any]:
        """SDXL's conditioning: both encoders' penultimate hidden states side by side, and the second
        encoder's pooled output, as StableDiffusionXLPipeline.encode_prompt makes them."""
        torch = self.torch
        states = []
        pooled = None
        for encoder in self.encoders:
            ids = encoder.tokenizer(
                captions,
                padding="max_length",
                max_length=encoder.tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids.to(self.device)
            output = encoder.model(ids, output_hidden_states=True)
            states.append(output.hidden_states[-2])
            pooled = output[0]  # the last encoder's (text_embeds of CLIPTextModelWithProjection)
        return torch.cat(states, dim=-1), pooled

    # --- results ---------------------------------------------------------------------------------

    def _ti_changes(self) -> dict[str, Any]:
        """How far each encoder's rows moved: the new tokens' (should) and all others' (must be 0)."""
        changes = {}
        for encoder in self.encoders:
            delta = (encoder.embedding.detach().float() - encoder.original.float()).abs().amax(dim=1)
            keep = np.ones(len(delta), dtype=bool)
            keep[encoder.token_ids] = False
            changes[encoder.key] = {
                "new_rows_max_change": [round(float(delta[i]), 6) for i in encoder.token_ids],
                "other_rows_max_change": float(delta[self.torch.from_numpy(keep)].max()),
            }
        return changes

    def textual_inversion(self) -> dict[str, Any]:
        return {encoder.key: encoder.new_rows() for encoder in self.encoders}

    def lora_layers(self) -> dict[str, Any]:
        """The LoRA in peft's key format (lora_A / lora_B), which load_lora_weights reads whole. Not
        convert_state_dict_to_diffusers: it renames the attention layers' keys but not conv2's, and
        the mixed file then loads without its attention layers."""
        from peft.utils import get_peft_model_state_dict

        state = get_peft_model_state_dict(self.unet)
        return {name: tensor.detach().float().cpu().contiguous() for name, tensor in state.items()}

    def mean_step_seconds(self) -> float:
        times = self.log.step_seconds[1:] or self.log.step_seconds  # the first step warms up
        return float(np.mean(times)) if times else math.nan
