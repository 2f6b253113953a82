"""Quality presets: one table. The procedural engine uses the resolution; the diffusion engine all of it."""

from __future__ import annotations

from dataclasses import dataclass

PREVIEW_SIZE = 512


@dataclass(frozen=True)
class QualityPreset:
    resolution: int  # final image side in pixels
    steps: int
    guidance: float
    strength: float  # image-to-image strength over the procedural render


QUALITY_PRESETS: dict[str, QualityPreset] = {
    "preview": QualityPreset(resolution=768, steps=12, guidance=5.0, strength=0.35),
    "standard": QualityPreset(resolution=1024, steps=30, guidance=6.0, strength=0.45),
    "high": QualityPreset(resolution=1024, steps=50, guidance=6.5, strength=0.5),
}
