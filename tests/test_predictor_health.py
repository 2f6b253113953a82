"""The Cog adapter's guards (issue 11): errors short enough for coglet's frames, healthcheck() false
once the worker cannot serve."""

import threading

import pytest

from plitka.governor.exporter import Telemetry
from plitka.service import TileService
from plitka.settings import Settings
from predict import MAX_ERROR_LENGTH, Predictor

INPUTS = {
    "colors": "60% red, 40% white",
    "params_json": None,
    "angle": 0,
    "quality": "preview",
    "seed": 1,
    "output_format": "png",
    "engine": "procedural",
}


@pytest.fixture
def predictor(tmp_path):
    """A Predictor as setup() makes it, without the SIGTERM handler setup() installs."""
    predictor = Predictor()
    predictor.service = TileService(Settings(work_dir=tmp_path / "work"))
    predictor.telemetry = Telemetry(predictor.service.diffusion.guard, predictor.service.diffusion.manager)
    return predictor


def failing_with(error):
    def generate(*args):
        raise error
        yield  # a generator, like TileService.generate

    return generate


def test_a_huge_error_message_is_cut_below_coglets_frame_size(predictor, monkeypatch):
    monkeypatch.setattr(predictor.service, "generate", failing_with(ValueError("\x7f" * 2_000_000)))
    with pytest.raises(RuntimeError) as caught:
        list(predictor.stream(INPUTS, threading.Event()))
    assert str(caught.value).startswith("ValueError: '\\x7f")
    assert len(str(caught.value)) <= MAX_ERROR_LENGTH


def test_a_short_error_passes_unchanged(predictor, monkeypatch):
    monkeypatch.setattr(predictor.service, "generate", failing_with(ValueError("short")))
    with pytest.raises(ValueError, match=r"^short$"):
        list(predictor.stream(INPUTS, threading.Event()))


def test_healthcheck_passes_on_a_fresh_predictor(predictor):
    assert predictor.healthcheck() is True


def test_healthcheck_fails_after_a_fatal_cuda_error(predictor, monkeypatch, capsys):
    error = RuntimeError("CUDA error: an illegal memory access was encountered")
    monkeypatch.setattr(predictor.service, "generate", failing_with(error))
    with pytest.raises(RuntimeError):
        list(predictor.stream(INPUTS, threading.Event()))
    assert predictor.healthcheck() is False
    assert "fatal device error" in capsys.readouterr().err


def test_healthcheck_fails_when_no_output_folder_can_be_made(predictor, tmp_path, capsys):
    (tmp_path / "work").write_text("a file where the work dir should be")
    assert predictor.healthcheck() is False
    assert "is not writable" in capsys.readouterr().err


def test_an_ordinary_error_does_not_mark_the_worker_broken(predictor, monkeypatch):
    monkeypatch.setattr(predictor.service, "generate", failing_with(ValueError("bad pixel")))
    with pytest.raises(ValueError):
        list(predictor.stream(INPUTS, threading.Event()))
    assert predictor.healthcheck() is True
