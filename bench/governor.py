"""The governor: the watching thread's CPU cost, one admission check, and the real Cog server under
load on the tiny models (a burst of concurrent requests at concurrency 4; sequential ones for leaks)."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import Figure

from plitka.cog_client import predict, running_server
from plitka.diffusion.tiny import TinyWeights
from plitka.governor import Ledger, ModelManager
from plitka.governor.estimate import MemoryNeed
from plitka.governor.guard import MemoryGuard
from plitka.settings import Settings

FAST = json.dumps({"overrides": {"resolution": 512, "steps": 1}})
MIB = 2**20
TARGET_POLL_SHARE_PERCENT = 0.5
CONCURRENCY = 4


def cpu_seconds_per_call(action, calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - start) / calls


def guard_costs() -> list[Figure]:
    guard = MemoryGuard(Settings(), ModelManager())  # this machine's real probe (psutil on CPU)
    poll = cpu_seconds_per_call(guard.poll, 2000)
    need = MemoryNeed("normal", weights=0, denoise=MIB, decode=MIB)
    admit = cpu_seconds_per_call(lambda: guard.admit(lambda mode: need, set(), Ledger()), 2000)
    interval = guard.settings.guard_interval
    return [
        Figure(f"governor: one guard poll ({guard.device.backend})", poll * 1e6, "µs CPU"),
        Figure(
            f"governor: watching thread at {interval:g} s, share of a core",
            poll / interval * 100,
            "%",
            TARGET_POLL_SHARE_PERCENT,
        ),
        Figure("governor: one admission check", admit * 1e6, "µs CPU"),
    ]


def generate(url: str, seed: int, patience: float) -> tuple[float, dict]:
    start = time.perf_counter()
    result = predict(url, patience, colors="60% red, 40% white", params_json=FAST, engine="sdxl", seed=seed)
    assert result["status"] == "succeeded", result.get("error")
    return time.perf_counter() - start, result


def under_load(weights: TinyWeights, burst: int, sequential: int) -> list[Figure]:
    env = {**weights.environment(), "PLITKA_MAX_CONCURRENCY": str(CONCURRENCY)}
    with running_server(Path(tempfile.mkdtemp(prefix="plitka-bench-")), **env) as url:
        generate(url, 0, 5)  # builds the models
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=burst) as pool:
            answered = list(pool.map(lambda seed: generate(url, seed, 300), range(1, burst + 1)))
        burst_s = time.perf_counter() - start
        runs = [generate(url, seed, 5) for seed in range(sequential)]
    metrics = [result["metrics"] for _, result in runs]
    rss = [m["memory"]["host_rss_bytes"] / MIB for m in metrics]
    window = max(1, len(rss) // 10)
    early, late = statistics.median(rss[window : 2 * window]), statistics.median(rss[-window:])
    name = f"governor: {burst} concurrent requests at concurrency {CONCURRENCY}"
    return [
        Figure(f"{name}: answered", len(answered), f"of {burst}", note=f"in {burst_s:.1f} s"),
        Figure(
            f"{name}: HTTP 409 answers retried",
            sum(result["busy_answers"] for _, result in answered),
            "",
        ),
        Figure(
            f"governor: {sequential} sequential generations, median latency",
            statistics.median(seconds for seconds, _ in runs),
            "s",
        ),
        Figure(
            "governor: worker RSS growth, first to last tenth",
            late - early,
            "MiB",
            note=f"{early:.1f} -> {late:.1f} MiB",
        ),
        Figure(
            "governor: model references held after the generations",
            max(m["models"]["in_use"] for m in metrics),
            "",
            0,
        ),
    ]


def figures(weights: TinyWeights, quick: bool) -> list[Figure]:
    return guard_costs() + under_load(weights, 8 if quick else 20, 20 if quick else 200)
