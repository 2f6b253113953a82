"""How many bytes the engine's models take on the device, before they are loaded: the admission
estimate's weights part.

A model's bytes are, in order of trust: what the ModelManager measured at its last build, what its
safetensors headers say (the files are here but not loaded yet), or the published architecture's
parameter count (the files are not downloaded yet).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from plitka.diffusion.sources import WeightSource, local_copy
from plitka.governor import ModelManager
from plitka.governor.estimate import MemoryEstimator, MemoryNeed, Mode
from plitka.governor.sizing import safetensors_bytes

# Parameters of the published full-size models, counted from their configs on the meta device
# (`python bench/sdxl_configs.py`).
UNET_PARAMETERS = 2_567_463_684
FULL_SIZE_PARAMETERS = {
    "base": UNET_PARAMETERS + 123_060_480 + 694_659_840,  # UNet + CLIP-L + OpenCLIP-bigG
    "vae": 83_653_863,
    "controlnet": 1_251_014_160,
}
UNET_SHARE_OF_BASE = UNET_PARAMETERS / FULL_SIZE_PARAMETERS["base"]  # what CPU offload keeps on the device
BASE_WEIGHT_FOLDERS = ("unet", "text_encoder", "text_encoder_2")


class Footprint:
    def __init__(
        self,
        manager: ModelManager,
        sources: dict[str, WeightSource | None],
        cache_dir: Path | None,
        runtime: Callable[[], Any],  # the engine's Runtime, resolved when first needed
    ):
        self.manager = manager
        self.sources = sources
        self.cache_dir = cache_dir
        self._runtime = runtime

    def need(
        self,
        estimator: MemoryEstimator,
        pipeline: str,
        controlnet_kind: str | None,
        size: tuple[int, int],
        mode: Mode,
    ) -> MemoryNeed:
        """What generating with `pipeline` at `size` in `mode` needs on the device."""
        names = self.manager.closure(pipeline)
        loaded = {name: model["bytes"] for name, model in self.manager.stats()["models"].items()}
        missing = [name for name in names if not self.manager.is_loaded(name)]
        controlnet = f"controlnet-{controlnet_kind}" if controlnet_kind else None
        largest = UNET_SHARE_OF_BASE * self.expected_bytes("base")
        return estimator.need(
            mode,
            size[0] * size[1],
            controlnet is not None,
            self._runtime().dtype.itemsize,
            weights_to_load=sum(self.expected_bytes(name) for name in missing),
            resident=sum(loaded[name] for name in names if name not in missing),
            largest_module=int(largest + (self.expected_bytes(controlnet) if controlnet else 0)),
        )

    def expected_bytes(self, model: str) -> int:
        measured = self.manager.measured_bytes(model)
        if measured is not None:
            return measured
        if model.startswith(("pipeline", "annotator")):
            return 0  # views over other models; annotators run on the CPU
        runtime = self._runtime()
        located = self.weights_files(model)
        if located is not None:
            return sum(
                safetensors_bytes(path, runtime.dtype.itemsize, runtime.variant is not None)
                for path in located
            )
        family = "controlnet" if model.startswith("controlnet") else model
        return FULL_SIZE_PARAMETERS.get(family, 0) * runtime.dtype.itemsize

    def weights_files(self, model: str) -> list[Path] | None:
        """The local files or folders a model loads from (None: not on this machine yet)."""
        if model == "vae" and self.sources["vae"] is None:
            base = self.weights_files("base")
            return [base[0].parent / "vae"] if base else None
        source = self.sources.get(model)
        if source is None:
            return None
        location = local_copy(source, self.cache_dir)
        if location is None:
            return [] if source.kind == "local" else None  # a missing folder: the load says so, not us
        if model == "base":
            return [location / folder for folder in BASE_WEIGHT_FOLDERS if (location / folder).is_dir()]
        return [location]
