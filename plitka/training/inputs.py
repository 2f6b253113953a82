"""The inputs of one training, bounded, with the earlier product's values as defaults.

The earlier product's LoRA and TI were trained with ../shared/weights/seed-training-args.json: LoRA
rank 32 (alpha = rank), 79 pictures at 1024², batch 4, 2,300 steps, UNet learning rate 2e-4, TI
1e-3 frozen after 70% of the steps, SNR gamma 5, noise offset 0.02, seed 1753717539. One table
(TRAINING_FIELDS) feeds the Cog `train` form, the CLI and the checks, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from plitka.diffusion.prompt import TI_TOKENS


class TrainingInputError(ValueError):
    """A bad training input: `field` is the input's name, the message says what is allowed."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class FieldSpec:
    kind: type
    default: Any
    low: float | None
    high: float | None
    description: str
    choices: tuple[Any, ...] = ()


TRAINING_FIELDS: dict[str, FieldSpec] = {
    "steps": FieldSpec(int, 2300, 1, 20_000, "Optimiser steps."),
    "batch_size": FieldSpec(int, 4, 1, 16, "Pictures per step."),
    "resolution": FieldSpec(int, 1024, 128, 1536, "Side of the square training crops, a multiple of 64."),
    "unet_lr": FieldSpec(float, 2e-4, 1e-6, 1e-2, "Learning rate of the UNet's LoRA."),
    "ti_lr": FieldSpec(float, 1e-3, 0.0, 1e-1, "Learning rate of the TI rows (0: TI rows stay as started)."),
    "ti_freeze_fraction": FieldSpec(
        float, 0.7, 0.0, 1.0, "The TI rows stop learning after this share of the steps."
    ),
    "lora_rank": FieldSpec(int, 32, 1, 128, "LoRA rank (alpha equals the rank, as before)."),
    "ti_tokens": FieldSpec(
        str,
        "".join(TI_TOKENS),
        None,
        None,
        "The new tokens, one TI row each in both text encoders; the engine's prompt uses exactly these.",
        choices=("".join(TI_TOKENS),),
    ),
    "snr_gamma": FieldSpec(float, 5.0, 0.0, 20.0, "Min-SNR loss weighting gamma (0: plain MSE)."),
    "noise_offset": FieldSpec(float, 0.02, 0.0, 0.2, "Offset noise added to the training noise."),
    "validation_every": FieldSpec(
        int, 500, 0, 20_000, "Validation images of two mixes every this many steps (0: at the end only)."
    ),
    "seed": FieldSpec(int, 1753717539, 0, 2**31 - 1, "Seed of the crops, noise and initial weights."),
}


@dataclass(frozen=True)
class TrainingConfig:
    steps: int = TRAINING_FIELDS["steps"].default
    batch_size: int = TRAINING_FIELDS["batch_size"].default
    resolution: int = TRAINING_FIELDS["resolution"].default
    unet_lr: float = TRAINING_FIELDS["unet_lr"].default
    ti_lr: float = TRAINING_FIELDS["ti_lr"].default
    ti_freeze_fraction: float = TRAINING_FIELDS["ti_freeze_fraction"].default
    lora_rank: int = TRAINING_FIELDS["lora_rank"].default
    ti_tokens: str = TRAINING_FIELDS["ti_tokens"].default
    snr_gamma: float = TRAINING_FIELDS["snr_gamma"].default
    noise_offset: float = TRAINING_FIELDS["noise_offset"].default
    validation_every: int = TRAINING_FIELDS["validation_every"].default
    seed: int = TRAINING_FIELDS["seed"].default

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(f"<{part}" for part in self.ti_tokens.split("<") if part)

    @property
    def ti_trained_steps(self) -> int:
        """Steps during which the TI rows learn (pivotal tuning: then only the LoRA goes on)."""
        return round(self.steps * self.ti_freeze_fraction)


def build_config(**values: Any) -> TrainingConfig:
    """A TrainingConfig from raw values (None: the default); each refused with its field's name."""
    unknown = sorted(set(values) - set(TRAINING_FIELDS))
    if unknown:
        raise TrainingInputError(unknown[0], f"unknown input; allowed: {', '.join(TRAINING_FIELDS)}")
    checked = {
        name: _check(name, TRAINING_FIELDS[name], value)
        for name, value in values.items()
        if value is not None
    }
    return TrainingConfig(**checked)


def _check(name: str, spec: FieldSpec, value: Any) -> Any:
    if spec.kind is str:
        if not isinstance(value, str) or value not in spec.choices:
            raise TrainingInputError(name, f"must be one of {', '.join(spec.choices)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TrainingInputError(name, f"must be a number from {spec.low:g} to {spec.high:g}")
    if spec.kind is int and value != int(value):
        raise TrainingInputError(name, f"must be a whole number from {spec.low:g} to {spec.high:g}")
    if value != value or not spec.low <= value <= spec.high:  # value != value: NaN
        raise TrainingInputError(name, f"must be from {spec.low:g} to {spec.high:g}, got {value:g}")
    if name == "resolution" and value % 64:
        raise TrainingInputError(name, f"must be a multiple of 64, got {value:g}")
    return spec.kind(value)


assert [field.name for field in fields(TrainingConfig)] == list(TRAINING_FIELDS), "one table, one order"
