import json

import pytest

from plitka.outputs import MARKER, OutputFolders
from plitka.request import RequestError, build_request
from plitka.service import TileService
from plitka.settings import Settings


@pytest.fixture
def service(tmp_path):
    return TileService(Settings(work_dir=tmp_path / "work", keep_outputs=2))


def generate(service, text, **form):
    generation = service.start(build_request(text, **form))
    folder = service.new_output_folder()
    return generation, list(service.generate(generation, folder))


def test_outputs_come_in_streaming_order(service):
    _, outputs = generate(service, "60% red, 40% white", seed=5)
    assert [output.kind for output in outputs] == ["preview", "final", "colormap", "report"]
    assert [output.path.name for output in outputs] == [
        "preview.png",
        "final.png",
        "colormap.png",
        "report.json",
    ]


@pytest.mark.parametrize(
    ("text", "angle", "tolerance"),
    [
        ("60% red, 40% white", 0, 1.0),
        ("40% black, 60% white", 60, 1.0),
        ("10% blue, 10% dark green, 10% red, 70% yellow", 90, 1.0),
        ("33% blue, 33% dkgreen, 34% red", 135, 1.0),
        ("85% blue, 15% red", 45, 1.0),
        ("15% black, 85% white", 30, 1.0),
    ],
)
def test_measured_proportions_match_the_request(service, text, angle, tolerance):
    generation, _ = generate(service, text, seed=3, angle=angle)
    report = generation.report
    for code, share in report["requested"].items():
        assert report["measured"][code] == pytest.approx(share, abs=tolerance), report["measured"]
        assert report["layout"][code] == pytest.approx(share, abs=0.5)


def test_report_says_what_was_done(service):
    generation, outputs = generate(service, "красный 70, белый 30", quality="preview", output_format="jpg")
    report = json.loads(outputs[-1].path.read_text(encoding="utf-8"))
    assert report == generation.report
    assert report["engine"] == "procedural" and report["engine_requested"] == "auto"
    assert report["size"] == [768, 768]
    assert 0 <= report["seed"] <= 2**31 - 1
    assert set(report["timings"]) == {"layout", "preview", "final", "colormap", "measure", "total"}
    assert outputs[1].path.suffix == ".jpg"


def test_sdxl_without_weights_is_an_input_error(service):
    # The default SDXL base is a hub id; the tests run with HF_HUB_OFFLINE=1 and an empty cache.
    with pytest.raises(RequestError, match=r"engine: sdxl is unavailable here \(PLITKA_SDXL_SOURCE: .*OFF"):
        service.start(build_request("red", engine="sdxl"))


def test_only_the_newest_output_folders_are_kept(tmp_path):
    folders = OutputFolders(tmp_path, keep=2)
    made = [folders.new_folder() for _ in range(4)]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(path.name for path in made[-2:])


def test_pruning_leaves_folders_the_service_did_not_write(tmp_path):
    (tmp_path / "00000000-operators").mkdir()  # sorts before every output folder
    (tmp_path / "zzz-other").mkdir()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / MARKER).write_bytes(b"")
    (tmp_path / "00000000-link").symlink_to(elsewhere)  # a link to a folder with the marker
    folders = OutputFolders(tmp_path, keep=2)
    made = [folders.new_folder() for _ in range(5)]
    left = {path.name for path in tmp_path.iterdir()}
    assert left == {"00000000-operators", "zzz-other", "00000000-link", made[-2].name, made[-1].name}
    assert (elsewhere / MARKER).is_file()
