"""MemoryGuard on a simulated device: the cap, each threshold action, the cooldown, the watching thread,
admission and the degraded modes. The device's numbers are scripted; the ModelManager is the real one."""

import threading

import pytest
import torch

from plitka.governor import Ledger, ModelManager, ModelSpec, devices
from plitka.governor.devices import GIB, Device, configure_allocator
from plitka.governor.estimate import MemoryNeed
from plitka.governor.guard import MemoryGuard, MemoryShortError, fraction_for
from plitka.governor.simulated import SimulatedDevice
from plitka.settings import Settings, SettingsError, load_settings

MIB = 2**20


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def weights(mib: int):
    return lambda _held: torch.zeros(mib * MIB, dtype=torch.uint8)


@pytest.fixture
def manager():
    manager = ModelManager()
    for name in ("old", "recent", "busy"):
        manager.declare(ModelSpec(name, weights(10)))
    return manager


def guard_on(device: Device, manager: ModelManager, clock=None, **settings) -> MemoryGuard:
    values = {"guard_cooldown": 10.0, **settings}
    return MemoryGuard(Settings(**values), manager, device=device, clock=clock or Clock())


def load(manager, clock, *names):
    for name in names:
        clock.now += 1
        manager.preload([name])


# --- the cap ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total_gib", "fraction"), [(80, 0.80), (24, 0.80), (16, 0.75), (12, 0.75), (11.9, 0.70), (8, 0.70)]
)
def test_fraction_follows_the_card_size(total_gib, fraction):
    assert fraction_for(int(total_gib * GIB), None)[0] == fraction


def test_cap_is_applied_with_the_byte_budget(manager):
    device = SimulatedDevice(total=16 * GIB)
    guard = guard_on(device, manager)
    assert device.calls == ["apply_cap:0.75"]
    assert guard.budget == int(0.75 * 16 * GIB)
    assert guard.stats()["fraction_reason"] == "by card size (16 GiB)"


def test_the_fraction_setting_overrides_within_its_bounds(manager, monkeypatch):
    device = SimulatedDevice(total=80 * GIB)
    assert guard_on(device, manager, vram_fraction=0.5).budget == 40 * GIB
    for wrong in ("0.45", "0.85"):
        monkeypatch.setenv("PLITKA_VRAM_FRACTION", wrong)
        with pytest.raises(SettingsError, match=r"PLITKA_VRAM_FRACTION: Input should be"):
            load_settings()


def test_allocator_settings_are_set_once_and_an_operators_value_wins(monkeypatch):
    monkeypatch.delenv("PYTORCH_ALLOC_CONF", raising=False)
    monkeypatch.delenv("PYTORCH_CUDA_ALLOC_CONF", raising=False)
    assert configure_allocator("expandable_segments:True") == "expandable_segments:True"
    monkeypatch.setenv("PYTORCH_CUDA_ALLOC_CONF", "max_split_size_mb:128")
    monkeypatch.delenv("PYTORCH_ALLOC_CONF")
    assert configure_allocator("expandable_segments:True") == "max_split_size_mb:128"


# --- watching --------------------------------------------------------------------------------------


def test_over_the_soft_threshold_the_cache_is_emptied_when_nothing_generates(manager):
    device = SimulatedDevice(total=1000 * MIB, cached=600 * MIB)  # budget 700 MiB (0.70): soft 560, hard 665
    guard = guard_on(device, manager)
    assert guard.poll() == ["empty_cache_requested", "empty_cache"]
    assert device.cached == 0 and guard.actions["empty_cache"] == 1


def test_mid_generation_the_guard_only_raises_a_flag(manager):
    device = SimulatedDevice(total=1000 * MIB, cached=600 * MIB)
    guard = guard_on(device, manager)
    with guard.gate.enter():  # a generation holds the device
        assert guard.poll() == ["empty_cache_requested"]
        assert "empty_cache" not in device.calls
    guard.before_generation()  # the next generation honours the flag first
    assert device.calls.count("empty_cache") == 1 and device.cached == 0


def test_over_the_hard_threshold_idle_models_go_least_recently_used_first(manager):
    clock = Clock()
    manager._clock = clock
    load(manager, clock, "old", "recent")
    device = SimulatedDevice(total=100 * MIB, weights=manager.loaded_bytes, cached=37 * MIB)
    # budget 70 MiB, soft 59.5, hard 66.5: 30 MiB of weights + 37 cached is 7.5 MiB over soft
    guard = guard_on(device, manager, clock=clock, guard_soft=0.85)
    with manager.acquire("busy"):  # in use: never evicted
        clock.now += 1
        assert guard.poll()[0] == "evict"
    assert not manager.is_loaded("old") and manager.is_loaded("recent") and manager.is_loaded("busy")
    assert manager.events["evicted_memory"] == 1


def test_cooldown_stops_the_guard_repeating_itself(manager):
    clock = Clock()
    device = SimulatedDevice(total=1000 * MIB, cached=600 * MIB)
    guard = guard_on(device, manager, clock=clock)
    with guard.gate.enter():
        assert guard.poll() == ["empty_cache_requested"]
        assert guard.poll() == []
        clock.now += 10
        assert guard.poll() == ["empty_cache_requested"]
    assert guard.actions["empty_cache_cooldown"] == 1


class FlakyDevice(SimulatedDevice):
    def __init__(self):
        super().__init__(total=1000 * MIB)
        self.failures = 2
        self.polled = threading.Event()

    def read(self):
        if threading.current_thread().name == "plitka-memory-guard":
            if self.failures:
                self.failures -= 1
                raise RuntimeError("driver hiccup")
            self.polled.set()
        return super().read()


def test_the_watching_thread_outlives_errors_and_stops_on_teardown(manager):
    device = FlakyDevice()
    guard = guard_on(device, manager, guard_interval=0.01)
    guard.start("cuda")
    assert device.polled.wait(5), "the thread stopped polling after an error"
    assert guard.actions["poll_error"] == 2
    guard.stop()
    assert not any(thread.name == "plitka-memory-guard" for thread in threading.enumerate())
    assert device.closed


def test_no_gpu_is_a_normal_state(manager, monkeypatch):
    monkeypatch.setattr(devices, "detect_gpu_without_torch", lambda: False)  # as on a host without NVML
    guard = MemoryGuard(Settings(), manager)
    guard.start("auto")
    try:
        stats = guard.stats()
        assert (stats["device"], stats["backend"], stats["cap_enforced"]) == ("cpu", "psutil", False)
        assert stats["reading"]["total"] > 0 and guard.headroom()[0] > 0
    finally:
        guard.stop()


def test_auto_watches_the_gpu_where_nvml_sees_one(manager, monkeypatch):
    opened = []
    monkeypatch.setattr(devices, "detect_gpu_without_torch", lambda: True)
    monkeypatch.setattr(devices, "open_device", lambda kind: opened.append(kind) or SimulatedDevice(16 * GIB))
    guard = MemoryGuard(Settings(), manager)
    guard.start("auto")
    try:
        assert opened == ["cuda"] and guard.stats()["device"] == "simulated"
        assert guard.budget == int(0.75 * 16 * GIB)  # the cap follows the opened device
    finally:
        guard.stop()


# --- admission -------------------------------------------------------------------------------------


def need(normal: int, tiled: int | None = None, offload: int | None = None):
    sizes = {"normal": normal, "tiled": tiled or normal, "offload": offload or tiled or normal}
    return lambda mode: MemoryNeed(mode, weights=0, denoise=sizes[mode] * MIB, decode=0)


def test_admission_passes_what_fits(manager):
    guard = guard_on(SimulatedDevice(total=100 * MIB), manager)  # budget 70 MiB
    admission = guard.admit(need(60), set(), Ledger())
    assert (admission.mode, admission.evicted) == ("normal", [])


def test_admission_refuses_then_passes_after_evicting_idle_models(manager):
    clock = Clock()
    manager._clock = clock
    load(manager, clock, "old", "recent")
    device = SimulatedDevice(total=100 * MIB, weights=manager.loaded_bytes)
    guard = guard_on(device, manager, clock=clock, allow_degrade=False)  # 70 MiB budget, 20 MiB used
    ledger = Ledger()
    admission = guard.admit(need(55), keep={"recent"}, ledger=ledger)
    assert admission.mode == "normal" and admission.evicted == ["old"] == ledger.evicted
    assert manager.is_loaded("recent")
    with pytest.raises(MemoryShortError) as refused:
        guard.admit(need(65), keep={"recent"}, ledger=Ledger())
    assert refused.value.needed == 65 * MIB and refused.value.available == 60 * MIB
    message = str(refused.value)
    assert "needs 0.06 GiB" in message and "0.06 GiB is available" in message
    assert "PLITKA_CPU_FALLBACK" in message and guard.actions["admission_refused"] == 1


def test_short_of_memory_the_guard_degrades_in_order(manager):
    guard = guard_on(SimulatedDevice(total=100 * MIB), manager)
    assert guard.admit(need(90, tiled=60), set(), Ledger()).mode == "tiled"
    assert guard.admit(need(90, tiled=80, offload=50), set(), Ledger()).mode == "offload"
    assert guard.actions["degraded_tiled"] == 1 and guard.actions["degraded_offload"] == 1
    with pytest.raises(MemoryShortError, match=r"normal needs .* tiled needs .* offload needs"):
        guard.admit(need(90, tiled=80, offload=75), set(), Ledger())


def test_the_cap_bounds_admission_even_where_the_device_has_room(manager):
    device = SimulatedDevice(total=100 * MIB)
    guard = guard_on(device, manager, vram_fraction=0.5)
    available, bound = guard.headroom()
    assert available == 50 * MIB and bound.startswith("cap 50%")
    device.other_processes = 80 * MIB  # another process fills the device: free memory bounds it now
    available, bound = guard.headroom()
    assert available == 20 * MIB and bound.startswith("device free")


def test_retry_modes_follow_the_degrade_order(manager):
    guard = guard_on(SimulatedDevice(), manager)
    assert [guard.next_mode(mode) for mode in ("normal", "tiled", "offload")] == ["tiled", "offload", None]
    assert guard_on(SimulatedDevice(), manager, allow_degrade=False).next_mode("normal") is None


def test_guard_settings_are_checked_together():
    with pytest.raises(ValueError, match=r"PLITKA_GUARD_SOFT .* must be below PLITKA_GUARD_HARD"):
        Settings(guard_soft=0.9, guard_hard=0.9)


@pytest.mark.skipif(not devices.HostDevice().has_cache, reason="the C library is not glibc: no malloc_trim")
def test_the_host_device_gives_freed_heap_back_between_generations():
    """Freed small blocks among live ones stay resident under glibc until malloc_trim: a CPU worker's
    resident size would creep over thousands of generations."""
    device = devices.HostDevice()
    chunks = [bytearray(60_000) for _ in range(4000)]  # 240 MB in heap blocks, under the mmap threshold
    survivors = chunks[::20]  # a live block every 1.2 MB keeps the heap from shrinking by itself
    del chunks
    resident = device.read().allocated
    device.empty_cache()
    assert resident - device.read().allocated > 150 * 2**20
    assert len(survivors) == 200
