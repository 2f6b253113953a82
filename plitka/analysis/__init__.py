"""Colour analysis of tile pictures: where the tile is, which share of it each colour covers."""

from plitka.analysis.evaluate import DEFAULT_REFERENCE, EvalReport, FileResult, evaluate_reference_set
from plitka.analysis.measure import ColourSegmentation, granule_colour, measure_proportions, segment_colours
from plitka.colour.tile import TileNotFoundError, tile_mask

__all__ = [
    "DEFAULT_REFERENCE",
    "ColourSegmentation",
    "EvalReport",
    "FileResult",
    "TileNotFoundError",
    "evaluate_reference_set",
    "granule_colour",
    "measure_proportions",
    "segment_colours",
    "tile_mask",
]
