"""The SDXL engine: declares its models to the ModelManager and turns the procedural render of the exact
layout into a photo (image-to-image, with ControlNet conditioning from the layout's edges)."""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from PIL import Image

from plitka.diffusion import loaders
from plitka.diffusion.control import CONTROL_TYPES, ControlType, canny_edges, control_type_for, layout_edges
from plitka.diffusion.footprint import Footprint
from plitka.diffusion.prompt import TI_TOKENS, build_negative_prompt, build_prompt
from plitka.diffusion.sources import WeightsError, WeightSource, is_reachable, parse_source
from plitka.governor import Ledger, ModelManager, ModelSpec
from plitka.governor.estimate import MemoryNeed, Mode
from plitka.governor.gate import Cancelled
from plitka.governor.guard import Admission, MemoryGuard, OutOfMemory
from plitka.layout import GranuleLayout
from plitka.presets import QUALITY_PRESETS
from plitka.request import ANGLES, RequestError, TileRequest
from plitka.settings import Settings, SettingsError

log = logging.getLogger("plitka.diffusion")

CONTROLNET_SCALE = 0.5  # conditioning strength: the init image already fixes the colours
REAPER_INTERVAL = 30.0  # seconds between idle checks (a fraction of any sensible idle timeout)
RECHECK_UNREACHABLE_SECONDS = 60.0  # a source found unreachable is probed again after this
ANNOTATORS = {"lineart": "LineartDetector", "softedge": "PidiNetDetector"}  # controlnet_aux classes
SOURCE_SETTINGS = {
    "base": "sdxl_source",
    "vae": "vae_source",
    "lora": "lora_source",
    "ti": "ti_source",
    **{f"controlnet-{kind}": f"controlnet_{kind}_source" for kind in CONTROL_TYPES},
}


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""
    checked_at: float = 0.0


@dataclass(frozen=True)
class DiffusionPlan:
    prompt: str
    negative_prompt: str
    steps: int
    guidance: float
    strength: float
    lora_scale: float
    controlnet: ControlType | None
    controlnet_reason: str
    angle: int

    @property
    def pipeline(self) -> str:
        return f"pipeline-{self.controlnet}" if self.controlnet else "pipeline"


@dataclass
class DiffusionResult:
    image: Image.Image
    info: dict[str, Any] = field(default_factory=dict)
    ledger: Ledger = field(default_factory=Ledger)
    queue_seconds: float = 0.0
    load_seconds: float = 0.0
    generate_seconds: float = 0.0
    admission: Admission | None = None
    mode: Mode = "normal"
    retries: list[str] = field(default_factory=list)  # out-of-memory errors recovered from
    peak_allocated: int = 0
    control_source: str | None = None
    attention: str = ""  # the UNet's attention processor, e.g. AttnProcessor2_0 (PyTorch SDPA)


@dataclass
class Job:
    """One generation's inputs and its result as it fills in."""

    plan: DiffusionPlan
    layout: GranuleLayout
    init: Image.Image
    seed: int
    cancel: threading.Event | None
    result: DiffusionResult


@dataclass
class StepWatch:
    """The diffusers step callback: cancellation, the device's step hook and the denoising peak."""

    device: Any
    cancel: threading.Event | None
    peak: int = 0

    def stop_if_cancelled(self, when: str) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled(f"cancelled {when}")

    def __call__(self, pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        self.stop_if_cancelled("during denoising")
        self.device.on_step()
        self.peak = self.device.peak_allocated()
        # One line per step: Cog sends the logs to Replicate and webhooks, and the studio shows them
        # as progress (plitka/studio/predictions.py reads this exact wording).
        log.info("denoising step %d/%d", step + 1, pipe.num_timesteps)
        return tensors


class DiffusionEngine:
    """SDXL base + VAE + LoRA + TI + ControlNets as named models; pipelines are views over them."""

    def __init__(
        self, settings: Settings, manager: ModelManager | None = None, guard: MemoryGuard | None = None
    ):
        self.settings = settings
        self.sources = self._parse_sources(settings)
        self.manager = manager or ModelManager(
            idle_seconds=settings.model_idle_seconds, max_bytes=int(settings.model_cache_gib * 2**30)
        )
        self.guard = guard or MemoryGuard(settings, self.manager)
        self.footprint = Footprint(self.manager, self.sources, settings.cache_dir, lambda: self.runtime)
        self._runtime: loaders.Runtime | None = None
        self._reachable: dict[str, Availability] = {}
        self._annotator_failures: dict[str, str] = {}
        self._declare_models()
        self.preload_names = self._preload_names(settings.preload)

    # --- setup ---------------------------------------------------------------------------------

    @staticmethod
    def _parse_sources(settings: Settings) -> dict[str, WeightSource | None]:
        sources: dict[str, WeightSource | None] = {}
        for model, attribute in SOURCE_SETTINGS.items():
            try:
                sources[model] = parse_source(f"PLITKA_{attribute.upper()}", getattr(settings, attribute))
            except WeightsError as error:
                raise SettingsError(f"invalid settings: {error}") from None
        if sources["base"] is None:
            raise SettingsError("invalid settings: PLITKA_SDXL_SOURCE: must name the SDXL base weights")
        return sources

    def _declare_models(self) -> None:
        declare = self.manager.declare
        declare(
            ModelSpec("base", lambda _: self._load_base(), description="SDXL UNet, text encoders, scheduler")
        )
        declare(ModelSpec("vae", lambda _: self._load_vae(), description="VAE (fp16-fix by default)"))
        if self.sources["lora"]:
            declare(ModelSpec("lora", lambda _: self._load_lora(), description="the product's LoRA tensors"))
        if self.sources["ti"]:
            declare(ModelSpec("ti", lambda _: self._load_ti(), description="the product's TI embeddings"))
        declare(ModelSpec("pipeline", self._build_pipeline, requires=("base", "vae"), description="img2img"))
        for kind in CONTROL_TYPES:
            declare(ModelSpec(f"controlnet-{kind}", self._loader_of_controlnet(kind), requires=("base",)))
            declare(
                ModelSpec(
                    f"pipeline-{kind}",
                    lambda held, kind=kind: loaders.controlnet_pipeline(
                        held["pipeline"], held[f"controlnet-{kind}"]
                    ),
                    requires=("pipeline", f"controlnet-{kind}"),
                    description=f"img2img + {kind} ControlNet, a view over pipeline",
                )
            )
        if importlib.util.find_spec("controlnet_aux"):
            for kind, detector in ANNOTATORS.items():
                declare(
                    ModelSpec(
                        f"annotator-{kind}", lambda _, detector=detector: self._load_annotator(detector)
                    )
                )

    def _preload_names(self, text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        if names == ["base"]:
            return ["pipeline"]
        if names == ["all"]:  # the ControlNets the offered angles use (no offered angle needs soft edge)
            used = {control_type_for(angle) for angle in ANGLES}
            return ["pipeline", *(f"pipeline-{kind}" for kind in CONTROL_TYPES if kind in used)]
        unknown = [name for name in names if name not in self.manager.declared()]
        if unknown:
            raise SettingsError(
                f"invalid settings: PLITKA_PRELOAD: unknown model(s) {', '.join(unknown)}; "
                f"allowed: base, all or {', '.join(self.manager.declared())}"
            )
        return names

    def start(self) -> None:
        """Cap and watch memory, build what PLITKA_PRELOAD asks for, start unloading idle models."""
        self.guard.start(self.settings.device)  # first: it configures the allocators before CUDA starts
        self.manager.preload(self.preload_names)
        self.manager.start_reaper(min(REAPER_INTERVAL, max(1.0, self.settings.model_idle_seconds / 4)))

    def teardown(self) -> None:
        """Unload every model, give the memory back and stop the guard (at SIGTERM or exit)."""
        self.manager.teardown()
        if self._runtime is not None:
            self.guard.empty_cache("teardown")
        self.guard.stop()

    @property
    def runtime(self) -> loaders.Runtime:
        if self._runtime is None:
            self._runtime = loaders.pick_runtime(
                self.settings.device, self.settings.channels_last, self.settings.torch_compile
            )
        return self._runtime

    # --- what this deployment can do -----------------------------------------------------------

    def has_product_adapters(self) -> bool:
        return bool(self.sources["lora"] and self.sources["ti"])

    def availability(self, models: tuple[str, ...] = ("base", "vae", "lora", "ti")) -> Availability:
        """Whether these models' weights can be had, without loading them. A source found reachable
        stays so for the process; an unreachable one is probed again after a minute."""
        for model in models:
            source = self.sources.get(model)
            if source is None:
                continue
            known = self._reachable.get(model)
            if known is None or (
                not known.ok and time.monotonic() - known.checked_at > RECHECK_UNREACHABLE_SECONDS
            ):
                ok, reason = is_reachable(source, self.settings.cache_dir)
                self._reachable[model] = known = Availability(ok, reason, time.monotonic())
            if not known.ok:
                return known
        return Availability(True)

    def controlnet_plan(self, request: TileRequest) -> tuple[ControlType | None, str]:
        """The ControlNet type this request uses (None: none) and why."""
        kind = control_type_for(request.angle)
        wanted = request.overrides.use_controlnet
        if wanted is False:
            return None, "off (use_controlnet: false)"
        reachable = self.availability((f"controlnet-{kind}",))
        if reachable.ok:
            return kind, f"{kind} for a {request.angle} degree angle"
        if wanted:
            raise RequestError(
                "params_json.overrides.use_controlnet",
                f"the {kind} ControlNet is unavailable: {reachable.reason}",
            )
        return None, f"off: the {kind} ControlNet is unavailable ({reachable.reason})"

    # --- generation ----------------------------------------------------------------------------

    def plan(self, request: TileRequest) -> DiffusionPlan:
        """Everything the generation will use, resolved from the preset, the settings and the
        overrides before any work starts (an unavailable forced ControlNet fails here)."""
        preset = QUALITY_PRESETS[request.quality]
        over = request.overrides
        strength = over.strength if over.strength is not None else preset.strength
        control, control_reason = self.controlnet_plan(request)
        return DiffusionPlan(
            prompt=build_prompt(request),
            negative_prompt=build_negative_prompt(request),
            steps=max(over.steps or preset.steps, math.ceil(1 / strength)),  # at least one denoising step
            guidance=over.guidance if over.guidance is not None else preset.guidance,
            strength=strength,
            lora_scale=over.lora_scale if over.lora_scale is not None else self.settings.lora_scale,
            controlnet=control,
            controlnet_reason=control_reason,
            angle=request.angle,
        )

    def generate(
        self,
        plan: DiffusionPlan,
        layout: GranuleLayout,
        init: Image.Image,
        seed: int,
        cancel: threading.Event | None = None,
    ) -> DiffusionResult:
        """Image-to-image from `init` (the exact procedural render), conditioned on the layout's edges:
        queued at the device's gate, admitted by the memory guard, retried once if memory runs out."""
        job = Job(plan, layout, init, seed, cancel, DiffusionResult(image=init))
        self.guard.use(self.runtime.device)
        with self.guard.gate.enter(cancel) as waited:
            job.result.queue_seconds = waited
            try:
                self.guard.before_generation()
                self._generate_admitted(job)
            finally:
                self.guard.after_generation()
        job.result.info = self._describe(plan, job.result)
        return job.result

    def _generate_admitted(self, job: Job) -> None:
        result = job.result
        keep = set(self.manager.closure(job.plan.pipeline))
        result.admission = self.guard.admit(
            lambda mode: self.memory_need(job.plan, job.init.size, mode), keep, result.ledger
        )
        mode = result.admission.mode
        while (error := self._attempt(job, mode)) is not None:
            # Out of the except block now: the error's traceback, and the tensors it kept, are gone.
            self.guard.recover_from_oom(error)
            result.retries.append(f"{mode}: {error}")
            retry = self.guard.next_mode(mode) if len(result.retries) == 1 else None
            if retry is None:
                raise OutOfMemory(
                    f"out of {self.guard.device.kind} memory at {job.init.width}x{job.init.height} "
                    f"({'; then '.join(result.retries)}). Use a lower resolution or quality, "
                    "or set PLITKA_CPU_FALLBACK=true",
                    needed=result.admission.need.total,
                    available=self.guard.headroom()[0],
                )
            mode = retry
        result.mode = mode

    def _attempt(self, job: Job, mode: Mode) -> str | None:
        """One run in `mode`; the out-of-memory error as text, or None when it worked."""
        try:
            self._run(job, mode)
        except self.guard.device.out_of_memory_errors() as error:
            self.guard.write_snapshot()  # here, while the tensors that filled the memory still exist
            return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
        return None

    def _run(self, job: Job, mode: Mode) -> None:
        plan, result, device = job.plan, job.result, self.guard.device
        start = time.perf_counter()
        with self.manager.acquire(plan.pipeline, result.ledger) as pipe:
            control_image, result.control_source = self._control_image(
                plan, job.layout, job.init, result.ledger
            )
            result.load_seconds += time.perf_counter() - start
            start = time.perf_counter()
            with loaders.degraded(pipe, mode, self.runtime.device):
                device.reset_peak()
                weights = device.read().allocated
                watch = StepWatch(device, job.cancel)
                watch.stop_if_cancelled("before denoising")  # the pipe's first check is after step 1
                result.image = self._denoise(pipe, plan, job.init, control_image, job.seed, watch)
                result.peak_allocated = device.peak_allocated()
            result.attention = loaders.attention_backend(pipe.unet)
            result.generate_seconds += time.perf_counter() - start
        self._calibrate(plan, job.init.size, mode, weights, watch.peak, result.peak_allocated)

    def _calibrate(
        self, plan: DiffusionPlan, size: tuple[int, int], mode: Mode, weights: int, denoise: int, final: int
    ) -> None:
        """Teach the estimator this generation's measured peaks (not on cpu, where the resident size
        of the whole process is all there is to measure)."""
        if self.guard.device.kind == "cpu" or denoise <= weights:
            return
        self.guard.estimator.calibrate(
            mode,
            size[0] * size[1],
            plan.controlnet is not None,
            self.runtime.dtype.itemsize,
            denoise=denoise - weights,
            decode=final - weights,
        )

    def memory_need(self, plan: DiffusionPlan, size: tuple[int, int], mode: Mode) -> MemoryNeed:
        """What this plan needs on the device at this size, in this mode (the guard's admission input)."""
        return self.footprint.need(self.guard.estimator, plan.pipeline, plan.controlnet, size, mode)

    def _describe(self, plan: DiffusionPlan, result: DiffusionResult) -> dict[str, Any]:
        lora, ti = self.sources["lora"], self.sources["ti"]
        return {
            **{key: value for key, value in asdict(plan).items() if key != "angle"},
            "lora_scale": plan.lora_scale if lora else None,
            "lora": lora.describe() if lora else "not configured",
            "textual_inversion": ti.describe() if ti else "not configured",
            "control_image": result.control_source,
            "device": self.runtime.device,
            "dtype": str(self.runtime.dtype).removeprefix("torch."),
            "attention": result.attention,
            "channels_last": self.runtime.uses_channels_last,
            "torch_compile": self.runtime.compile,
        }

    def _denoise(
        self,
        pipe: Any,
        plan: DiffusionPlan,
        init: Image.Image,
        control_image: Image.Image | None,
        seed: int,
        watch: StepWatch,
    ) -> Image.Image:
        control = {"control_image": control_image, "controlnet_conditioning_scale": CONTROLNET_SCALE}
        return pipe(
            prompt=plan.prompt,
            negative_prompt=plan.negative_prompt,
            image=init,
            strength=plan.strength,
            num_inference_steps=plan.steps,
            guidance_scale=plan.guidance,
            generator=self._generator(seed),
            cross_attention_kwargs={"scale": plan.lora_scale},
            callback_on_step_end=watch,
            **(control if plan.controlnet else {}),
        ).images[0]

    def _generator(self, seed: int) -> Any:
        import torch

        return torch.Generator(device=self.runtime.device).manual_seed(seed)

    def _control_image(
        self, plan: DiffusionPlan, layout: GranuleLayout, init: Image.Image, ledger: Ledger
    ) -> tuple[Image.Image | None, str | None]:
        control = plan.controlnet
        if control is None:
            return None, None
        if control == "canny":
            return canny_edges(init), "opencv canny of the procedural render"
        annotated = self._annotate(control, init, ledger)
        if annotated is not None:
            return annotated, f"controlnet-aux {ANNOTATORS[control]}"
        reason = self._annotator_failures.get(control, "controlnet-aux is not installed")
        edges = layout_edges(layout, plan.angle, init.width, soft=control == "softedge")
        return edges, f"layout edges ({reason})"

    def _annotate(self, control: ControlType, init: Image.Image, ledger: Ledger) -> Image.Image | None:
        name = f"annotator-{control}"
        if name not in self.manager.declared() or control in self._annotator_failures:
            return None
        try:
            with self.manager.acquire(name, ledger) as detector:
                return detector(init, detect_resolution=init.width, image_resolution=init.width).resize(
                    init.size
                )
        except (
            Exception
        ) as error:  # an annotator is optional: fall back to the layout's edges, once and for all
            self._annotator_failures[control] = f"{ANNOTATORS[control]} unavailable: {type(error).__name__}"
            log.warning("annotator %s failed, using layout edges from now on: %s", control, error)
            return None

    # --- builders ------------------------------------------------------------------------------

    def _source(self, model: str) -> WeightSource:
        source = self.sources[model]
        assert source is not None, f"{model} is declared only when configured"
        return source

    def _load_base(self) -> loaders.SdxlBase:
        return loaders.load_base(self._source("base"), self.runtime, self.settings.cache_dir)

    def _load_vae(self) -> Any:
        source = self.sources["vae"]
        if source is None:  # the base repo's own VAE
            return loaders.load_vae(
                self._source("base"), self.runtime, self.settings.cache_dir, subfolder="vae"
            )
        return loaders.load_vae(source, self.runtime, self.settings.cache_dir, subfolder=None)

    def _load_lora(self) -> dict[str, Any]:
        return loaders.load_tensors(self._source("lora"), "LoRA", self.settings.cache_dir, loaders.LORA_FILE)

    def _load_ti(self) -> loaders.TextualInversion:
        return loaders.load_textual_inversion(self._source("ti"), self.settings.cache_dir, TI_TOKENS)

    def _loader_of_controlnet(self, kind: str):
        def build(held: dict[str, Any]) -> Any:
            source = self.sources[f"controlnet-{kind}"]
            if source is None:
                raise WeightsError(f"PLITKA_CONTROLNET_{kind.upper()}_SOURCE", "not configured")
            return loaders.load_controlnet(source, held["base"].unet, self.runtime, self.settings.cache_dir)

        return build

    def _build_pipeline(self, held: dict[str, Any]) -> Any:
        """The img2img pipeline over the shared base and VAE, with the product's TI and LoRA put in once."""
        base = held["base"]
        pipe = loaders.img2img_pipeline(base, held["vae"])
        if self.sources["ti"]:
            with self.manager.acquire("ti") as ti:  # only while applying: the encoders keep the embeddings
                loaders.apply_textual_inversion(pipe, base, ti, TI_TOKENS, self._source("ti").setting)
        if self.sources["lora"]:
            with self.manager.acquire("lora") as lora:
                loaders.apply_lora(pipe, base, lora, self._source("lora"))
        return pipe

    def _load_annotator(self, detector: str) -> Any:
        import controlnet_aux

        return getattr(controlnet_aux, detector).from_pretrained(self.settings.annotator_source)
