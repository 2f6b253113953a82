"""Bounds on what a request may send, and the helpers that keep a refusal short.

Hostile input is normal input: every text field has a length limit (in the Cog schema and again in
the parser), JSON is nested at most MAX_JSON_DEPTH deep and holds only finite numbers of bounded
size, and an error quotes at most QUOTE_LIMIT characters of what was sent, escaped.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_COLORS_TEXT = 1000  # characters of the `colors` text; a 4-colour mix needs under 100
MAX_PARAMS_JSON = 4000  # characters of `params_json`, room for four colours and bounded prompts
MAX_JSON_DEPTH = 4  # {"colors": [{"name": ...}]} is 3 deep
MAX_JSON_NUMBER = 24  # characters of one JSON number: a seed has 10 digits, a share a few more
MAX_NAME_LENGTH = 40  # characters of one colour name; the longest palette name has 18
QUOTE_LIMIT = 80  # characters of the input an error message repeats


class LimitError(ValueError):
    """Raised by the helpers here; the request parser turns it into a RequestError for its field."""


def quote(text: Any, limit: int = QUOTE_LIMIT) -> str:
    """`text` as a short literal for an error message: quoted, control and other unprintable
    characters escaped (\\x7f), at most `limit` characters of it, with the full length when cut."""
    text = text if isinstance(text, str) else str(text)
    pieces: list[str] = []
    size = 0
    for char in text[:limit]:
        piece = char if char.isprintable() and char not in "\\'" else _escaped(char)
        if size + len(piece) > limit:
            break
        pieces.append(piece)
        size += len(piece)
    shown = "'" + "".join(pieces) + "'"
    return shown if len(pieces) == len(text) else f"{shown}… ({len(text)} characters)"


def _escaped(char: str) -> str:
    return "\\'" if char == "'" else char.encode("unicode_escape").decode("ascii")


def check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise LimitError(f"at most {limit} characters, got {len(text)}")


def load_json(text: str) -> Any:
    """json.loads with bounds: depth, number size, no NaN/Infinity. Raises LimitError or
    json.JSONDecodeError."""
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise LimitError(f"nested {depth} levels deep; at most {MAX_JSON_DEPTH}")
    return json.loads(
        text, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float
    )


def json_depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings, in one pass (json.loads would recurse into it)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> float:
    raise LimitError(f"{name} is not a number this API accepts; give a finite number")


def _bounded_int(digits: str) -> int:
    if len(digits) > MAX_JSON_NUMBER:
        raise LimitError(f"a number of {len(digits)} digits is too long; at most {MAX_JSON_NUMBER}")
    return int(digits)


def _finite_float(text: str) -> float:
    if len(text) > MAX_JSON_NUMBER:
        raise LimitError(f"a number of {len(text)} characters is too long; at most {MAX_JSON_NUMBER}")
    value = float(text)
    if not math.isfinite(value):
        raise LimitError(f"{quote(text)} is out of range; give a finite number")
    return value
