"""The lit bank: crumb heaps rendered once by a path tracer (Mitsuba 3), shaded per request (docs/bank.md).

Building needs the `bank` extra (mitsuba, trimesh); shading a request needs only numpy and OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image

from plitka.bank.shade import BankLayout, bank_layout, picture_granules, render_bank_tile
from plitka.bank.store import DEFAULT_BANK, Bank, BankError, cached_bank, load_bank
from plitka.layout import GranuleLayout, build_layout
from plitka.render import render_tile
from plitka.render.procedural import picture_granules as flat_picture_granules

__all__ = [
    "DEFAULT_BANK",
    "Bank",
    "BankError",
    "BankLayout",
    "Renderer",
    "bank_layout",
    "choose_renderer",
    "load_bank",
    "render_bank_tile",
]


@dataclass(frozen=True)
class Renderer:
    """The procedural engine's two steps: a layout for the mix, then its picture."""

    name: Literal["bank", "flat"]
    reason: str
    bank: Bank | None = None

    def layout(self, mix: dict[str, float], size: int, seed: int) -> GranuleLayout:
        if self.bank is None:
            return build_layout(mix, size=size, seed=seed)
        return bank_layout(self.bank, mix, seed, size)

    def render(self, layout: GranuleLayout, angle: int, size: int | None = None) -> Image.Image:
        if isinstance(layout, BankLayout):
            return render_bank_tile(layout, angle, size=size)
        return render_tile(layout, angle, size=size)

    def picture_granules(self, layout: GranuleLayout, angle: int, size: int):
        """Each picture pixel's granule id, as `render` draws it (for the colour lock)."""
        if isinstance(layout, BankLayout):
            return picture_granules(layout, angle, size)
        return flat_picture_granules(layout, angle, size)


def choose_renderer(requested: str, folder: Path | None = None) -> Renderer:
    """flat, bank (BankError where the bank is missing or corrupted) or auto (the bank where it is sound)."""
    folder = folder or DEFAULT_BANK
    if requested == "flat":
        return Renderer("flat", "requested")
    try:
        bank = cached_bank(Path(folder))
    except BankError as error:
        if requested == "bank":
            raise
        return Renderer("flat", f"auto: {error}")
    return Renderer("bank", "requested" if requested == "bank" else f"auto: bank in {folder}", bank)
