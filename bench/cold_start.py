"""Cold start: what each heavy import costs in a fresh interpreter, and `import predict` + `setup()`
with lazy loading (nothing heavy imported until a prediction needs it)."""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys

from common import Figure

from plitka.cog_client import ROOT
from plitka.diffusion.tiny import TinyWeights

HEAVY = ("torch", "diffusers", "transformers", "controlnet_aux")

START_UP = """
import json, sys, time
start = time.perf_counter()
import predict
imported = time.perf_counter()
predictor = predict.Predictor()
predictor.setup()
ready = time.perf_counter()
heavy = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"import": imported - start, "setup": ready - imported, "heavy": heavy}}))
"""

IMPORT = "import time; start = time.perf_counter(); import {module}; print(time.perf_counter() - start)"


def in_fresh_python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def figures(weights: TinyWeights, quick: bool) -> list[Figure]:
    repeats = 1 if quick else 3
    env = dict(os.environ, **weights.environment())
    rows = []
    for module in HEAVY:
        if importlib.util.find_spec(module) is None:
            rows.append(Figure(f"cold start: import {module}", float("nan"), "s", note="not installed here"))
            continue
        seconds = [float(in_fresh_python(IMPORT.format(module=module), env)) for _ in range(repeats)]
        name = f"cold start: import {module} (with what it imports)"
        rows.append(Figure(name, statistics.median(seconds), "s"))
    runs = [json.loads(in_fresh_python(START_UP.format(heavy=HEAVY), env)) for _ in range(repeats)]
    heavy = sorted({name for run in runs for name in run["heavy"]})
    rows += [
        Figure("cold start: import predict", statistics.median(run["import"] for run in runs), "s"),
        Figure(
            "cold start: Predictor().setup()",
            statistics.median(run["setup"] for run in runs),
            "s",
            note=f"heavy modules imported by then: {', '.join(heavy) or 'none'}",
        ),
        Figure("cold start: heavy modules imported by import + setup", len(heavy), "modules", 0),
    ]
    return rows
