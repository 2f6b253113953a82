"""Cog adapter: the Replicate form and HTTP API in front of plitka.service.TileService.

Uses Cog 0.23's BaseRunner.run() (BasePredictor.predict() is deprecated there); the class keeps the
name Predictor that cog.yaml and Replicate refer to.
"""

import atexit
from collections.abc import Iterator
from typing import Optional

from cog import BaseRunner, Input, Path

from plitka.presets import QUALITY_PRESETS
from plitka.request import ANGLES, ENGINES, MAX_SEED, OUTPUT_FORMATS, build_request
from plitka.service import Generation, TileService
from plitka.settings import configure_logging, get_settings


class Predictor(BaseRunner):
    def setup(self) -> None:
        settings = get_settings()
        configure_logging(settings)
        self.service = TileService(settings)
        self.service.setup()
        atexit.register(self.service.teardown)

    def run(
        self,
        colors: Optional[str] = Input(  # noqa: UP045 -- Cog's schema reads Optional[...] as a nullable input
            default=None,
            description=(
                "The colour mix, 1-4 palette colours with shares summing to 100%: "
                "'60% red, 40% white', 'красный 70, белый 30' or '0.6 red 0.4 white'."
            ),
        ),
        params_json: Optional[str] = Input(  # noqa: UP045
            default=None,
            description=(
                'Legacy v4 API: {"colors": [{"name": "red", "proportion": 60}, ...], "angle": 0, '
                '"quality": "standard", "seed": 42, "overrides": {...}}. Beside colors, give only '
                '{"overrides": {"steps": 20, "use_controlnet": false, ...}} (see docs/api.md).'
            ),
        ),
        angle: int = Input(
            default=0,
            choices=list(ANGLES),
            description="Laying angle of the tile in the picture, in degrees.",
        ),
        quality: str = Input(
            default="standard",
            choices=list(QUALITY_PRESETS),
            description="preview (768 px, fastest), standard (1024 px), high (1024 px, most steps).",
        ),
        seed: int = Input(
            default=-1, ge=-1, le=MAX_SEED, description="Seed of the granule layout; -1 picks one (reported)."
        ),
        output_format: str = Input(
            default="png", choices=list(OUTPUT_FORMATS), description="Format of the preview and final image."
        ),
        engine: str = Input(
            default="auto",
            choices=list(ENGINES),
            description="auto: sdxl where diffusion weights are configured, else procedural (no weights).",
        ),
    ) -> Iterator[Path]:
        request = build_request(
            colors,
            params_json,
            angle=angle,
            quality=quality,
            seed=seed,
            output_format=output_format,
            engine=engine,
        )
        generation = self.service.start(request)
        return self._stream(generation)

    def _stream(self, generation: Generation) -> Iterator[Path]:
        for output in self.service.generate(generation, self.service.new_output_folder()):
            yield Path(output.path)
        self._record_metrics(generation)

    def _record_metrics(self, generation: Generation) -> None:
        for step, seconds in generation.timings.seconds.items():
            self.record_metric(f"timing.{step}_s", seconds)
        self.record_metric("seed", generation.seed)
        self.record_metric("engine", generation.engine)
        self.record_metric("color_error_max_points", generation.report["max_error_points"])
        if generation.diffusion:
            self.record_metric("models.built", len(generation.diffusion.ledger.built))
            self.record_metric("models.reused", len(generation.diffusion.ledger.reused))
            manager = self.service.diffusion.manager
            self.record_metric("models.loaded_bytes", manager.loaded_bytes())
            self.record_metric("models.in_use", manager.references_in_use())
