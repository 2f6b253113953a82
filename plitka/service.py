"""The flow of one prediction: request -> granule layout -> preview -> final image -> colour map -> report.

Every interface (Cog predictor, CLI) goes through TileService.generate, which yields the outputs in
the order a person wants to see them: the exact 512x512 preview first, the report last.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from plitka import __version__
from plitka.analysis import measure_proportions
from plitka.bank import Renderer, choose_renderer
from plitka.diffusion import DiffusionEngine, DiffusionPlan, DiffusionResult
from plitka.governor.guard import MemoryShortError
from plitka.layout import GranuleLayout
from plitka.lock import LockResult, lock_colours
from plitka.order import Quantities
from plitka.outputs import OutputFolders, save_image
from plitka.presets import PREVIEW_SIZE, QUALITY_PRESETS
from plitka.render import render_colormap
from plitka.request import MAX_SEED, RANDOM_SEED, RequestError, TileRequest
from plitka.settings import Settings, get_settings

log = logging.getLogger("plitka")

OutputKind = Literal["preview", "final", "colormap", "report"]
# CUDA errors after which the process's CUDA context is unusable; only a new process recovers.
FATAL_DEVICE_ERRORS = (
    "CUDA error",
    "illegal memory access",
    "device-side assert",
    "CUBLAS_STATUS_EXECUTION_FAILED",
)
# parts of the "final" step, not added to the total again
SUB_STEPS = ("queue", "load", "diffusion", "measure_before_lock", "lock")


@dataclass(frozen=True)
class Output:
    kind: OutputKind
    path: Path


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def measure(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = round(time.perf_counter() - start, 4)


@dataclass
class Generation:
    """What one prediction produced; `report` is filled once the last output is written."""

    request: TileRequest
    seed: int
    engine: str
    engine_reason: str = ""
    timings: Timings = field(default_factory=Timings)
    plan: DiffusionPlan | None = None  # with engine sdxl
    diffusion: DiffusionResult | None = None
    cpu_fallback: str = ""  # why the generation ran on the CPU instead of the GPU
    order: Quantities | None = None  # quantities to order, where the request gave an area
    report: dict[str, Any] = field(default_factory=dict)
    photo: Image.Image | None = None  # re-colour this picture instead of making one (engine "recolor")
    lock: LockResult | None = None
    renderer: Renderer | None = None  # the procedural picture's renderer (not for re-colouring)
    measured_before_lock: dict[str, float] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)  # set: stop at the next step
    layout: GranuleLayout | None = None  # kept for the scene outputs (plitka.scene)
    final: Image.Image | None = None


class TileService:
    def __init__(self, settings: Settings | None = None, diffusion: DiffusionEngine | None = None):
        self.settings = settings or get_settings()
        self.folders = OutputFolders(self.settings.work_dir, self.settings.keep_outputs)
        self.diffusion = diffusion or DiffusionEngine(self.settings)  # declares models, loads nothing
        self._cpu_engine: DiffusionEngine | None = None  # PLITKA_CPU_FALLBACK, built on first use
        self._cpu_engine_lock = threading.Lock()
        self.broken = ""  # why this process can no longer serve (a fatal device error), else ""
        self.renderer = choose_renderer(self.settings.renderer, self.settings.bank_dir)  # BankError: refused

    def setup(self) -> None:
        """Start-up work: cap and watch memory, build what PLITKA_PRELOAD names, unload idle models."""
        self.diffusion.start()

    def teardown(self) -> None:
        self.diffusion.teardown()
        if self._cpu_engine:
            self._cpu_engine.teardown()

    def health_problem(self) -> str:
        """Why this service cannot serve the next prediction, or '' (Predictor.healthcheck)."""
        if self.broken:
            return self.broken
        if problem := self.folders.writable():
            return problem
        if not self.diffusion.guard.watching():
            return "the memory guard's watching thread has stopped"
        return ""

    def note_failure(self, error: BaseException) -> None:
        """Remember an error after which this process cannot be trusted with the device again."""
        text = str(error)[:500]
        if any(mark in text for mark in FATAL_DEVICE_ERRORS):
            self.broken = f"fatal device error in an earlier prediction: {text[:200]}"
            log.error("this worker cannot serve any more: %s", self.broken)

    def new_output_folder(self) -> Path:
        return self.folders.new_folder()

    def choose_engine(self, requested: str) -> tuple[str, str]:
        """The engine and why: auto -> sdxl where the product's weights are configured and reachable."""
        if requested == "procedural":
            return "procedural", "requested"
        if requested == "auto" and not self.diffusion.has_product_adapters():
            return (
                "procedural",
                "auto: the product's LoRA and TI are not configured (PLITKA_LORA_SOURCE, PLITKA_TI_SOURCE)",
            )
        available = self.diffusion.availability()
        if available.ok:
            return (
                "sdxl",
                "requested" if requested == "sdxl" else "auto: diffusion weights configured and reachable",
            )
        if requested == "auto":
            return "procedural", f"auto: {available.reason}"
        raise RequestError("engine", f"sdxl is unavailable here ({available.reason}); use auto or procedural")

    def generate(self, run: Generation, folder: Path) -> Iterator[Output]:
        """Write and yield preview, final, colour map and report.json into `folder`."""
        if run.photo is not None:
            yield from self._recolour(run, folder)
            return
        request = run.request
        size = request.overrides.resolution or QUALITY_PRESETS[request.quality].resolution
        run.renderer = self.renderer
        with run.timings.measure("layout"):
            layout = self.renderer.layout(request.mix, size=size, seed=run.seed)
        # Each step is timed without its yield, so a slow consumer does not count as our time.
        with run.timings.measure("preview"):
            preview_path = self._save(
                self.renderer.render(layout, request.angle, size=PREVIEW_SIZE), folder / "preview", request
            )
        yield Output("preview", preview_path)
        with run.timings.measure("final"):
            final = self.renderer.render(layout, angle=request.angle)
            if run.plan:
                run.diffusion = self._diffuse(run, layout, final)
                final = run.diffusion.image
                run.timings.seconds["queue"] = round(run.diffusion.queue_seconds, 4)
                run.timings.seconds["load"] = round(run.diffusion.load_seconds, 4)
                run.timings.seconds["diffusion"] = round(run.diffusion.generate_seconds, 4)
                if request.overrides.lock is not False:
                    final = self._lock(
                        run, final, self.renderer.picture_granules(layout, request.angle, final.width)
                    )
            final_path = self._save(final, folder / "final", request)
        run.layout, run.final = layout, final
        yield Output("final", final_path)
        with run.timings.measure("colormap"):
            colormap_path = save_image(render_colormap(layout, request.mix), folder / "colormap", "png", 100)
        yield Output("colormap", colormap_path)
        yield self._report(run, final, folder, layout=layout)

    def _report(
        self, run: Generation, final: Image.Image, folder: Path, layout: GranuleLayout | None = None
    ) -> Output:
        request = run.request
        with run.timings.measure("measure"):
            measured = measure_proportions(final, list(request.mix))
        run.timings.seconds["total"] = round(
            sum(seconds for step, seconds in run.timings.seconds.items() if step not in SUB_STEPS), 4
        )
        run.report = build_report(run, layout, measured, final.size)
        report_path = folder / "report.json"
        report_path.write_text(json.dumps(run.report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        log.info(
            "generated %s seed=%s engine=%s in %.3fs",
            request.describe_mix(),
            run.seed,
            run.engine,
            run.timings.seconds["total"],
        )
        return Output("report", report_path)

    def _lock(self, run: Generation, picture: Image.Image, granules: Any = None) -> Image.Image:
        """The colour lock on `picture` (measured before, for the report); the locked picture, or the
        picture as it was where the lock declined to paint (the report says why)."""
        mix = run.request.mix
        with run.timings.measure("lock"):
            run.lock = lock_colours(picture, mix, granules=granules)
        if run.lock.painted:
            with run.timings.measure("measure_before_lock"):
                run.measured_before_lock = measure_proportions(picture, list(mix))
        return run.lock.image

    def _recolour(self, run: Generation, folder: Path) -> Iterator[Output]:
        """Re-colour the request's photo: preview (the re-coloured picture at 512), final, region
        colour map, report with the shares before and after."""
        assert run.photo is not None
        request = run.request
        with run.timings.measure("final"):
            final = self._lock(run, run.photo)
        assert run.lock is not None
        if not run.lock.painted:
            raise RequestError("image", f"{run.lock.reason}; send a top view of the tile's granules")
        with run.timings.measure("preview"):
            preview = final.resize(_preview_size(final.size), Image.Resampling.LANCZOS)
            preview_path = self._save(preview, folder / "preview", request)
        yield Output("preview", preview_path)
        final_path = self._save(final, folder / "final", request)
        yield Output("final", final_path)
        with run.timings.measure("colormap"):
            regions = region_layout(run.lock)
            colormap_path = save_image(render_colormap(regions, request.mix), folder / "colormap", "png", 100)
        yield Output("colormap", colormap_path)
        yield self._report(run, final, folder)

    def _diffuse(self, run: Generation, layout: GranuleLayout, init: Image.Image) -> DiffusionResult:
        """The diffusion step; where the GPU is short of memory and PLITKA_CPU_FALLBACK allows, on the CPU."""
        assert run.plan is not None
        try:
            return self.diffusion.generate(run.plan, layout, init, run.seed, run.cancel)
        except MemoryShortError as short:
            if not self.settings.cpu_fallback or self.diffusion.guard.device.kind == "cpu":
                raise
            run.cpu_fallback = str(short)
        log.warning("running this generation on the cpu (PLITKA_CPU_FALLBACK): %s", run.cpu_fallback)
        return self.cpu_engine().generate(run.plan, layout, init, run.seed, run.cancel)

    def cpu_engine(self) -> DiffusionEngine:
        with self._cpu_engine_lock:
            if self._cpu_engine is None:
                self._cpu_engine = DiffusionEngine(
                    self.settings.model_copy(update={"device": "cpu", "preload": ""})
                )
                self._cpu_engine.start()
            return self._cpu_engine

    def start(
        self, request: TileRequest, cancel: threading.Event | None = None, photo: Image.Image | None = None
    ) -> Generation:
        """Resolve what the request leaves open (seed, engine) before any work is done; setting
        `cancel` later stops the generation at its next denoising step. With a photo, the
        generation re-colours it (engine "recolor") instead of making a picture."""
        seed = secrets.randbelow(MAX_SEED + 1) if request.seed == RANDOM_SEED else request.seed
        if photo is not None:
            generation = Generation(
                request=request, seed=seed, engine="recolor", engine_reason="an image was given", photo=photo
            )
            if cancel is not None:
                generation.cancel = cancel
            return generation
        engine, reason = self.choose_engine(request.engine)
        plan = self.diffusion.plan(request) if engine == "sdxl" else None
        generation = Generation(request=request, seed=seed, engine=engine, engine_reason=reason, plan=plan)
        if cancel is not None:
            generation.cancel = cancel
        return generation

    def _save(self, image: Image.Image, stem: Path, request: TileRequest) -> Path:
        return save_image(image, stem, request.output_format, self.settings.image_quality)


def build_report(
    run: Generation, layout: GranuleLayout | None, measured: dict[str, float], size: tuple[int, int]
) -> dict[str, Any]:
    request = run.request
    errors = [abs(measured.get(code, 0.0) - share) for code, share in request.mix.items()]
    return {
        "requested": dict(request.mix),
        "measured": measured,
        **({"measured_before_lock": run.measured_before_lock} if run.measured_before_lock else {}),
        **({"lock": lock_report(run)} if run.lock or run.engine == "sdxl" else {}),
        **(
            {"layout": {code: round(share, 2) for code, share in layout.area_shares().items()}}
            if layout
            else {}
        ),
        "max_error_points": round(max(errors), 2),
        "mix": request.describe_mix(),
        "seed": run.seed,
        "engine": run.engine,
        "engine_requested": request.engine,
        "engine_reason": run.engine_reason,
        **({"renderer": {"name": run.renderer.name, "reason": run.renderer.reason}} if run.renderer else {}),
        "angle": request.angle,
        "quality": request.quality,
        "output_format": request.output_format,
        "size": list(size),
        "timings": dict(run.timings.seconds),
        "version": __version__,
        **({"diffusion": diffusion_report(run.diffusion, run.cpu_fallback)} if run.diffusion else {}),
        **({"order": run.order.to_dict()} if run.order else {}),
    }


def lock_report(run: Generation) -> dict[str, Any]:
    """The lock's part of the report: whether it ran, and if so what it changed and how sure it was."""
    if run.lock is None:
        return {"enabled": False, "reason": "off (lock: false)"}
    return {"enabled": True, **run.lock.describe()}


def region_layout(lock: LockResult) -> GranuleLayout:
    """The lock's regions and their colours as a layout, for the colour map (off the tile: gaps)."""
    colours = lock.region_colour
    granules = np.where(colours[lock.regions] >= 0, lock.regions, -1).astype(np.int32)
    return GranuleLayout(lock.codes, granules, np.maximum(colours, 0).astype(np.int8), seed=0)


def _preview_size(size: tuple[int, int]) -> tuple[int, int]:
    scale = PREVIEW_SIZE / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def diffusion_report(result: DiffusionResult, cpu_fallback: str) -> dict[str, Any]:
    return {
        **result.info,
        "models_built": result.ledger.built,
        "models_reused": result.ledger.reused,
        "models_evicted": result.ledger.evicted,
        "build_seconds": round(result.ledger.build_seconds, 4),
        "memory": {
            "mode": result.mode,
            "peak_allocated_bytes": result.peak_allocated,
            "retries": result.retries,
            "cpu_fallback": cpu_fallback or None,
            **(result.admission.describe() if result.admission else {}),
        },
    }
