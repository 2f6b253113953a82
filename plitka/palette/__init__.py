"""The fixed production palette: codes, names in English and Russian, measured sRGB."""

from plitka.palette.palette import PALETTE, Palette, PaletteColor, UnknownColorError, normalize_name

__all__ = ["PALETTE", "Palette", "PaletteColor", "UnknownColorError", "normalize_name"]
