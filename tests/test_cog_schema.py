from plitka.cog_schema import SCHEMA_PATH, build_schema, render
from plitka.request import ANGLES, EXAMPLE_MIX, FORM_DEFAULTS, MAX_SEED


def test_committed_schema_matches_the_predictor():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(build_schema()), (
        "stale .cog/openapi_schema.json: run python -m plitka.cog_schema"
    )


def test_schema_carries_the_form_constraints():
    schemas = build_schema()["components"]["schemas"]
    inputs = schemas["Input"]["properties"]
    # A person choosing a floor reads the mix first and the v4 API's params_json last.
    assert list(inputs) == [
        "colors",
        "angle",
        "quality",
        "seed",
        "scene",
        "area",
        "area_unit",
        "depth_mm",
        "sheet",
        "image",
        "room_photo",
        "room_corners",
        "room_width_m",
        "bulk_density",
        "binder_percent",
        "wastage_percent",
        "output_format",
        "engine",
        "params_json",
    ]
    assert (inputs["image"]["format"], inputs["image"]["nullable"]) == ("uri", True)
    assert (inputs["room_photo"]["format"], inputs["room_photo"]["nullable"]) == ("uri", True)
    assert schemas["scene"]["enum"] == ["none", "playground", "gym", "terrace"]
    assert (inputs["room_width_m"]["minimum"], inputs["room_width_m"]["maximum"]) == (0.5, 50.0)
    assert inputs["room_corners"]["maxLength"] == 200
    assert schemas["angle"]["enum"] == list(ANGLES)
    assert schemas["quality"]["enum"] == ["preview", "standard", "high"]
    assert (inputs["seed"]["minimum"], inputs["seed"]["maximum"], inputs["seed"]["default"]) == (
        -1,
        MAX_SEED,
        -1,
    )
    assert inputs["colors"]["nullable"] is True
    assert inputs["colors"]["default"] == EXAMPLE_MIX  # the untouched form makes a tile
    assert "required" not in schemas["Input"]
    assert schemas["Output"]["x-cog-array-type"] == "iterator"
    assert all(prop["description"] for prop in inputs.values())


def test_form_defaults_are_the_request_defaults():
    # params_json may only fill fields left at their defaults, so both places must agree.
    inputs = build_schema()["components"]["schemas"]["Input"]["properties"]
    assert {name: inputs[name]["default"] for name in FORM_DEFAULTS} == FORM_DEFAULTS
