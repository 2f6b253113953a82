"""One validated generation request, from the colour text, the legacy params_json or both.

Every problem is raised as RequestError naming the input field, so the Cog server, the CLI and
the tests all show the same one-line message.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal, get_args

from plitka.limits import (
    MAX_COLORS_TEXT,
    MAX_NAME_LENGTH,
    MAX_PARAMS_JSON,
    LimitError,
    check_length,
    load_json,
    quote,
)
from plitka.palette import PALETTE, Palette, UnknownColorError

Angle = Literal[0, 30, 45, 60, 90, 120, 135, 150]
Quality = Literal["preview", "standard", "high"]
OutputFormat = Literal["png", "webp", "jpg"]
Engine = Literal["auto", "procedural", "sdxl"]

ANGLES: tuple[int, ...] = get_args(Angle)
QUALITIES: tuple[str, ...] = get_args(Quality)
OUTPUT_FORMATS: tuple[str, ...] = get_args(OutputFormat)
ENGINES: tuple[str, ...] = get_args(Engine)

MAX_COLORS = 4
SUM_TOLERANCE = 0.5  # percentage points
MAX_SEED = 2**31 - 1
RANDOM_SEED = -1
RESOLUTION_STEP = 8

# Characters trimmed off a colour name's ends, and the words that join two colours.
_NAME_JUNK = frozenset(",;:=()/+&-")
_LIST_SEPARATORS = ",;/+&"
_JOINING_WORDS = frozenset({"and", "и"})
_LEADING_WORDS = frozenset({"and", "и", "with", "с"})
_SIGN_MAY_FOLLOW = frozenset(",;:=(/")

# The smallest share the layout honours: at 512 px (the smallest resolution) 0.1% is 3-5 crumbs of
# ~3,700 and the layout's share is within 0.002 points of it; at 0.02% it is a single crumb or none.
MIN_SHARE = 0.1  # percent

# Parts ("2 parts red, 1 part white", "2:1 red/white"): the words that mark a count of parts, and the
# largest count one colour may have (a ratio with bigger numbers is better written in percent).
PART_WORDS = frozenset({"part", "parts", "pt", "pts", "часть", "части", "частей", "ч"})
_LONGEST_PART_WORD = max(map(len, PART_WORDS))
MAX_PARTS = 1000


class RequestError(ValueError):
    """A bad input: `field` is the input's name, the message says what is allowed."""

    MAX_LENGTH = 250  # characters of the message; each caller quotes the input short already

    def __init__(self, field: str, message: str):
        if len(message) > self.MAX_LENGTH:
            message = message[: self.MAX_LENGTH - 1] + "…"
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Overrides:
    """Expert knobs (from params_json "overrides"); None means the quality preset decides."""

    steps: int | None = None
    guidance: float | None = None
    strength: float | None = None
    resolution: int | None = None
    lora_scale: float | None = None
    use_controlnet: bool | None = None
    prompt: str | None = None
    negative_prompt: str | None = None
    lock: bool | None = None  # the colour lock on sdxl finals; None: on


# name -> (type, lower bound, upper bound); bounds None where they do not apply.
OVERRIDE_BOUNDS: dict[str, tuple[type, float | None, float | None]] = {
    "steps": (int, 1, 100),
    "guidance": (float, 0.0, 20.0),
    "strength": (float, 0.05, 1.0),
    "resolution": (int, 512, 1536),
    "lora_scale": (float, 0.0, 2.0),
    "use_controlnet": (bool, None, None),
    "prompt": (str, None, None),
    "negative_prompt": (str, None, None),
    "lock": (bool, None, None),
}


@dataclass(frozen=True)
class TileRequest:
    mix: dict[str, float]  # palette code -> percent, summing to 100, in the order given
    angle: int = 0
    quality: str = "standard"
    seed: int = RANDOM_SEED
    output_format: str = "png"
    engine: str = "auto"
    overrides: Overrides = Overrides()

    def describe_mix(self) -> str:
        """The mix in words, e.g. '60% red, 40% white'."""
        return ", ".join(f"{share:g}% {PALETTE[code].name_en}" for code, share in self.mix.items())


# --- colour text ---------------------------------------------------------------------------------


def parse_color_text(
    text: str, palette: Palette = PALETTE, field: str = "colors", limit: int = MAX_COLORS_TEXT
) -> dict[str, float]:
    """'60% red, 40% white', 'красный 70, белый 30', '0.6 red 0.4 white', 'red' -> {code: percent}.
    Texts over `limit` characters are refused before they are read."""
    _check_length(field, text or "", limit)
    if not text or not text.strip():
        raise RequestError(field, "give the mix as text, e.g. '60% red, 40% white'")
    shares = _scan_shares(text, field)
    ratio = _ratio_pairs(text, shares, field)
    pairs = ratio if ratio is not None else _split_into_pairs(text, shares, field)
    if len(pairs) == 1 and pairs[0][1] is None:
        return {_resolve_lone_name(pairs[0][0], palette, field): 100.0}
    if any(share is None for _, share in pairs):
        missing = [quote(name, 30) for name, share in pairs if share is None]
        raise RequestError(field, f"give a share for every colour ({', '.join(missing)} has none)")
    values = [share for _, share in pairs if share is not None]
    if ratio is not None or any(share.parts for share in shares):
        percents = _parts_to_percent(values, shares, "%" in text, field)
    else:
        percents = _to_percent(values, percent_given="%" in text, field=field)
    return _resolve_shares(list(zip((name for name, _ in pairs), percents, strict=True)), palette, field)


@dataclass(frozen=True)
class _Share:
    start: int
    end: int
    value: float
    parts: bool = False  # followed by a part word: "2 parts"


def _split_into_pairs(text: str, shares: list[_Share], field: str) -> list[tuple[str, float | None]]:
    """Pair each colour name with the number before it (number-first text) or after it."""
    if not shares:
        return [(_clean_name(text), None)]
    names = _texts_between(text, shares)
    number_first = not names[0]
    numbers = [share.value for share in shares]
    if number_first:
        pairs: list[tuple[str, float | None]] = list(zip(names[1:], numbers, strict=True))
    else:
        pairs = list(zip(names[:-1], numbers, strict=True))
        if names[-1]:
            pairs.append((names[-1], None))
    empty = [f"{number:g}" for name, number in pairs if not name and number is not None]
    if empty:
        raise RequestError(field, f"a share has no colour name next to it ({', '.join(empty[:4])})")
    return pairs


def _ratio_pairs(text: str, shares: list[_Share], field: str) -> list[tuple[str, float | None]] | None:
    """'2:1 red/white' or 'red/white 2:1' -> [('red', 2), ('white', 1)]; None where the text is not
    a ratio (numbers joined only by colons, the colour names in one list before or after them)."""
    if len(shares) < 2 or any(share.parts for share in shares):
        return None
    gaps = [text[left.end : right.start].strip() for left, right in pairwise(shares)]
    if any(gap != ":" for gap in gaps):
        return None
    before, after = _clean_name(text[: shares[0].start]), _clean_name(text[shares[-1].end :])
    if bool(before) == bool(after):
        return None
    names = _list_parts(before or after) if len(before or after) <= MAX_NAME_LENGTH * 8 else []
    if len(names) != len(shares):
        raise RequestError(
            field, f"a ratio of {len(shares)} numbers needs {len(shares)} colours, e.g. '2:1 red/white'"
        )
    return [(name, share.value) for name, share in zip(names, shares, strict=True)]


def _parts_to_percent(
    values: list[float], shares: list[_Share], percent_given: bool, field: str
) -> list[float]:
    """Counts of parts (every share a count, none a percent) -> percent of their total."""
    if percent_given:
        raise RequestError(
            field, "give parts as plain counts ('2 parts red, 1 part white' or '2:1 red/white')"
        )
    counted = [share.parts for share in shares]
    if any(counted) and not all(counted):
        raise RequestError(field, "give every share in parts ('2 parts red, 1 part white') or none")
    bad = [value for value in values if not 0 < value <= MAX_PARTS]
    if bad:
        raise RequestError(field, f"a count of parts is above 0 and at most {MAX_PARTS}, got {bad[0]:g}")
    total = sum(values)
    return [100 * value / total for value in values]


# A hand-written scanner, not a regex: one pass over the text whatever it holds (the regexes it
# replaces backtracked over long runs of spaces and junk, quadratic in the length).
def _scan_shares(text: str, field: str) -> list[_Share]:
    """The shares in the text: an optional minus sign (only where it cannot be a hyphen inside a
    word), digits 0-9 with a decimal point or comma, an optional percent sign after spaces."""
    shares: list[_Share] = []
    position, length = 0, len(text)
    while position < length:
        if not _is_digit(text, position):
            position += 1
            continue
        start = position
        negative = start > 0 and text[start - 1] == "-" and (start == 1 or _sign_may_follow(text[start - 2]))
        position = _skip_digits(text, position)
        if position + 1 < length and text[position] in ".," and _is_digit(text, position + 1):
            position = _skip_digits(text, position + 1)
        number = text[start:position]
        _refuse_other_notations(text, position, number, field)
        after_spaces = position
        while after_spaces < length and text[after_spaces].isspace():
            after_spaces += 1
        if after_spaces < length and text[after_spaces] == "%":
            position = after_spaces + 1
        part_end = _part_word_end(text, after_spaces)
        if part_end:
            position = part_end
        value = _share_value(number, field)
        shares.append(
            _Share(start - 1 if negative else start, position, -value if negative else value, bool(part_end))
        )
    return shares


def _part_word_end(text: str, position: int) -> int:
    """The end of a part word ('parts', 'части', 'ч.') starting at `position`, else 0; reads at most
    a few characters past the longest word, so the scan stays linear."""
    end = position
    while end < len(text) and end - position <= _LONGEST_PART_WORD and text[end].isalpha():
        end += 1
    if end == position or text[position:end].lower() not in PART_WORDS:
        return 0
    return end + 1 if end < len(text) and text[end] == "." else end


def _is_digit(text: str, position: int) -> bool:
    return position < len(text) and "0" <= text[position] <= "9"


def _skip_digits(text: str, position: int) -> int:
    while _is_digit(text, position):
        position += 1
    return position


def _sign_may_follow(char: str) -> bool:
    return char.isspace() or char in _SIGN_MAY_FOLLOW


def _refuse_other_notations(text: str, position: int, number: str, field: str) -> None:
    """1e5 and 1/2 are refused by name instead of being read as two shares."""
    following = text[position : position + 3]
    if following[:1] in ("e", "E") and (following[1:2].isdigit() or following[1:2] in ("+", "-")):
        end = _skip_digits(text, position + 2)
        raise RequestError(
            field, f"write shares as plain numbers (60% or 0.6), not {quote(number + text[position:end], 24)}"
        )
    if following[:1] == "/" and following[1:2].isdigit():
        raise RequestError(
            field, f"write shares as percent or decimals (50% or 0.5), not fractions like {number}/…"
        )


def _share_value(number: str, field: str) -> float:
    value = float(number.replace(",", "."))
    if not math.isfinite(value):  # 400 digits make float('inf')
        raise RequestError(field, f"a share is at most 100%, got {quote(number, 20)}")
    return value


def _texts_between(text: str, shares: list[_Share]) -> list[str]:
    bounds = [0, *(pos for share in shares for pos in (share.start, share.end)), len(text)]
    return [_clean_name(text[start:end]) for start, end in zip(bounds[::2], bounds[1::2], strict=True)]


def _clean_name(raw: str) -> str:
    """Trim spaces and punctuation off both ends, then a leading 'and'/'with' and a trailing 'and'."""
    start, end = 0, len(raw)
    while start < end and _is_junk(raw[start]):
        start += 1
    while end > start and _is_junk(raw[end - 1]):
        end -= 1
    words = raw[start:end].split(None, 1)
    if len(words) == 2 and words[0].lower() in _LEADING_WORDS:
        words = words[1:]
    words = " ".join(words).rsplit(None, 1)
    if len(words) == 2 and words[1].lower() in _JOINING_WORDS:
        words = words[:1]
    return " ".join(words)


def _is_junk(char: str) -> bool:
    return char.isspace() or char in _NAME_JUNK


def _list_parts(name: str) -> list[str]:
    """'red, white' / 'red and white' -> ['red', 'white'] (split on , ; / + & and the word 'and')."""
    parts: list[str] = []
    for chunk in name.translate({ord(char): "," for char in _LIST_SEPARATORS}).split(","):
        words: list[str] = []
        for word in chunk.split():
            if word.lower() in _JOINING_WORDS and words:
                parts.append(" ".join(words))
                words = []
            else:
                words.append(word)
        if words:
            parts.append(" ".join(words))
    return parts


def _resolve_lone_name(name: str, palette: Palette, field: str) -> str:
    """A text without numbers: one colour at 100%, or a list of colours without shares (an error)."""
    try:
        return _resolve_name(name, palette, field)
    except RequestError:
        parts = _list_parts(name) if len(name) <= MAX_NAME_LENGTH * 4 else []
        if len(parts) > 1 and all(_is_palette_name(part, palette) for part in parts):
            raise RequestError(field, "give a share for every colour, e.g. '50% red, 50% white'") from None
        raise


def _is_palette_name(name: str, palette: Palette) -> bool:
    try:
        palette.resolve(name)
    except UnknownColorError:
        return False
    return True


def _resolve_name(name: str, palette: Palette, field: str) -> str:
    """A palette code; an unknown name is refused quoting at most a few dozen of its characters."""
    if len(name) > MAX_NAME_LENGTH:
        raise RequestError(
            field, f"unknown colour {quote(name, 40)}: a colour name has at most {MAX_NAME_LENGTH} characters"
        )
    try:
        return palette.resolve(name).code
    except UnknownColorError as error:
        hint = f"; did you mean {', '.join(error.suggestions)}?" if error.suggestions else ""
        raise RequestError(field, f"unknown colour {quote(name, 40)}{hint}") from None


def _check_length(field: str, text: str, limit: int) -> None:
    try:
        check_length(text, limit)
    except LimitError as error:
        raise RequestError(field, str(error)) from None


# --- legacy params_json --------------------------------------------------------------------------


def parse_params_json(text: str, palette: Palette = PALETTE, colors_required: bool = True) -> dict[str, Any]:
    """The v4.x API's JSON: returns the mix (None if absent and not required) and whichever of
    angle/quality/seed/... it sets."""
    field = "params_json"
    _check_length(field, text, MAX_PARAMS_JSON)
    try:
        data = load_json(text)
    except json.JSONDecodeError as error:
        raise RequestError(
            field, f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except LimitError as error:
        raise RequestError(field, str(error)) from None
    if not isinstance(data, dict):
        raise RequestError(
            field, 'must be a JSON object, e.g. {"colors": [{"name": "red", "proportion": 60}]}'
        )
    known = {"colors", "angle", "quality", "seed", "output_format", "engine", "overrides"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RequestError(
            field, f"unknown key(s) {_key_names(unknown)}; allowed: {', '.join(sorted(known))}"
        )
    if "colors" not in data and colors_required:
        raise RequestError(field, 'needs a "colors" list (or give the mix as colors text)')
    parsed: dict[str, Any] = {key: data[key] for key in known - {"colors"} if key in data}
    parsed["mix"] = _parse_legacy_colors(data["colors"], palette) if "colors" in data else None
    return parsed


def _parse_legacy_colors(colors: Any, palette: Palette) -> dict[str, float]:
    field = "params_json.colors"
    if not isinstance(colors, list) or not colors:
        raise RequestError(field, 'must be a non-empty list of {"name": ..., "proportion": ...}')
    if len(colors) > 4 * MAX_COLORS:
        raise RequestError(field, f"at most {MAX_COLORS} colours, got a list of {len(colors)}")
    names: list[str] = []
    values: list[float] = []
    for index, item in enumerate(colors):
        if not isinstance(item, dict) or "name" not in item or "proportion" not in item:
            raise RequestError(f"{field}[{index}]", 'must be an object with "name" and "proportion"')
        name, proportion = item["name"], item["proportion"]
        if not isinstance(name, str):
            raise RequestError(
                f"{field}[{index}].name", f"must be a colour name (text), got {_json_kind(name)}"
            )
        if isinstance(proportion, bool) or not isinstance(proportion, int | float):
            raise RequestError(
                f"{field}[{index}].proportion", f"must be a number, got {_json_kind(proportion)}"
            )
        if not 0 <= proportion <= 100:
            raise RequestError(
                f"{field}[{index}].proportion", f"must be from 0 to 100, got {quote(proportion, 24)}"
            )
        names.append(name)
        values.append(float(proportion))
    shares = _to_percent(values, percent_given=False, field=field)
    return _resolve_shares(list(zip(names, shares, strict=True)), palette, field)


def _json_kind(value: Any) -> str:
    """What a JSON value is, for an error message: null, true, a list, the number, or the text quoted
    and cut short."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    if isinstance(value, int):  # str() of a 5,000-digit integer raises ValueError
        return str(value) if value.bit_length() <= 80 else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return repr(value)
    return quote(value, 24)


def _key_names(keys: list[str]) -> str:
    """Unknown keys for an error message: plain where they are short words, else quoted and cut."""
    shown = [key if key.isidentifier() and len(key) <= 24 else quote(key, 24) for key in keys[:3]]
    return ", ".join(shown) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


# --- shared rules ---------------------------------------------------------------------------------


def _to_percent(values: list[float], *, percent_given: bool, field: str) -> list[float]:
    """Decide once whether the shares are fractions or percent; they must then sum to 100 (±0.5)."""
    negative = [value for value in values if value < 0]
    if negative:
        raise RequestError(field, f"shares cannot be negative (got {negative[0]:g})")
    over = [value for value in values if value > 100]
    if over:
        raise RequestError(field, f"a share is at most 100%, got {over[0]:g}")
    total = sum(values)
    as_fractions = not percent_given and all(value <= 1 for value in values) and abs(total - 1) <= 0.005
    percents = [value * 100 for value in values] if as_fractions else values
    percent_total = sum(percents)
    if abs(percent_total - 100) > SUM_TOLERANCE:
        raise RequestError(
            field,
            f"shares must sum to 100% (±{SUM_TOLERANCE}) or to 1 as fractions; got {percent_total:g}%",
        )
    return percents


def _resolve_shares(pairs: Iterable[tuple[str, float]], palette: Palette, field: str) -> dict[str, float]:
    """Names to palette codes, duplicates merged, 1–4 colours, every share at least MIN_SHARE."""
    mix: dict[str, float] = {}
    for name, share in pairs:
        code = _resolve_name(name, palette, field)
        mix[code] = mix.get(code, 0.0) + share
    zero = [code for code, share in mix.items() if share <= 0]
    if zero:
        raise RequestError(field, f"every colour needs a share above 0% ({', '.join(zero)} has 0%)")
    small = [f"{code} has {share:g}%" for code, share in mix.items() if share < MIN_SHARE]
    if small:
        raise RequestError(
            field, f"the smallest share the tile can show is {MIN_SHARE:g}% ({', '.join(small)})"
        )
    if len(mix) > MAX_COLORS:
        raise RequestError(field, f"at most {MAX_COLORS} colours, got {len(mix)} ({', '.join(mix)})")
    return {code: round(share, 3) for code, share in mix.items()}


def _mixes_agree(first: Mapping[str, float], second: Mapping[str, float]) -> bool:
    return first.keys() == second.keys() and all(abs(first[c] - second[c]) <= SUM_TOLERANCE for c in first)


def _check_choice(field: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    # type() too: 45.0 == 45 and True == 1, but neither is the integer 45 or 1 the form offers
    if not any(type(value) is type(option) and value == option for option in allowed):
        shown = ", ".join(str(option) for option in allowed)
        raise RequestError(field, f"{_json_kind(value)} is not offered; choose one of {shown}")
    return value


def _check_seed(field: str, value: Any) -> int:
    if type(value) is not int or not RANDOM_SEED <= value <= MAX_SEED:
        raise RequestError(
            field, f"must be an integer from -1 (random) to {MAX_SEED}, got {_json_kind(value)}"
        )
    return value


PROMPT_OVERRIDES = ("prompt", "negative_prompt")


def parse_overrides(raw: Any, field: str = "params_json.overrides", prompt_max_length: int = 0) -> Overrides:
    """Expert knobs, each bounded; `prompt` and `negative_prompt` only where the operator allows
    them (PLITKA_PROMPT_OVERRIDES: prompt_max_length > 0), at most that many characters."""
    if raw is None:
        return Overrides()
    if not isinstance(raw, dict):
        raise RequestError(field, "must be a JSON object")
    unknown = sorted(set(raw) - set(OVERRIDE_BOUNDS))
    if unknown:
        raise RequestError(
            field, f"unknown key(s) {_key_names(unknown)}; allowed: {', '.join(OVERRIDE_BOUNDS)}"
        )
    for key in PROMPT_OVERRIDES:
        if key in raw:
            _check_prompt(f"{field}.{key}", raw[key], prompt_max_length)
    return Overrides(**{key: _check_override(f"{field}.{key}", key, value) for key, value in raw.items()})


def _check_prompt(field: str, value: Any, max_length: int) -> None:
    if max_length <= 0:
        raise RequestError(
            field,
            "this model does not take prompt overrides (the operator may allow them:"
            " PLITKA_PROMPT_OVERRIDES)",
        )
    if isinstance(value, str) and len(value) > max_length:
        raise RequestError(field, f"at most {max_length} characters, got {len(value)}")


def _check_override(field: str, key: str, value: Any) -> Any:
    kind, low, high = OVERRIDE_BOUNDS[key]
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) is not kind:
        raise RequestError(field, f"must be of type {kind.__name__}, got {_json_kind(value)}")
    if low is not None and high is not None and not low <= value <= high:
        raise RequestError(field, f"must be between {low:g} and {high:g}, got {_json_kind(value)}")
    if key == "resolution" and value % RESOLUTION_STEP:
        raise RequestError(field, f"must be a multiple of {RESOLUTION_STEP} (the VAE's scale), got {value}")
    return value


# --- the one entry point -------------------------------------------------------------------------

# The form's `colors` default: a person who presses Run on the untouched form gets this tile. Left at
# it, like the other fields left at their defaults, it gives way to params_json's colours.
EXAMPLE_MIX = "60% red, 40% white"

FORM_DEFAULTS: dict[str, Any] = {
    "angle": 0,
    "quality": "standard",
    "seed": RANDOM_SEED,
    "output_format": "png",
    "engine": "auto",
}


def build_request(
    colors: str | None = None,
    params_json: str | None = None,
    *,
    palette: Palette = PALETTE,
    prompt_max_length: int = 0,
    **form: Any,
) -> TileRequest:
    """Merge the form fields with the legacy JSON and validate everything. `prompt_max_length` > 0
    allows the prompt overrides, that long at most (PLITKA_PROMPT_OVERRIDES).

    params_json's values replace form fields left at their defaults (colors at EXAMPLE_MIX too); a
    form field set to another value that params_json contradicts is an error, as is colour text that
    contradicts its colours.
    """
    unknown = sorted(set(form) - set(FORM_DEFAULTS))
    if unknown:
        raise RequestError(
            unknown[0], f"unknown input; allowed: colors, params_json, {', '.join(FORM_DEFAULTS)}"
        )
    values = {**FORM_DEFAULTS, **form}
    for field, text, limit in (
        ("colors", colors, MAX_COLORS_TEXT),
        ("params_json", params_json, MAX_PARAMS_JSON),
    ):
        if text is not None and not isinstance(text, str):
            raise RequestError(field, f"must be text, got {_json_kind(text)}")
        _check_length(field, text or "", limit)
    has_text = bool(colors and colors.strip())
    has_json = bool(params_json and params_json.strip())
    if not has_text and not has_json:
        raise RequestError(
            "colors", "give the mix as text, e.g. '60% red, 40% white' (or the legacy params_json)"
        )

    mix = parse_color_text(colors, palette) if has_text else None
    overrides = Overrides()
    if has_json:
        legacy = parse_params_json(params_json or "", palette, colors_required=mix is None)
        if legacy["mix"] is None:
            legacy["mix"] = mix
        if mix is not None and colors != EXAMPLE_MIX and not _mixes_agree(mix, legacy["mix"]):
            raise RequestError(
                "colors",
                f"the text ({_format_mix(mix)}) and params_json ({_format_mix(legacy['mix'])}) disagree;"
                " give one of them, or the same mix in both",
            )
        mix = legacy.pop("mix")
        overrides = parse_overrides(legacy.pop("overrides", None), prompt_max_length=prompt_max_length)
        values = _merge_legacy(values, form, legacy)
    assert mix is not None
    return TileRequest(
        mix=mix,
        angle=_check_choice("angle", values["angle"], ANGLES),
        quality=_check_choice("quality", values["quality"], QUALITIES),
        seed=_check_seed("seed", values["seed"]),
        output_format=_check_choice("output_format", values["output_format"], OUTPUT_FORMATS),
        engine=_check_choice("engine", values["engine"], ENGINES),
        overrides=overrides,
    )


def _merge_legacy(
    values: dict[str, Any], form: Mapping[str, Any], legacy: Mapping[str, Any]
) -> dict[str, Any]:
    merged = dict(values)
    for key, legacy_value in legacy.items():
        form_value = form.get(key, FORM_DEFAULTS[key])
        if form_value != FORM_DEFAULTS[key] and form_value != legacy_value:
            raise RequestError(
                key,
                f"set to {_json_kind(form_value)} but params_json says {_json_kind(legacy_value)}; give one",
            )
        merged[key] = legacy_value
    return merged


def _format_mix(mix: Mapping[str, float]) -> str:
    return ", ".join(f"{share:g}% {code}" for code, share in mix.items())
