"""Cog adapter: the Replicate form and HTTP API in front of plitka.service.TileService.

Uses Cog 0.23's BaseRunner.run() (BasePredictor.predict() is deprecated there); the class keeps the
name Predictor that cog.yaml and Replicate refer to.

coglet 0.23.1 streams the outputs of a plain generator `run` as they are yielded, but allows more
than one prediction at a time only for an async `run`, and collects an async generator's outputs
until it ends. So with PLITKA_MAX_CONCURRENCY=1 (the default) `run` is the plain generator and the
exact preview reaches the customer before diffusion starts; above 1 it is swapped for an async
variant that accepts that many predictions at once and delivers their outputs when each finishes.
"""

import asyncio
import functools
import inspect
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Optional

import psutil
from cog import BaseRunner, CancelationException, Input, Path, concurrent

from plitka.governor.exporter import Telemetry
from plitka.governor.gate import Cancelled
from plitka.governor.shutdown import teardown_on_exit
from plitka.limits import MAX_COLORS_TEXT, MAX_PARAMS_JSON, quote
from plitka.lock.photo import load_photo
from plitka.order import Assumptions, Quantities, order_for
from plitka.order.quantities import (
    AREA_M2_RANGE,
    AREA_UNITS,
    BINDER_RANGE,
    DEFAULT_DEPTH_MM,
    DENSITY_RANGE,
    DEPTH_MM_RANGE,
    SQUARE_FEET_PER_M2,
    WASTAGE_RANGE,
)
from plitka.order.sheet import write_sheet_file
from plitka.palette import PALETTE
from plitka.presets import QUALITY_PRESETS
from plitka.request import (
    ANGLES,
    ENGINES,
    EXAMPLE_MIX,
    MAX_SEED,
    OUTPUT_FORMATS,
    RequestError,
    build_request,
)
from plitka.scene import SCENE_CHOICES, build_scene_request, scene_outputs
from plitka.scene.request import MAX_CORNERS_TEXT, ROOM_WIDTH_RANGE_M
from plitka.service import Generation, TileService
from plitka.settings import SettingsError, configure_logging, get_settings

MAX_ERROR_LENGTH = 300  # characters of a failed prediction's error; coglet also logs it whole
ORDER_INPUTS = ("area", "area_unit", "depth_mm", "bulk_density", "binder_percent", "wastage_percent")
DEFAULT_ASSUMPTIONS = Assumptions()
# The form's bound in ft², the larger unit count; an area over AREA_M2_RANGE in m² is refused by name.
MAX_AREA_INPUT = round(AREA_M2_RANGE[1] * SQUARE_FEET_PER_M2)
SCENE_INPUTS = ("scene", "room_photo", "room_corners", "room_width_m")
NOT_IN_REQUEST = ("image", "sheet", *ORDER_INPUTS, *SCENE_INPUTS)

COLORS_HELP = (
    "Your colour mix: 1-4 colours with shares adding up to 100%, e.g. '60% red, 40% white' or "
    "'70% grass green, 20% yellow, 10% black'; Russian works too ('красный 70, белый 30'). Colours: "
    + ", ".join(color.name_en for color in PALETTE)
    + "."
)


class FormError(ValueError):
    """A bad input as coglet shows it: the exception type's name is the input, its text the detail."""


@functools.lru_cache(maxsize=256)
def _error_named(field: str) -> type[FormError]:
    return type(field, (FormError,), {"__qualname__": field, "__module__": __name__})


def for_the_form(error: RequestError) -> FormError:
    """coglet writes a failed prediction's error as "Prediction failed: Generator iteration error:
    <the exception type's qualified name>: <its text>" (PyO3's PyErr display). Named after the field,
    the error ends in the product's own line, "colors: unknown colour ...", without "RequestError: "."""
    return _error_named(error.field)(error.detail)


def declared_concurrency() -> int:
    """PLITKA_MAX_CONCURRENCY at import; a bad value is reported by setup(), not here."""
    try:
        return get_settings().max_concurrency
    except SettingsError:
        return 1


class Predictor(BaseRunner):
    def setup(self) -> None:
        settings = get_settings()
        configure_logging(settings)
        self.service = TileService(settings)
        self.service.setup()
        engine = self.service.diffusion
        self.telemetry = Telemetry(engine.guard, engine.manager)
        if settings.metrics_port:
            self.telemetry.serve(settings.metrics_port)
        self.process = psutil.Process()
        teardown_on_exit(self._teardown)

    def healthcheck(self) -> bool:
        """coglet reports UNHEALTHY while this is False; Replicate then replaces the instance and
        `plitka serve` restarts coglet (docs/deploy.md#when-the-server-breaks)."""
        problem = self.service.health_problem()
        if problem:
            print(f"healthcheck: {problem}", file=sys.stderr)
        return not problem

    def _teardown(self) -> None:
        self.telemetry.stop()
        self.service.teardown()

    def run(
        self,
        colors: Optional[str] = Input(  # noqa: UP045 -- Cog's schema reads Optional[...] as a nullable input
            default=EXAMPLE_MIX,
            max_length=MAX_COLORS_TEXT,
            description=COLORS_HELP,
        ),
        angle: int = Input(
            default=0,
            choices=list(ANGLES),
            description="The angle, in degrees, at which the tile lies in the picture.",
        ),
        quality: str = Input(
            default="standard",
            choices=list(QUALITY_PRESETS),
            description="preview: 768 px, fastest. standard: 1024 px. high: 1024 px, most detail, slowest.",
        ),
        seed: int = Input(
            default=-1,
            ge=-1,
            le=MAX_SEED,
            description=(
                "Where the crumbs lie. -1: a new layout each time (the report gives its seed); the same "
                "seed and mix give the same picture again."
            ),
        ),
        scene: str = Input(
            default="none",
            choices=list(SCENE_CHOICES),
            description="Also show the surface laid in a scene (an extra output after report.json).",
        ),
        area: float = Input(
            default=0.0,
            ge=0.0,
            le=MAX_AREA_INPUT,
            description="Floor area to order for (see area_unit); 0: no quantities. report.json's 'order' "
            "then holds kg and 25 kg bags of each colour and binder kg (docs/order.md).",
        ),
        area_unit: str = Input(
            default="m2", choices=list(AREA_UNITS), description="Unit of area: m2 or ft2."
        ),
        depth_mm: float = Input(
            default=DEFAULT_DEPTH_MM,
            ge=DEPTH_MM_RANGE[0],
            le=DEPTH_MM_RANGE[1],
            description="Wear-course depth, mm.",
        ),
        sheet: bool = Input(
            default=False,
            description="Also return the one-page A4 spec sheet (PDF) as a fifth output, after report.json: "
            "picture, 1:1 crop, codes, ordered and measured shares, quantities (with an area), share code.",
        ),
        image: Optional[Path] = Input(  # noqa: UP045, B008 -- a file input: Cog reads its Path type
            default=None,
            description=(
                "Optional: a photo of a crumb tile (JPEG, PNG or WebP, 256 px to 25 megapixels) to see in "
                "the mix above instead of a new picture; angle, quality and seed then do not apply."
            ),
        ),
        room_photo: Optional[Path] = Input(  # noqa: UP045, B008
            default=None,
            description=(
                "Optional photo of the customer's own place (JPEG, PNG, WebP; 256 px to 25 megapixels): the "
                "surface is laid into the floor area given by room_corners (an extra output, last)."
            ),
        ),
        room_corners: Optional[str] = Input(  # noqa: UP045
            default=None,
            max_length=MAX_CORNERS_TEXT,
            description=(
                "The floor area in room_photo: 'x1,y1,x2,y2,x3,y3,x4,y4', pixels of its far left, far right, "
                "near right and near left corners (a convex quadrilateral)."
            ),
        ),
        room_width_m: float = Input(
            default=3.0,
            ge=ROOM_WIDTH_RANGE_M[0],
            le=ROOM_WIDTH_RANGE_M[1],
            description="The real width of that floor area in metres (it is taken as a square): the scale.",
        ),
        bulk_density: float = Input(
            default=DEFAULT_ASSUMPTIONS.bulk_density_kg_m3,
            ge=DENSITY_RANGE[0],
            le=DENSITY_RANGE[1],
            description="Bulk density of the laid wear course, kg/m³ (typical 1000-1200).",
        ),
        binder_percent: float = Input(
            default=DEFAULT_ASSUMPTIONS.binder_share * 100,
            ge=BINDER_RANGE[0] * 100,
            le=BINDER_RANGE[1] * 100,
            description="PU binder, % of the rubber's weight (typical 18-22).",
        ),
        wastage_percent: float = Input(
            default=DEFAULT_ASSUMPTIONS.wastage * 100,
            ge=WASTAGE_RANGE[0] * 100,
            le=WASTAGE_RANGE[1] * 100,
            description="Wastage allowance added to the laid quantity, % (typical 5-10).",
        ),
        output_format: str = Input(
            default="png",
            choices=list(OUTPUT_FORMATS),
            description="File format of the preview and the picture.",
        ),
        engine: str = Input(
            default="auto",
            choices=list(ENGINES),
            description=(
                "auto: photorealistic (sdxl) where its weights are installed, else procedural. procedural: "
                "drawn without a diffusion model, in seconds. sdxl: insist on the diffusion model."
            ),
        ),
        params_json: Optional[str] = Input(  # noqa: UP045
            default=None,
            max_length=MAX_PARAMS_JSON,
            description=(
                'For programs written for the v4 API; leave it empty on this form. {"colors": [{"name": '
                '"red", "proportion": 60}, ...], "angle": 0, "quality": "standard", "seed": 42, '
                '"overrides": {"steps": 20, ...}}; its colours replace the example mix left in colors '
                "(docs/api.md)."
            ),
        ),
    ) -> Iterator[Path]:
        """Preview, final image, colour map and report.json, each yielded as soon as it is written; then
        the spec sheet, the scene and the room photo where asked for."""
        inputs = {
            "colors": colors,
            "angle": angle,
            "quality": quality,
            "seed": seed,
            "scene": scene,
            "area": area,
            "area_unit": area_unit,
            "depth_mm": depth_mm,
            "sheet": sheet,
            "image": image,
            "room_photo": room_photo,
            "room_corners": room_corners,
            "room_width_m": room_width_m,
            "bulk_density": bulk_density,
            "binder_percent": binder_percent,
            "wastage_percent": wastage_percent,
            "output_format": output_format,
            "engine": engine,
            "params_json": params_json,
        }
        yield from self.stream(inputs, threading.Event())

    def stream(self, inputs: dict[str, Any], cancel: threading.Event) -> Iterator[Path]:
        """One prediction's outputs; setting `cancel` stops its generation at the next denoising step
        (a plain `run` is cancelled by coglet raising CancelationException in it instead)."""
        generation: Generation | None = None
        status = "failed"
        try:
            form = {key: value for key, value in inputs.items() if key not in NOT_IN_REQUEST}
            request = build_request(**form, prompt_max_length=self.service.settings.prompt_limit())
            order = order_from_inputs(inputs, request.mix)
            photo = load_photo(inputs["image"]) if inputs.get("image") is not None else None
            scene = build_scene_request(**{key: inputs[key] for key in SCENE_INPUTS if key in inputs})
            if scene.wanted and photo is not None:
                raise RequestError("scene", "not with image yet: ask for the scene without an image")
            generation = self.service.start(request, cancel, photo)  # may probe weight sources
            generation.order = order
            folder = self.service.new_output_folder()
            written: dict[str, Any] = {}
            for output in self.service.generate(generation, folder):
                written[output.kind] = output.path
                yield Path(output.path)
            if inputs.get("sheet"):
                yield Path(write_sheet_file(generation.report, written["final"], generation.order, folder))
            if scene.wanted and generation.layout is not None:
                with generation.timings.measure("scene"):
                    pictures = list(self._scene_pictures(scene, generation, folder))
                yield from pictures
            status = "succeeded"
            self._record_metrics(generation)
        except (CancelationException, Cancelled):
            status = "canceled"
            raise
        except RequestError as error:
            raise for_the_form(error) from None  # already one short line naming the field
        except Exception as error:
            self.service.note_failure(error)
            if len(str(error)) > MAX_ERROR_LENGTH:  # coglet cannot pass a reply over its frame size
                raise RuntimeError(f"{type(error).__name__}: {quote(str(error), 200)}") from None
            raise
        finally:
            self.telemetry.observe(
                generation.engine if generation else inputs["engine"],
                status,
                generation.timings.seconds if generation else {},
            )

    def _scene_pictures(self, scene: Any, generation: Generation, folder: Any) -> Iterator[Path]:
        request = generation.request
        assert generation.layout is not None
        for path in scene_outputs(
            scene,
            generation.layout,
            generation.final,
            request.angle,
            folder,
            request.output_format,
            self.service.settings.image_quality,
        ):
            yield Path(path)

    def _record_metrics(self, generation: Generation) -> None:
        for step, seconds in generation.timings.seconds.items():
            self.record_metric(f"timing.{step}_s", seconds)
        self.record_metric("seed", generation.seed)
        self.record_metric("engine", generation.engine)
        self.record_metric("color_error_max_points", generation.report["max_error_points"])
        self.record_metric("memory.host_rss_bytes", self.process.memory_info().rss)
        self.record_metric("memory.python_blocks", sys.getallocatedblocks())  # flat unless objects leak
        diffusion = generation.diffusion
        if diffusion:
            self.record_metric("models.built", len(diffusion.ledger.built))
            self.record_metric("models.reused", len(diffusion.ledger.reused))
            self.record_metric("models.evicted", len(diffusion.ledger.evicted))
            manager = self.service.diffusion.manager
            self.record_metric("models.loaded_bytes", manager.loaded_bytes())
            self.record_metric("models.in_use", manager.references_in_use())
            self.record_metric("memory.peak_allocated_bytes", diffusion.peak_allocated)
            self.record_metric("memory.mode", "cpu-fallback" if generation.cpu_fallback else diffusion.mode)
            self.record_metric("memory.retries", len(diffusion.retries))


def order_from_inputs(inputs: dict[str, Any], mix: dict[str, float]) -> Quantities | None:
    """The quantities to order where an area is given (an old client's inputs lack them: none)."""
    if not inputs.get("area"):
        return None
    return order_for(mix, **{name: inputs[name] for name in ORDER_INPUTS if name in inputs})


def concurrent_run(
    run: Callable[..., Iterator[Path]], max_concurrency: int
) -> Callable[..., AsyncIterator[Path]]:
    """An async `run` with the same inputs, which coglet serves `max_concurrency` at a time. The
    blocking work runs in threads; the device's gate (plitka.governor) still lets one generation at a
    time onto it."""
    signature = inspect.signature(run)
    # coglet passes an async run only the inputs the request gave; the rest take the form's defaults.
    defaults = {
        name: getattr(parameter.default, "default", parameter.default)
        for name, parameter in signature.parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }

    @functools.wraps(run)
    async def run_concurrently(self: Predictor, *args: Any, **kwargs: Any) -> AsyncIterator[Path]:
        inputs = {**defaults, **signature.bind(self, *args, **kwargs).arguments}
        inputs.pop("self")
        cancel = threading.Event()
        outputs = self.stream(inputs, cancel)
        try:
            # next() runs in a thread; None marks the end (StopIteration cannot cross into the loop).
            while (output := await asyncio.to_thread(next, outputs, None)) is not None:
                yield output
        except asyncio.CancelledError:
            cancel.set()  # the thread still running stream() stops at its next denoising step
            raise

    run_concurrently.__signature__ = signature  # type: ignore[attr-defined]  # Cog's schema reads it
    return concurrent(max=max_concurrency)(run_concurrently)


if declared_concurrency() > 1:
    Predictor.run = concurrent_run(Predictor.run, declared_concurrency())  # type: ignore[method-assign]
