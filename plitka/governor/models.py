"""ModelManager: named models built lazily, shared by reference count, unloaded when idle or least used.

A model is declared with a builder and the models it requires (held for as long as it is loaded), so a
pipeline can be a view over shared components: building the ControlNet pipeline takes a reference on
the base pipeline instead of loading a second UNet. Nothing is built until `acquire` first asks for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from plitka.governor.sizing import storage_sizes

log = logging.getLogger("plitka.models")

Builder = Callable[[dict[str, Any]], Any]


class ModelInUseError(RuntimeError):
    """A model with references cannot be unloaded."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Builder  # receives the required models by name, returns the loaded object
    requires: tuple[str, ...] = ()
    description: str = ""


@dataclass
class Ledger:
    """What one caller's acquisitions built and reused (per prediction, for its metrics and report)."""

    built: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)  # unloaded to make room for this caller
    build_seconds: float = 0.0


@dataclass
class _Entry:
    spec: ModelSpec
    build_lock: threading.Lock = field(default_factory=threading.Lock)
    model: Any = None
    refs: int = 0
    last_used: float = 0.0
    own_bytes: int = 0
    measured_bytes: int | None = None  # own_bytes of the last build, kept after unloading
    storages: frozenset[int] = frozenset()
    builds: int = 0

    @property
    def loaded(self) -> bool:
        return self.model is not None


class ModelManager:
    """Thread-safe registry of declared models.

    idle_seconds: an unreferenced model unused this long is unloaded by `evict_idle` (0: never).
    max_bytes: after a build, unreferenced models are unloaded least recently used first until the
    loaded models fit (0: no limit).
    """

    def __init__(
        self,
        idle_seconds: float = 0.0,
        max_bytes: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.idle_seconds = idle_seconds
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.RLock()
        self.events: Counter[str] = Counter()
        self._building = threading.local()  # the ledger of the build running on this thread
        self._reaper: threading.Thread | None = None
        self._stop_reaper = threading.Event()

    # --- declaration -------------------------------------------------------------------------

    def declare(self, spec: ModelSpec) -> None:
        with self._lock:
            if spec.name in self._entries:
                raise ValueError(f"model {spec.name!r} is declared already")
            unknown = [name for name in spec.requires if name not in self._entries]
            if unknown:  # declaring requirements first also rules out cycles
                raise ValueError(f"model {spec.name!r} requires undeclared {unknown}")
            self._entries[spec.name] = _Entry(spec)

    def declared(self) -> list[str]:
        return list(self._entries)

    def is_loaded(self, name: str) -> bool:
        return self._entry(name).loaded

    def refs(self, name: str) -> int:
        return self._entry(name).refs

    def closure(self, name: str) -> list[str]:
        """The model and everything it requires, directly or not."""
        names = [name]
        for required in self._entry(name).spec.requires:
            names.extend(other for other in self.closure(required) if other not in names)
        return names

    def measured_bytes(self, name: str) -> int | None:
        """The model's own bytes when it was last built (None: never built in this process)."""
        return self._entry(name).measured_bytes

    # --- use -----------------------------------------------------------------------------------

    @contextmanager
    def acquire(self, name: str, ledger: Ledger | None = None) -> Iterator[Any]:
        """The model, built on first use; the reference is released on exit, also on an exception."""
        model = self._take(name, ledger)
        try:
            yield model
        finally:
            self._release(name)

    def preload(self, names: list[str]) -> None:
        for name in names:
            with self.acquire(name):
                pass

    def _take(self, name: str, ledger: Ledger | None) -> Any:
        ledger = ledger or getattr(self._building, "ledger", None)  # a builder's own acquisitions count too
        entry = self._entry(name)
        with entry.build_lock:  # one build per model; concurrent callers wait here for the same one
            if entry.loaded:
                self._count(name, "reused")
                if ledger:
                    ledger.reused.append(name)
            else:
                self._build(entry, ledger)
            with self._lock:
                entry.refs += 1
                entry.last_used = self._clock()
        self._count(name, "acquired", logging.DEBUG)
        self._fit_budget(ledger)
        return entry.model

    def _release(self, name: str, touch: bool = True) -> None:
        entry = self._entry(name)
        with self._lock:
            if entry.refs <= 0:
                raise RuntimeError(f"model {name!r} released more often than acquired")
            entry.refs -= 1
            if touch:
                entry.last_used = self._clock()
        self._count(name, "released", logging.DEBUG)

    def _build(self, entry: _Entry, ledger: Ledger | None) -> None:
        spec = entry.spec
        held: dict[str, Any] = {}
        self._count(spec.name, "build_started")
        start = time.perf_counter()
        outer, self._building.ledger = getattr(self._building, "ledger", None), ledger
        try:
            for required in spec.requires:
                held[required] = self._take(required, ledger)
            model = spec.build(held)
        except BaseException as error:
            for required in held:
                self._release(required)
            self._count(
                spec.name, "build_failed", logging.WARNING, f"({type(error).__name__}: {error})"[:300]
            )
            raise
        finally:
            self._building.ledger = outer
        seconds = time.perf_counter() - start
        shared = frozenset().union(*(self._entry(required).storages for required in held))
        sizes = storage_sizes(model)
        with self._lock:
            entry.model = model
            entry.storages = frozenset(sizes) | shared
            entry.own_bytes = sum(size for storage, size in sizes.items() if storage not in shared)
            entry.measured_bytes = entry.own_bytes
            entry.builds += 1
        if ledger:
            ledger.built.append(spec.name)
            if outer is None:  # nested builds are inside this one's seconds already
                ledger.build_seconds += seconds
        self._count(spec.name, "built", logging.INFO, f"in {seconds:.2f}s, {entry.own_bytes / 2**20:.1f} MiB")

    # --- unloading -----------------------------------------------------------------------------

    def unload(self, name: str, reason: str = "requested") -> bool:
        """Unload one model; False if it was not loaded. A model in use raises ModelInUseError."""
        entry = self._entry(name)
        with entry.build_lock:
            with self._lock:
                if not entry.loaded:
                    return False
                if entry.refs:
                    raise ModelInUseError(f"model {name!r} has {entry.refs} reference(s)")
            self._drop(entry, reason)
        return True

    def evict_idle(self) -> list[str]:
        """Unload models unreferenced for idle_seconds or more; returns their names."""
        if self.idle_seconds <= 0:
            return []
        deadline = self._clock() - self.idle_seconds
        return self._evict(lambda entry: entry.last_used <= deadline, "idle", need_bytes=None)

    def evict_lru(
        self,
        need_bytes: int | None = None,
        reason: str = "memory",
        keep: set[str] | frozenset[str] = frozenset(),
    ) -> list[str]:
        """Unload unreferenced models not in `keep`, least recently used first, until need_bytes are
        freed (None: all)."""
        return self._evict(lambda entry: entry.spec.name not in keep, reason, need_bytes)

    def teardown(self) -> None:
        """Unload everything (at shutdown), dependants before what they hold, and stop the reaper."""
        self.stop_reaper()
        for name in reversed(list(self._entries)):  # declaration order puts requirements first
            entry = self._entries[name]
            with entry.build_lock:
                if entry.loaded:
                    if entry.refs:
                        log.warning("teardown: model %s still has %d reference(s)", name, entry.refs)
                    self._drop(entry, "teardown")

    def _evict(self, eligible: Callable[[_Entry], bool], reason: str, need_bytes: int | None) -> list[str]:
        tried: list[str] = []
        evicted: list[str] = []
        freed = 0
        # Unloading a dependant frees what it held, so candidates are looked for again after each.
        while need_bytes is None or freed < need_bytes:
            entry = self._least_recent_idle(eligible, skip=tried)
            if entry is None:
                break
            tried.append(entry.spec.name)
            if not entry.build_lock.acquire(blocking=False):  # being built or unloaded right now
                continue
            try:
                with self._lock:
                    still_idle = entry.loaded and entry.refs == 0
                if still_idle:
                    freed += entry.own_bytes
                    self._drop(entry, reason)
                    evicted.append(entry.spec.name)
            finally:
                entry.build_lock.release()
        return evicted

    def _least_recent_idle(self, eligible: Callable[[_Entry], bool], skip: list[str]) -> _Entry | None:
        with self._lock:
            idle = [
                entry
                for entry in self._entries.values()
                if entry.loaded and entry.refs == 0 and entry.spec.name not in skip and eligible(entry)
            ]
        return min(idle, key=lambda entry: entry.last_used, default=None)

    def _drop(self, entry: _Entry, reason: str) -> None:
        """Forget the model (its memory goes with the last Python reference) and release what it held."""
        with self._lock:
            entry.model = None
            freed, entry.own_bytes, entry.storages = entry.own_bytes, 0, frozenset()
        for required in entry.spec.requires:
            self._release(required, touch=False)  # a dependant going is no use of what it held
        self._count(entry.spec.name, "evicted", logging.INFO, f"({reason}), {freed / 2**20:.1f} MiB")
        self.events[f"evicted_{reason}"] += 1

    def _fit_budget(self, ledger: Ledger | None) -> None:
        if self.max_bytes <= 0:
            return
        excess = self.loaded_bytes() - self.max_bytes
        if excess > 0:
            evicted = self.evict_lru(need_bytes=excess, reason="budget")
            if ledger:
                ledger.evicted.extend(evicted)
            if self.loaded_bytes() > self.max_bytes:
                log.warning("models in use take %d MiB, over the %d MiB budget",
                            self.loaded_bytes() >> 20, self.max_bytes >> 20)  # fmt: skip

    # --- idle reaper ---------------------------------------------------------------------------

    def start_reaper(self, interval: float) -> None:
        """A daemon thread that calls evict_idle every `interval` seconds until teardown."""
        if self._reaper or self.idle_seconds <= 0:
            return
        self._stop_reaper.clear()
        self._reaper = threading.Thread(
            target=self._reap, args=(interval,), name="plitka-model-reaper", daemon=True
        )
        self._reaper.start()

    def stop_reaper(self) -> None:
        if self._reaper:
            self._stop_reaper.set()
            self._reaper.join(timeout=5)
            self._reaper = None

    def _reap(self, interval: float) -> None:
        while not self._stop_reaper.wait(interval):
            try:
                self.evict_idle()
            except Exception:  # the reaper must outlive any one failure
                log.exception("idle eviction failed")

    # --- figures -------------------------------------------------------------------------------

    def references_in_use(self) -> int:
        """References held by callers (not by loaded dependants): 0 whenever no generation runs."""
        return sum(model["users"] for model in self.stats()["models"].values())

    def loaded_bytes(self) -> int:
        with self._lock:
            return sum(entry.own_bytes for entry in self._entries.values() if entry.loaded)

    def stats(self) -> dict[str, Any]:
        """Counters and per-model state, as plain values for metrics and reports."""
        with self._lock:
            held = Counter(
                required
                for entry in self._entries.values()
                if entry.loaded
                for required in entry.spec.requires
            )
            models = {
                name: {
                    "loaded": entry.loaded,
                    "refs": entry.refs,
                    "users": entry.refs - held[name],  # references from callers, not from loaded dependants
                    "builds": entry.builds,
                    "bytes": entry.own_bytes,
                }
                for name, entry in self._entries.items()
            }
            return {
                "loaded": [name for name, entry in self._entries.items() if entry.loaded],
                "loaded_bytes": sum(model["bytes"] for model in models.values()),
                "events": dict(self.events),
                "models": models,
            }

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"no model named {name!r}; declared: {', '.join(self._entries)}") from None

    def _count(self, name: str, event: str, level: int = logging.DEBUG, detail: str = "") -> None:
        self.events[event] += 1
        log.log(level, "model %s %s%s", name, event, f" {detail}" if detail else "")
