"""Through the real Cog server (coglet, `plitka serve`), as Replicate talks to it: server READY, time to
the first streamed output for both engines, and the builds over 20 sdxl predictions."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from common import Figure

from plitka.cog_client import StreamedPrediction, WebhookReceiver, running_server
from plitka.diffusion.tiny import TinyWeights

SDXL_PREDICTIONS = 20
TARGET_FIRST_OUTPUT_S = 1.0
TARGET_READY_S = 5.0
FORM = {"colors": "60% red, 40% white", "quality": "preview"}
SDXL_AT_512 = json.dumps({"overrides": {"resolution": 512}})


def predictions(hooks: WebhookReceiver, url: str, count: int, **inputs: object) -> list[StreamedPrediction]:
    runs = [hooks.predict(url, **FORM, seed=seed, **inputs) for seed in range(count)]
    failed = [run.final.get("error") for run in runs if run.final["status"] != "succeeded"]
    assert not failed, failed
    return runs


def ready_seconds(weights: TinyWeights) -> float:
    start = time.perf_counter()
    with running_server(Path(tempfile.mkdtemp(prefix="plitka-bench-")), **weights.environment()):
        return time.perf_counter() - start


def figures(weights: TinyWeights, quick: bool) -> list[Figure]:
    ready = statistics.median(ready_seconds(weights) for _ in range(1 if quick else 3))
    work = Path(tempfile.mkdtemp(prefix="plitka-bench-"))
    with running_server(work, **weights.environment()) as url, WebhookReceiver() as hooks:
        procedural = predictions(hooks, url, 6 if quick else 11, engine="procedural")[1:]
        sdxl = predictions(hooks, url, SDXL_PREDICTIONS, engine="sdxl", params_json=SDXL_AT_512)
    cold, warm = sdxl[0], sdxl[1:]
    built = [run.final["metrics"]["models"]["built"] for run in sdxl]
    return [
        Figure("server: READY after start (tiny weights configured)", ready, "s", TARGET_READY_S),
        Figure(
            "server: first output, procedural (median, warm)",
            statistics.median(run.first_output_seconds for run in procedural),
            "s",
            TARGET_FIRST_OUTPUT_S,
        ),
        Figure(
            "server: whole prediction, procedural 1024 (median)",
            statistics.median(run.end_seconds for run in procedural),
            "s",
        ),
        Figure(
            "server: first output, sdxl, first prediction of a fresh server",
            cold.first_output_seconds,
            "s",
            TARGET_FIRST_OUTPUT_S,
        ),
        Figure("server: whole first sdxl prediction (imports torch, builds)", cold.end_seconds, "s"),
        Figure(
            f"server: first output, sdxl (median of {len(warm)} warm)",
            statistics.median(run.first_output_seconds for run in warm),
            "s",
            TARGET_FIRST_OUTPUT_S,
        ),
        Figure(
            "server: whole sdxl prediction, preview at 512 (median, warm)",
            statistics.median(run.end_seconds for run in warm),
            "s",
        ),
        Figure("server: models built by the first sdxl prediction", built[0], "models"),
        Figure(f"server: models built by sdxl predictions 2-{SDXL_PREDICTIONS}", sum(built[1:]), "models", 0),
    ]
