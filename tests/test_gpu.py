"""What only a GPU can show: the cap really holding, the cache really returning, NVML's readings, and a
governed generation on CUDA (fp16, calibration, CPU offload). Skipped where torch sees no CUDA device;
`pytest -m gpu` runs them on a lent GPU."""

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (pytest -m gpu on a GPU)"),
]

GIB = 2**30


@pytest.fixture
def cuda_guard():
    from plitka.governor import ModelManager
    from plitka.governor.guard import MemoryGuard
    from plitka.settings import Settings

    guard = MemoryGuard(Settings(vram_fraction=0.5, device="cuda"), ModelManager())
    guard.start("cuda")
    yield guard
    guard.stop()
    torch.cuda.set_per_process_memory_fraction(1.0)
    torch.cuda.empty_cache()


def test_the_cap_makes_an_over_budget_allocation_fail(cuda_guard):
    total = cuda_guard.device.total_bytes()
    assert cuda_guard.budget == total // 2
    with pytest.raises(torch.OutOfMemoryError):
        torch.empty(int(total * 0.6), dtype=torch.uint8, device="cuda")
    torch.cuda.empty_cache()
    inside = torch.empty(int(total * 0.3), dtype=torch.uint8, device="cuda")
    del inside


def test_emptying_the_cache_returns_reserved_memory(cuda_guard):
    idle = torch.cuda.memory_reserved()
    block = torch.empty(GIB, dtype=torch.uint8, device="cuda")
    del block
    assert torch.cuda.memory_reserved() >= idle + GIB  # freed, but still cached
    cuda_guard.empty_cache("test")
    assert torch.cuda.memory_reserved() <= idle


def test_nvml_reads_the_device_found_by_uuid(cuda_guard):
    reading = cuda_guard.read()
    pytest.importorskip("pynvml")
    assert cuda_guard.device.backend == "nvml"
    assert abs(reading.total - cuda_guard.device.total_bytes()) < GIB
    assert reading.free > 0 and reading.utilisation is not None
    print(cuda_guard.device.describe())


def test_a_governed_generation_on_cuda_calibrates_and_offloads(tiny_weights, tmp_path):
    from plitka.diffusion import DiffusionEngine
    from tests.test_diffusion import run, tile_request

    engine = DiffusionEngine(tiny_weights.settings(work_dir=tmp_path, device="cuda", model_idle_seconds=0))
    engine.start()
    try:
        normal = run(engine, tile_request())
        assert normal.mode == "normal" and normal.peak_allocated > 0
        assert engine.guard.estimator.measured, "the measured peaks did not calibrate the estimate"
        assert torch.cuda.memory_reserved() <= torch.cuda.memory_allocated() + 64 * 2**20  # cache emptied
        with engine.manager.acquire("pipeline-canny") as pipe:
            from plitka.diffusion.loaders import degraded

            with degraded(pipe, "offload", "cuda"):
                pass
            assert pipe.unet.device.type == "cuda"  # put back for the other views
    finally:
        engine.teardown()
