"""The lit bank (plitka/bank, docs/bank.md): loading with checksums, exact shares per request, the
renderer setting, and a small build where Mitsuba is installed."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from plitka.analysis import measure_proportions
from plitka.bank import BankError, BankLayout, choose_renderer, load_bank
from plitka.bank.shade import _visible, bank_layout, render_bank_tile
from plitka.bank.store import DEFAULT_BANK, MANIFEST
from plitka.colour.tile import tile_mask
from plitka.realism.camera import camera_stats


@pytest.fixture(scope="module")
def bank():
    return load_bank(DEFAULT_BANK)


def test_the_shipped_bank_loads_with_its_checksums(bank):
    assert len(bank.heaps) >= 2
    for heap in bank.heaps:
        assert heap.crumb.shape == heap.light.shape == heap.specular.shape == heap.depth.shape
        assert 0.005 < (heap.crumb < 0).mean() < 0.2  # binder shows in the gaps, but crumbs cover the tile
        assert heap.light[heap.crumb >= 0].std() > 0.1  # light varies: shadows and lit faces


def test_a_corrupted_bank_is_refused(tmp_path):
    folder = tmp_path / "bank"
    shutil.copytree(DEFAULT_BANK, folder)
    heap_file = sorted(folder.glob("*.npz"))[0]
    data = bytearray(heap_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    heap_file.write_bytes(bytes(data))
    with pytest.raises(BankError, match="checksum"):
        load_bank(folder)
    with pytest.raises(BankError):
        choose_renderer("bank", folder)
    fallback = choose_renderer("auto", folder)
    assert fallback.name == "flat" and "checksum" in fallback.reason


def test_a_bank_without_manifest_is_refused(tmp_path):
    folder = tmp_path / "bank"
    shutil.copytree(DEFAULT_BANK, folder)
    (folder / MANIFEST).unlink()
    with pytest.raises(BankError, match="manifest"):
        load_bank(folder)


def test_the_default_renderer_is_the_flat_one():
    from plitka.settings import Settings

    assert Settings().renderer == "flat"
    assert choose_renderer("flat").name == "flat"
    assert choose_renderer("auto").name == "bank"


@pytest.mark.parametrize(
    ("mix", "angle", "seed"),
    [
        ({"RED": 60, "WHITE": 40}, 0, 1),
        ({"BLUE": 33, "DKGREEN": 33, "RED": 34}, 135, 2),
        ({"BLACK": 15, "WHITE": 85}, 30, 3),
        ({"BLUE": 10, "DKGREEN": 10, "RED": 10, "YELLOW": 70}, 90, 4),
    ],
)
def test_bank_renders_hit_the_shares(bank, mix, angle, seed):
    layout = bank_layout(bank, mix, seed)
    assert isinstance(layout, BankLayout)
    for code, share in layout.area_shares().items():
        assert share == pytest.approx(mix[code], abs=0.02)  # the crumbs' visible areas
    measured = measure_proportions(render_bank_tile(layout, angle, size=1024), list(mix))
    for code, share in mix.items():
        assert measured[code] == pytest.approx(share, abs=1.0), (code, measured)


@pytest.mark.parametrize("seed", [1, 2])
def test_bank_renders_read_black_and_white_within_half_a_point(bank, seed):
    """40 BLACK / 60 WHITE at 60 degrees read BLACK 1.2 points high while the bank blurred its pictures
    as a lens would (0.5 px); the photos show no such softness (docs/bank.md, "Camera chain")."""
    mix = {"BLACK": 40, "WHITE": 60}
    measured = measure_proportions(render_bank_tile(bank_layout(bank, mix, seed), 60, size=1024), list(mix))
    assert measured["BLACK"] == pytest.approx(40, abs=0.5), measured


@pytest.mark.parametrize(
    ("mix", "seed"), [({"RED": 60, "WHITE": 40}, 2), ({"BLUE": 33, "DKGREEN": 33, "RED": 34}, 3)]
)
def test_bank_renders_add_no_lens_blur(bank, mix, seed):
    """The sharpest edges of a 1024 render step within 1.8 px (plitka.realism.camera's edge width):
    1.66-1.77 as the crumbs' own light and the warp leave them, 1.91-2.04 with a 0.5 px lens blur."""
    picture = np.asarray(render_bank_tile(bank_layout(bank, mix, seed), 0, size=1024))
    assert camera_stats(picture, tile_mask(picture))["edge_width"] < 1.8


def test_a_seed_picks_its_heap_and_turn_and_repeats(bank):
    mix = {"RED": 50, "BLUE": 50}
    first = np.asarray(render_bank_tile(bank_layout(bank, mix, 5), 0, size=256))
    again = np.asarray(render_bank_tile(bank_layout(bank, mix, 5), 0, size=256))
    other = np.asarray(render_bank_tile(bank_layout(bank, mix, 6), 0, size=256))
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other).mean() > 10


def _colour_light_tool():
    path = Path(__file__).resolve().parents[1] / "tools" / "bank_colour_light.py"
    spec = importlib.util.spec_from_file_location("bank_colour_light", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_colour_light_trial_powers_only_its_colours_light_about_an_open_top(bank):
    """docs/bank.md, fifth pass: the figures recorded there come from this rule (the tool's, not shipped)."""
    layout = bank_layout(bank, {"WHITE": 50, "PEARL": 50}, seed=1)
    heap, exposure = layout.heap, layout.heap.exposure
    trial = _colour_light_tool().with_contrast(layout, {"WHITE": 0.5}).heap.light
    visible = _visible(heap.crumb)
    colour = np.where(visible >= 0, layout.granule_color[np.maximum(visible, 0)], -1)
    white, others = colour == layout.codes.index("WHITE"), colour != layout.codes.index("WHITE")
    np.testing.assert_allclose(trial[others], heap.light[others], rtol=1e-5, atol=1e-6)
    opened = np.sqrt(np.maximum(heap.light[white] * exposure, 1e-6))
    np.testing.assert_allclose(trial[white] * exposure, opened, rtol=1e-4)
    assert np.log(trial[white]).std() == pytest.approx(np.log(heap.light[white]).std() / 2, rel=0.01)


@pytest.mark.skipif(importlib.util.find_spec("mitsuba") is None, reason="needs the bank extra (mitsuba)")
def test_a_small_bank_builds_and_loads(tmp_path):
    from plitka.bank.bank import build_bank

    costs = build_bank(tmp_path, heaps=1, size=96, samples=2, spacing=0.1)
    assert len(costs) == 1
    heap = load_bank(tmp_path).heaps[0]
    assert heap.size == 96
    crumbs = np.unique(heap.crumb[heap.crumb >= 0])
    assert len(crumbs) > 50  # ids come from the triangles' crumbs, one blob per crumb
    assert heap.light[heap.crumb >= 0].mean() > heap.light[heap.crumb < 0].mean() * 0.1


def _generated_report(settings, text: str) -> dict:
    from plitka.request import build_request
    from plitka.service import TileService

    service = TileService(settings)
    request = build_request(text, seed=1, angle=45)
    outputs = list(service.generate(service.start(request), service.new_output_folder()))
    return json.loads(outputs[-1].path.read_text())


def test_the_service_draws_with_the_bank_when_set_and_says_so(tmp_path):
    from plitka.settings import Settings

    report = _generated_report(Settings(work_dir=tmp_path, renderer="bank"), "60% red, 40% white")
    assert report["renderer"]["name"] == "bank"
    assert report["layout"] == {"RED": pytest.approx(60, abs=0.02), "WHITE": pytest.approx(40, abs=0.02)}
    assert report["max_error_points"] <= 1.0
    flat = _generated_report(Settings(work_dir=tmp_path), "60% red, 40% white")
    assert flat["renderer"] == {"name": "flat", "reason": "requested"}


def test_the_service_refuses_to_start_on_a_missing_bank(tmp_path):
    from plitka.service import TileService
    from plitka.settings import Settings

    with pytest.raises(BankError, match="manifest"):
        TileService(Settings(work_dir=tmp_path, renderer="bank", bank_dir=tmp_path / "nothing"))


@pytest.mark.parametrize("turn", range(8))
def test_the_turn_folded_into_the_warp_equals_turning_the_buffers(bank, turn):
    import cv2

    from plitka.bank import shade

    heap = bank.heaps[0]
    placement = shade._placement(heap.size, 30, 512)
    turned = shade._warp(shade._oriented(heap.light, turn), placement[:2], 512, cv2.INTER_LINEAR, 0)
    folded_matrix = (placement @ np.linalg.inv(shade._orientation(heap.size, turn)))[:2]
    folded = shade._warp(heap.light, folded_matrix, 512, cv2.INTER_LINEAR, 0)
    assert np.abs(turned - folded).max() < 0.01


def test_build_bank_check_names_a_corrupted_heap(tmp_path, capsys):
    from plitka.cli import main

    folder = tmp_path / "bank"
    shutil.copytree(DEFAULT_BANK, folder)
    assert main(["build-bank", "--check", "--out", str(folder)]) == 0
    heap_file = sorted(folder.glob("*.npz"))[-1]
    heap_file.write_bytes(heap_file.read_bytes()[:-10])
    assert main(["build-bank", "--check", "--out", str(folder)]) == 1
    assert heap_file.stem in capsys.readouterr().err


def test_build_bank_refuses_out_of_range_numbers(capsys):
    from plitka.cli import main

    with pytest.raises(SystemExit):
        main(["build-bank", "--heaps", "100000"])
    assert "--heaps" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (lambda m: m["heaps"].update({"../../etc/passwd": m["heaps"]["heap001"]}), "name"),
        (lambda m: m["heaps"]["heap001"].update(exposure=1e9), "exposure"),
        (lambda m: m.update(heaps={}), "heaps"),
        (lambda m: m.update(format=99), "format"),
    ],
)
def test_a_manifest_out_of_bounds_is_refused(tmp_path, change, refusal):
    folder = tmp_path / "bank"
    shutil.copytree(DEFAULT_BANK, folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    change(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BankError, match=refusal):
        load_bank(folder)


def test_eval_realism_names_a_missing_bank(tmp_path, monkeypatch, capsys):
    from plitka.cli import main
    from plitka.settings import get_settings

    (tmp_path / "labels.csv").write_text("file,proportions\n")
    monkeypatch.setenv("PLITKA_BANK_DIR", str(tmp_path / "nothing"))
    get_settings.cache_clear()
    try:
        assert main(["eval-realism", str(tmp_path), "--renderer", "bank"]) == 2
    finally:
        get_settings.cache_clear()
    assert "manifest" in capsys.readouterr().err
