"""One validated generation request, from the colour text, the legacy params_json or both.

Every problem is raised as RequestError naming the input field, so the Cog server, the CLI and
the tests all show the same one-line message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

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

# A share: an optional minus sign (only where it cannot be a hyphen inside a word), digits with a
# decimal point or comma, an optional percent sign.
_SHARE = re.compile(r"(?P<sign>(?<![^\s,;:=(/])-)?(?P<number>\d+(?:[.,]\d+)?)\s*(?P<percent>%)?")
_NAME_JUNK = re.compile(r"^[\s,;:=()/+&-]+|[\s,;:=()/+&-]+$")
_LIST_SEPARATOR = re.compile(r"\s*[,;/+&]\s*|\s+(?:and|и)\s+", re.IGNORECASE)
_CONNECTIVES = re.compile(r"^(?:and|и|with|с)\s+|\s+(?:and|и)$", re.IGNORECASE)


class RequestError(ValueError):
    """A bad input: `field` is the input's name, the message says what is allowed."""

    def __init__(self, field: str, message: str):
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


def parse_color_text(text: str, palette: Palette = PALETTE, field: str = "colors") -> dict[str, float]:
    """'60% red, 40% white', 'красный 70, белый 30', '0.6 red 0.4 white', 'red' -> {code: percent}."""
    if not text or not text.strip():
        raise RequestError(field, "give the mix as text, e.g. '60% red, 40% white'")
    pairs = _split_into_pairs(text, field)
    if len(pairs) == 1 and pairs[0][1] is None:
        if len(_LIST_SEPARATOR.split(pairs[0][0])) > 1:
            raise RequestError(field, "give a share for every colour, e.g. '50% red, 50% white'")
        return _resolve_shares([(pairs[0][0], 100.0)], palette, field)
    if any(share is None for _, share in pairs):
        missing = [name for name, share in pairs if share is None]
        raise RequestError(field, f"give a share for every colour ({', '.join(missing)} has none)")
    shares = _to_percent([share for _, share in pairs], percent_given="%" in text, field=field)
    return _resolve_shares(list(zip((name for name, _ in pairs), shares, strict=True)), palette, field)


def _split_into_pairs(text: str, field: str) -> list[tuple[str, float | None]]:
    """Pair each colour name with the number before it (number-first text) or after it."""
    matches = list(_SHARE.finditer(text))
    if not matches:
        return [(_clean_name(text), None)]
    names = _texts_between(text, matches)
    number_first = not names[0]
    numbers = [_number(match) for match in matches]
    if number_first:
        pairs = list(zip(names[1:], numbers, strict=True))
    else:
        pairs = list(zip(names[:-1], numbers, strict=True))
        if names[-1]:
            pairs.append((names[-1], None))
    empty = [f"{number:g}" for name, number in pairs if not name and number is not None]
    if empty:
        raise RequestError(field, f"a share has no colour name next to it ({', '.join(empty)})")
    return pairs


def _texts_between(text: str, matches: list[re.Match[str]]) -> list[str]:
    bounds = [0, *(pos for match in matches for pos in match.span()), len(text)]
    return [_clean_name(text[start:end]) for start, end in zip(bounds[::2], bounds[1::2], strict=True)]


def _clean_name(raw: str) -> str:
    return _CONNECTIVES.sub("", _NAME_JUNK.sub("", raw)).strip()


def _number(match: re.Match[str]) -> float:
    value = float(match["number"].replace(",", "."))
    return -value if match["sign"] else value


# --- legacy params_json --------------------------------------------------------------------------


def parse_params_json(text: str, palette: Palette = PALETTE, colors_required: bool = True) -> dict[str, Any]:
    """The v4.x API's JSON: returns the mix (None if absent and not required) and whichever of
    angle/quality/seed/... it sets."""
    field = "params_json"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(
            field, f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(data, dict):
        raise RequestError(
            field, 'must be a JSON object, e.g. {"colors": [{"name": "red", "proportion": 60}]}'
        )
    known = {"colors", "angle", "quality", "seed", "output_format", "engine", "overrides"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RequestError(field, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    if "colors" not in data and colors_required:
        raise RequestError(field, 'needs a "colors" list (or give the mix as colors text)')
    parsed: dict[str, Any] = {key: data[key] for key in known - {"colors"} if key in data}
    parsed["mix"] = _parse_legacy_colors(data["colors"], palette) if "colors" in data else None
    return parsed


def _parse_legacy_colors(colors: Any, palette: Palette) -> dict[str, float]:
    field = "params_json.colors"
    if not isinstance(colors, list) or not colors:
        raise RequestError(field, 'must be a non-empty list of {"name": ..., "proportion": ...}')
    names: list[str] = []
    values: list[float] = []
    for index, item in enumerate(colors):
        if not isinstance(item, dict) or "name" not in item or "proportion" not in item:
            raise RequestError(f"{field}[{index}]", 'must be an object with "name" and "proportion"')
        proportion = item["proportion"]
        if isinstance(proportion, bool) or not isinstance(proportion, int | float):
            raise RequestError(f"{field}[{index}].proportion", f"must be a number, got {proportion!r}")
        names.append(str(item["name"]))
        values.append(float(proportion))
    shares = _to_percent(values, percent_given=False, field=field)
    return _resolve_shares(list(zip(names, shares, strict=True)), palette, field)


# --- shared rules ---------------------------------------------------------------------------------


def _to_percent(values: list[float], *, percent_given: bool, field: str) -> list[float]:
    """Decide once whether the shares are fractions or percent; they must then sum to 100 (±0.5)."""
    negative = [value for value in values if value < 0]
    if negative:
        raise RequestError(field, f"shares cannot be negative (got {negative[0]:g})")
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
    """Names to palette codes, duplicates merged, 1–4 colours, every share above zero."""
    mix: dict[str, float] = {}
    for name, share in pairs:
        try:
            code = palette.resolve(name).code
        except UnknownColorError as error:
            raise RequestError(field, str(error)) from None
        mix[code] = mix.get(code, 0.0) + share
    zero = [code for code, share in mix.items() if share <= 0]
    if zero:
        raise RequestError(field, f"every colour needs a share above 0% ({', '.join(zero)} has 0%)")
    if len(mix) > MAX_COLORS:
        raise RequestError(field, f"at most {MAX_COLORS} colours, got {len(mix)} ({', '.join(mix)})")
    return {code: round(share, 3) for code, share in mix.items()}


def _mixes_agree(first: Mapping[str, float], second: Mapping[str, float]) -> bool:
    return first.keys() == second.keys() and all(abs(first[c] - second[c]) <= SUM_TOLERANCE for c in first)


def _check_choice(field: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    if value not in allowed or isinstance(value, bool):
        shown = ", ".join(str(option) for option in allowed)
        raise RequestError(field, f"{value!r} is not offered; choose one of {shown}")
    return value


def _check_seed(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not RANDOM_SEED <= value <= MAX_SEED:
        raise RequestError(field, f"must be an integer from -1 (random) to {MAX_SEED}, got {value!r}")
    return value


def parse_overrides(raw: Any, field: str = "params_json.overrides") -> Overrides:
    if raw is None:
        return Overrides()
    if not isinstance(raw, dict):
        raise RequestError(field, "must be a JSON object")
    unknown = sorted(set(raw) - set(OVERRIDE_BOUNDS))
    if unknown:
        raise RequestError(
            field, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(OVERRIDE_BOUNDS)}"
        )
    return Overrides(**{key: _check_override(f"{field}.{key}", key, value) for key, value in raw.items()})


def _check_override(field: str, key: str, value: Any) -> Any:
    kind, low, high = OVERRIDE_BOUNDS[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise RequestError(field, f"must be of type {kind.__name__}, got {value!r}")
    if low is not None and high is not None and not low <= value <= high:
        raise RequestError(field, f"must be between {low:g} and {high:g}, got {value!r}")
    if key == "resolution" and value % RESOLUTION_STEP:
        raise RequestError(field, f"must be a multiple of {RESOLUTION_STEP} (the VAE's scale), got {value}")
    return value


# --- the one entry point -------------------------------------------------------------------------

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
    **form: Any,
) -> TileRequest:
    """Merge the form fields with the legacy JSON and validate everything.

    params_json's values replace form fields left at their defaults; a form field set to another
    value that params_json contradicts is an error, as is colour text that contradicts its colours.
    """
    unknown = sorted(set(form) - set(FORM_DEFAULTS))
    if unknown:
        raise RequestError(
            unknown[0], f"unknown input; allowed: colors, params_json, {', '.join(FORM_DEFAULTS)}"
        )
    values = {**FORM_DEFAULTS, **form}
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
        if mix is not None and not _mixes_agree(mix, legacy["mix"]):
            raise RequestError(
                "colors",
                f"the text ({_format_mix(mix)}) and params_json ({_format_mix(legacy['mix'])}) disagree;"
                " give one of them, or the same mix in both",
            )
        mix = legacy.pop("mix")
        overrides = parse_overrides(legacy.pop("overrides", None))
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
            raise RequestError(key, f"set to {form_value!r} but params_json says {legacy_value!r}; give one")
        merged[key] = legacy_value
    return merged


def _format_mix(mix: Mapping[str, float]) -> str:
    return ", ".join(f"{share:g}% {code}" for code, share in mix.items())
