import os
from pathlib import Path

import pytest

from plitka.analysis.evaluate import DEFAULT_REFERENCE

# No test may reach the network: hub lookups answer from the local cache only (inherited by servers).
os.environ["HF_HUB_OFFLINE"] = "1"


# The longest test files (pytest --durations), handed out first to pytest-xdist's workers (-n 2, with
# --no-loadscope-reorder): a long file started last would leave one worker running it alone at the end.
LONGEST_FIRST = (
    "test_server_governor.py",
    "test_studio_browser.py",
    "test_realism.py",
    "test_training.py",
    "test_server_hostile.py",
    "test_diffusion.py",
    "test_lock.py",
    "test_cli.py",
)


@pytest.hookimpl(tryfirst=True)  # before pytest-random-order, which shuffles the files when asked
def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {name: number for number, name in enumerate(LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def reference_tiles() -> Path:
    """../shared/reference-tiles (real photos with known proportions); skips where it is absent."""
    if not (DEFAULT_REFERENCE / "labels.csv").is_file():
        pytest.skip(f"reference photos not found: {DEFAULT_REFERENCE} has no labels.csv")
    return DEFAULT_REFERENCE


@pytest.fixture(scope="session")
def seed_outputs() -> Path:
    """../shared/seed-outputs (the earlier product's finals with their orders); skips where it is absent."""
    folder = DEFAULT_REFERENCE.parent / "seed-outputs"
    if not (folder / "labels.csv").is_file():
        pytest.skip(f"seed outputs not found: {folder} has no labels.csv")
    return folder


@pytest.fixture(scope="session")
def procedural_server(tmp_path_factory):
    """One real Cog server (`plitka serve` -> coglet) with the default settings (procedural engine), for
    every module that only sends it predictions: each start costs seconds of CPU. Its base URL."""
    from plitka.cog_client import running_server

    with running_server(tmp_path_factory.mktemp("procedural-server")) as url:
        yield url


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """A complete tiny random-weight SDXL set (ControlNets, LoRA, TI) written in diffusers layout, once
    per run: pytest-xdist's workers share one set (deterministic, never written by a test)."""
    from filelock import FileLock

    from plitka.diffusion.tiny import TinyWeights, write_tiny_weights

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder above each worker's own
    folder, done = root / "tiny-weights", root / "tiny-weights.done"
    with FileLock(str(root / "tiny-weights.lock")):
        if not done.is_file():
            write_tiny_weights(folder)
            done.touch()
    return TinyWeights(folder)


@pytest.fixture(scope="session")
def sdxl_server(tmp_path_factory, tiny_weights):
    """One real Cog server on the tiny SDXL set (both engines), shared like procedural_server."""
    from plitka.cog_client import running_server

    with running_server(tmp_path_factory.mktemp("sdxl-server"), **tiny_weights.environment()) as url:
        yield url
