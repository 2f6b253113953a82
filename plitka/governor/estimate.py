"""How much device memory a generation needs, before it runs: weights still to load + the larger of
the denoising peak and the VAE decode peak (they come one after the other, not together).

Peaks grow with the output's pixels; the rates below are bytes per output pixel at 4 bytes per element
and halve in fp16. The priors were measured on the full-size SDXL architecture (random weights, CPU,
fp32: `python bench/measure_peaks.py`); every generation then measures its real peaks on the device it
runs on and the estimate uses those from then on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Mode = Literal["normal", "tiled", "offload"]
DEGRADE_ORDER: tuple[Mode, ...] = ("normal", "tiled", "offload")
REFERENCE_ELEMENT_BYTES = 4  # the rates are per fp32 element


@dataclass(frozen=True)
class PeakRates:
    """Peaks above the loaded weights, in fp32: bytes per output pixel, except decode_tiled."""

    denoise: float  # UNet step, batch 2 (classifier-free guidance)
    denoise_controlnet: float  # ControlNet + UNet step
    decode: float  # VAE decode of the whole image at once
    decode_tiled: float  # bytes: a tiled decode costs about one 512-pixel tile, whatever the size


# `python bench/measure_peaks.py` on the full-size architecture, CPU, fp32, 2026-11-23, two runs:
# UNet 858-1264 B/px at 512-1024 px, ControlNet + UNet 1428-1916, VAE decode 3866-4124; a 512 decode
# 994-1009 MiB. The largest, rounded up; docs/governor.md has the table.
PRIOR_RATES = PeakRates(denoise=1300.0, denoise_controlnet=1950.0, decode=4150.0, decode_tiled=1.06e9)


@dataclass(frozen=True)
class MemoryNeed:
    """What one generation needs on the device, in bytes, in one mode."""

    mode: Mode
    weights: int  # to be loaded onto the device
    denoise: int
    decode: int
    frees: int = 0  # moved off the device before the run (CPU offload moves the loaded weights)
    source: str = "prior"  # where the peak rates come from: prior or measured

    @property
    def total(self) -> int:
        return max(0, self.weights - self.frees + max(self.denoise, self.decode))

    def describe(self) -> dict[str, int | str]:
        return {**asdict(self), "total": self.total}


@dataclass
class MemoryEstimator:
    margin: float = 1.2  # on top of the measured peaks: fragmentation, allocator rounding
    prior: PeakRates = PRIOR_RATES
    measured: dict[str, float] = field(default_factory=dict)  # rate name -> bytes/pixel (fp32)

    def need(
        self,
        mode: Mode,
        pixels: int,
        controlnet: bool,
        element_bytes: int,
        weights_to_load: int,
        resident: int = 0,
        largest_module: int = 0,
    ) -> MemoryNeed:
        """resident: bytes of this generation's models already on the device; largest_module: the
        biggest module (UNet + ControlNet), all that CPU offload keeps on the device at once."""
        per_element = element_bytes / REFERENCE_ELEMENT_BYTES * self.margin
        denoise_rate = "denoise_controlnet" if controlnet else "denoise"
        if mode == "normal":
            decode = self._rate("decode") * pixels * per_element
        else:  # a tiled decode costs about one tile, whatever the size
            decode = self._rate("decode_tiled") * per_element
        weights, frees = weights_to_load, 0
        if mode == "offload":
            weights, frees = largest_module, resident
        return MemoryNeed(
            mode=mode,
            weights=weights,
            denoise=int(self._rate(denoise_rate) * pixels * per_element),
            decode=int(decode),
            frees=frees,
            source="measured" if denoise_rate in self.measured else "prior",
        )

    def calibrate(
        self, mode: Mode, pixels: int, controlnet: bool, element_bytes: int, denoise: int, decode: int
    ) -> None:
        """Peaks measured above the weights during one generation; the largest seen so far is kept."""
        per_pixel = REFERENCE_ELEMENT_BYTES / element_bytes / pixels
        self._keep("denoise_controlnet" if controlnet else "denoise", denoise * per_pixel)
        if mode == "normal":
            self._keep("decode", decode * per_pixel)
        else:
            self._keep("decode_tiled", decode * REFERENCE_ELEMENT_BYTES / element_bytes)

    def rates(self) -> dict[str, float]:
        return {name: self._rate(name) for name in asdict(self.prior)}

    def _rate(self, name: str) -> float:
        return self.measured.get(name, getattr(self.prior, name))

    def _keep(self, name: str, value: float) -> None:
        if value > 0:
            self.measured[name] = max(self.measured.get(name, 0.0), value)
