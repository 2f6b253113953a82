"""MemoryGuard: caps the process's share of the device, watches it, and decides before each generation
whether it fits, degrading or refusing with the figures when it does not.

The watching thread only reads memory and raises flags or evicts idle models: emptying the CUDA cache
synchronises the device, so it happens between generations (in the serving path, or in the thread
while it holds the generation gate).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plitka.governor import devices
from plitka.governor.devices import GIB, Device, HostDevice, MemoryReading, configure_allocator
from plitka.governor.estimate import DEGRADE_ORDER, MemoryEstimator, MemoryNeed, Mode
from plitka.governor.gate import GenerationGate
from plitka.governor.models import Ledger, ModelManager
from plitka.settings import Settings

log = logging.getLogger("plitka.governor")

# VRAM share by card size, as the product always had it: (smallest total, fraction), largest first.
FRACTION_BY_CARD = ((24 * GIB, 0.80), (12 * GIB, 0.75), (0, 0.70))
HOST_FRACTION = 0.80  # on cpu the budget is a threshold only: nothing can enforce it
OFFLOAD_KINDS = ("cuda", "simulated")  # model CPU offload needs an accelerator to offload from


class MemoryShortError(RuntimeError):
    """A generation does not fit, even after evicting idle models and degrading."""

    def __init__(self, message: str, needed: int, available: int):
        super().__init__(message)
        self.needed = needed
        self.available = available


class OutOfMemory(MemoryShortError):
    """The device ran out of memory during a generation, also on the retry."""


@dataclass
class Admission:
    """The guard's decision for one generation, as it goes into the report."""

    mode: Mode
    need: MemoryNeed
    available: int
    evicted: list[str] = field(default_factory=list)
    refused_modes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "need_bytes": self.need.total,
            "available_bytes": self.available,
            "estimate": self.need.describe(),
            "evicted": self.evicted,
            "refused_modes": self.refused_modes,
        }


def fraction_for(total: int, setting: float | None) -> tuple[float, str]:
    if setting is not None:
        return setting, "PLITKA_VRAM_FRACTION"
    for smallest, fraction in FRACTION_BY_CARD:
        if total >= smallest:
            return fraction, f"by card size ({total / GIB:.0f} GiB)"
    raise AssertionError("FRACTION_BY_CARD ends with 0")


def gib(value: int) -> str:
    return f"{value / GIB:.2f} GiB"


class MemoryGuard:
    def __init__(
        self,
        settings: Settings,
        manager: ModelManager,
        device: Device | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        """device: a fixed probe (tests pass a SimulatedDevice); None: host memory until `start` or
        `use` names the device diffusion runs on."""
        self.settings = settings
        self.manager = manager
        self._fixed_device = device is not None
        self._clock = clock
        self.gate = GenerationGate(
            slots=1, max_waiting=settings.max_concurrency, timeout=settings.queue_timeout
        )  # one generation at a time: the pipelines share the UNet, the scheduler and the LoRA scale
        self.estimator = MemoryEstimator(margin=settings.memory_margin)
        self.device: Device = device or HostDevice()
        self.fraction, self.fraction_reason, self.budget = HOST_FRACTION, "", 0
        self.actions: Counter[str] = Counter()
        self.last: MemoryReading | None = None
        self.peaks: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._empty_requested = threading.Event()
        self._last_action: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._apply_cap()

    # --- life cycle ----------------------------------------------------------------------------

    def start(self, kind: str) -> None:
        """Configure the allocators (before anything starts CUDA), open the probe for `kind` (auto:
        cuda where NVML sees a GPU), cap, and start watching."""
        configure_allocator(self.settings.cuda_alloc_conf)
        if kind == "auto":
            kind = "cuda" if devices.detect_gpu_without_torch() else "cpu"
        self.use(kind)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, name="plitka-memory-guard", daemon=True)
            self._thread.start()

    def use(self, kind: str) -> None:
        """Switch the probe to the device diffusion really runs on (known once torch is imported)."""
        if kind == self.device.kind or self._fixed_device:
            return
        try:
            device = devices.open_device(kind)  # through the module: the seam tests replace
        except Exception as error:  # no CUDA in this torch, no driver: watching the host still works
            log.warning(
                "memory guard: cannot open %s (%s: %s); watching host memory",
                kind,
                type(error).__name__,
                error,
            )
            device = HostDevice()
        self.device.close()
        self.device = device
        self._apply_cap()

    def watching(self) -> bool:
        """True unless the watching thread was started and has died."""
        return self._thread is None or self._thread.is_alive()

    def stop(self) -> None:
        if self._thread:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None
        self.device.close()
        log.info("memory guard stopped; actions: %s", dict(self.actions) or "none")

    def _apply_cap(self) -> None:
        total = self.device.total_bytes()
        if self.device.enforces_cap:
            self.fraction, self.fraction_reason = fraction_for(total, self.settings.vram_fraction)
            self.device.apply_cap(self.fraction)
        else:
            self.fraction = self.settings.vram_fraction or HOST_FRACTION
            self.fraction_reason = "threshold only: nothing enforces a cap on cpu"
        self.budget = int(self.fraction * total)
        if self.settings.memory_snapshot:
            self.device.record_history()
        self.read()
        log.info(
            "memory guard on %s (%s): cap %.0f%% of %s = %s (%s)",
            self.device.kind,
            self.device.backend,
            self.fraction * 100,
            gib(total),
            gib(self.budget),
            self.fraction_reason,
        )
        log.info("memory guard device: %s", self.device.describe())  # the slow per-process queries, once

    # --- watching ------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.guard_interval):
            try:
                self.poll()
            except Exception:  # the guard must outlive any one failure
                self._count("poll_error")
                log.exception("memory guard: poll failed")

    def read(self) -> MemoryReading:
        reading = self.device.read()
        with self._lock:
            self.last = reading
            for name in ("reserved", "allocated", "used"):
                self.peaks[name] = max(self.peaks[name], getattr(reading, name))
        return reading

    def poll(self) -> list[str]:
        """One look at memory and what it calls for; returns the actions taken."""
        reading = self.read()
        taken = []
        if reading.reserved >= self.settings.guard_hard * self.budget and self._cooled("evict"):
            self._evict_for(reading)
            taken.append("evict")
        elif reading.reserved >= self.settings.guard_soft * self.budget and self._cooled("empty_cache"):
            self._request_empty_cache(reading)
            taken.append("empty_cache_requested")
        if self._empty_requested.is_set() and self.gate.try_enter():  # nothing generates: safe now
            try:
                self.empty_cache("idle")
                taken.append("empty_cache")
            finally:
                self.gate.leave()
        return taken

    def _cooled(self, action: str) -> bool:
        now = self._clock()
        if now - self._last_action.get(action, -float("inf")) < self.settings.guard_cooldown:
            self._count(f"{action}_cooldown", logging.DEBUG)
            return False
        self._last_action[action] = now
        return True

    def _request_empty_cache(self, reading: MemoryReading) -> None:
        self._empty_requested.set()
        self._count(
            "empty_cache_requested", logging.INFO, f"reserved {gib(reading.reserved)} over soft threshold"
        )

    def _evict_for(self, reading: MemoryReading) -> None:
        target = int(self.settings.guard_soft * self.budget)
        loaded_before = self.manager.loaded_bytes()
        evicted = self.manager.evict_lru(need_bytes=reading.reserved - target, reason="memory")
        self._empty_requested.set()  # evicted weights go back to the device with the cache
        self._count(
            "evict",
            logging.WARNING,
            f"reserved {gib(reading.reserved)} over hard threshold: "
            f"evicted {evicted or 'nothing (all in use)'}, "
            f"model weights {gib(loaded_before)} -> {gib(self.manager.loaded_bytes())}",
        )

    # --- between generations -------------------------------------------------------------------

    def empty_cache(self, when: str) -> None:
        """Give cached blocks back to the device. Only where no generation runs."""
        self._empty_requested.clear()
        if not self.device.has_cache:
            return
        before = self.device.read()
        self.device.empty_cache()
        after = self.read()
        self._count(
            "empty_cache",
            logging.DEBUG if when == "after generation" else logging.INFO,
            f"({when}): reserved {gib(before.reserved)} -> {gib(after.reserved)}",
        )

    def before_generation(self) -> None:
        if self._empty_requested.is_set():
            self.empty_cache("requested by the guard")

    def after_generation(self) -> None:
        self.empty_cache("after generation")

    # --- admission -----------------------------------------------------------------------------

    def headroom(self) -> tuple[int, str]:
        """Bytes a generation can still take, and what bounds them. The cap counts reserved bytes but
        the allocator reuses its own cached blocks, so both bounds count those as usable."""
        reading = self.read()
        cached = reading.reserved - reading.allocated
        under_cap = self.budget - reading.allocated
        on_device = reading.free + cached
        if under_cap <= on_device:
            return under_cap, f"cap {self.fraction:.0%} = {gib(self.budget)}, {gib(reading.allocated)} in use"
        return on_device, f"device free {gib(reading.free)} + cached {gib(cached)}"

    def admit(self, need_in: Callable[[Mode], MemoryNeed], keep: set[str], ledger: Ledger) -> Admission:
        """The mode a generation runs in: as asked if it fits; else after evicting idle models; else
        degraded (where allowed); else MemoryShortError with the figures."""
        needs = {mode: need_in(mode) for mode in self._modes()}  # each estimated once
        available, bound = self.headroom()
        if needs["normal"].total <= available:
            return Admission("normal", needs["normal"], available)
        evicted = self.manager.evict_lru(
            need_bytes=needs["normal"].total - available, reason="admission", keep=keep
        )
        ledger.evicted.extend(evicted)
        if evicted:
            self.empty_cache("admission")
            available, bound = self.headroom()
        refused: list[str] = []
        for mode, need in needs.items():
            if need.total <= available:
                if mode != "normal":
                    self._count(
                        f"degraded_{mode}", logging.WARNING, f"needs {gib(need.total)} of {gib(available)}"
                    )
                return Admission(mode, need, available, evicted, refused)
            refused.append(f"{mode} needs {gib(need.total)}")
        self._count("admission_refused", logging.WARNING, f"{'; '.join(refused)}; {gib(available)} available")
        smallest = min(needs.values(), key=lambda need: need.total)
        raise MemoryShortError(
            f"not enough {self.device.kind} memory for this generation: it needs {gib(smallest.total)} "
            f"({'; '.join(refused)}), {gib(available)} is available ({bound}); "
            f"evicted idle models: {', '.join(evicted) or 'none'}. Use a lower resolution or quality, "
            "raise PLITKA_VRAM_FRACTION, or set PLITKA_CPU_FALLBACK=true",
            needed=smallest.total,
            available=available,
        )

    def next_mode(self, mode: Mode) -> Mode | None:
        """The mode to retry in after running out of memory in `mode`."""
        modes = self._modes()
        later = modes[modes.index(mode) + 1 :] if mode in modes else []
        return later[0] if later else None

    def _modes(self) -> tuple[Mode, ...]:
        if not self.settings.allow_degrade:
            return ("normal",)
        return tuple(mode for mode in DEGRADE_ORDER if mode != "offload" or self.device.kind in OFFLOAD_KINDS)

    # --- out of memory -------------------------------------------------------------------------

    def write_snapshot(self) -> Path | None:
        """Inside the OOM's except block, while its tensors are still alive: the allocator's history."""
        target = self.settings.memory_snapshot
        if target is None:
            return None
        path = target / f"oom-{time.strftime('%Y%m%d-%H%M%S')}.pickle" if target.is_dir() else target
        try:
            written = self.device.snapshot(path)
        except Exception as error:
            log.warning("memory snapshot failed: %s", error)
            return None
        if written:
            self._count("snapshot", logging.WARNING, str(path))
        return path if written else None

    def recover_from_oom(self, error: str) -> None:
        """After the except block (its traceback keeps tensors alive): collect and empty the cache."""
        self._count("oom", logging.WARNING, error)
        gc.collect()
        self.empty_cache("after out of memory")

    # --- figures -------------------------------------------------------------------------------

    def _count(self, action: str, level: int = logging.INFO, detail: str = "") -> None:
        with self._lock:
            self.actions[action] += 1
        if detail:
            log.log(level, "memory guard: %s %s", action, detail)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            reading = asdict(self.last) if self.last else {}
            peaks, actions = dict(self.peaks), dict(self.actions)
        return {
            "device": self.device.kind,
            "backend": self.device.backend,
            "fraction": self.fraction,
            "fraction_reason": self.fraction_reason,
            "budget_bytes": self.budget,
            "cap_enforced": self.device.enforces_cap,
            "reading": reading,
            "peaks": peaks,
            "actions": actions,
            "gate": self.gate.stats(),
            "estimator": self.estimator.rates(),
        }
