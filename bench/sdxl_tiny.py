"""engine=sdxl in process on the tiny random-weight models: the predictor's overhead against a bare
diffusers call on the very same pipeline, steps and size; torch.compile (full run only)."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

from common import Figure, bare_diffusers_call, median_seconds, timed

from plitka.diffusion.tiny import TinyWeights
from plitka.request import build_request
from plitka.service import Generation, TileService

FORM = {"colors": "60% red, 40% white", "quality": "preview", "engine": "sdxl", "seed": 1}
PARAMS = json.dumps({"overrides": {"resolution": 512}})
TARGET_OVERHEAD = 1.05


def service_for(weights: TinyWeights, **changes: object) -> TileService:
    work = Path(tempfile.mkdtemp(prefix="plitka-bench-"))
    return TileService(weights.settings(work_dir=work, **changes))


def predict(service: TileService) -> Generation:
    generation = service.start(build_request(params_json=PARAMS, **FORM))
    list(service.generate(generation, service.new_output_folder()))
    return generation


def overhead(weights: TinyWeights, repeats: int) -> list[Figure]:
    service = service_for(weights)
    reference = predict(service)  # builds the models
    bare, warm = [], []
    with service.diffusion.manager.acquire("pipeline-canny") as pipe:
        call = bare_diffusers_call(pipe, reference, size=512)
        call()  # warm-up
        for _ in range(repeats):  # interleaved: the machine's drift falls on both sides alike
            bare.append(timed(call)[0])
            warm.append(predict(service))
    service.teardown()
    bare_s = statistics.median(bare)
    engine_s = statistics.median(generation.diffusion.generate_seconds for generation in warm)
    whole_s = statistics.median(generation.timings.seconds["total"] for generation in warm)
    info = reference.diffusion.info
    steps = f"{info['steps']} steps x strength {info['strength']}"
    product = {
        step: statistics.median(g.timings.seconds[step] for g in warm)
        for step in ("layout", "preview", "colormap", "measure")
    }
    return [
        Figure(f"tiny sdxl: bare diffusers call, 512 px, {steps}, canny", bare_s, "s"),
        Figure(
            "tiny sdxl: the engine's diffusion call / the bare call", engine_s / bare_s, "x", TARGET_OVERHEAD
        ),
        Figure(
            "tiny sdxl: whole warm prediction / the bare call",
            whole_s / bare_s,
            "x",
            TARGET_OVERHEAD,
            note=(
                f"{whole_s:.3f} s in all; beside diffusion it renders the init image and the preview, "
                "draws the colour map, measures the colours and encodes 4 files (median s: "
                + ", ".join(f"{step} {seconds:.3f}" for step, seconds in product.items())
                + "), work a bare call does not do"
            ),
        ),
    ]


def compiled(weights: TinyWeights) -> list[Figure]:
    """torch.compile on this CPU: the first generation pays for compiling, later ones run faster.
    Inductor's on-disk cache would let a rerun skip compiling: a fresh one measures a new instance."""
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="plitka-inductor-")
    plain, compiled = service_for(weights), service_for(weights, torch_compile=True)
    predict(plain)
    first_s, _ = timed(lambda: predict(compiled))
    plain_s = median_seconds(lambda: predict(plain).diffusion.generate_seconds, 3)
    compiled_s = median_seconds(lambda: predict(compiled).diffusion.generate_seconds, 3)
    plain.teardown()
    compiled.teardown()
    return [
        Figure("tiny sdxl, PLITKA_TORCH_COMPILE: first prediction (compiles, empty cache)", first_s, "s"),
        Figure("tiny sdxl, PLITKA_TORCH_COMPILE: warm prediction, compiled / not", compiled_s / plain_s, "x"),
    ]


def figures(weights: TinyWeights, quick: bool) -> list[Figure]:
    return overhead(weights, 3 if quick else 9) + ([] if quick else compiled(weights))
