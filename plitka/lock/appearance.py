"""How a colour's crumbs look in one picture, and moving a crumb from one colour's look to another's.

A colour's look is the distribution of lightness over its crumbs' pixels, bodies, facets, highlights,
rims and crevices together: (L*+16) relative to the distribution's median, at QUANTILES. A repainted
crumb's pixel keeps its rank in its old colour's look and takes the lightness at that rank in its new
colour's look. A crumb in shade stays in shade, a highlight stays a highlight and a rim stays a rim,
but a red crumb painted WHITE comes out as bright and as flat as the picture's own white crumbs,
not as a red crumb's deep shading made lighter, which reads as grey, dirty crumb.

Where the picture shows too few crumbs of a colour (DONOR_MIN_SHARE), its look is the palette's
shading model (palette/shading.json, measured from the single-colour photos by
tools/measure_shading.py), at the picture's exposure as the colours that it does show give it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

QUANTILES = np.linspace(0.0, 1.0, 129)
DONOR_MIN_SHARE = 0.02  # of the tile's pixels: a colour shown less takes its look from the model
MAX_LOOK_PIXELS = 50_000  # a look is taken from at most about this many pixels (every n-th)
EXPOSURE_RANGE = (0.75, 1.33)  # (L*+16) factor allowed between a picture's looks and the model's
SHADING_FILE = Path(__file__).resolve().parent.parent / "palette" / "shading.json"


@dataclass(frozen=True)
class Look:
    shades: np.ndarray  # (L*+16) / (median+16) at QUANTILES, rising
    median: float  # L*
    source: str  # "picture", "model" or "palette"

    def rank(self, lightness: np.ndarray) -> np.ndarray:
        """Where each L* lies in this look, 0..1."""
        return np.interp((lightness + 16) / (self.median + 16), self.shades, QUANTILES)

    def lightness(self, rank: np.ndarray) -> np.ndarray:
        """The L* at each rank (0..1) of this look."""
        return (self.median + 16) * np.interp(rank, QUANTILES, self.shades) - 16

    def exposed(self, factor: float) -> Look:
        """The look under `factor` times the light."""
        return Look(self.shades, (self.median + 16) * factor - 16, self.source)

    def to_dict(self) -> dict:
        return {"median": round(self.median, 2), "shades": [round(float(v), 4) for v in self.shades]}


def look_of(lightness: np.ndarray, source: str = "picture") -> Look:
    """The look of a colour whose crumbs' pixels have these L* (any shape)."""
    values = lightness.ravel()
    values = values[:: max(1, len(values) // MAX_LOOK_PIXELS)]
    median = float(np.median(values))
    return Look(_rising(np.quantile((values + 16) / (median + 16), QUANTILES)), median, source)


def model_look(code: str) -> Look | None:
    """The palette's shading model of a colour (as its single-colour photo shows it), if measured."""
    row = _shading_models().get(code)
    if row is None:
        return None
    return Look(_rising(np.asarray(row["shades"], float)), float(row["median"]), "model")


def flat_look(lightness: float) -> Look:
    """A colour neither shown nor modelled: all its pixels at its palette lightness."""
    return Look(_rising(np.ones(len(QUANTILES))), lightness, "palette")


def exposure(pictured: Mapping[str, Look]) -> float:
    """(L*+16) factor from the model's looks to the picture's, from the colours that it shows."""
    factors = [
        (look.median + 16) / (model.median + 16)
        for code, look in pictured.items()
        if (model := model_look(code)) is not None
    ]
    return float(np.clip(np.median(factors), *EXPOSURE_RANGE)) if factors else 1.0


def _rising(values: np.ndarray) -> np.ndarray:
    """np.interp needs rising sample points: flat stretches (a flat picture) get a tiny slope."""
    return np.maximum.accumulate(values) + np.arange(len(values)) * 1e-6


@cache
def _shading_models() -> dict[str, dict]:
    if not SHADING_FILE.is_file():
        return {}
    return json.loads(SHADING_FILE.read_text(encoding="utf-8"))["colors"]
