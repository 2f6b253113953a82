"""End to end through the real Cog HTTP server (coglet), as Replicate and `cog predict` reach it."""

import io
import json
import time

import pytest
import requests
from PIL import Image

from plitka.cog_client import ROOT, decode, predict

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(procedural_server):
    return procedural_server


def test_prediction_streams_preview_final_colormap_report(server):
    result = predict(server, colors="60% red, 40% white", seed=7)
    assert result["status"] == "succeeded", result.get("error")
    preview, final, colormap, report = result["output"]
    assert Image.open(io.BytesIO(decode(preview))).size == (512, 512)
    assert Image.open(io.BytesIO(decode(final))).size == (1024, 1024)
    assert Image.open(io.BytesIO(decode(colormap))).width >= 512
    report = json.loads(decode(report))
    assert report["requested"] == {"RED": 60.0, "WHITE": 40.0}
    assert report["seed"] == 7
    assert report["engine"] == "procedural"
    for code, share in report["requested"].items():
        assert report["measured"][code] == pytest.approx(share, abs=1.0)
    assert result["metrics"]["timing"]["total_s"] > 0


def test_same_seed_gives_the_same_picture(server):
    first = predict(server, colors="30% blue, 70% yellow", seed=11, output_format="png", angle=45)
    second = predict(server, colors="30% blue, 70% yellow", seed=11, output_format="png", angle=45)
    assert first["output"][1] == second["output"][1]


def test_random_seed_is_reported(server):
    result = predict(server, colors="красный 70, белый 30", quality="preview", output_format="webp")
    assert result["status"] == "succeeded", result.get("error")
    report = json.loads(decode(result["output"][3]))
    assert 0 <= report["seed"] <= 2**31 - 1
    assert decode(result["output"][1])[8:12] == b"WEBP"
    assert Image.open(io.BytesIO(decode(result["output"][1]))).size == (768, 768)


def test_legacy_params_json(server):
    params = {
        "colors": [{"name": "black", "proportion": 0.15}, {"name": "white", "proportion": 0.85}],
        "angle": 90,
        "seed": 3,
    }
    result = predict(server, params_json=json.dumps(params))
    assert result["status"] == "succeeded", result.get("error")
    report = json.loads(decode(result["output"][3]))
    assert (report["requested"], report["angle"], report["seed"]) == ({"BLACK": 15.0, "WHITE": 85.0}, 90, 3)


def test_an_untouched_form_makes_the_example_tile(server):
    """Run pressed on the web form without typing anything: the inputs' defaults, colors' example mix."""
    result = predict(server)
    assert result["status"] == "succeeded", result.get("error")
    assert len(result["output"]) == 4
    report = json.loads(decode(result["output"][3]))
    assert report["requested"] == {"RED": 60.0, "WHITE": 40.0}
    assert (report["angle"], report["quality"], report["engine"]) == (0, "standard", "procedural")


def test_a_bad_input_reads_as_the_products_own_line(server):
    """coglet's words come first ("Prediction failed: Generator iteration error: "), then the product's
    line: no exception type between them."""
    result = predict(server, colors="60% redd, 40% white")
    assert result["error"] == (
        "Prediction failed: Generator iteration error: "
        "colors: unknown colour 'redd'; did you mean RED (red), GRAY (gray)?"
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"colors": "60% redd, 40% white"}, "colors: unknown colour 'redd'; did you mean RED"),
        ({"colors": "60% red, 30% white"}, "colors: shares must sum to 100%"),
        ({"colors": "20% red, 20% white, 20% black, 20% blue, 20% yellow"}, "colors: at most 4 colours"),
        ({"colors": "-10% red, 110% white"}, "colors: shares cannot be negative"),
        ({"params_json": "{broken"}, "params_json: not valid JSON"),
        (
            {"colors": "70% red, 30% white", "params_json": '{"colors": [{"name": "red", "proportion": 1}]}'},
            "colors: the text (70% RED, 30% WHITE) and params_json (100% RED) disagree",
        ),
        ({"colors": "red", "engine": "sdxl"}, "engine: sdxl is unavailable here"),
        ({"colors": ""}, "colors: give the mix as text"),
    ],
)
def test_bad_input_fails_the_prediction_with_one_clear_message(server, inputs, message):
    result = predict(server, **inputs)
    assert result["status"] == "failed"
    assert message in result["error"]
    assert "Traceback" not in result["error"]


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"colors": "red", "angle": 33}, "angle"),
        ({"colors": "red", "seed": -5}, "seed"),
        ({"colors": "red", "quality": "ultra"}, "quality"),
        ({"colors": "red", "output_format": "gif"}, "output_format"),
    ],
)
def test_schema_rejects_values_outside_the_form(server, inputs, field):
    result = predict(server, **inputs)
    assert result["http_status"] == 422, result  # refused by the schema, before any prediction runs
    assert field in json.dumps(result)


def test_server_keeps_serving_after_errors(server):
    predict(server, colors="nonsense colour 100%")
    # Right after a failure coglet may still say BUSY while it frees the slot; it must get back to READY.
    deadline = time.monotonic() + 5
    while requests.get(f"{server}/health-check", timeout=5).json()["status"] != "READY":
        assert time.monotonic() < deadline, "server did not return to READY after a failed prediction"
        time.sleep(0.05)
    assert predict(server, colors="100% green apple", quality="preview")["status"] == "succeeded"


def test_served_schema_is_the_committed_one(server):
    served = requests.get(f"{server}/openapi.json", timeout=5).json()
    committed = json.loads((ROOT / ".cog" / "openapi_schema.json").read_text())
    assert served["components"]["schemas"]["Input"] == committed["components"]["schemas"]["Input"]
