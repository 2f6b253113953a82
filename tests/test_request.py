import json

import pytest

from plitka.request import RequestError, build_request, parse_color_text


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
            {"colors": "60% red, 40% white", "params_json": legacy([("red", 50), ("white", 50)])},
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


def test_describe_mix_in_words():
    assert build_request("40% белый, 60% красный").describe_mix() == "40% white, 60% red"
