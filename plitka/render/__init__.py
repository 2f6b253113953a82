"""Renderers of a granule layout: the procedural photo-like tile and the flat colour map with its legend."""

from plitka.render.colormap import render_colormap
from plitka.render.procedural import render_tile

__all__ = ["render_colormap", "render_tile"]
