"""The SDXL architecture at full size with random weights, through the product's own engine, on a GPU.

    .venv/bin/python bench/run.py --gpu          # on a CUDA machine (about 10 min on an H100)
    .venv/bin/python bench/gpu.py --configs tiny --device cpu --size 512 --steps 4   # the path, on CPU

A weight set is written from the published configs (bench/sdxl_configs.py: UNet, VAE, both text
encoders, the canny ControlNet) with random weights in fp16, plus a rank-4 LoRA and a two-token TI, and
read back by the product's real loaders. Each scenario runs in a fresh process, because the VRAM cap
(set_per_process_memory_fraction) and torch.compile are per process:

    plain     fp16, 1024x1024: the standard preset (30 steps x strength 0.45) and 30 full steps
              (strength 1.0), with and without ControlNet; s/image, peak allocated / reserved, NVML;
              and the same call made bare on the pipeline, for the predictor's overhead
    capped    PLITKA_VRAM_FRACTION=0.5 plus a ballast tensor (a stand-in for other tenants) leaving
              room for the tiled mode only, then for the offload mode only: the guard degrades, the
              prediction succeeds
    compiled  PLITKA_TORCH_COMPILE=true: the first prediction (compiles), then s/image
    training  `plitka train` at the product's settings (batch 4, LoRA rank 32 + TI, bf16, gradient
              checkpointing) at --size px on synthetic labelled tiles: s/step and peak allocated VRAM

SDPA attention, channels-last and the fp16-fix VAE are the product's defaults; the report says which ran.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import Figure, bare_diffusers_call, timed

HERE = Path(__file__).resolve().parent
GIB = 1024**3
CAPPED = {"PLITKA_VRAM_FRACTION": "0.5"}
COMPILED = {"PLITKA_TORCH_COMPILE": "true"}


# ------------------------------------------------------------------ the weight set


def write_weights(folder: Path, configs: str, device: str) -> dict[str, str]:
    """Random weights in diffusers layout; the PLITKA_* settings that point the product at them."""
    import sdxl_configs
    import torch

    from plitka.diffusion import tiny

    dtype = torch.float16 if device == "cuda" else torch.float32
    folder.mkdir(parents=True, exist_ok=True)
    if configs == "tiny":
        weights = tiny.write_tiny_weights(folder)
        return {**weights.environment(), "PLITKA_DEVICE": device}
    with torch.device(device):
        torch.manual_seed(0)
        _write_base(folder, sdxl_configs, dtype)
        _write_controlnet(folder, sdxl_configs, dtype)
        _write_adapters(folder, sdxl_configs, dtype)
    if device == "cuda":
        torch.cuda.empty_cache()  # else this process keeps ~15 GiB cached while the scenarios run
    return {
        "PLITKA_SDXL_SOURCE": str(folder / "sdxl"),
        "PLITKA_VAE_SOURCE": str(folder / "vae"),
        "PLITKA_CONTROLNET_CANNY_SOURCE": str(folder / "controlnet"),
        "PLITKA_CONTROLNET_LINEART_SOURCE": str(folder / "controlnet"),
        "PLITKA_CONTROLNET_SOFTEDGE_SOURCE": str(folder / "controlnet"),
        "PLITKA_LORA_SOURCE": str(folder / "lora.safetensors"),
        "PLITKA_TI_SOURCE": str(folder / "ti.safetensors"),
        "PLITKA_DEVICE": device,
    }


def _write_base(folder: Path, configs: Any, dtype: Any) -> None:
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLImg2ImgPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from plitka.diffusion import tiny

    tokenizer = tiny._tokenizer(folder / "tokenizer-files")  # byte-level: every id is inside the vocab
    pipe = StableDiffusionXLImg2ImgPipeline(
        vae=AutoencoderKL.from_config(configs.sdxl_vae_config()),
        text_encoder=CLIPTextModel(CLIPTextConfig(**configs.sdxl_text_encoder_config())),
        text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**configs.sdxl_text_encoder_2_config())),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=UNet2DConditionModel.from_config(configs.sdxl_unet_config()),
        scheduler=EulerDiscreteScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
        ),
    ).to(dtype=dtype)
    pipe.save_pretrained(folder / "sdxl", safe_serialization=True)
    pipe.vae.save_pretrained(folder / "vae", safe_serialization=True)


def _write_controlnet(folder: Path, configs: Any, dtype: Any) -> None:
    from diffusers import ControlNetModel

    controlnet = ControlNetModel.from_config(configs.controlnet_canny_sdxl_config()).to(dtype=dtype)
    controlnet.save_pretrained(folder / "controlnet", safe_serialization=True)


def _write_adapters(folder: Path, configs: Any, dtype: Any) -> None:
    import torch
    from diffusers import StableDiffusionXLImg2ImgPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    unet = UNet2DConditionModel.from_config(configs.sdxl_unet_config()).to(dtype=dtype)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionXLImg2ImgPipeline.save_lora_weights(
        folder, unet_lora_layers=layers, weight_name="lora.safetensors", safe_serialization=True
    )
    widths = (
        configs.sdxl_text_encoder_config()["hidden_size"],
        configs.sdxl_text_encoder_2_config()["hidden_size"],
    )
    rows = {"clip_l": torch.randn(2, widths[0]), "clip_g": torch.randn(2, widths[1])}
    save_file(
        {name: tensor.to("cpu", dtype) for name, tensor in rows.items()}, str(folder / "ti.safetensors")
    )


# ------------------------------------------------------------------ child: one scenario in a fresh process


def _service(work: Path) -> Any:
    from plitka.service import TileService
    from plitka.settings import get_settings

    service = TileService(get_settings().model_copy(update={"work_dir": work}))
    service.setup()
    return service


def _predict(service: Any, size: int, steps: int, controlnet: bool, full_steps: bool) -> Any:
    from plitka.request import build_request

    overrides = {"resolution": size, "steps": steps, "use_controlnet": controlnet}
    if full_steps:
        overrides["strength"] = 1.0
    request = build_request(
        "60% red, 40% white", json.dumps({"overrides": overrides}), quality="standard", engine="sdxl", seed=1
    )
    generation = service.start(request)
    list(service.generate(generation, service.new_output_folder()))
    return generation


def _row(generation: Any, seconds: float, device: Any) -> dict[str, Any]:
    """One prediction's figures; peaks since the device's last reset_peak()."""
    import torch

    info = generation.diffusion.info
    return {
        "seconds": seconds,
        "diffusion_s": generation.diffusion.generate_seconds,
        "peak_allocated": generation.diffusion.peak_allocated,
        "peak_reserved": torch.cuda.max_memory_reserved() if torch.cuda.is_available() else 0,
        "device_used": device.read().used,  # NVML on CUDA: every process on the card
        "mode": generation.diffusion.mode,
        "retries": len(generation.diffusion.retries),
        "attention": info["attention"],
        "channels_last": info["channels_last"],
        "dtype": info["dtype"],
    }


def child_plain(size: int, steps: int, repeats: int) -> dict[str, Any]:
    import torch

    service = _service(Path(tempfile.mkdtemp()))
    device = service.diffusion.guard.device
    rows = {}
    for controlnet in (True, False):
        for full in (False, True):
            _predict(service, size, steps, controlnet, full)  # warm-up: builds, calibrates
            samples = []
            for _ in range(repeats):
                device.reset_peak()
                start = time.perf_counter()
                generation = _predict(service, size, steps, controlnet, full)
                seconds = time.perf_counter() - start
                samples.append(_row(generation, seconds, device))
            name = f"{'controlnet' if controlnet else 'no controlnet'}, {'full' if full else 'standard'}"
            rows[name] = {key: _median(samples, key) for key in samples[0]}
    rows["bare"] = {"seconds": _bare_seconds(service, size, steps, repeats)}
    rows["device"] = json.loads(json.dumps(service.diffusion.guard.device.describe(), default=str))
    rows["torch"] = torch.__version__
    service.teardown()
    return rows


def _median(samples: list[dict[str, Any]], key: str) -> Any:
    """The median of a number; the last value of anything else (mode, attention, ...)."""
    values = [sample[key] for sample in samples]
    numeric = isinstance(values[0], int | float) and not isinstance(values[0], bool)
    return statistics.median(values) if numeric else values[-1]


def _bare_seconds(service: Any, size: int, steps: int, repeats: int) -> float:
    """The standard preset's ControlNet call made directly on the same pipeline (no guard, no report)."""
    reference = _predict(service, size, steps, True, False)
    with service.diffusion.manager.acquire(reference.plan.pipeline) as pipe:
        call = bare_diffusers_call(pipe, reference, size, service.diffusion.runtime.device)
        call()
        return statistics.median(timed(call)[0] for _ in range(repeats))


def child_capped(size: int, steps: int) -> dict[str, Any]:
    """Ballast leaves room for one degraded mode at a time; the guard must pick it and succeed."""
    import torch

    service = _service(Path(tempfile.mkdtemp()))
    engine, guard = service.diffusion, service.diffusion.guard
    _predict(service, size, steps, True, False)  # builds; the estimator calibrates on real peaks
    reference = _predict(service, size, steps, True, False)
    plan = reference.plan
    rows: dict[str, Any] = {"budget": guard.budget, "fraction": guard.fraction}
    for mode, below in (("tiled", "normal"), ("offload", "tiled")):
        room, _ = guard.headroom()
        fits = engine.memory_need(plan, (size, size), mode).total
        too_big = engine.memory_need(plan, (size, size), below).total
        ballast_bytes = max(0, room - (fits + too_big) // 2)
        ballast = torch.empty(ballast_bytes, dtype=torch.uint8, device="cuda")
        try:
            seconds, generation = timed(lambda: _predict(service, size, steps, True, False))
            rows[mode] = {
                "ballast": ballast_bytes,
                "room_left": room - ballast_bytes,
                "need_" + mode: fits,
                "need_" + below: too_big,
                **_row(generation, seconds, guard.device),
            }
        finally:
            del ballast
            torch.cuda.empty_cache()
    service.teardown()
    return rows


def child_compiled(size: int, steps: int, repeats: int) -> dict[str, Any]:
    service = _service(Path(tempfile.mkdtemp()))
    first, _ = timed(lambda: _predict(service, size, steps, True, False))
    warm = [timed(lambda: _predict(service, size, steps, True, False))[0] for _ in range(repeats)]
    service.teardown()
    return {"first": first, "warm": statistics.median(warm)}


def child_training(size: int, steps: int) -> dict[str, Any]:
    """A short training through plitka.training (the product's loop), timed per step."""
    import torch

    from plitka.settings import get_settings
    from plitka.training import TrainingService, build_config
    from plitka.training.synthetic import write_synthetic_set

    scratch = Path(tempfile.mkdtemp())
    data = write_synthetic_set(scratch / "data", count=4, side=max(384, size))
    config = build_config(steps=steps, resolution=size, validation_every=0)  # batch 4, rank 32: as before
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    service = TrainingService(get_settings().model_copy(update={"work_dir": scratch}))
    manifest = service.train(data, config, scratch / "weights.tar", progress=lambda line: None)
    peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
    return {"step_s": manifest["mean_step_seconds"], "peak_allocated": peak, "dtype": manifest["dtype"]}


def training_figures(training: dict[str, Any], size: int, steps: int) -> list[Figure]:
    minutes = training["step_s"] * 1000 / 60
    note = f"{training['dtype']}, mean of steps 2-{steps}; {minutes:.1f} min per 1,000 steps"
    return [
        Figure(f"gpu training {size}px, batch 4, rank 32: s/step", training["step_s"], "s", note=note),
        Figure(f"gpu training {size}px: peak allocated", training["peak_allocated"] / GIB, "GiB"),
    ]


# ------------------------------------------------------------------ parent: scenarios side by side


CHILD_TIMEOUT_S = 600.0


class ScenarioFailed(RuntimeError):
    """One scenario failed or ran out of time; the others still run and report."""


def run_child(scenario: str, env: dict[str, str], args: list[str]) -> dict[str, Any]:
    """One scenario in a fresh process. Its raw figures are printed as soon as it ends, so a run cut
    short (a lent GPU's time is short) still leaves what finished in the log."""
    try:
        done = subprocess.run(
            [sys.executable, str(HERE / "gpu.py"), "--child", scenario, *args],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as expired:
        raise ScenarioFailed(f"{scenario}: over {CHILD_TIMEOUT_S:.0f} s") from expired
    if done.returncode:
        raise ScenarioFailed(f"{scenario} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"[{scenario}] {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def plain_figures(plain: dict[str, Any], size: int) -> list[Figure]:
    rows = []
    for name, row in plain.items():
        if name in ("bare", "device", "torch"):
            continue
        how = f"{row['dtype']}, attention {row['attention']}, channels-last {row['channels_last']}"
        rows += [
            Figure(f"gpu {size}px, {name}: s/image", row["seconds"], "s"),
            Figure(f"gpu {size}px, {name}: peak allocated", row["peak_allocated"] / GIB, "GiB"),
            Figure(
                f"gpu {size}px, {name}: peak reserved",
                row["peak_reserved"] / GIB,
                "GiB",
                note=f"mode {row['mode']}, {how}; card in use (NVML) {row['device_used'] / GIB:.1f} GiB",
            ),
        ]
    standard, bare = plain["controlnet, standard"], plain["bare"]["seconds"]
    engine = Figure(
        "gpu: engine diffusion / bare call (controlnet, standard)", standard["diffusion_s"] / bare, "x", 1.05
    )
    whole = Figure(
        "gpu: whole prediction / bare call (controlnet, standard)",
        standard["seconds"] / bare,
        "x",
        1.05,
        note=f"torch {plain['torch']}, device {plain['device']}",
    )
    return [*rows, engine, whole]


def capped_figures(capped: dict[str, Any]) -> list[Figure]:
    rows = []
    for mode, below in (("tiled", "normal"), ("offload", "tiled")):
        row = capped[mode]
        rows.append(
            Figure(
                f"gpu cap {capped['fraction']} + ballast, room for {mode} only: mode chosen",
                row["retries"],
                f"retries, mode {row['mode']}",
                note=(
                    f"room {row['room_left'] / GIB:.1f} GiB, needs {mode} {row['need_' + mode] / GIB:.1f} / "
                    f"{below} {row['need_' + below] / GIB:.1f} GiB; {row['seconds']:.1f} s/image, "
                    f"peak allocated {row['peak_allocated'] / GIB:.1f} GiB"
                ),
            )
        )
    return rows


SCENARIOS = ("plain", "capped", "training", "compiled")


def figures(
    quick: bool,
    configs: str = "full",
    device: str = "cuda",
    size: int = 1024,
    steps: int = 30,
    scenarios: tuple[str, ...] = SCENARIOS,
) -> list[Figure]:
    weights_env = write_weights(Path(tempfile.mkdtemp(prefix="plitka-full-")), configs, device)
    args = ["--configs", configs, "--device", device, "--size", str(size), "--steps", str(steps)]
    args += ["--repeats", "2" if quick else "5"]
    training_steps = 4 if quick else 12
    training_args = [*args[:-2], "--repeats", "1", "--training-steps", str(training_steps)]
    plain = run_child("plain", weights_env, args)  # the others compare with it: no plain, no run
    rows = plain_figures(plain, size)
    # Most telling first: the guard degrading under a cap, then training, then torch.compile (slowest).
    later: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("capped", lambda: capped_figures(run_child("capped", {**weights_env, **CAPPED}, args))),
        (
            "training",
            lambda: training_figures(run_child("training", weights_env, training_args), size, training_steps),
        ),
        (
            "compiled",
            lambda: compiled_figures(run_child("compiled", {**weights_env, **COMPILED}, args), plain),
        ),
    ]
    for scenario, measure in later:
        if scenario not in scenarios or (device != "cuda" and scenario != "training"):
            continue  # the cap and torch.compile's GPU figures need CUDA
        try:
            rows += measure()
        except ScenarioFailed as failed:
            print(f"[{scenario}] {failed}", file=sys.stderr, flush=True)
            rows.append(Figure(f"gpu {scenario}: failed (the log says why)", float("nan"), "s"))
    return rows


def compiled_figures(compiled: dict[str, Any], plain: dict[str, Any]) -> list[Figure]:
    speedup = compiled["warm"] / plain["controlnet, standard"]["seconds"]
    return [
        Figure("gpu PLITKA_TORCH_COMPILE: first prediction (compiles)", compiled["first"], "s"),
        Figure("gpu PLITKA_TORCH_COMPILE: s/image compiled / not", speedup, "x"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=("plain", "capped", "compiled", "training"))
    parser.add_argument("--training-steps", type=int, default=12)
    parser.add_argument("--configs", choices=("full", "tiny"), default="full")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="which to run after plain (comma-separated)"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.child == "plain":
        print(json.dumps(child_plain(args.size, args.steps, args.repeats)))
    elif args.child == "capped":
        print(json.dumps(child_capped(args.size, args.steps)))
    elif args.child == "training":
        print(json.dumps(child_training(args.size, args.training_steps)))
    elif args.child == "compiled":
        print(json.dumps(child_compiled(args.size, args.steps, args.repeats)))
    else:
        from common import print_table

        chosen = tuple(args.scenarios.split(","))
        rows = figures(args.quick, args.configs, args.device, args.size, args.steps, chosen)
        print_table(rows, "gpu bench")


if __name__ == "__main__":
    main()
