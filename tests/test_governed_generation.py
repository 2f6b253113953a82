"""The guard in the serving path: real tiny SDXL pipelines (CPU) on a simulated device whose memory
the tests script, so out-of-memory errors, eviction and fallback can be made to happen."""

import threading

import pytest

from plitka.diffusion import DiffusionEngine
from plitka.governor import ModelManager
from plitka.governor.devices import GIB
from plitka.governor.estimate import MemoryNeed
from plitka.governor.gate import Cancelled
from plitka.governor.guard import MemoryGuard, MemoryShortError, OutOfMemory
from plitka.governor.simulated import SimulatedDevice
from plitka.layout import build_layout
from plitka.render import render_tile
from plitka.service import TileService
from tests.test_diffusion import SIZE, run, settings_for, tile_request

MIB = 2**20


def governed(tiny_weights, tmp_path, total=24 * GIB, **changes) -> tuple[DiffusionEngine, SimulatedDevice]:
    settings = settings_for(tiny_weights, tmp_path, **changes)
    manager = ModelManager()
    device = SimulatedDevice(total=total, weights=manager.loaded_bytes)
    engine = DiffusionEngine(settings, manager, MemoryGuard(settings, manager, device=device))
    return engine, device


@pytest.fixture(scope="module")
def shared_engine(tiny_weights, tmp_path_factory):
    snapshots = tmp_path_factory.mktemp("snapshots")
    engine, _ = governed(tiny_weights, snapshots, memory_snapshot=snapshots)
    yield engine
    engine.teardown()


@pytest.fixture
def engine(shared_engine):
    """The module's engine (its models stay loaded), with the device and the guard's figures reset."""
    device = shared_engine.guard.device
    device.fail_steps = device.step_bytes = device.other_processes = device.steps = 0
    device.calls.clear()
    shared_engine.guard.actions.clear()
    shared_engine.guard.estimator.measured.clear()
    return shared_engine


def references(engine) -> dict[str, int]:
    return {
        name: model["users"] for name, model in engine.manager.stats()["models"].items() if model["users"]
    }


def test_an_out_of_memory_error_mid_denoise_is_recovered_by_one_retry(engine):
    device = engine.guard.device
    device.fail_steps = 1
    result = run(engine, tile_request())
    assert result.mode == "tiled" and len(result.retries) == 1
    assert result.retries[0].startswith("normal: OutOfMemoryError: CUDA out of memory (simulated")
    assert result.image.size == (SIZE, SIZE)
    assert references(engine) == {}
    assert engine.guard.actions["oom"] == 1 and engine.guard.actions["snapshot"] == 1
    assert list(engine.settings.memory_snapshot.glob("oom-*.pickle")), "PLITKA_MEMORY_SNAPSHOT wrote none"
    with engine.manager.acquire("pipeline-canny") as pipe:
        assert not pipe.vae.use_tiling, "the degraded mode outlived its generation"


def test_an_out_of_memory_error_that_repeats_fails_clearly_and_leaks_nothing(engine):
    engine.guard.device.fail_steps = 100
    with pytest.raises(OutOfMemory, match=r"^out of simulated memory at 512x512 \(normal: .*; then tiled: "):
        run(engine, tile_request())
    assert references(engine) == {}
    assert engine.guard.gate.stats()["in_flight"] == 0
    engine.guard.device.fail_steps = 0
    assert run(engine, tile_request()).mode == "normal"  # and the engine still works


def test_the_cache_is_emptied_after_every_generation(engine, monkeypatch):
    device = engine.guard.device
    device.step_bytes = 64 * MIB  # each step's activations: freed afterwards, but kept in the cache
    cached_when_emptied = []
    empty = device.empty_cache
    monkeypatch.setattr(device, "empty_cache", lambda: (cached_when_emptied.append(device.cached), empty()))
    for expected in (1, 2):
        run(engine, tile_request())
        assert cached_when_emptied == [64 * MIB] * expected and device.cached == 0


def test_admission_evicts_an_idle_controlnet_to_make_room(tiny_weights, tmp_path):
    engine, device = governed(tiny_weights, tmp_path, allow_degrade=False)
    run(engine, tile_request(angle=0))  # canny ControlNet loaded, idle afterwards
    canny = engine.manager.stats()["models"]["controlnet-canny"]["bytes"]
    lineart = tile_request(angle=45)
    need = engine.memory_need(engine.plan(lineart), (SIZE, SIZE), "normal").total
    reading = device.read()
    # Another process takes the device's memory down to what fits only once canny is gone.
    device.other_processes = reading.free + reading.reserved - reading.allocated - need + canny // 2
    result = run(engine, lineart)
    # Least recently used first: the LoRA and TI tensors (idle once applied), then the canny view and
    # the ControlNet it held; the models the lineart pipeline needs are kept.
    assert result.ledger.evicted == ["ti", "lora", "pipeline-canny", "controlnet-canny"]
    assert result.admission.evicted == result.ledger.evicted
    assert not engine.manager.is_loaded("controlnet-canny") and engine.manager.is_loaded("pipeline-lineart")
    engine.teardown()


def test_admission_refuses_what_cannot_fit_with_the_figures(tiny_weights, tmp_path):
    engine, _ = governed(tiny_weights, tmp_path, total=256 * MIB)
    with pytest.raises(MemoryShortError, match=r"^not enough simulated memory .* GiB is available \(cap 70%"):
        run(engine, tile_request())
    assert references(engine) == {} and engine.manager.stats()["loaded"] == []  # refused before loading
    engine.teardown()


def test_cpu_fallback_runs_what_the_gpu_cannot_fit(tiny_weights, tmp_path):
    engine, _ = governed(tiny_weights, tmp_path, total=256 * MIB, cpu_fallback=True)
    service = TileService(engine.settings, engine)
    generation = service.start(tile_request())
    list(service.generate(generation, service.new_output_folder()))
    memory = generation.report["diffusion"]["memory"]
    assert memory["cpu_fallback"].startswith("not enough simulated memory")
    assert generation.report["diffusion"]["device"] == "cpu"
    service.teardown()


def test_a_generation_cancelled_before_it_starts_runs_no_step_and_releases(engine):
    request = tile_request()
    cancel = threading.Event()
    cancel.set()
    layout = build_layout(request.mix, size=SIZE, seed=request.seed)
    with pytest.raises(Cancelled, match="before denoising"):
        engine.generate(
            engine.plan(request), layout, render_tile(layout, request.angle), request.seed, cancel
        )
    assert engine.guard.device.steps == 0 and references(engine) == {}


def test_measured_peaks_replace_the_prior_estimate(engine):
    engine.guard.device.step_bytes = 100 * MIB
    before = engine.memory_need(engine.plan(tile_request()), (SIZE, SIZE), "normal")
    run(engine, tile_request())
    after = engine.memory_need(engine.plan(tile_request()), (SIZE, SIZE), "normal")
    assert (before.source, after.source) == ("prior", "measured")
    assert after.denoise == int(100 * MIB * engine.guard.estimator.margin)


def test_weights_are_estimated_from_their_files_before_the_first_build(tiny_weights, tmp_path):
    engine, _ = governed(tiny_weights, tmp_path)
    expected = {name: engine.footprint.expected_bytes(name) for name in ("base", "vae", "controlnet-canny")}
    run(engine, tile_request())
    for name, estimate in expected.items():
        measured = engine.manager.measured_bytes(name)
        assert estimate == pytest.approx(measured, rel=0.01), name  # + buffers not in the files
    engine.teardown()


def offload_forced(engine, monkeypatch) -> None:
    """Make only the offload mode fit, through the estimate the guard admits by."""
    real = engine.memory_need
    too_big = 10 * engine.guard.device.read().total

    def need(plan, size, mode):
        estimate = real(plan, size, mode)
        return estimate if mode == "offload" else MemoryNeed(mode, weights=too_big, denoise=0, decode=0)

    monkeypatch.setattr(engine, "memory_need", need)


OFFLOADED_MODELS = ("unet", "vae", "text_encoder", "text_encoder_2", "controlnet")


def test_the_offload_mode_really_offloads_and_is_undone_after(engine, monkeypatch):
    """On a CPU nothing can move off the device, so this shows the offload hooks on every model during
    the steps (test_gpu.py measures the bytes that move on CUDA)."""
    offload_forced(engine, monkeypatch)
    with engine.manager.acquire("pipeline-canny") as pipe:
        pass  # the same pipeline object the generation will run (a view kept by the manager)
    hooked_at_steps = []
    on_step = engine.guard.device.on_step

    def look_then_step():
        hooked_at_steps.append({name: hasattr(getattr(pipe, name), "_hf_hook") for name in OFFLOADED_MODELS})
        on_step()

    monkeypatch.setattr(engine.guard.device, "on_step", look_then_step)
    result = run(engine, tile_request())
    assert result.mode == "offload" and result.image.size == (SIZE, SIZE)
    assert hooked_at_steps and all(all(step.values()) for step in hooked_at_steps), hooked_at_steps
    assert not any(hasattr(getattr(pipe, name), "_hf_hook") for name in OFFLOADED_MODELS)
    assert not pipe.vae.use_tiling and references(engine) == {}
