"""Measured activation-memory peaks of the full-size SDXL architecture (random weights), for calibrating the
GPU memory estimator's priors from measured peaks instead of guesses.

    .venv/bin/python bench/measure_peaks.py [--sizes 512,768,1024] [--json PATH] [--cap-gib 17]

Each measurement runs in a fresh subprocess (``--one NAME --size S``) that builds the model(s) in fp32 on the
CPU from the published configs (bench/sdxl_configs.py) with random weights, collects garbage and trims the
heap, resets the peak (``/proc/self/clear_refs`` = 5), reads the baseline VmRSS, runs the operation under
``torch.inference_mode()`` and reports VmHWM - baseline VmRSS: the extra resident bytes the operation needed,
its output included and the weights and inputs not.

    unet              one UNet forward at batch 2 (classifier-free guidance), SDPA attention
    unet+controlnet   the ControlNet forward, then the UNet with its residuals, batch 2
    vae-decode        AutoencoderKL decode of one latent (1, 4, S/8, S/8)
    vae-decode-tiled  the same after vae.enable_tiling()

These are CPU fp32 figures (4 bytes per element; CPU kernels such as oneDNN convolutions and the CPU flash
attention have their own scratch buffers, and glibc may round a little). On CUDA in fp16 the activations take
about half (2 bytes instead of 4 per element); the runtime estimator recalibrates from
``torch.cuda.max_memory_allocated`` on the GPU.

A measurement whose whole process (weights + baseline + the peak extrapolated from the previous size at
1.25x) would pass --cap-gib is skipped; a watchdog in the child also stops it if VmRSS passes the cap.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEASUREMENTS = ("unet", "unet+controlnet", "vae-decode", "vae-decode-tiled")
GIB = 1024**3
MIB = 1024**2
# Baseline VmRSS less the weights (Python, torch, diffusers, inputs): measured 0.37-0.39 GiB.
PROCESS_OVERHEAD = GIB // 2
# The previous size's peak, scaled by the pixel ratio, times this margin, predicts the next size's peak.
EXTRAPOLATION_MARGIN = 1.25


# ---------------------------------------------------------------- child: one measurement in a fresh process


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # reported in kB
    raise KeyError(field)


def _watchdog(cap_bytes: int) -> None:
    """Stop the process outright if its resident memory passes the cap (the machine is shared)."""
    while True:
        rss = _status_bytes("VmRSS")
        if rss > cap_bytes:
            sys.stdout.write(json.dumps({"error": f"VmRSS {rss / GIB:.2f} GiB passed the cap"}) + "\n")
            sys.stdout.flush()
            os._exit(3)
        time.sleep(0.01)


def _build(name: str):
    import sdxl_configs
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

    torch.manual_seed(0)
    models = {}
    if name.startswith("unet"):
        models["unet"] = UNet2DConditionModel.from_config(sdxl_configs.sdxl_unet_config()).eval()
    if name == "unet+controlnet":
        models["controlnet"] = ControlNetModel.from_config(sdxl_configs.controlnet_canny_sdxl_config()).eval()
    if name.startswith("vae"):
        models["vae"] = AutoencoderKL.from_config(sdxl_configs.sdxl_vae_config()).eval()
        if name == "vae-decode-tiled":
            models["vae"].enable_tiling()
    return models


def _operation(name: str, size: int, models):
    """The inputs (made now, so they count in the baseline) and the operation to measure."""
    import torch

    latent = size // 8
    if name.startswith("vae"):
        vae = models["vae"]
        z = torch.randn(1, 4, latent, latent)
        return lambda: vae.decode(z).sample

    unet = models["unet"]
    sample = torch.randn(2, 4, latent, latent)
    timestep = torch.tensor(999.0)
    context = torch.randn(2, 77, 2048)
    added = {
        "text_embeds": torch.randn(2, 1280),
        "time_ids": torch.tensor([[size, size, 0.0, 0.0, size, size]] * 2),
    }
    if name == "unet":
        return lambda: unet(sample, timestep, context, added_cond_kwargs=added, return_dict=False)[0]

    controlnet = models["controlnet"]
    image = torch.rand(2, 3, size, size)

    def controlled():
        down, mid = controlnet(
            sample, timestep, context, controlnet_cond=image, added_cond_kwargs=added, return_dict=False
        )
        return unet(
            sample,
            timestep,
            context,
            added_cond_kwargs=added,
            down_block_additional_residuals=down,
            mid_block_additional_residual=mid,
            return_dict=False,
        )[0]

    return controlled


def measure_one(name: str, size: int, cap_bytes: int) -> dict:
    import torch

    threading.Thread(target=_watchdog, args=(cap_bytes,), daemon=True).start()
    torch.set_flush_denormal(True)
    start = time.perf_counter()
    models = _build(name)
    build_s = time.perf_counter() - start
    weight_bytes = sum(p.numel() * p.element_size() for m in models.values() for p in m.parameters())
    processors = sorted(
        {
            type(p).__name__
            for m in models.values()
            if hasattr(m, "attn_processors")
            for p in m.attn_processors.values()
        }
    )
    operation = _operation(name, size, models)

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _status_bytes("VmRSS")
    start = time.perf_counter()
    with torch.inference_mode():
        output = operation()
    op_s = time.perf_counter() - start
    peak = _status_bytes("VmHWM")
    return {
        "measurement": name,
        "size": size,
        "peak_extra_bytes": peak - baseline,
        "bytes_per_pixel": (peak - baseline) / (size * size),
        "baseline_rss_bytes": baseline,
        "peak_rss_bytes": peak,
        "weight_bytes": weight_bytes,
        "build_seconds": round(build_s, 2),
        "op_seconds": round(op_s, 2),
        "output_shape": list(output.shape),
        "output_finite": bool(torch.isfinite(output).all()),
        "attention_processors": processors,
        "threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------- parent: plan, spawn, tabulate


def weight_bytes_fp32() -> dict[str, int]:
    """fp32 weight bytes of each measurement's models, counted on the meta device (nothing allocated)."""
    import sdxl_configs
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(sdxl_configs.sdxl_unet_config())
        controlnet = ControlNetModel.from_config(sdxl_configs.controlnet_canny_sdxl_config())
        vae = AutoencoderKL.from_config(sdxl_configs.sdxl_vae_config())
    count = {
        k: 4 * sum(p.numel() for p in m.parameters()) for k, m in (("u", unet), ("c", controlnet), ("v", vae))
    }
    return {
        "unet": count["u"],
        "unet+controlnet": count["u"] + count["c"],
        "vae-decode": count["v"],
        "vae-decode-tiled": count["v"],
    }


def run_child(name: str, size: int, cap_bytes: int) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--size", str(size)]
    command += ["--cap-bytes", str(cap_bytes)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"error": f"exit {done.returncode}: {done.stderr[-2000:]}"}
    result.setdefault("measurement", name)
    result.setdefault("size", size)
    result["process_seconds"] = round(wall, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="512,768,1024", help="comma-separated image sizes (multiples of 8)"
    )
    parser.add_argument("--json", default="/tmp/peaks.json", help="where to write the rows as JSON")
    parser.add_argument("--cap-gib", type=float, default=17.0, help="peak process memory allowed (GiB)")
    parser.add_argument("--only", default=",".join(MEASUREMENTS), help="comma-separated measurements")
    parser.add_argument("--one", choices=MEASUREMENTS, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cap-bytes", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))

    if args.one:
        print(
            json.dumps(measure_one(args.one, args.size, args.cap_bytes or int(args.cap_gib * GIB))),
            flush=True,
        )
        return 0

    cap = int(args.cap_gib * GIB)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    names = [n for n in MEASUREMENTS if n in args.only.split(",")]
    weights = weight_bytes_fp32()
    rows: list[dict] = []
    last: dict[str, dict] = {}
    started = time.perf_counter()
    for size in sizes:
        for name in names:
            predicted = weights[name] + PROCESS_OVERHEAD
            if name in last:
                previous = last[name]
                ratio = (size / previous["size"]) ** 2
                predicted += int(previous["peak_extra_bytes"] * ratio * EXTRAPOLATION_MARGIN)
            if predicted > cap:
                row = {
                    "measurement": name,
                    "size": size,
                    "skipped": f"predicted {predicted / GIB:.1f} GiB > cap",
                }
            else:
                row = run_child(name, size, cap)
                if "peak_extra_bytes" in row:
                    last[name] = row
            rows.append(row)
            print(_line(row), flush=True)
    total = time.perf_counter() - started

    print(f"\nCPU fp32, {os.cpu_count()} cores; peak extra = VmHWM - baseline VmRSS; total {total:.0f} s\n")
    print(f"{'measurement':<18} {'size':>5} {'peak extra MiB':>15} {'bytes/pixel':>12} {'op s':>8}")
    for row in rows:
        if "peak_extra_bytes" in row:
            print(
                f"{row['measurement']:<18} {row['size']:>5} {row['peak_extra_bytes'] / MIB:>15.1f}"
                f" {row['bytes_per_pixel']:>12.0f} {row['op_seconds']:>8.1f}"
            )
        else:
            print(f"{row['measurement']:<18} {row['size']:>5}   {row.get('skipped') or row.get('error')}")
    Path(args.json).write_text(json.dumps({"total_seconds": round(total, 1), "rows": rows}, indent=2) + "\n")
    print(f"\nwritten {args.json}")
    return 0


def _line(row: dict) -> str:
    if "peak_extra_bytes" not in row:
        return f"{row['measurement']} {row['size']}: {row.get('skipped') or row.get('error')}"
    return (
        f"{row['measurement']} {row['size']}: +{row['peak_extra_bytes'] / MIB:.0f} MiB over a"
        f" {row['baseline_rss_bytes'] / GIB:.2f} GiB baseline (peak {row['peak_rss_bytes'] / GIB:.2f} GiB),"
        f" op {row['op_seconds']} s, build {row['build_seconds']} s, finite={row['output_finite']},"
        f" {'/'.join(row['attention_processors']) or '-'}"
    )


if __name__ == "__main__":
    sys.exit(main())
