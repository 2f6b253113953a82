"""GET /api/match?target=8a3b2c&count=5: reverse match (plitka.match) for the studio's colour panel."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from plitka.match import best_mixes, hex_of, parse_hex
from plitka.request import RequestError

DEFAULT_COUNT = 5


def match_colour(query: dict[str, list[str]]) -> dict[str, Any]:
    """The nearest mixes to the query's target colour; RequestError('target' or 'count', why)."""
    target = parse_hex(query.get("target", [""])[0])
    count_text = query.get("count", [str(DEFAULT_COUNT)])[0]
    if not count_text.isdigit() or len(count_text) > 2:
        raise RequestError("count", f"expected a whole number from 1 to 10, got {count_text[:10]!r}")
    return _matches(target, int(count_text))


@lru_cache(maxsize=128)  # 0.7 s of CPU each; a page asks the same colour again when it is re-rendered
def _matches(target: tuple[int, int, int], count: int) -> dict[str, Any]:
    mixes = best_mixes(target, count)
    return {
        "target": hex_of(target),
        "mixes": [
            {"mix": m.describe(), "shares": m.shares, "look": hex_of(m.look_rgb), "delta_e2000": m.delta_e}
            for m in mixes
        ],
    }
