"""From picture to order (issue 33): quantities against hand-worked orders, the share code, and the
spec sheet read back from the PDF the CLI writes."""

import json
import math
from datetime import UTC, datetime

import pypdf
import pytest

from plitka.cli import main
from plitka.order import Assumptions, area_in_m2, quantities
from plitka.order.share import code_for_report, decode, encode
from plitka.palette import PALETTE
from plitka.request import RequestError, build_request

DEFAULTS = Assumptions()  # 1,100 kg/m³, binder 20%, wastage 5%, 25 kg bags


def kg_and_bags(result):
    return {c.code: (round(c.kg, 4), c.bags) for c in result.colours}


# --- quantities: each case worked by hand in its comment -------------------------------------------


def test_order_of_120_m2_at_15_mm_in_60_40_red_white():
    # laid: 120 m² x 0.015 m x 1,100 kg/m³ = 1,980 kg; with 5% wastage 2,079 kg.
    # red 60% = 1,247.4 kg = 49.896 bags -> 50; white 40% = 831.6 kg = 33.264 bags -> 34.
    # binder 20% of 2,079 = 415.8 kg.
    result = quantities({"RED": 60, "WHITE": 40}, 120, 15)
    assert result.laid_rubber_kg == pytest.approx(1980)
    assert result.rubber_kg == pytest.approx(2079)
    assert kg_and_bags(result) == {"RED": (1247.4, 50), "WHITE": (831.6, 34)}
    assert result.binder_kg == pytest.approx(415.8)
    assert result.bags == 84


def test_order_of_one_colour_on_a_small_floor():
    # 10 m² x 0.010 m x 1,100 = 110 kg; x 1.05 = 115.5 kg = 4.62 bags -> 5; binder 0.2 x 115.5 = 23.1.
    result = quantities({"BLACK": 100}, 10, 10)
    assert kg_and_bags(result) == {"BLACK": (115.5, 5)}
    assert result.binder_kg == pytest.approx(23.1)


def test_a_whole_number_of_bags_is_not_rounded_up_to_one_more():
    # 70 m² x 0.010 m x 1,000 kg/m³ = 700 kg, no wastage: 350 kg a colour = exactly 14 bags.
    # (In floats 350.00000000000006 kg: a bare ceil would order 15.)
    result = quantities({"RED": 50, "WHITE": 50}, 70, 10, Assumptions(1000, 0.2, 0.0, 25))
    assert kg_and_bags(result) == {"RED": (350.0, 14), "WHITE": (350.0, 14)}
    assert result.binder_kg == pytest.approx(140)


def test_order_in_square_feet_with_parts_and_other_assumptions():
    # 1,076.39104 ft² = 100 m² (1 ft = 0.3048 m). 100 m² x 0.020 m x 1,100 = 2,200 kg; wastage 10%:
    # 2,420 kg. '2 parts red, 1 part white' = 66.667% / 33.333%:
    # red 2,420 x 0.66667 = 1,613.3414 kg = 64.53 bags -> 65; white 806.6586 kg = 32.27 -> 33.
    # binder 18% of 2,420 = 435.6 kg.
    mix = build_request("2 parts red, 1 part white").mix
    area = area_in_m2(1076.39104, "ft2")
    assert area == pytest.approx(100, abs=1e-6)
    result = quantities(mix, area, 20, Assumptions(1100, 0.18, 0.10, 25))
    assert result.rubber_kg == pytest.approx(2420)
    assert kg_and_bags(result) == {"RED": (1613.3414, 65), "WHITE": (806.6586, 33)}
    assert result.binder_kg == pytest.approx(435.6)


def test_order_of_four_colours_in_20_kg_bags():
    # 33 m² x 0.012 m x 1,200 = 475.2 kg; x 1.07 = 508.464 kg; a quarter each = 127.116 kg
    # = 6.3558 bags of 20 kg -> 7 each, 28 in all; binder 0.2 x 508.464 = 101.6928 kg.
    mix = build_request("1:1:1:1 red/white/black/blue").mix
    result = quantities(mix, 33, 12, Assumptions(1200, 0.20, 0.07, 20))
    assert kg_and_bags(result) == {code: (127.116, 7) for code in ("RED", "WHITE", "BLACK", "BLUE")}
    assert result.bags == 28
    assert result.binder_kg == pytest.approx(101.6928)


def test_every_colour_of_a_tiny_order_gets_a_whole_bag():
    # 0.5 m² x 0.010 m x 1,100 = 5.5 kg; x 1.05 = 5.775 kg: red 70% = 4.0425 kg, white 1.7325 kg,
    # each less than a bag and each one bag.
    result = quantities({"RED": 70, "WHITE": 30}, 0.5, 10)
    assert kg_and_bags(result) == {"RED": (4.0425, 1), "WHITE": (1.7325, 1)}


def test_report_dict_holds_the_assumptions_beside_the_figures():
    order = quantities({"RED": 60, "WHITE": 40}, 120, 15).to_dict()
    assert order["assumptions"] == {
        "bulk_density_kg_m3": 1100.0,
        "binder_share": 0.2,
        "wastage": 0.05,
        "bag_kg": 25.0,
    }
    assert order["colours"]["RED"] == {"share": 60, "kg": 1247.4, "bags": 50}
    assert order["bags"] == 84 and order["binder_kg"] == 415.8


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: area_in_m2(0), "area"),
        (lambda: area_in_m2(-5), "area"),
        (lambda: area_in_m2(math.nan), "area"),
        (lambda: area_in_m2(math.inf), "area"),
        (lambda: area_in_m2(True), "area"),
        (lambda: area_in_m2("120"), "area"),
        (lambda: area_in_m2(100_001), "area"),
        (lambda: area_in_m2(0.5, "ft2"), "area"),
        (lambda: area_in_m2(10, "yd2"), "area_unit"),
        (lambda: quantities({"RED": 100}, 10, 0.5), "depth_mm"),
        (lambda: quantities({"RED": 100}, 10, 101), "depth_mm"),
        (lambda: Assumptions(bulk_density_kg_m3=50), "bulk_density_kg_m3"),
        (lambda: Assumptions(binder_share=0.6), "binder_share"),
        (lambda: Assumptions(wastage=-0.1), "wastage"),
        (lambda: Assumptions(bag_kg=0), "bag_kg"),
    ],
)
def test_every_order_input_is_bounded_and_refused_by_name(call, field):
    with pytest.raises(RequestError) as error:
        call()
    assert error.value.field == field
    assert len(str(error.value)) < 120


# --- the share code -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("colors", "form"),
    [
        ("60% red, 40% white", {"angle": 45, "seed": 7, "quality": "standard"}),
        ("2 parts red, 1 part white", {"angle": 150, "seed": 2**31 - 1, "quality": "high"}),
        ("0.1% black, 49.9% white, 25% blue, 25% yellow", {"seed": 0, "quality": "preview"}),
    ],
)
def test_share_code_round_trips_the_request(colors, form):
    request = build_request(colors, **form)
    code = encode(request)
    assert decode(code) == request
    assert decode(f"  {code.lower()} ") == request  # read out over the phone, typed in lower case
    assert len(code) <= 60


def test_share_code_needs_a_fixed_seed():
    with pytest.raises(RequestError, match="seed: a share code needs a fixed seed"):
        encode(build_request("red"))


@pytest.mark.parametrize(
    "code",
    [
        "",
        "RED",
        "RED60-WHITE40-A0-S7-QS-00",  # wrong check characters
        "RED60-WHITE40-A0-S7-QS-X",
        "x" * 121,
        "-" * 100,
        "RED60-WHITE40-A0-S7-QS",
        "RED60-WHITE40-A0-S7-Q-😀",
    ],
)
def test_garbage_share_codes_are_refused_naming_the_code(code):
    with pytest.raises(RequestError) as error:
        decode(code)
    assert error.value.field == "code"


def test_a_mistyped_character_is_caught_by_the_check():
    code = encode(build_request("60% red, 40% white", angle=45, seed=7))
    typo = code.replace("S7", "S1")
    with pytest.raises(RequestError, match="mistyped"):
        decode(typo)


def test_a_code_with_a_valid_check_is_still_held_to_the_request_rules():
    from plitka.order.share import _check

    for body, fragment in (("RED60-XYZ40-A0-S7-QS", "unknown colour"), ("RED60-WHITE40-A33-S7-QS", "not a")):
        with pytest.raises(RequestError, match=fragment) as error:
            decode(f"{body}-{_check(body)}")
        assert error.value.field == "code"


def test_code_for_report_uses_the_seed_the_generation_used():
    report = {"requested": {"RED": 60.0, "WHITE": 40.0}, "angle": 90, "quality": "preview", "seed": 1234}
    request = decode(code_for_report(report))
    assert (request.mix, request.angle, request.quality, request.seed) == (
        {"RED": 60.0, "WHITE": 40.0},
        90,
        "preview",
        1234,
    )


# --- the spec sheet, read back ------------------------------------------------------------------------


def test_sheet_command_writes_a_pdf_whose_text_holds_codes_shares_kg_bags_and_assumptions(tmp_path, capsys):
    out = tmp_path / "sheet.pdf"
    assert main(["sheet", "60% red, 40% white", "--area", "120", "--depth", "15", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    reader = pypdf.PdfReader(out)
    assert len(reader.pages) == 1
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [595, 842]  # A4 in points
    text = reader.pages[0].extract_text()
    for code in ("RED", "WHITE"):
        assert code in text and PALETTE[code].hex in text
        assert f"{summary['measured'][code]:.1f}" in text
    for figure in ("60.0", "40.0", "1,247.4", "831.6", "50", "34", "84 bags", "415.8 kg", "2,079.0 kg"):
        assert figure in text
    for assumption in DEFAULTS.describe():
        assert assumption in text
    assert f"Seed {summary['seed']}, angle 0 degrees, quality standard" in text
    assert summary["code"] in text and decode(summary["code"]).seed == summary["seed"]
    assert f"Date: {datetime.now(UTC).date().isoformat()}" in text
    assert "Area 120.00 m², wear course 15 mm deep." in text


def test_sheet_from_a_share_code_with_other_assumptions(tmp_path, capsys):
    code = encode(build_request("2:1 red/white", seed=5, quality="preview"))
    out = tmp_path / "sheet.pdf"
    args = ["sheet", "--code", code, "--area", "1076.39104", "--area-unit", "ft2", "--depth", "20"]
    assert main([*args, "--binder", "18", "--wastage", "10", "--out", str(out)]) == 0
    text = pypdf.PdfReader(out).pages[0].extract_text()
    assert "1,613.3" in text and "65" in text and "806.7" in text and "435.6 kg" in text
    assert "PU binder: 18% of the rubber's weight" in text and "Wastage allowance: 10%" in text
    assert code in text


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["60% red, 40% white", "--area", "-3"], "area"),
        (["60% red, 40% white", "--area", "120", "--depth", "500"], "depth_mm"),
        (["60% red, 40% white", "--area", "120", "--binder", "90"], "binder_percent"),
        (["60% red, 40% white", "--area", "120", "--area-unit", "acres"], "area_unit"),
        (["--code", "NOT-A-CODE"], "code"),
    ],
)
def test_sheet_refuses_bad_order_inputs_by_name(tmp_path, capsys, args, field):
    assert main(["sheet", *args, "--out", str(tmp_path / "s.pdf")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {field}:")
    assert not (tmp_path / "s.pdf").exists()


def test_share_command_prints_the_code(capsys):
    assert main(["share", "2:1 red/white", "--angle", "45", "--seed", "9"]) == 0
    code = capsys.readouterr().out.strip()
    assert decode(code) == build_request("2:1 red/white", angle=45, seed=9)


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ({"bulk_density": 5000}, "bulk_density"),
        ({"binder_percent": 0.2}, "binder_percent"),  # a fraction where percent is asked
        ({"wastage_percent": 75}, "wastage_percent"),
        ({"bag_kg": 0}, "bag_kg"),
        ({"depth_mm": math.nan}, "depth_mm"),
    ],
)
def test_order_inputs_in_percent_are_refused_under_the_inputs_names(inputs, field):
    from plitka.order import order_for

    with pytest.raises(RequestError) as error:
        order_for({"RED": 100}, 10, **inputs)
    assert error.value.field == field


def test_generate_from_a_share_code_makes_the_tile_the_code_names(tmp_path, capsys):
    code = encode(build_request("3:1 red/white", angle=90, seed=21, quality="preview"))
    assert main(["generate", "--code", code, "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["requested"], report["angle"], report["seed"], report["quality"]) == (
        {"RED": 75.0, "WHITE": 25.0},
        90,
        21,
        "preview",
    )


def test_a_sheet_without_an_area_has_no_quantities(tmp_path, capsys):
    out = tmp_path / "sheet.pdf"
    assert main(["sheet", "red", "--seed", "2", "--quality", "preview", "--out", str(out)]) == 0
    text = pypdf.PdfReader(out).pages[0].extract_text()
    assert "RED" in text and "Seed 2" in text
    assert "Quantities" not in text and "Bags" not in text
