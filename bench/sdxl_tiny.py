"""engine=sdxl on the tiny random-weight models: cold and warm predictions, builds, overhead.

    .venv/bin/python bench/sdxl_tiny.py            # 5 warm repeats
    .venv/bin/python bench/sdxl_tiny.py --quick    # 2

In process (TileService) and through the real Cog server (`plitka serve`), side by side, plus a bare
diffusers call on the very same pipeline, steps and size for the predictor's overhead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from plitka.cog_client import decode, predict, running_server
from plitka.diffusion.engine import CONTROLNET_SCALE
from plitka.diffusion.tiny import write_tiny_weights
from plitka.layout import build_layout
from plitka.render import render_tile
from plitka.request import build_request
from plitka.service import TileService

PARAMS = {"overrides": {"resolution": 512}}
FORM = {"colors": "60% red, 40% white", "quality": "preview", "engine": "sdxl", "seed": 1}


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def in_process(weights, repeats: int) -> list[tuple[str, str]]:
    service = TileService(weights.settings(work_dir=Path(tempfile.mkdtemp(prefix="plitka-bench-"))))
    request = build_request(params_json=json.dumps(PARAMS), **FORM)

    def prediction():
        generation = service.start(request)
        list(service.generate(generation, service.new_output_folder()))
        return generation

    cold_s, cold = timed(prediction)
    warm = [timed(prediction) for _ in range(repeats)]
    warm_s = statistics.median(seconds for seconds, _ in warm)
    builds_after_first = sum(len(generation.diffusion.ledger.built) for _, generation in warm)
    diffusion_s = statistics.median(generation.diffusion.generate_seconds for _, generation in warm)
    bare_s = bare_diffusers_seconds(service, cold, repeats)
    service.teardown()
    return [
        (
            "in process: first prediction (builds)",
            f"{cold_s:.2f} s, {len(cold.diffusion.ledger.built)} models built",
        ),
        ("in process: warm prediction", f"{warm_s:.2f} s"),
        (f"builds over {repeats} warm predictions", str(builds_after_first)),
        ("diffusion step of a warm prediction", f"{diffusion_s:.3f} s"),
        ("bare diffusers call, same pipeline/steps/size", f"{bare_s:.3f} s"),
        ("engine overhead (diffusion step / bare call)", f"{diffusion_s / bare_s:.3f}x"),
    ]


def bare_diffusers_seconds(service: TileService, generation, repeats: int) -> float:
    """The same img2img + canny ControlNet call, made directly on the built pipeline."""
    import torch

    info = generation.diffusion.info
    layout = build_layout(generation.request.mix, size=512, seed=1)
    init = render_tile(layout, 0)
    from plitka.diffusion.control import canny_edges

    control = canny_edges(init)
    with service.diffusion.manager.acquire("pipeline-canny") as pipe:

        def call():
            return pipe(
                prompt=info["prompt"],
                negative_prompt=info["negative_prompt"],
                image=init,
                control_image=control,
                controlnet_conditioning_scale=CONTROLNET_SCALE,
                strength=info["strength"],
                num_inference_steps=info["steps"],
                guidance_scale=info["guidance"],
                generator=torch.Generator().manual_seed(1),
                cross_attention_kwargs={"scale": info["lora_scale"]},
            )

        call()
        return statistics.median(timed(call)[0] for _ in range(repeats))


def through_server(weights) -> list[tuple[str, str]]:
    work = Path(tempfile.mkdtemp(prefix="plitka-bench-server-"))
    start = time.perf_counter()
    with running_server(work, **weights.environment()) as url:
        ready_s = time.perf_counter() - start
        rows = [("server READY after start", f"{ready_s:.2f} s")]
        for label in ("first", "second"):
            seconds, result = timed(lambda: predict(url, params_json=json.dumps(PARAMS), **FORM))
            assert result["status"] == "succeeded", result.get("error")
            report = json.loads(decode(result["output"][3]))
            built = result["metrics"]["models"]["built"]
            rows.append((f"server: {label} prediction over HTTP", f"{seconds:.2f} s, {built} models built"))
        rows.append(("server: engine in the report", report["engine"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 warm repeats instead of 5")
    repeats = 2 if parser.parse_args().quick else 5
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    write_s, weights = timed(lambda: write_tiny_weights(Path(tempfile.mkdtemp(prefix="plitka-tiny-"))))
    rows = [("write the tiny weight set", f"{write_s:.2f} s")]
    rows += in_process(weights, repeats)
    rows += through_server(weights)
    width = max(len(label) for label, _ in rows)
    print(f"\n{'figure'.ljust(width)}  value\n{'-' * width}  -----")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
