import json

import pytest
from PIL import Image

from plitka.analysis import evaluate_reference_set
from plitka.cli import DEFAULT_REFERENCE, main


def test_generate_writes_the_four_outputs(tmp_path, capsys):
    assert (
        main(["generate", "60% red, 40% white", "--angle", "0", "--seed", "7", "--out", str(tmp_path)]) == 0
    )
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["colormap.png", "final.png", "preview.png", "report.json"]
    assert Image.open(tmp_path / "final.png").size == (1024, 1024)
    assert Image.open(tmp_path / "preview.png").size == (512, 512)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["seed"] == 7
    assert set(report["measured"]) == {"RED", "WHITE"}
    assert '"seed": 7' in capsys.readouterr().out


def test_measure_prints_json(tmp_path, capsys):
    main(["generate", "30% black, 70% white", "--seed", "1", "--quality", "preview", "--out", str(tmp_path)])
    capsys.readouterr()
    assert main(["measure", str(tmp_path / "final.png"), "--colors", "black, white"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["BLACK"] == pytest.approx(30, abs=1.0)


def test_bad_input_exits_2_with_the_field_named(tmp_path, capsys):
    assert main(["generate", "60% red, 30% white", "--out", str(tmp_path)]) == 2
    assert "error: colors: shares must sum to 100%" in capsys.readouterr().err


@pytest.mark.reference
def test_eval_measure_json_on_the_reference_tiles(reference_tiles, capsys):
    # The accuracy itself is asserted in test_analysis.py; here: the command prints the figures.
    assert main(["eval-measure", str(reference_tiles), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) == {"mae", "families"}
    assert figures["families"]["BLACK-WHITE"]["n"] == 5
    assert figures["mae"] == evaluate_reference_set(reference_tiles).to_dict(include_files=False)["mae"]


def test_eval_measure_default_folder_is_beside_the_checkout():
    assert DEFAULT_REFERENCE.parts[-2:] == ("shared", "reference-tiles")


def test_a_generation_this_machine_cannot_fit_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    from plitka.governor.guard import MemoryShortError
    from plitka.service import TileService

    message = "not enough cuda memory for this generation: it needs 9.0 GiB"

    def short_of_memory(*args, **kwargs):
        raise MemoryShortError(message, 9, 4)
        yield

    monkeypatch.setattr(TileService, "generate", short_of_memory)
    assert main(["generate", "100% red", "--out", str(tmp_path)]) == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: not enough cuda memory for this generation: it needs 9.0 GiB"
    )
