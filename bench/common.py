"""What every part of the benchmark shares: a figure with its target, medians, the final table."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    """One measured figure; `target` is an upper bound where the issue sets one."""

    name: str
    value: float
    unit: str
    target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.target if self.target else None

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "met" if self.value <= self.target else "MISSED"

    def shown(self, number: float) -> str:
        if number != number:  # NaN: nothing to measure here (the note says why)
            return "n/a"
        if self.unit in ("s", "x"):
            return f"{number:.3f} {self.unit}" if number < 10 else f"{number:.1f} {self.unit}"
        if self.unit == "%":
            return f"{number:.4f} %"
        if float(number).is_integer():
            return f"{int(number)} {self.unit}".strip()
        return f"{number:.3g} {self.unit}".strip()


def timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def median_seconds(action: Callable[[], object], repeats: int, warm_up: int = 1) -> float:
    """Median of `repeats` timed runs after `warm_up` untimed ones."""
    for _ in range(warm_up):
        action()
    return statistics.median(timed(action)[0] for _ in range(repeats))


def machine() -> str:
    cores = len(__import__("os").sched_getaffinity(0))
    return f"{platform.machine()}, {cores} cores, {platform.python_version()}, {time.strftime('%Y-%m-%d')}"


def print_table(figures: list[Figure], title: str) -> None:
    rows = [("figure", "measured", "target", "ratio", "")]
    for figure in figures:
        target = figure.shown(figure.target) if figure.target is not None else ""
        ratio = f"{figure.ratio:.2f}" if figure.ratio is not None else ""
        rows.append((figure.name, figure.shown(figure.value), target, ratio, figure.verdict))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    print(f"\n{title}")
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    for figure in figures:
        if figure.note:
            print(f"- {figure.name}: {figure.note}")


def bare_diffusers_call(pipe: Any, generation: Any, size: int, device: str = "cpu") -> Callable[[], None]:
    """`generation`'s img2img + canny ControlNet call, to be made directly on `pipe`: the baseline the
    product's overhead is measured against (no guard, gate, ModelManager or report)."""
    import torch

    from plitka.diffusion.control import canny_edges
    from plitka.diffusion.engine import CONTROLNET_SCALE
    from plitka.layout import build_layout
    from plitka.render import render_tile

    info = generation.diffusion.info
    init = render_tile(build_layout(generation.request.mix, size=size, seed=1), 0)
    control = canny_edges(init)

    def call() -> None:
        pipe(
            prompt=info["prompt"],
            negative_prompt=info["negative_prompt"],
            image=init,
            control_image=control,
            controlnet_conditioning_scale=CONTROLNET_SCALE,
            strength=info["strength"],
            num_inference_steps=info["steps"],
            guidance_scale=info["guidance"],
            generator=torch.Generator(device).manual_seed(1),
            cross_attention_kwargs={"scale": info["lora_scale"]},
        )
        if device == "cuda":
            torch.cuda.synchronize()  # the GPU's work, not just its launch

    return call
