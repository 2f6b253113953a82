"""Reverse match (scene.md#reverse-match): a target colour -> the nearest 2- and 3-colour mixes."""

from plitka.match.match import Match, best_mixes, ciede2000, hex_of, parse_hex, picked_pixel
from plitka.match.sheet import match_sheet

__all__ = ["Match", "best_mixes", "ciede2000", "hex_of", "match_sheet", "parse_hex", "picked_pixel"]
