"""The model of how crumb colour looks, below both its uses (measuring, plitka.analysis; re-colouring,
plitka.lock), which import it and never each other.

- spaces: pixel spaces (sRGB arrays, CIELAB, shade space (L*+16, a*, b*)) and palette colours in them;
- rays: each colour a shade ray, its cost, lightness pairs, hued mixes and the shadow floor;
- tile: where the tile is in a picture;
- regions: granule regions (watershed over lit tops, facets merged) and crevices.
"""
