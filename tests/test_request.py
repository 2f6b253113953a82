import json

import pytest

from plitka.layout import build_layout
from plitka.limits import MAX_COLORS_TEXT, MAX_JSON_DEPTH, MAX_PARAMS_JSON, quote
from plitka.request import EXAMPLE_MIX, MIN_SHARE, RequestError, build_request, parse_color_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60% red, 40% white", {"RED": 60, "WHITE": 40}),
        ("красный 70, белый 30", {"RED": 70, "WHITE": 30}),
        ("0.6 red 0.4 white", {"RED": 60, "WHITE": 40}),
        ("0,6 red 0,4 white", {"RED": 60, "WHITE": 40}),
        ("Red: 60%; White: 40%", {"RED": 60, "WHITE": 40}),
        ("red 60 and white 40", {"RED": 60, "WHITE": 40}),
        ("тёмно-зелёный 50%, DKGREEN 25%, dark green 25%", {"DKGREEN": 100}),
        ("темно-зеленая 50, синяя 50", {"DKGREEN": 50, "BLUE": 50}),
        ("red", {"RED": 100}),
        ("33% blue, 33% dkgreen, 34% red", {"BLUE": 33, "DKGREEN": 33, "RED": 34}),
        ("10% blue 10% dkgreen 10% red 70% yellow", {"BLUE": 10, "DKGREEN": 10, "RED": 10, "YELLOW": 70}),
        ("60.2% red, 39.9% white", {"RED": 60.2, "WHITE": 39.9}),
    ],
)
def test_colour_text_forms(text, expected):
    assert parse_color_text(text) == pytest.approx(expected)


def test_colour_text_keeps_the_order_given():
    assert list(parse_color_text("40% white, 60% red")) == ["WHITE", "RED"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("60% redd, 40% white", "unknown colour 'redd'; did you mean RED (red)"),
        ("60% red, 30% white", "must sum to 100%"),
        ("60% red, 0.4 white", "must sum to 100%"),
        ("-10% red, 110% white", "cannot be negative"),
        ("20 red 20 white 20 black 20 blue 20 yellow", "at most 4 colours, got 5"),
        ("red, white", "give a share for every colour"),
        ("60% red, 40%", "has no colour name"),
        ("0% red, 100% white", "above 0%"),
        ("", "give the mix as text"),
    ],
)
def test_colour_text_errors_name_the_field(text, fragment):
    with pytest.raises(RequestError) as caught:
        parse_color_text(text)
    assert caught.value.field == "colors"
    assert str(caught.value).startswith("colors: ")
    assert fragment in str(caught.value)


def test_fractions_are_scaled_once_not_twice():
    # 1.0 as a lone fraction is 100%; 100 is 100%; neither becomes 10000%.
    assert parse_color_text("1 red") == {"RED": 100}
    assert parse_color_text("100 red") == {"RED": 100}


def legacy(colors, **extra):
    return json.dumps({"colors": [{"name": n, "proportion": p} for n, p in colors], **extra})


def test_legacy_params_json_in_percent_and_fractions():
    in_percent = build_request(params_json=legacy([("red", 60), ("white", 40)], angle=45, seed=42))
    in_fractions = build_request(params_json=legacy([("red", 0.6), ("white", 0.4)], angle=45, seed=42))
    assert in_percent == in_fractions
    assert in_percent.mix == {"RED": 60, "WHITE": 40}
    assert (in_percent.angle, in_percent.seed) == (45, 42)


def test_legacy_overrides_are_bounded():
    request = build_request(params_json=legacy([("red", 1)], overrides={"steps": 20, "guidance": 7}))
    assert request.overrides.steps == 20
    assert request.overrides.guidance == 7.0
    with pytest.raises(RequestError, match=r"params_json.overrides.steps: must be between 1 and 100"):
        build_request(params_json=legacy([("red", 1)], overrides={"steps": 500}))
    with pytest.raises(RequestError, match=r"params_json.overrides: unknown key\(s\) sampler"):
        build_request(params_json=legacy([("red", 1)], overrides={"sampler": "x"}))


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"params_json": "{broken"}, "params_json", "not valid JSON"),
        ({"params_json": "[1, 2]"}, "params_json", "must be a JSON object"),
        ({"params_json": '{"colours": []}'}, "params_json", "unknown key(s) colours"),
        ({"params_json": legacy([("red", "60")])}, "params_json.colors[0].proportion", "must be a number"),
        ({"params_json": legacy([("red", 60), ("white", 60)])}, "params_json.colors", "must sum to 100%"),
        (
            {"colors": "70% red, 30% white", "params_json": legacy([("red", 50), ("white", 50)])},
            "colors",
            "disagree",
        ),
        ({"colors": "red", "angle": 33}, "angle", "33 is not offered; choose one of 0, 30, 45"),
        ({"colors": "red", "quality": "ultra"}, "quality", "choose one of preview, standard, high"),
        ({"colors": "red", "seed": -5}, "seed", "from -1 (random)"),
        ({"colors": "red", "output_format": "gif"}, "output_format", "choose one of png, webp, jpg"),
        ({"colors": "red", "engine": "dalle"}, "engine", "choose one of auto, procedural, sdxl"),
        (
            {"colors": "red", "angle": 45, "params_json": legacy([("red", 1)], angle=30)},
            "angle",
            "params_json says 30",
        ),
        ({}, "colors", "give the mix as text"),
    ],
)
def test_request_errors_name_the_field(kwargs, field, fragment):
    with pytest.raises(RequestError) as caught:
        build_request(**kwargs)
    assert caught.value.field == field
    assert fragment in str(caught.value)


def test_agreeing_text_and_params_json_are_accepted():
    request = build_request("60% red, 40% white", legacy([("white", 40), ("red", 60)]))
    assert request.mix == {"RED": 60, "WHITE": 40}


def test_params_json_fills_fields_left_at_their_defaults():
    request = build_request(params_json=legacy([("red", 1)], quality="high", angle=90), angle=0)
    assert (request.quality, request.angle) == ("high", 90)


def test_params_json_colours_replace_the_forms_example_mix():
    """The form's colors default (the untouched web form) gives way to params_json as other defaults do;
    the example alone makes its own tile."""
    assert build_request(EXAMPLE_MIX, legacy([("blue", 1)])).mix == {"BLUE": 100}
    assert build_request(EXAMPLE_MIX).mix == {"RED": 60, "WHITE": 40}
    with pytest.raises(RequestError, match="disagree"):
        build_request(EXAMPLE_MIX.replace("60% red", "60% blue"), legacy([("blue", 1)]))


def test_describe_mix_in_words():
    assert build_request("40% белый, 60% красный").describe_mix() == "40% white, 60% red"


# --- hostile input: bounded, finite, short errors (issue 11) ---------------------------------------


def field_and_message(**kwargs):
    with pytest.raises(RequestError) as caught:
        build_request(**kwargs)
    return caught.value.field, str(caught.value)


@pytest.mark.parametrize("size", [MAX_COLORS_TEXT + 1, 1_000_000, 10_000_000])
def test_colour_text_over_the_limit_is_refused_without_being_read(size):
    field, message = field_and_message(colors="\x7f" * (size - 2) + "zz")
    assert field == "colors"
    assert f"at most {MAX_COLORS_TEXT} characters, got {size}" in message
    assert len(message) < 100


def test_params_json_over_the_limit_is_refused():
    field, message = field_and_message(params_json=" " * MAX_PARAMS_JSON + "{}")
    assert field == "params_json"
    assert f"at most {MAX_PARAMS_JSON} characters, got {MAX_PARAMS_JSON + 2}" in message


@pytest.mark.parametrize(
    "text",
    [
        "\x7f" * 900 + "zz",
        "a" * 1000,
        "x" + " " * 998 + "x",
        "красный" * 140,
        "60% " + "ы" * 900 + ", 40% white",
    ],
)
def test_unknown_colour_errors_quote_at_most_80_characters_escaped(text):
    field, message = field_and_message(colors=text)
    assert field == "colors"
    assert len(message) < 200
    assert "\x7f" not in message  # escaped, not raw


def test_error_quotes_are_escaped_and_cut_with_the_length():
    assert quote("\x7f" * 2_000_000 + "zz") == "'" + "\\x7f" * 20 + "'… (2000002 characters)"
    assert quote("redd") == "'redd'"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1e309% red", "plain numbers (60% or 0.6), not '1e309'"),
        ("1E2 red", "plain numbers"),
        ("1/2 red, 1/2 white", "not fractions like 1/…"),
        ("../../etc/passwd", "unknown colour '../../etc/passwd'"),
        ("https://example.com/red.png", "unknown colour"),
        ("9" * 400 + "% red", "a share is at most 100%, got '999"),
        ("150% red", "a share is at most 100%, got 150"),
    ],
)
def test_misleading_wordings_say_what_is_wrong(text, fragment):
    field, message = field_and_message(colors=text)
    assert field == "colors"
    assert fragment in message


@pytest.mark.parametrize(
    "text", ["99.9999% red, 0.0001% white", "99.95% red, 0.05% white", "99.99 red 0.01 white"]
)
def test_a_share_below_the_smallest_the_layout_honours_is_refused(text):
    field, message = field_and_message(colors=text)
    assert field == "colors"
    assert f"the smallest share the tile can show is {MIN_SHARE:g}%" in message
    assert "WHITE has" in message


@pytest.mark.parametrize("size", [512, 1024])
def test_the_smallest_share_itself_is_accepted_and_laid_out(size):
    mix = parse_color_text(f"{100 - MIN_SHARE:g}% red, {MIN_SHARE:g}% white")
    assert mix == {"RED": 100 - MIN_SHARE, "WHITE": MIN_SHARE}
    for seed in range(3):
        layout = build_layout(mix, size=size, seed=seed)
        assert layout.area_shares()["WHITE"] == pytest.approx(MIN_SHARE, abs=MIN_SHARE / 4)
        assert (layout.granule_color == 1).sum() >= 2  # crumbs, not a stray pixel


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ('{"colors": [{"name": "red", "proportion": NaN}]}', "params_json", "NaN is not a number"),
        ('{"colors": [{"name": "red", "proportion": Infinity}]}', "params_json", "Infinity is not a number"),
        ('{"colors": [{"name": "red", "proportion": -Infinity}]}', "params_json", "-Infinity is not"),
        ('{"colors": [{"name": "red", "proportion": 1e999}]}', "params_json", "give a finite number"),
        (
            '{"colors": [{"name": "red", "proportion": 100}, {"name": "white", "proportion": 1e-320}]}',
            "params_json.colors",
            "the smallest share",
        ),
        ('{"colors": [{"name": "red", "proportion": 250}]}', "params_json.colors[0].proportion", "0 to 100"),
        ('{"colors": [{"name": null, "proportion": 100}]}', "params_json.colors[0].name", "got null"),
        ('{"colors": [{"name": ["red"], "proportion": 100}]}', "params_json.colors[0].name", "got a list"),
        (
            '{"colors": [{"name": "red", "proportion": 100}], "seed": ' + "9" * 3000 + "}",
            "params_json",
            "too long",
        ),
        ("[" * 100_000 + "]" * 100_000, "params_json", "characters"),
        ("[" * 1000 + "]" * 1000, "params_json", f"nested 1000 levels deep; at most {MAX_JSON_DEPTH}"),
        ('{"colors": [{"name": "red", "proportion": 100}], "angle": 45.0}', "angle", "45.0 is not offered"),
        ('{"colors": [{"name": "red", "proportion": 100}], "angle": true}', "angle", "true is not offered"),
        ('{"colors": [{"name": "red", "proportion": 100}], "seed": 7.0}', "seed", "got 7.0"),
        ('{"colors": [{"name": "red", "proportion": 100}], "seed": 2147483648}', "seed", "got 2147483648"),
        (
            '{"colors": [{"name": "red", "proportion": 1}], "overrides": {"steps": 20.0}}',
            "params_json.overrides.steps",
            "int",
        ),
    ],
)
def test_params_json_numbers_are_finite_bounded_and_of_the_right_type(params, field, fragment):
    got_field, message = field_and_message(params_json=params)
    assert got_field == field
    assert fragment in message
    assert len(message) < 300


def test_nested_json_is_refused_before_json_recurses():
    # json.loads itself would raise RecursionError at this depth
    field, _message = field_and_message(params_json="[" * 1900 + "]" * 1900)
    assert field == "params_json"


@pytest.mark.parametrize("key", ["prompt", "negative_prompt"])
def test_prompt_overrides_are_refused_unless_the_operator_allows_them(key):
    params = legacy([("red", 1)], overrides={key: "a photo of a cat"})
    field, message = field_and_message(params_json=params)
    assert field == f"params_json.overrides.{key}"
    assert "PLITKA_PROMPT_OVERRIDES" in message
    allowed = build_request(params_json=params, prompt_max_length=100)
    assert getattr(allowed.overrides, key) == "a photo of a cat"
    with pytest.raises(RequestError, match=rf"overrides.{key}: at most 10 characters, got 16"):
        build_request(params_json=params, prompt_max_length=10)


def test_form_values_of_the_wrong_type_are_refused():
    assert field_and_message(colors="red", angle=45.0)[0] == "angle"
    assert field_and_message(colors="red", seed=True)[0] == "seed"
    assert field_and_message(colors=["red"])[0] == "colors"


# --- parts (issue 33) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 parts red, 1 part white", {"RED": 66.667, "WHITE": 33.333}),
        ("2:1 red/white", {"RED": 66.667, "WHITE": 33.333}),
        ("red/white 2:1", {"RED": 66.667, "WHITE": 33.333}),
        ("red 2 parts, white 1 part", {"RED": 66.667, "WHITE": 33.333}),
        ("красный 2 части, белый 1 часть", {"RED": 66.667, "WHITE": 33.333}),
        ("красный 3 ч., белый 1 ч.", {"RED": 75.0, "WHITE": 25.0}),
        ("1:1:2 red, white and black", {"RED": 25.0, "WHITE": 25.0, "BLACK": 50.0}),
        ("1 pt red 3 pts white", {"RED": 25.0, "WHITE": 75.0}),
        ("1.5 parts red, 0.5 part white", {"RED": 75.0, "WHITE": 25.0}),
        ("60:40 red/white", {"RED": 60.0, "WHITE": 40.0}),
        ("1 part red", {"RED": 100.0}),
    ],
)
def test_parts_and_ratios_give_percent_of_their_total(text, expected):
    assert parse_color_text(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2 parts red, 40% white", "plain counts"),
        ("60%:40% red/white", "plain counts"),
        ("red 2 parts, white 1", "every share in parts"),
        ("0:1 red/white", "above 0 and at most 1000"),
        ("2000 parts red, 1 part white", "above 0 and at most 1000"),
        ("1:1 red", "a ratio of 2 numbers needs 2 colours"),
        ("1:1:1 red/white", "a ratio of 3 numbers needs 3 colours"),
        ("1:1:1:1:1 red/white/black/blue/yellow", "at most 4 colours"),
        ("2 partsred, 1 part white", "every share in parts"),
    ],
)
def test_bad_parts_are_refused_naming_colors(text, fragment):
    with pytest.raises(RequestError, match=fragment) as error:
        parse_color_text(text)
    assert error.value.field == "colors"


def test_part_words_are_words_not_prefixes():
    # 'pt' begins no palette name, but a part word must stand alone: '2 ptred' is not '2 pt red'
    with pytest.raises(RequestError, match="unknown colour"):
        parse_color_text("60 ptred, 40 white")
