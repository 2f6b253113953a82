"""engine=sdxl through the real Cog HTTP server (coglet) on the tiny random-weight models."""

import io
import json
import time

import pytest
import requests
from PIL import Image

from plitka.cog_client import WebhookReceiver, decode, predict, running_server

pytestmark = pytest.mark.server

SMALL = json.dumps({"overrides": {"resolution": 512, "steps": 4}})


@pytest.fixture(scope="module")
def server(sdxl_server):
    return sdxl_server


def sdxl(server, **inputs) -> tuple[dict, dict]:
    result = predict(server, colors="60% red, 40% white", params_json=SMALL, quality="preview", **inputs)
    assert result["status"] == "succeeded", result.get("error")
    return result, json.loads(decode(result["output"][3]))


def test_sdxl_prediction_streams_the_four_outputs_at_their_sizes(server):
    result, report = sdxl(server, engine="sdxl", seed=5)
    preview, final, colormap, _ = result["output"]
    assert Image.open(io.BytesIO(decode(preview))).size == (512, 512)
    assert Image.open(io.BytesIO(decode(final))).size == (512, 512)
    assert Image.open(io.BytesIO(decode(colormap))).width >= 512
    assert report["engine"] == "sdxl"
    assert report["diffusion"]["prompt"].startswith("ohwx_rubber_tile <s0><s1> 60% red, 40% white")
    assert report["diffusion"]["steps"] == 4 and report["diffusion"]["device"] == "cpu"
    assert result["metrics"]["timing"]["diffusion_s"] > 0


def test_the_preview_arrives_before_the_diffusion_run_ends(server):
    """Webhooks as Replicate receives them: the exact preview is out while the final image diffuses."""
    slow = json.dumps({"overrides": {"resolution": 512, "steps": 24}})
    with WebhookReceiver() as hooks:
        streamed = hooks.predict(server, colors="60% red, 40% white", params_json=slow, engine="sdxl", seed=8)
    assert streamed.final["status"] == "succeeded", streamed.final.get("error")
    assert len(streamed.output_seconds) == 4
    diffusion_s = streamed.final["metrics"]["timing"]["diffusion_s"]
    assert streamed.output_seconds[1] - streamed.first_output_seconds > diffusion_s / 2


def test_a_cancelled_prediction_releases_the_models_and_the_next_one_runs(server):
    """The default plain-generator run: coglet cancels it by raising CancelationException inside it."""
    sdxl(server, engine="sdxl", seed=1)  # models built: the long one below goes straight to denoising
    long_run = json.dumps({"overrides": {"resolution": 1024, "steps": 100}})
    body = {"input": {"colors": "100% red", "engine": "sdxl", "params_json": long_run}}
    with WebhookReceiver() as hooks:
        headers = {"Prefer": "respond-async"}
        body["webhook"], body["webhook_events_filter"] = hooks.url, ["output", "completed"]
        assert requests.put(f"{server}/predictions/cancel-me", json=body, headers=headers, timeout=10).ok
        time.sleep(3)  # past the preview, into the denoising
        assert requests.post(f"{server}/predictions/cancel-me/cancel", timeout=10).ok
        _, ended = hooks.events.get(timeout=60)
        while ended.get("status") not in ("canceled", "failed", "succeeded"):
            _, ended = hooks.events.get(timeout=60)
    assert ended["status"] == "canceled"
    result, _ = sdxl(server, engine="sdxl", seed=2)
    assert result["metrics"]["models"]["in_use"] == 0 and result["metrics"]["models"]["built"] == 0


def test_second_prediction_builds_nothing(server):
    sdxl(server, engine="sdxl", seed=1)  # whatever the first one had to build
    result, report = sdxl(server, engine="sdxl", seed=2)
    assert result["metrics"]["models"]["built"] == 0
    assert report["diffusion"]["models_built"] == []
    assert report["diffusion"]["models_reused"] == ["pipeline-canny"]


def test_controlnet_on_and_off(server):
    _, on = sdxl(server, engine="sdxl", seed=3, angle=45)
    off_params = json.dumps({"overrides": {"resolution": 512, "steps": 4, "use_controlnet": False}})
    result = predict(server, colors="60% red, 40% white", params_json=off_params, engine="sdxl", seed=3)
    assert result["status"] == "succeeded", result.get("error")
    off = json.loads(decode(result["output"][3]))
    assert on["diffusion"]["controlnet"] == "lineart"
    assert on["diffusion"]["control_image"].startswith("layout edges")
    assert off["diffusion"]["controlnet"] is None
    assert off["diffusion"]["controlnet_reason"] == "off (use_controlnet: false)"


def test_auto_picks_sdxl_when_the_product_weights_are_configured(server):
    _, report = sdxl(server, seed=4)
    assert report["engine"] == "sdxl"
    assert report["engine_reason"].startswith("auto: diffusion weights")


def test_seeded_sdxl_predictions_are_reproducible(server):
    first, _ = sdxl(server, engine="sdxl", seed=9)
    second, _ = sdxl(server, engine="sdxl", seed=9)
    assert first["output"][1] == second["output"][1]


def test_procedural_still_works_beside_sdxl(server):
    result = predict(server, colors="100% black", engine="procedural", quality="preview", seed=1)
    assert result["status"] == "succeeded", result.get("error")
    assert json.loads(decode(result["output"][3]))["engine"] == "procedural"


@pytest.fixture(scope="module")
def server_with_sd15_controlnet(tmp_path_factory, tiny_weights):
    env = dict(tiny_weights.environment(), PLITKA_CONTROLNET_CANNY_SOURCE=str(tiny_weights.controlnet_sd15))
    with running_server(tmp_path_factory.mktemp("work"), **env) as url:
        yield url


def test_wrong_controlnet_fails_clearly_and_the_server_keeps_serving(server_with_sd15_controlnet):
    url = server_with_sd15_controlnet
    failed = predict(url, colors="red", params_json=SMALL, engine="sdxl", seed=1)
    assert failed["status"] == "failed"
    assert "PLITKA_CONTROLNET_CANNY_SOURCE: this ControlNet was made for another UNet" in failed["error"]
    assert "Traceback" not in failed["error"]
    without = json.dumps({"overrides": {"resolution": 512, "steps": 4, "use_controlnet": False}})
    result = predict(url, colors="red", params_json=without, engine="sdxl", seed=1)
    assert result["status"] == "succeeded", result.get("error")
    report = json.loads(decode(result["output"][3]))
    assert "controlnet-canny" not in report["diffusion"]["models_built"]
    assert result["metrics"]["models"]["in_use"] == 0  # the failed one left no reference behind


def test_preload_builds_at_setup_so_the_first_prediction_does_not(tmp_path, tiny_weights):
    env = dict(tiny_weights.environment(), PLITKA_PRELOAD="base")
    with running_server(tmp_path, **env) as url:
        params = json.dumps({"overrides": {"resolution": 512, "steps": 4, "use_controlnet": False}})
        result = predict(url, colors="red", params_json=params, engine="sdxl", seed=1)
        assert result["status"] == "succeeded", result.get("error")
        assert result["metrics"]["models"]["built"] == 0


@pytest.fixture(scope="module")
def locked_report(server):
    """On by default: the tiny random model's output drifts far from the order."""
    return sdxl(server, engine="sdxl", seed=5)[1]


def test_the_colour_lock_runs_on_the_sdxl_final_and_reports_what_it_did(locked_report):
    lock = locked_report["lock"]
    assert lock["enabled"] and lock["painted"]
    assert 0 < lock["repainted_percent"] <= 100
    assert set(lock["confidence"]) == {"value", "signs"}
    assert set(locked_report["measured_before_lock"]) == {"RED", "WHITE"}
    assert locked_report["timings"]["lock"] > 0


def test_the_colour_lock_puts_the_sdxl_final_on_the_ordered_mix(locked_report):
    for code, share in locked_report["requested"].items():
        assert locked_report["measured"][code] == pytest.approx(share, abs=0.5)


def test_lock_false_leaves_the_diffusion_output_unlocked(server):
    params = json.dumps({"overrides": {"resolution": 512, "steps": 4, "lock": False}})
    result = predict(
        server, colors="60% red, 40% white", params_json=params, quality="preview", engine="sdxl", seed=5
    )
    assert result["status"] == "succeeded", result.get("error")
    report = json.loads(decode(result["output"][3]))
    assert report["lock"] == {"enabled": False, "reason": "off (lock: false)"}
    assert "measured_before_lock" not in report and "lock" not in report["timings"]
    locked, _ = sdxl(server, engine="sdxl", seed=5)
    assert decode(result["output"][1]) != decode(locked["output"][1])
