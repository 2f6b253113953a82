"""A device whose memory the tests (and bench/) script: the guard's decisions without a GPU.

Memory is modelled the way the CUDA caching allocator behaves: allocated = weights + activations,
reserved = allocated + cached blocks, free = total - other processes - reserved; empty_cache gives
the cached blocks back; with a cap applied, a step that would take reserved memory past it raises
torch's OutOfMemoryError, as the real cap does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plitka.governor.devices import GIB, Device, MemoryReading


class SimulatedDevice(Device):
    kind = "simulated"
    backend = "simulated"
    enforces_cap = True
    has_cache = True

    def __init__(
        self,
        total: int = 24 * GIB,
        *,
        weights: Callable[[], int] = lambda: 0,
        other_processes: int = 0,
        cached: int = 0,
        step_bytes: int = 0,
    ):
        self.total = total
        self.weights = weights  # e.g. the ModelManager's loaded bytes, so eviction frees memory
        self.other_processes = other_processes
        self.cached = cached
        self.step_bytes = step_bytes  # activations a denoising step takes (for the cap and the peak)
        self.activations = 0
        self.cap_fraction: float | None = None
        self.fail_steps = 0  # the next this many steps raise OutOfMemoryError
        self.calls: list[str] = []
        self.steps = 0
        self._peak = 0
        self._lock = threading.Lock()
        self.closed = False

    def read(self) -> MemoryReading:
        allocated = self.weights() + self.activations
        reserved = allocated + self.cached
        free = max(0, self.total - self.other_processes - reserved)
        return MemoryReading(self.backend, self.total, free, reserved, allocated, 50.0)

    def apply_cap(self, fraction: float) -> None:
        self.cap_fraction = fraction
        self.calls.append(f"apply_cap:{fraction}")

    def empty_cache(self) -> None:
        with self._lock:
            self.cached = 0
            self.calls.append("empty_cache")

    def reset_peak(self) -> None:
        self._peak = self.read().allocated

    def peak_allocated(self) -> int:
        return max(self._peak, self.read().allocated)

    def on_step(self) -> None:
        self.steps += 1
        if self.fail_steps > 0:
            self.fail_steps -= 1
            raise _out_of_memory("simulated: scripted failure")
        reading = self.read()
        if (
            self.cap_fraction is not None
            and reading.reserved + self.step_bytes > self.cap_fraction * self.total
        ):
            raise _out_of_memory(f"simulated: {self.step_bytes} bytes over the cap")
        self._peak = max(self._peak, reading.allocated + self.step_bytes)
        self.cached = max(self.cached, self.step_bytes)  # freed activations stay cached

    def out_of_memory_errors(self) -> tuple[type[BaseException], ...]:
        import torch

        return (torch.OutOfMemoryError,)

    def snapshot(self, path: Path) -> bool:
        path.write_text("simulated snapshot\n")
        return True

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "backend": self.backend, "total_bytes": self.total}

    def close(self) -> None:
        self.closed = True


def _out_of_memory(message: str) -> BaseException:
    import torch

    return torch.OutOfMemoryError(f"CUDA out of memory ({message})")
