"""The quantities to order through the real Cog server (coglet): area and depth in, report.json's
'order' out, the four outputs in their usual order (issue 33)."""

import io
import json

import pypdf
import pytest

from plitka.cog_client import decode, predict, running_server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("work")) as url:
        yield url


def test_area_and_depth_put_the_order_in_the_report(server):
    # 120 m² x 0.015 m x 1,100 kg/m³ x 1.05 = 2,079 kg: red 1,247.4 kg (50 bags), white 831.6 kg
    # (34 bags), binder 415.8 kg (tests/test_order.py works it through).
    result = predict(server, colors="60% red, 40% white", seed=7, quality="preview", area=120, depth_mm=15)
    assert result["status"] == "succeeded", result.get("error")
    assert [name.split(";")[0] for name in result["output"]] == [
        "data:image/png",
        "data:image/png",
        "data:image/png",
        "data:application/json",
    ]
    order = json.loads(decode(result["output"][3]))["order"]
    assert order["colours"] == {
        "RED": {"share": 60.0, "kg": 1247.4, "bags": 50},
        "WHITE": {"share": 40.0, "kg": 831.6, "bags": 34},
    }
    assert (order["rubber_kg"], order["binder_kg"], order["bags"]) == (2079.0, 415.8, 84)
    assert order["assumptions"] == {
        "bulk_density_kg_m3": 1100.0,
        "binder_share": 0.2,
        "wastage": 0.05,
        "bag_kg": 25.0,
    }


def test_square_feet_parts_and_set_assumptions(server):
    # 1,076.39104 ft² = 100 m²; x 0.020 m x 1,100 = 2,200 kg; wastage 10%: 2,420 kg; binder 18%: 435.6 kg;
    # 2:1 red/white: 1,613.34 kg (65 bags) and 806.66 kg (33 bags).
    result = predict(
        server,
        colors="2 parts red, 1 part white",
        quality="preview",
        area=1076.39104,
        area_unit="ft2",
        depth_mm=20,
        binder_percent=18,
        wastage_percent=10,
    )
    assert result["status"] == "succeeded", result.get("error")
    order = json.loads(decode(result["output"][3]))["order"]
    assert order["area_m2"] == 100.0 and order["binder_kg"] == 435.6
    assert {code: c["bags"] for code, c in order["colours"].items()} == {"RED": 65, "WHITE": 33}


def test_sheet_input_adds_the_pdf_as_a_fifth_output(server):
    result = predict(
        server, colors="2:1 red/white", seed=4, quality="preview", area=50, depth_mm=10, sheet=True
    )
    assert result["status"] == "succeeded", result.get("error")
    assert len(result["output"]) == 5 and result["output"][4].startswith("data:application/pdf")
    # 50 m² x 0.010 m x 1,100 = 550 kg; x 1.05 = 577.5 kg; binder 115.5 kg; red 385.0 kg (16 bags)
    text = pypdf.PdfReader(io.BytesIO(decode(result["output"][4]))).pages[0].extract_text()
    for figure in ("RED66.667-WHITE33.333-A0-S4-QP-", "385.0", "16", "115.5 kg", "Seed 4"):
        assert figure in text


def test_without_an_area_the_report_has_no_order(server):
    result = predict(server, colors="red", quality="preview")
    assert "order" not in json.loads(decode(result["output"][3]))


def test_an_area_past_the_bound_in_m2_fails_naming_the_area(server):
    result = predict(server, colors="red", quality="preview", area=200_000)
    assert result["status"] == "failed"
    assert "area: must be from 0.1 to 100000 m²" in result["error"]


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"area": -1}, "area"),
        ({"area": 10, "depth_mm": 0}, "depth_mm"),
        ({"area": 10, "area_unit": "acre"}, "area_unit"),
        ({"area": 10, "binder_percent": 90}, "binder_percent"),
        ({"area": 10, "wastage_percent": -5}, "wastage_percent"),
        ({"area": 10, "bulk_density": 10}, "bulk_density"),
    ],
)
def test_schema_refuses_order_inputs_outside_the_form(server, inputs, field):
    result = predict(server, colors="red", **inputs)
    assert result["http_status"] == 422, result  # refused by the schema, before any prediction runs
    assert field in json.dumps(result)
