"""The SDXL engine: weights sources, model builders, prompts, ControlNet conditioning, generation.

Importing this package imports no torch: the heavy libraries load when the first model is built.
"""

from plitka.diffusion.engine import Availability, DiffusionEngine, DiffusionPlan, DiffusionResult
from plitka.diffusion.sources import WeightsError, WeightSource, parse_source

__all__ = [
    "Availability",
    "DiffusionEngine",
    "DiffusionPlan",
    "DiffusionResult",
    "WeightSource",
    "WeightsError",
    "parse_source",
]
