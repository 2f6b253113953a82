"""How much to order for a floor: kg of each colour, 25 kg bags, binder and wastage, from area and depth.

Pure functions over a frozen dataclass of assumptions; every assumption is printed beside the figures
(report.json, the spec sheet) and can be set. Defaults are typical published values (docs/order.md):
  - installed bulk density of an EPDM wear course: 1.0-1.2 kg per m² per mm of depth, 1,100 kg/m³ here;
  - PU binder: 18-22% of the rubber's weight for 1-3 mm EPDM granules, 20% here;
  - wastage: 5-10% on top of the laid quantity, 5% here;
  - EPDM granules come in 25 kg bags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from plitka.request import RequestError

SQUARE_FEET_PER_M2 = 1 / 0.09290304  # 1 ft = 0.3048 m exactly
AREA_UNITS = ("m2", "ft2")

# Bounds of every input: a playground to a stadium's worth of track, a skim to a thick wear course.
AREA_M2_RANGE = (0.1, 100_000.0)
DEPTH_MM_RANGE = (1.0, 100.0)
DENSITY_RANGE = (300.0, 2000.0)  # kg/m³
BINDER_RANGE = (0.05, 0.40)  # of the rubber's weight
WASTAGE_RANGE = (0.0, 0.50)
BAG_KG_RANGE = (1.0, 1000.0)
DEFAULT_DEPTH_MM = 15.0


@dataclass(frozen=True)
class Assumptions:
    """What the quantities rest on; each settable, each printed beside the figures."""

    bulk_density_kg_m3: float = 1100.0  # laid and compacted wear course, rubber only
    binder_share: float = 0.20  # PU binder, as a fraction of the rubber's weight
    wastage: float = 0.05  # added to the laid quantity before rounding to bags
    bag_kg: float = 25.0

    def __post_init__(self) -> None:
        _check("bulk_density_kg_m3", self.bulk_density_kg_m3, DENSITY_RANGE, "kg/m³")
        _check("binder_share", self.binder_share, BINDER_RANGE, "of the rubber's weight")
        _check("wastage", self.wastage, WASTAGE_RANGE, "of the laid quantity")
        _check("bag_kg", self.bag_kg, BAG_KG_RANGE, "kg")

    def describe(self) -> list[str]:
        """The assumptions in words, one a line, for the sheet and the CLI."""
        return [
            f"Bulk density of the laid wear course: {self.bulk_density_kg_m3:g} kg/m³"
            f" ({self.bulk_density_kg_m3 / 1000:g} kg per m² per mm)",
            f"PU binder: {self.binder_share * 100:g}% of the rubber's weight",
            f"Wastage allowance: {self.wastage * 100:g}% added to the laid quantity",
            f"Bag size: {self.bag_kg:g} kg (bags rounded up per colour)",
        ]


@dataclass(frozen=True)
class ColourQuantity:
    code: str
    share: float  # percent of the rubber's weight
    kg: float  # with wastage
    bags: int


@dataclass(frozen=True)
class Quantities:
    area_m2: float
    depth_mm: float
    assumptions: Assumptions
    laid_rubber_kg: float  # area x depth x density, before wastage
    rubber_kg: float  # with wastage: what to order
    colours: tuple[ColourQuantity, ...]
    binder_kg: float

    @property
    def bags(self) -> int:
        return sum(colour.bags for colour in self.colours)

    def to_dict(self) -> dict[str, Any]:
        return {
            "area_m2": round(self.area_m2, 3),
            "depth_mm": self.depth_mm,
            "laid_rubber_kg": round(self.laid_rubber_kg, 2),
            "rubber_kg": round(self.rubber_kg, 2),
            "binder_kg": round(self.binder_kg, 2),
            "bags": self.bags,
            "colours": {
                c.code: {"share": c.share, "kg": round(c.kg, 2), "bags": c.bags} for c in self.colours
            },
            "assumptions": asdict(self.assumptions),
        }


def area_in_m2(area: float, unit: str = "m2") -> float:
    """An area in m² from m² or ft², refused outside AREA_M2_RANGE."""
    if unit not in AREA_UNITS:
        raise RequestError("area_unit", f"choose one of {', '.join(AREA_UNITS)}, got {str(unit)[:12]!r}")
    _check("area", area, (0.0, math.inf), unit)
    area_m2 = area / SQUARE_FEET_PER_M2 if unit == "ft2" else float(area)
    low, high = AREA_M2_RANGE
    if not low <= area_m2 <= high:
        shown = f"{low:g} to {high:g} m²" + (
            f" ({low * SQUARE_FEET_PER_M2:.2f} to {high * SQUARE_FEET_PER_M2:,.0f} ft²)"
            if unit == "ft2"
            else ""
        )
        raise RequestError("area", f"must be from {shown}, got {area:g} {unit}")
    return area_m2


def quantities(
    mix: Mapping[str, float], area_m2: float, depth_mm: float, assumptions: Assumptions | None = None
) -> Quantities:
    """kg and bags of each colour, and binder kg, for `mix` (code -> percent, summing to 100)."""
    assumptions = assumptions or Assumptions()
    _check("area", area_m2, AREA_M2_RANGE, "m²")
    _check("depth_mm", depth_mm, DEPTH_MM_RANGE, "mm")
    laid = area_m2 * (depth_mm / 1000) * assumptions.bulk_density_kg_m3
    rubber = laid * (1 + assumptions.wastage)
    total = sum(mix.values())
    colours = tuple(
        ColourQuantity(code, share, kg, bags_for(kg, assumptions.bag_kg))
        for code, share in mix.items()
        for kg in (rubber * share / total,)
    )
    return Quantities(
        area_m2, depth_mm, assumptions, laid, rubber, colours, rubber * assumptions.binder_share
    )


def order_for(
    mix: Mapping[str, float],
    area: float,
    area_unit: str = "m2",
    depth_mm: float = DEFAULT_DEPTH_MM,
    bulk_density: float = Assumptions.bulk_density_kg_m3,
    binder_percent: float = Assumptions.binder_share * 100,
    wastage_percent: float = Assumptions.wastage * 100,
    bag_kg: float = Assumptions.bag_kg,
) -> Quantities:
    """The quantities from the inputs as the API, the CLI and the studio take them (percent, a unit
    for the area); a bad one is refused under its input's name."""
    _check("bulk_density", bulk_density, DENSITY_RANGE, "kg/m³")
    _check("binder_percent", binder_percent, tuple(100 * x for x in BINDER_RANGE), "% of the rubber's weight")
    _check(
        "wastage_percent", wastage_percent, tuple(100 * x for x in WASTAGE_RANGE), "% of the laid quantity"
    )
    assumptions = Assumptions(bulk_density, binder_percent / 100, wastage_percent / 100, bag_kg)
    return quantities(mix, area_in_m2(area, area_unit), depth_mm, assumptions)


def bags_for(kg: float, bag_kg: float) -> int:
    """Whole bags holding `kg`, rounded up; a float hair over a whole bag (25.000000001) is not a bag."""
    return math.ceil(round(kg / bag_kg, 6))


def _check(field: str, value: Any, bounds: tuple[float, float], unit: str) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RequestError(field, f"must be a number, got {str(value)[:24]!r}")
    if not low <= value <= high:
        allowed = f"above {low:g}" if high == math.inf else f"from {low:g} to {high:g}"
        raise RequestError(field, f"must be {allowed} ({unit}), got {value:g}")
