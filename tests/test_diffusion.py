"""The SDXL engine on tiny random-weight models, through the real loading code and diffusers pipelines."""

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from plitka.diffusion import DiffusionEngine, WeightsError
from plitka.diffusion.control import control_type_for, layout_edges
from plitka.diffusion.prompt import build_prompt
from plitka.layout import build_layout
from plitka.render import render_tile
from plitka.request import Overrides, RequestError, TileRequest
from plitka.service import TileService
from plitka.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent
SIZE = 512


def settings_for(tiny_weights, tmp_path, **changes) -> Settings:
    return tiny_weights.settings(**{"work_dir": tmp_path / "work", "model_idle_seconds": 0, **changes})


@pytest.fixture
def engine(tiny_weights, tmp_path):
    engine = DiffusionEngine(settings_for(tiny_weights, tmp_path))
    yield engine
    engine.teardown()


def tile_request(angle=0, **overrides) -> TileRequest:
    return TileRequest(
        mix={"RED": 60.0, "WHITE": 40.0},
        angle=angle,
        quality="preview",
        seed=7,
        engine="sdxl",
        overrides=Overrides(resolution=SIZE, steps=4, **overrides),
    )


def run(engine, request):
    layout = build_layout(request.mix, size=SIZE, seed=request.seed)
    return engine.generate(engine.plan(request), layout, render_tile(layout, request.angle), request.seed)


def all_references(engine) -> dict[str, int]:
    models = engine.manager.stats()["models"]
    return {name: model["users"] for name, model in models.items() if model["users"]}


def test_controlnet_pipeline_is_a_view_over_the_base_components(engine):
    with engine.manager.acquire("pipeline") as plain, engine.manager.acquire("pipeline-canny") as canny:
        assert canny.unet is plain.unet
        assert canny.vae is plain.vae
        assert canny.text_encoder is plain.text_encoder and canny.text_encoder_2 is plain.text_encoder_2
        stats = engine.manager.stats()["models"]
    assert stats["base"]["builds"] == 1 and stats["pipeline-canny"]["bytes"] == 0
    assert stats["controlnet-canny"]["bytes"] > 0


def test_cpu_runs_in_float32(engine):
    with engine.manager.acquire("pipeline") as pipe:
        assert engine.runtime.device == "cpu"
        assert {str(module.dtype) for module in (pipe.unet, pipe.vae, pipe.text_encoder)} == {"torch.float32"}


def test_the_controlnet_view_keeps_the_shared_models_in_half_precision(tiny_weights, tmp_path):
    """What CUDA runs (fp16), checked on the CPU: building the ControlNet view must not cast the shared
    UNet, VAE and encoders to fp32 (diffusers' from_pipe does unless told the dtype; found on an H200)."""
    import torch

    from plitka.diffusion import loaders

    half = DiffusionEngine(tiny_weights.settings(work_dir=tmp_path, model_idle_seconds=0))
    half._runtime = loaders.Runtime("cpu", torch.float16)
    half.start()
    try:
        with half.manager.acquire("pipeline") as plain, half.manager.acquire("pipeline-canny") as canny:
            models = ("unet", "vae", "text_encoder", "text_encoder_2")
            dtypes = {
                f"{name} ({view})": getattr(pipe, name).dtype
                for view, pipe in (("plain", plain), ("canny", canny))
                for name in models
            }
            dtypes["controlnet"] = canny.controlnet.dtype
    finally:
        half.teardown()
    assert set(dtypes.values()) == {torch.float16}, dtypes


def test_the_report_names_sdpa_attention_and_compile_is_off_by_default(engine):
    info = run(engine, tile_request()).info
    assert info["attention"] == "AttnProcessor2_0"  # PyTorch's scaled_dot_product_attention
    assert info["torch_compile"] is False and info["channels_last"] is False  # channels-last: CUDA only


def test_torch_compile_setting_compiles_the_unet_and_controlnets_in_place(tiny_weights, tmp_path):
    """Compilation itself happens at the first call (about 43 s for the tiny models on a 2-core CPU:
    bench/run.py measures it), so this only checks what the setting does at build."""
    engine = DiffusionEngine(settings_for(tiny_weights, tmp_path, torch_compile=True))
    try:
        with engine.manager.acquire("pipeline-canny") as pipe:
            assert pipe.unet._compiled_call_impl is not None
            assert pipe.controlnet._compiled_call_impl is not None
            assert pipe.vae._compiled_call_impl is None and pipe.text_encoder._compiled_call_impl is None
    finally:
        engine.teardown()


def test_sd15_controlnet_is_refused_at_load_with_the_setting_named(tiny_weights, tmp_path):
    engine = DiffusionEngine(
        settings_for(tiny_weights, tmp_path, controlnet_canny_source=str(tiny_weights.controlnet_sd15))
    )
    with pytest.raises(WeightsError) as caught, engine.manager.acquire("pipeline-canny"):
        pass
    message = str(caught.value)
    assert message.startswith("PLITKA_CONTROLNET_CANNY_SOURCE: this ControlNet was made for another UNet")
    assert "cross_attention_dim 768 (the UNet has 64)" in message and "SD 1.5" in message
    assert all_references(engine) == {}


def test_textual_inversion_puts_both_tokens_into_both_encoders(engine, tiny_weights):
    from safetensors.torch import load_file

    rows = load_file(tiny_weights.ti)
    with engine.manager.acquire("pipeline") as pipe:
        for tokenizer, encoder, key in (
            (pipe.tokenizer, pipe.text_encoder, "clip_l"),
            (pipe.tokenizer_2, pipe.text_encoder_2, "clip_g"),
        ):
            ids = tokenizer.convert_tokens_to_ids(["<s0>", "<s1>"])
            embeddings = encoder.get_input_embeddings().weight[ids].detach()
            assert np.allclose(embeddings.numpy(), rows[key].numpy())


def test_seeded_generation_is_reproducible_and_lora_scale_matters(engine):
    first = np.asarray(run(engine, tile_request(use_controlnet=False)).image)
    again = np.asarray(run(engine, tile_request(use_controlnet=False)).image)
    no_lora = np.asarray(run(engine, tile_request(use_controlnet=False, lora_scale=0.0)).image)
    assert first.shape == (SIZE, SIZE, 3)
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - no_lora).mean() > 1


@pytest.mark.parametrize(
    ("angle", "use_controlnet", "controlnet", "control_image"),
    [
        (0, None, "canny", "opencv canny"),
        (45, None, "lineart", "layout edges"),
        (20, None, "softedge", "layout edges"),
        (0, False, None, None),
    ],
)
def test_controlnet_by_angle_on_and_off(engine, angle, use_controlnet, controlnet, control_image):
    result = run(engine, tile_request(angle=angle, use_controlnet=use_controlnet))
    assert result.image.size == (SIZE, SIZE)
    assert result.info["controlnet"] == controlnet
    assert (result.info["control_image"] or "").startswith(control_image or "")
    expected_pipeline = f"pipeline-{controlnet}" if controlnet else "pipeline"
    assert expected_pipeline in result.ledger.built
    assert all_references(engine) == {}


def test_a_second_generation_builds_nothing(engine):
    first = run(engine, tile_request())
    second = run(engine, tile_request())
    assert "base" in first.ledger.built and second.ledger.built == []
    assert second.ledger.reused == ["pipeline-canny"]


def test_a_generation_that_raises_releases_its_references(engine, monkeypatch):
    def broken(*args):
        raise RuntimeError("denoising failed")

    monkeypatch.setattr(engine, "_denoise", broken)
    with pytest.raises(RuntimeError, match="denoising failed"):
        run(engine, tile_request())
    assert engine.manager.is_loaded("pipeline-canny")
    assert all_references(engine) == {}


def test_two_concurrent_requests_share_one_build(tiny_weights, tmp_path):
    service = TileService(settings_for(tiny_weights, tmp_path))

    def predict(_):
        generation = service.start(replace(tile_request(), seed=3))
        return list(service.generate(generation, service.new_output_folder()))

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert all(len(outputs) == 4 for outputs in pool.map(predict, range(2), timeout=120))
    models = service.diffusion.manager.stats()["models"]
    assert {name: model["builds"] for name, model in models.items() if model["builds"]} == {
        "base": 1, "vae": 1, "lora": 1, "ti": 1, "pipeline": 1, "controlnet-canny": 1, "pipeline-canny": 1,
    }  # fmt: skip
    service.teardown()


def test_missing_weights_give_one_clear_error_naming_the_setting(tiny_weights, tmp_path):
    absent = tmp_path / "no-such-model"
    engine = DiffusionEngine(settings_for(tiny_weights, tmp_path, sdxl_source=str(absent)))
    availability = engine.availability()
    assert not availability.ok and availability.reason.startswith("PLITKA_SDXL_SOURCE:")
    with pytest.raises(WeightsError, match=r"^PLITKA_SDXL_SOURCE: no such file or folder"):
        run(engine, tile_request())
    assert all_references(engine) == {}


def test_broken_weights_give_one_clear_error(tiny_weights, tmp_path):
    broken = tmp_path / "broken"
    (broken / "unet").mkdir(parents=True)
    (broken / "unet" / "config.json").write_text("{not json")
    engine = DiffusionEngine(settings_for(tiny_weights, tmp_path, sdxl_source=str(broken)))
    with pytest.raises(WeightsError) as caught:
        run(engine, tile_request())
    assert str(caught.value).startswith("PLITKA_SDXL_SOURCE: cannot load the SDXL base:")
    assert "\n" not in str(caught.value)


def test_bad_textual_inversion_file_is_explained(tiny_weights, tmp_path):
    from safetensors.torch import load_file, save_file

    tensors = load_file(tiny_weights.ti)
    bad = tmp_path / "ti.safetensors"
    save_file({"clip_l": tensors["clip_l"]}, str(bad))
    engine = DiffusionEngine(settings_for(tiny_weights, tmp_path, ti_source=str(bad)))
    with pytest.raises(WeightsError, match=r"^PLITKA_TI_SOURCE: the file lacks clip_g"):
        run(engine, tile_request())


def test_lora_from_a_url_is_downloaded_into_the_cache(tiny_weights, tmp_path):
    import functools
    import hashlib
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=tiny_weights.folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    digest = hashlib.sha256(tiny_weights.lora.read_bytes()).hexdigest()
    url = f"http://127.0.0.1:{server.server_address[1]}/{tiny_weights.lora.name}#sha256={digest}"
    try:
        engine = DiffusionEngine(
            settings_for(tiny_weights, tmp_path, lora_source=url, cache_dir=tmp_path / "c")
        )
        result = run(engine, tile_request(use_controlnet=False))
    finally:
        server.shutdown()
        server.server_close()
    assert "lora" in result.ledger.built and result.info["lora"].startswith("url:")
    assert list((tmp_path / "c" / "url").rglob(tiny_weights.lora.name))


def test_preload_builds_at_start_and_unknown_names_stop_start_up(tiny_weights, tmp_path):
    engine = DiffusionEngine(settings_for(tiny_weights, tmp_path, preload="base"))
    engine.start()
    assert engine.manager.is_loaded("pipeline") and all_references(engine) == {}
    engine.teardown()
    assert engine.manager.stats()["loaded"] == []
    with pytest.raises(SettingsError, match="PLITKA_PRELOAD: unknown model"):
        DiffusionEngine(settings_for(tiny_weights, tmp_path, preload="unet"))


def test_preload_all_builds_the_controlnets_the_offered_angles_use():
    engine = DiffusionEngine(Settings())
    assert engine._preload_names("all") == ["pipeline", "pipeline-canny", "pipeline-lineart"]


def test_engine_choice(tiny_weights, tmp_path):
    configured = TileService(settings_for(tiny_weights, tmp_path))
    assert configured.choose_engine("auto")[0] == "sdxl"
    assert configured.choose_engine("procedural")[0] == "procedural"
    plain = TileService(settings_for(tiny_weights, tmp_path, lora_source="", ti_source=""))
    engine, reason = plain.choose_engine("auto")
    assert engine == "procedural" and "PLITKA_LORA_SOURCE" in reason
    assert plain.choose_engine("sdxl")[0] == "sdxl"  # the base alone is enough when asked for
    missing = TileService(settings_for(tiny_weights, tmp_path, sdxl_source=str(tmp_path / "absent")))
    assert missing.choose_engine("auto")[0] == "procedural"
    with pytest.raises(RequestError, match=r"^engine: sdxl is unavailable here"):
        missing.choose_engine("sdxl")


def test_nothing_heavy_is_imported_at_start_up():
    # Without a GPU (forced through the device seam, so this holds on a GPU host too; there the guard
    # imports torch to open CUDA: test_gpu.py checks that it imports nothing else).
    code = (
        "import sys, predict; from plitka.governor import devices; "
        "devices.detect_gpu_without_torch = lambda: False; "
        "from plitka.service import TileService; service = TileService(); "
        "service.setup(); service.teardown(); "
        "heavy = [name for name in ('torch', 'diffusers', 'transformers') if name in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.parametrize(
    ("angle", "kind"),
    [(0, "canny"), (90, "canny"), (180, "canny"), (30, "lineart"), (45, "lineart"), (60, "lineart"),
     (120, "lineart"), (150, "lineart"), (15, "softedge"), (75, "softedge"), (165, "softedge")],
)  # fmt: skip
def test_control_type_by_angle(angle, kind):
    assert control_type_for(angle) == kind


def test_layout_edges_outline_the_granules():
    layout = build_layout({"RED": 50, "WHITE": 50}, size=256, seed=1)
    lines = np.asarray(layout_edges(layout, 0, 256, soft=False))[..., 0]
    soft = np.asarray(layout_edges(layout, 0, 256, soft=True))[..., 0]
    assert set(np.unique(lines)) == {0, 255} and 0.05 < (lines == 255).mean() < 0.6
    assert len(np.unique(soft)) > 10 and soft.max() == 255


def test_prompt_carries_the_tokens_and_the_mix():
    request = tile_request()
    assert build_prompt(request).startswith("ohwx_rubber_tile <s0><s1> 60% red, 40% white")
    custom = replace(request, overrides=Overrides(prompt="a tile, {mix}"))
    assert build_prompt(custom) == "a tile, 60% red, 40% white"


def test_an_unreachable_source_is_probed_again_later(tiny_weights, tmp_path, monkeypatch):
    from plitka.diffusion import engine as engine_module

    late = tmp_path / "late-sdxl"
    engine = DiffusionEngine(settings_for(tiny_weights, tmp_path, sdxl_source=str(late)))
    assert not engine.availability().ok
    late.symlink_to(tiny_weights.sdxl)
    assert not engine.availability().ok  # remembered for a while: no probe per request
    monkeypatch.setattr(engine_module, "RECHECK_UNREACHABLE_SECONDS", 0.0)
    assert engine.availability().ok


def test_an_unreachable_controlnet_is_skipped_unless_forced(tiny_weights, tmp_path):
    engine = DiffusionEngine(
        settings_for(tiny_weights, tmp_path, controlnet_canny_source=str(tmp_path / "no"))
    )
    plan = engine.plan(tile_request())
    assert plan.controlnet is None and plan.controlnet_reason.startswith(
        "off: the canny ControlNet is unavailable"
    )
    with pytest.raises(RequestError, match=r"^params_json.overrides.use_controlnet: the canny ControlNet"):
        engine.plan(tile_request(use_controlnet=True))


@pytest.mark.parametrize("revision", ["", "@0123456789abcdef0123456789abcdef01234567"])
def test_hub_id_loads_from_the_hub_cache_offline(tiny_weights, tmp_path, revision):
    """The hub path for real: a repo id (and revision) resolved from PLITKA_CACHE_DIR/hub, offline."""
    import shutil

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "cache" / "hub" / "models--plitka--tiny-sdxl"
    shutil.copytree(tiny_weights.sdxl, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    settings = settings_for(
        tiny_weights,
        tmp_path,
        sdxl_source=f"plitka/tiny-sdxl{revision}",
        vae_source="",
        cache_dir=tmp_path / "cache",
    )
    engine = DiffusionEngine(settings)
    assert engine.availability().ok
    result = run(engine, tile_request(use_controlnet=False))
    assert result.image.size == (SIZE, SIZE) and {"base", "vae"} <= set(result.ledger.built)
    assert engine.sources["base"].describe() == f"hub:plitka/tiny-sdxl{revision}"
