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


def _labelled_folder(tmp_path):
    """A folder as eval-recolor reads it: photos/ of crumb close-ups and labels.csv with their orders."""
    from plitka.layout import build_layout
    from plitka.render import render_tile

    (tmp_path / "photos").mkdir(parents=True)
    rows = ["file,family,label_in_name,proportions,trust"]
    for name, made, ordered in (
        ("a.png", {"RED": 90, "WHITE": 10}, "RED:50;WHITE:50"),
        ("b.png", {"BLUE": 50, "YELLOW": 50}, "BLUE:30;YELLOW:70"),
    ):
        render_tile(build_layout(made, size=640, seed=2)).crop((96, 96, 544, 544)).save(
            tmp_path / "photos" / name
        )
        rows.append(f"photos/{name},x,{ordered},{ordered},as_named")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_recolor_writes_the_four_outputs_and_prints_before_and_after(tmp_path, capsys):
    folder = _labelled_folder(tmp_path / "in")
    assert (
        main(["recolor", str(folder / "photos" / "a.png"), "50% red, 50% white", "--out", str(tmp_path)]) == 0
    )
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["measured_before_lock"]["RED"] > 80
    assert printed["measured"]["RED"] == pytest.approx(50, abs=1.0)
    for stem in ("preview.png", "final.png", "colormap.png", "report.json"):
        assert (tmp_path / stem).is_file()


def test_recolor_of_a_bad_image_exits_2_naming_image(tmp_path, capsys):
    (tmp_path / "small.png").parent.mkdir(exist_ok=True)
    Image.new("RGB", (100, 100)).save(tmp_path / "small.png")
    assert main(["recolor", str(tmp_path / "small.png"), "red", "--out", str(tmp_path / "out")]) == 2
    assert "image: 100x100 is too small" in capsys.readouterr().err


def test_eval_recolor_json_has_the_asked_keys(tmp_path, capsys):
    assert main(["eval-recolor", str(_labelled_folder(tmp_path)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"before", "after", "detail", "seconds", "files"} <= set(report)
    assert report["before"] > 15 and report["after"] < 1.0
    assert [entry["file"] for entry in report["files"]] == ["photos/a.png", "photos/b.png"]
