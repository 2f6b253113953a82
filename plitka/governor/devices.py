"""Memory probes: one interface, a backend per kind of device.

- cuda: NVML (nvidia-ml-py) for the device-wide numbers, torch.cuda for this process's allocator;
  without NVML (no driver library, an NVML error) torch.cuda.mem_get_info stands in.
- mps: torch.mps (Apple silicon).
- cpu: psutil, host RAM and this process's resident memory; "the cache" is the C heap's freed pages,
  which glibc keeps until malloc_trim (many threads' arenas grow the resident size otherwise).
Tests put a scripted SimulatedDevice (plitka.governor.simulated) in their place.

The loop polls only `read()`, which is cheap everywhere: NVML's device memory query and the caching
allocator's counters. Per-process NVML queries cost milliseconds, take a driver lock and report host
PIDs inside containers, so they are in `describe()` only, for diagnostics.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("plitka.governor")

GIB = 2**30
CLEAR_REFS = Path("/proc/self/clear_refs")  # writing "5" resets the peak resident size (Linux)
PROC_STATUS = Path("/proc/self/status")
ALLOC_CONF_VARIABLES = ("PYTORCH_ALLOC_CONF", "PYTORCH_CUDA_ALLOC_CONF")  # current name, older name


@dataclass(frozen=True)
class MemoryReading:
    """One poll. On cpu `reserved` and `allocated` are the process's resident memory."""

    backend: str
    total: int  # the device's (host's) memory
    free: int  # free on the device, all processes together
    reserved: int  # held by this process's caching allocator: what the VRAM cap counts
    allocated: int  # in live tensors of this process
    utilisation: float | None = None  # percent busy, NVML only
    at: float = 0.0  # time.monotonic() of the reading

    @property
    def used(self) -> int:
        return self.total - self.free


class Device:
    """The seam between the guard and a device; every method is safe to call from any thread."""

    kind = "cpu"  # cuda, mps, cpu, simulated
    backend = "none"  # where read() gets its numbers
    enforces_cap = False  # whether apply_cap really bounds allocations
    has_cache = False  # whether freed memory stays cached in the process until empty_cache

    def total_bytes(self) -> int:
        return self.read().total

    def read(self) -> MemoryReading:
        raise NotImplementedError

    def apply_cap(self, fraction: float) -> None:
        """Bound this process's allocations to `fraction` of the device (where the device can)."""

    def empty_cache(self) -> None:
        """Give cached, unused blocks back to the device. Synchronises: call between generations only."""

    def reset_peak(self) -> None:
        """Start a new peak measurement."""

    def peak_allocated(self) -> int:
        """Most bytes allocated since reset_peak (on cpu: peak resident memory)."""
        return self.read().allocated

    def on_step(self) -> None:
        """Called at every denoising step (a simulated device can fail there)."""

    def out_of_memory_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions that mean this device ran out of memory."""
        return ()

    def describe(self) -> dict[str, Any]:
        """Details for the start-up log (may be slow: not for the polling loop)."""
        return {"kind": self.kind, "backend": self.backend}

    def record_history(self) -> None:
        """Start recording allocations, so that a snapshot can say where memory went."""

    def snapshot(self, path: Path) -> bool:
        """Write a memory snapshot for debugging an out-of-memory error; False where unsupported."""
        return False

    def close(self) -> None:
        """Release driver handles (NVML) at teardown."""


class HostDevice(Device):
    """CPU inference: host RAM through psutil. There is no cap to apply; the cache emptied between
    generations is the C heap's freed pages (glibc's malloc_trim, where the C library is glibc)."""

    kind = "cpu"
    backend = "psutil"

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._process = psutil.Process()
        self._peak_from = 0
        self._malloc_trim = _glibc_malloc_trim()
        self.has_cache = self._malloc_trim is not None

    def empty_cache(self) -> None:
        if self._malloc_trim is not None:
            self._malloc_trim(0)

    def read(self) -> MemoryReading:
        memory = self._psutil.virtual_memory()
        rss = self._process.memory_info().rss
        return MemoryReading(self.backend, memory.total, memory.available, rss, rss, None, time.monotonic())

    def reset_peak(self) -> None:
        try:
            CLEAR_REFS.write_text("5")
        except OSError:  # not Linux, or not allowed: the peak is the process's lifetime peak then
            self._peak_from = self.read().allocated

    def peak_allocated(self) -> int:
        peak = _status_bytes("VmHWM")
        return max(peak or 0, self._peak_from, self.read().allocated)

    def out_of_memory_errors(self) -> tuple[type[BaseException], ...]:
        return (MemoryError,)


def _glibc_malloc_trim() -> Any:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS, Windows)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


class CudaDevice(Device):
    """One CUDA device, found in NVML by its UUID (indices differ under CUDA_VISIBLE_DEVICES)."""

    kind = "cuda"
    enforces_cap = True
    has_cache = True

    def __init__(self, index: int | None = None):
        import torch

        self._torch = torch
        self.index = torch.cuda.current_device() if index is None else index
        self.properties = torch.cuda.get_device_properties(self.index)
        self.uuid = str(self.properties.uuid)
        self.nvml = Nvml.open(self.uuid)
        self.backend = "nvml" if self.nvml else "torch.cuda"

    def total_bytes(self) -> int:
        return int(self.properties.total_memory)

    def read(self) -> MemoryReading:
        cuda = self._torch.cuda
        if self.nvml:
            total, free, utilisation = self.nvml.memory_and_utilisation()
        else:
            free, total = cuda.mem_get_info(self.index)
            utilisation = None
        return MemoryReading(
            self.backend,
            total,
            free,
            cuda.memory_reserved(self.index),
            cuda.memory_allocated(self.index),
            utilisation,
            time.monotonic(),
        )

    def apply_cap(self, fraction: float) -> None:
        self._torch.cuda.set_per_process_memory_fraction(fraction, self.index)

    def empty_cache(self) -> None:
        self._torch.cuda.empty_cache()

    def reset_peak(self) -> None:
        self._torch.cuda.reset_peak_memory_stats(self.index)

    def peak_allocated(self) -> int:
        return self._torch.cuda.max_memory_allocated(self.index)

    def out_of_memory_errors(self) -> tuple[type[BaseException], ...]:
        return (self._torch.cuda.OutOfMemoryError,)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "backend": self.backend,
            "name": self.properties.name,
            "uuid": self.uuid,
            "pci_bus_id": torch_pci_bus_id(self.properties),
            "index": self.index,
            "total_bytes": self.total_bytes(),
            **({"processes": self.nvml.processes()} if self.nvml else {}),
        }

    def record_history(self) -> None:
        self._torch.cuda.memory._record_memory_history(max_entries=100_000)

    def snapshot(self, path: Path) -> bool:
        self._torch.cuda.memory._dump_snapshot(str(path))
        return True

    def close(self) -> None:
        if self.nvml:
            self.nvml.close()
            self.nvml = None


class MpsDevice(Device):
    """Apple silicon through torch.mps; the device total is Metal's recommended working set."""

    kind = "mps"
    backend = "torch.mps"
    enforces_cap = True
    has_cache = True

    def __init__(self) -> None:
        import torch

        self._mps = torch.mps

    def read(self) -> MemoryReading:
        total = self._mps.recommended_max_memory()
        reserved = self._mps.driver_allocated_memory()
        return MemoryReading(
            self.backend,
            total,
            max(0, total - reserved),
            reserved,
            self._mps.current_allocated_memory(),
            None,
            time.monotonic(),
        )

    def apply_cap(self, fraction: float) -> None:
        self._mps.set_per_process_memory_fraction(fraction)

    def empty_cache(self) -> None:
        self._mps.empty_cache()


class Nvml:
    """NVML for one device. Initialised once per process (the predictor's worker) and shut down at
    teardown; None from `open` wherever NVML is unusable, which is a normal state."""

    def __init__(self, pynvml: Any, handle: Any):
        self._pynvml = pynvml
        self._handle = handle

    @classmethod
    def open(cls, uuid: str) -> Nvml | None:
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as error:  # ImportError, NVMLError_LibraryNotFound, driver errors
            log.info("NVML unavailable (%s: %s); using torch.cuda", type(error).__name__, error)
            return None
        nvml_uuid = uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
        try:
            return cls(pynvml, pynvml.nvmlDeviceGetHandleByUUID(nvml_uuid.encode()))
        except pynvml.NVMLError as error:
            log.info("NVML has no device %s (%s); using torch.cuda", nvml_uuid, error)
            _shutdown(pynvml)
            return None

    def memory_and_utilisation(self) -> tuple[int, int, float | None]:
        memory = self._pynvml.nvmlDeviceGetMemoryInfo(self._handle)
        try:
            utilisation: float | None = float(self._pynvml.nvmlDeviceGetUtilizationRates(self._handle).gpu)
        except self._pynvml.NVMLError:  # not supported on MIG slices
            utilisation = None
        return int(memory.total), int(memory.free), utilisation

    def identity(self) -> dict[str, str]:
        """The device's UUID and PCI bus id as NVML names them (to match them with torch's device)."""
        pci = self._pynvml.nvmlDeviceGetPciInfo(self._handle)
        return {
            "uuid": _text(self._pynvml.nvmlDeviceGetUUID(self._handle)),
            "pci_bus_id": _text(pci.busId),
        }

    def processes(self) -> list[dict[str, int]]:
        """Compute processes on the device; inside a container the PIDs are the host's."""
        try:
            running = self._pynvml.nvmlDeviceGetComputeRunningProcesses(self._handle)
        except self._pynvml.NVMLError:
            return []
        return [{"pid": int(p.pid), "used_bytes": int(p.usedGpuMemory or 0)} for p in running]

    def close(self) -> None:
        _shutdown(self._pynvml)


def _text(value: str | bytes) -> str:
    """NVML's strings are bytes in older bindings."""
    return value.decode() if isinstance(value, bytes) else value


def torch_pci_bus_id(properties: Any) -> str | None:
    """torch's PCI address of a device in NVML's form (domain:bus:device.0); None where torch lacks it."""
    try:
        return f"{properties.pci_domain_id:08X}:{properties.pci_bus_id:02X}:{properties.pci_device_id:02X}.0"
    except AttributeError:
        return None


def _shutdown(pynvml: Any) -> None:
    """nvmlInit and nvmlShutdown are reference counted by the library: one shutdown per init."""
    try:
        pynvml.nvmlShutdown()
    except pynvml.NVMLError as error:
        log.debug("nvmlShutdown: %s", error)


def configure_allocator(conf: str) -> str:
    """The one place PyTorch's allocator is configured: through the environment, before CUDA starts
    (the allocator reads it once). A value the operator set already is kept. Returns what applies."""
    for name in ALLOC_CONF_VARIABLES:
        if os.environ.get(name):
            log.info("allocator settings from %s=%s", name, os.environ[name])
            return os.environ[name]
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        log.warning("CUDA started before the allocator settings %r could apply", conf)
    if conf:
        os.environ[ALLOC_CONF_VARIABLES[0]] = conf
    return conf


def open_device(kind: str) -> Device:
    """The probe for where diffusion runs: 'cuda', 'mps' or 'cpu'."""
    if kind == "cuda":
        return CudaDevice()
    if kind == "mps":
        return MpsDevice()
    return HostDevice()


def detect_gpu_without_torch() -> bool:
    """Whether NVML sees a GPU; cheap, and keeps torch out of start-up on machines without one."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1"):
        return False
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return False
    try:
        return pynvml.nvmlDeviceGetCount() > 0
    finally:
        _shutdown(pynvml)


def _status_bytes(field: str) -> int | None:
    """A kB field of /proc/self/status (VmHWM, VmRSS) in bytes; None where there is no procfs."""
    try:
        for line in PROC_STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
