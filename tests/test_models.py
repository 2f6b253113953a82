"""ModelManager: lazy builds, reference counts, shared requirements, idle and LRU eviction."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from plitka.governor import Ledger, ModelInUseError, ModelManager, ModelSpec


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Weights:
    """Stands in for a loaded model; counts how many exist, as memory would."""

    alive = 0

    def __init__(self, name: str, held: dict | None = None):
        self.name = name
        self.held = held or {}
        Weights.alive += 1

    def __del__(self):
        Weights.alive -= 1


def manager_with(*specs, **options) -> tuple[ModelManager, dict[str, int]]:
    builds: dict[str, int] = {}
    manager = ModelManager(**options)
    for name, requires in specs:

        def build(held, name=name):
            builds[name] = builds.get(name, 0) + 1
            return Weights(name, held)

        manager.declare(ModelSpec(name, build, requires=requires))
    return manager, builds


def test_nothing_is_built_until_first_acquired():
    manager, builds = manager_with(("base", ()))
    assert builds == {} and not manager.is_loaded("base")
    with manager.acquire("base") as model:
        assert model.name == "base" and manager.refs("base") == 1
    assert builds == {"base": 1} and manager.is_loaded("base") and manager.refs("base") == 0


def test_second_acquire_reuses_the_loaded_model():
    manager, builds = manager_with(("base", ()))
    first, second = Ledger(), Ledger()
    with manager.acquire("base", first) as a, manager.acquire("base", second) as b:
        assert a is b and manager.refs("base") == 2
    assert builds == {"base": 1}
    assert (first.built, first.reused, second.built, second.reused) == (["base"], [], [], ["base"])


def test_a_view_holds_the_very_same_requirement_object():
    manager, builds = manager_with(("base", ()), ("pipeline", ("base",)), ("pipeline-canny", ("pipeline",)))
    with manager.acquire("pipeline") as plain, manager.acquire("pipeline-canny") as canny:
        assert canny.held["pipeline"] is plain and plain.held["base"] is canny.held["pipeline"].held["base"]
        assert manager.refs("base") == 1  # held by the pipeline, which is held by the view
    assert builds == {"base": 1, "pipeline": 1, "pipeline-canny": 1}


def test_a_raising_generation_releases_its_references():
    manager, _ = manager_with(("base", ()), ("pipeline", ("base",)))
    with pytest.raises(ZeroDivisionError), manager.acquire("pipeline"):
        assert manager.references_in_use() == 1
        raise ZeroDivisionError
    assert manager.refs("pipeline") == 0 and manager.references_in_use() == 0
    assert manager.unload("pipeline") and manager.refs("base") == 0


def test_a_failing_build_releases_the_requirements_it_took():
    manager = ModelManager()
    manager.declare(ModelSpec("base", lambda held: Weights("base")))
    manager.declare(ModelSpec("broken", lambda held: 1 / 0, requires=("base",)))
    with pytest.raises(ZeroDivisionError), manager.acquire("broken"):
        pass
    assert manager.refs("base") == 0 and not manager.is_loaded("broken")
    assert manager.stats()["events"]["build_failed"] == 1


def test_concurrent_callers_wait_for_one_build():
    started = threading.Event()
    builds = []

    def slow_build(held):
        started.set()
        time.sleep(0.2)
        builds.append(1)
        return Weights("base")

    manager = ModelManager()
    manager.declare(ModelSpec("base", slow_build))

    def use(_):
        with manager.acquire("base") as model:
            return model

    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = list(pool.map(use, range(4), timeout=10))
    assert len(builds) == 1 and len(seen) == 4 and all(model is seen[0] for model in seen)
    assert manager.refs("base") == 0


def test_a_model_in_use_is_never_unloaded():
    manager, _ = manager_with(("base", ()), ("pipeline", ("base",)), idle_seconds=1, clock=Clock())
    with manager.acquire("pipeline"):
        with pytest.raises(ModelInUseError):
            manager.unload("pipeline")
        with pytest.raises(ModelInUseError):
            manager.unload("base")  # held by the pipeline
        assert manager.evict_lru() == []
    assert manager.is_loaded("pipeline")


def test_idle_models_are_unloaded_after_the_timeout():
    clock = Clock()
    manager, _ = manager_with(
        ("base", ()), ("pipeline", ("base",)), ("other", ()), idle_seconds=60, clock=clock
    )
    with manager.acquire("pipeline"):
        pass
    clock.now += 30
    with manager.acquire("other"):
        pass
    assert manager.evict_idle() == []
    clock.now += 31  # pipeline and base unused for 61 s, other for 31 s
    assert sorted(manager.evict_idle()) == ["base", "pipeline"]
    assert manager.stats()["loaded"] == ["other"]
    assert manager.stats()["events"]["evicted_idle"] == 2


def test_lru_eviction_takes_the_least_recently_used_first():
    torch = pytest.importorskip("torch")
    clock = Clock()
    manager = ModelManager(clock=clock)
    for name in ("a", "b", "c"):
        manager.declare(ModelSpec(name, lambda held: torch.zeros(1024)))  # 4096 bytes each
        clock.now += 1
        with manager.acquire(name):
            pass
    clock.now += 1
    with manager.acquire("a"):  # a is now the most recent
        pass
    assert manager.evict_lru(need_bytes=4096) == ["b"]
    assert manager.evict_lru(need_bytes=4096) == ["c"]
    assert manager.stats()["loaded"] == ["a"]


def test_budget_unloads_least_recently_used_models_after_a_build():
    torch = pytest.importorskip("torch")
    clock = Clock()
    manager = ModelManager(max_bytes=2 * 4096, clock=clock)
    for name in ("a", "b", "c"):
        manager.declare(ModelSpec(name, lambda held: torch.zeros(1024)))  # 4096 bytes each
    for name in ("a", "b", "c"):
        clock.now += 1
        with manager.acquire(name):
            pass
    assert manager.stats()["loaded"] == ["b", "c"]
    assert manager.loaded_bytes() == 2 * 4096
    assert manager.stats()["events"]["evicted_budget"] == 1


def test_shared_tensors_are_counted_once():
    torch = pytest.importorskip("torch")
    manager = ModelManager()
    manager.declare(ModelSpec("base", lambda held: torch.nn.Linear(256, 256)))
    manager.declare(
        ModelSpec("view", lambda held: {"unet": held["base"], "extra": torch.zeros(10)}, ("base",))
    )
    with manager.acquire("view"):
        stats = manager.stats()["models"]
    assert stats["base"]["bytes"] == (256 * 256 + 256) * 4
    assert stats["view"]["bytes"] == 40


def test_unloading_frees_the_object():
    manager, _ = manager_with(("base", ()), ("pipeline", ("base",)))
    alive = Weights.alive
    with manager.acquire("pipeline"):
        assert Weights.alive == alive + 2
    manager.evict_lru()
    assert Weights.alive == alive and manager.stats()["loaded"] == []


def test_teardown_unloads_everything_and_stops_the_reaper():
    manager, _ = manager_with(("base", ()), ("pipeline", ("base",)), idle_seconds=60)
    manager.start_reaper(interval=0.05)
    with manager.acquire("pipeline"):
        pass
    manager.teardown()
    assert manager.stats()["loaded"] == [] and manager._reaper is None
    assert manager.stats()["events"]["evicted_teardown"] == 2


def test_the_reaper_thread_unloads_idle_models():
    manager, _ = manager_with(("base", ()), idle_seconds=0.05)
    manager.start_reaper(interval=0.02)
    try:
        with manager.acquire("base"):
            pass
        deadline = time.monotonic() + 5
        while manager.is_loaded("base") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not manager.is_loaded("base")
    finally:
        manager.teardown()


def test_declaration_errors_are_clear():
    manager = ModelManager()
    with pytest.raises(ValueError, match="requires undeclared"):
        manager.declare(ModelSpec("pipeline", lambda held: None, requires=("base",)))
    manager.declare(ModelSpec("base", lambda held: None))
    with pytest.raises(ValueError, match="declared already"):
        manager.declare(ModelSpec("base", lambda held: None))
    with pytest.raises(KeyError, match="declared: base"):
        manager.refs("unet")
