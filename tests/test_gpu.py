"""What only a GPU can show: the cap refusing what the card could hold, the guard on CUDA, NVML reading
torch's own device, a governed generation in fp16, CPU offload moving the models off the card, and the
cache given back. Skipped where torch sees no CUDA device; `pytest -m gpu` runs them on a lent GPU
(bench/README.md has the command). Each test prints its figures (`-s` shows them)."""

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (pytest -m gpu on a GPU)"),
]

ROOT = Path(__file__).resolve().parent.parent
GIB = 2**30
MIB = 2**20
LARGE_SEGMENT = 20 * MIB  # the caching allocator's segment for blocks of 1-10 MiB (kLargeBuffer)
DIFFUSION_MODELS = ("unet", "vae", "text_encoder", "text_encoder_2", "controlnet")
OFFLOADED_DURING_STEPS = ("text_encoder", "text_encoder_2")  # done before the steps: on the CPU then


@pytest.fixture(autouse=True)
def uncapped():
    """The cap is per process: every test starts and ends without one, on an emptied cache."""
    torch.cuda.set_per_process_memory_fraction(1.0)
    torch.cuda.empty_cache()
    yield
    torch.cuda.set_per_process_memory_fraction(1.0)
    torch.cuda.empty_cache()


@pytest.fixture
def cuda_guard():
    from plitka.governor import ModelManager
    from plitka.governor.guard import MemoryGuard
    from plitka.settings import Settings

    guard = MemoryGuard(Settings(vram_fraction=0.5, device="cuda"), ModelManager())
    guard.start("cuda")
    yield guard
    guard.stop()


def test_the_guard_runs_on_cuda(cuda_guard):
    from plitka.governor.devices import CudaDevice

    stats = cuda_guard.stats()
    assert isinstance(cuda_guard.device, CudaDevice), "the guard fell back to host memory"
    assert (stats["device"], stats["cap_enforced"]) == ("cuda", True)
    assert stats["backend"] in ("nvml", "torch.cuda")
    assert cuda_guard.budget == int(0.5 * cuda_guard.device.total_bytes())
    print(cuda_guard.device.describe())


def test_the_cap_refuses_what_fits_the_card_but_not_the_budget(cuda_guard):
    free, total = torch.cuda.mem_get_info()
    budget = cuda_guard.budget
    if free < budget + 2 * GIB:
        pytest.skip(
            f"the card is not idle enough: {free / GIB:.1f} GiB free, the test needs the budget "
            f"{budget / GIB:.1f} GiB + 2 GiB"
        )
    size = budget + (free - budget) // 2  # over the budget, within what the card has free
    print(f"free {free / GIB:.2f} of {total / GIB:.2f} GiB, budget {budget / GIB:.2f}, try {size / GIB:.2f}")
    with pytest.raises(torch.OutOfMemoryError):
        torch.empty(size, dtype=torch.uint8, device="cuda")
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(1.0)  # without the cap the card holds it
    block = torch.empty(size, dtype=torch.uint8, device="cuda")
    del block
    torch.cuda.empty_cache()
    cuda_guard.device.apply_cap(cuda_guard.fraction)
    inside = torch.empty(budget // 2, dtype=torch.uint8, device="cuda")  # within the budget: allowed
    del inside


def test_nvml_reads_torchs_own_device(cuda_guard):
    pytest.importorskip("pynvml")
    from plitka.governor.devices import torch_pci_bus_id

    device = cuda_guard.device
    assert device.backend == "nvml", "NVML did not open the device torch uses"
    nvml = device.nvml.identity()
    print(nvml, device.describe())
    assert nvml["uuid"].removeprefix("GPU-").removeprefix("MIG-") == str(device.properties.uuid)
    torch_bus = torch_pci_bus_id(device.properties)
    if torch_bus is not None:
        assert pci_address(nvml["pci_bus_id"]) == pci_address(torch_bus)
    # And what NVML reads moves with what torch allocates on its device.
    before = cuda_guard.read()
    block = torch.ones(GIB, dtype=torch.uint8, device="cuda")
    torch.cuda.synchronize()
    during = cuda_guard.read()
    del block
    assert before.free - during.free >= 0.9 * GIB, (before, during)
    assert abs(during.total - device.total_bytes()) < GIB and during.utilisation is not None


def pci_address(text: str) -> tuple[int, int, int]:
    """(domain, bus, device) of '00000000:3B:00.0' (NVML) or the same from torch."""
    domain, bus, rest = text.split(":")
    return int(domain, 16), int(bus, 16), int(rest.split(".")[0], 16)


@pytest.fixture
def cuda_engine(tiny_weights, tmp_path):
    from plitka.diffusion import DiffusionEngine

    engine = DiffusionEngine(tiny_weights.settings(work_dir=tmp_path, device="cuda", model_idle_seconds=0))
    engine.start()
    yield engine
    engine.teardown()


def test_a_governed_generation_on_cuda_runs_fp16_and_calibrates(cuda_engine):
    from tests.test_diffusion import run, tile_request

    result = run(cuda_engine, tile_request())
    assert result.mode == "normal" and result.peak_allocated > 0
    assert result.info["device"] == "cuda" and result.info["dtype"] == "float16"
    with cuda_engine.manager.acquire("pipeline-canny") as pipe:
        dtypes = {name: getattr(pipe, name).dtype for name in DIFFUSION_MODELS}
        places = {name: getattr(pipe, name).device.type for name in DIFFUSION_MODELS}
    assert set(dtypes.values()) == {torch.float16}, dtypes
    assert set(places.values()) == {"cuda"}, places
    assert cuda_engine.guard.estimator.measured, "the measured peaks did not calibrate the estimate"


def test_the_cache_is_given_back_after_a_generation(cuda_engine):
    """The bound comes from the tiny models themselves: the slack their own weights leave in the
    allocator's segments once the cache is emptied, plus one large segment."""
    from tests.test_diffusion import run, tile_request

    with cuda_engine.manager.acquire("pipeline-canny"):
        pass  # every model built, nothing generated yet
    torch.cuda.empty_cache()
    weights_slack = torch.cuda.memory_reserved() - torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    run(cuda_engine, tile_request())
    peak_reserved = torch.cuda.max_memory_reserved()
    reserved, allocated = torch.cuda.memory_reserved(), torch.cuda.memory_allocated()
    print(
        f"weights slack {weights_slack / MIB:.1f} MiB; generation: peak reserved {peak_reserved / MIB:.1f}, "
        f"after {reserved / MIB:.1f} reserved / {allocated / MIB:.1f} allocated MiB"
    )
    assert peak_reserved > reserved, "the generation reserved nothing to give back"
    assert reserved - allocated <= weights_slack + LARGE_SEGMENT


def test_offload_moves_the_models_off_the_card_during_the_steps(cuda_engine, monkeypatch):
    from tests.test_diffusion import run, tile_request
    from tests.test_governed_generation import offload_forced

    with cuda_engine.manager.acquire("pipeline-canny") as pipe:
        pass
    seen: list[tuple[int, dict[str, str]]] = []
    on_step = cuda_engine.guard.device.on_step

    def measure_then_step():
        places = {name: getattr(pipe, name).device.type for name in DIFFUSION_MODELS}
        seen.append((torch.cuda.memory_allocated(), places))
        on_step()

    monkeypatch.setattr(cuda_engine.guard.device, "on_step", measure_then_step)
    normal = run(cuda_engine, tile_request())
    normal_steps, seen[:] = list(seen), []
    offload_forced(cuda_engine, monkeypatch)
    offloaded = run(cuda_engine, tile_request())
    offload_steps = list(seen)
    on_cpu = {name for name in DIFFUSION_MODELS if all(places[name] == "cpu" for _, places in offload_steps)}
    moved = sum(
        parameter.numel() * parameter.element_size()
        for name in on_cpu
        for parameter in getattr(pipe, name).parameters()
    )
    normal_peak = max(allocated for allocated, _ in normal_steps)
    offload_peak = max(allocated for allocated, _ in offload_steps)
    print(
        f"allocated at the steps: normal {normal_peak / MIB:.1f} MiB, offload {offload_peak / MIB:.1f} MiB; "
        f"on the CPU during the offloaded steps: {sorted(on_cpu)}, {moved / MIB:.1f} MiB"
    )
    assert (normal.mode, offloaded.mode) == ("normal", "offload")
    assert all(places["unet"] == "cuda" for _, places in offload_steps)
    assert set(OFFLOADED_DURING_STEPS) <= on_cpu, on_cpu
    assert all(set(places.values()) == {"cuda"} for _, places in normal_steps)
    assert offload_peak <= normal_peak - 0.9 * moved  # what NVML and the cap count really went down
    places = {name: getattr(pipe, name).device.type for name in DIFFUSION_MODELS}
    assert set(places.values()) == {"cuda"}, f"not put back after the offloaded generation: {places}"


def test_start_up_on_a_gpu_imports_torch_for_the_guard_and_nothing_heavier():
    code = (
        "import sys, predict; from plitka.service import TileService; service = TileService(); "
        "service.setup(); print(service.diffusion.guard.device.kind); service.teardown(); "
        "heavy = [name for name in ('diffusers', 'transformers') if name in sys.modules]; "
        "assert not heavy, heavy"
    )
    started = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr[-2000:]
    assert started.stdout.split()[-1] == "cuda"
