"""Training: the time of one optimiser step of `plitka train` on the tiny random-weight models (CPU).

The full-size SDXL step time and peak VRAM come from `bench/run.py --gpu` (bench/gpu.py, scenario
"training"), which needs a CUDA GPU.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from common import Figure

from plitka.training import TrainingService, build_config
from plitka.training.synthetic import write_synthetic_set

RESOLUTION = 256
BATCH = 2


def figures(weights: Any, quick: bool) -> list[Figure]:
    scratch = Path(tempfile.mkdtemp(prefix="plitka-train-"))
    data = write_synthetic_set(scratch / "data", count=4)
    steps = 6 if quick else 20
    config = build_config(steps=steps, batch_size=BATCH, resolution=RESOLUTION, validation_every=0)
    service = TrainingService(weights.settings(work_dir=scratch))
    manifest = service.train(data, config, scratch / "weights.tar", progress=lambda line: None)
    return [
        Figure(
            f"training, tiny weights: one step (batch {BATCH}, {RESOLUTION} px, cpu)",
            manifest["mean_step_seconds"],
            "s",
            note=f"mean of steps 2-{steps}; whole run with loading {manifest['seconds']:.1f} s",
        )
    ]
