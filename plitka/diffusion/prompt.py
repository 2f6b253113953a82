"""The text the diffusion model is given: the product's trigger and TI tokens, then the mix in words."""

from __future__ import annotations

from plitka.request import TileRequest

TRIGGER = "ohwx_rubber_tile"
TI_TOKENS = ("<s0>", "<s1>")
MIX_PLACEHOLDER = "{mix}"  # an overriding prompt may contain it; it becomes e.g. "60% red, 40% white"
DEFAULT_NEGATIVE = (
    "mosaic, ceramic tiles, grout lines, pattern, blurry, out of focus, grey cast, washed-out colours, "
    "dull, text, watermark, lowres"
)


def build_prompt(request: TileRequest) -> str:
    mix = request.describe_mix()
    if request.overrides.prompt:
        return request.overrides.prompt.replace(MIX_PLACEHOLDER, mix)
    view = (
        "seen from above" if request.angle % 90 == 0 else f"laid at {request.angle} degrees, seen from above"
    )
    return (
        f"{TRIGGER} {''.join(TI_TOKENS)} {mix}, rubber crumb floor tile of EPDM granules, {view}, "
        "studio photo, soft daylight, sharp focus, high detail"
    )


def build_negative_prompt(request: TileRequest) -> str:
    if request.overrides.negative_prompt is not None:
        return request.overrides.negative_prompt
    return DEFAULT_NEGATIVE
