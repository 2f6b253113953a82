"""The governor's figures: the watching thread's CPU cost, one admission check, and the real Cog server
under load on the tiny models (20 concurrent requests at concurrency 4; N sequential for leaks).

    .venv/bin/python bench/governor.py             # 200 sequential generations
    .venv/bin/python bench/governor.py --quick     # 40
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from plitka.cog_client import free_port, predict, running_server
from plitka.diffusion.tiny import write_tiny_weights
from plitka.governor import Ledger, ModelManager
from plitka.governor.estimate import MemoryNeed
from plitka.governor.guard import MemoryGuard
from plitka.settings import Settings

FAST = json.dumps({"overrides": {"resolution": 512, "steps": 1}})
MIB = 2**20


def cpu_seconds_per_call(action, calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - start) / calls


def guard_costs() -> list[tuple[str, str]]:
    guard = MemoryGuard(Settings(), ModelManager())  # this machine's real probe (psutil on CPU)
    poll = cpu_seconds_per_call(guard.poll, 2000)
    need = MemoryNeed("normal", weights=0, denoise=MIB, decode=MIB)
    admit = cpu_seconds_per_call(lambda: guard.admit(lambda mode: need, set(), Ledger()), 2000)
    interval = guard.settings.guard_interval
    return [
        (f"guard poll ({guard.device.backend})", f"{poll * 1e6:.0f} µs CPU"),
        (f"watching thread at {interval:g} s", f"{poll / interval * 100:.4f}% of a core (target < 0.5%)"),
        ("one admission check", f"{admit * 1e6:.0f} µs CPU"),
    ]


def generate(url: str, seed: int, patience: float) -> tuple[float, dict]:
    start = time.perf_counter()
    result = predict(url, patience, colors="60% red, 40% white", params_json=FAST, engine="sdxl", seed=seed)
    assert result["status"] == "succeeded", result.get("error")
    return time.perf_counter() - start, result


def under_load(sequential: int) -> list[tuple[str, str]]:
    weights = write_tiny_weights(Path(tempfile.mkdtemp(prefix="plitka-tiny-")))
    metrics_port = free_port()
    env = {**weights.environment(), "PLITKA_MAX_CONCURRENCY": "4", "PLITKA_METRICS_PORT": str(metrics_port)}
    with running_server(Path(tempfile.mkdtemp(prefix="plitka-bench-")), **env) as url:
        generate(url, 0, 5)  # builds the models
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=20) as pool:
            burst = list(pool.map(lambda seed: generate(url, seed, 300), range(1, 21)))
        burst_s = time.perf_counter() - start
        rows = concurrency_rows(burst, burst_s)
        runs = [generate(url, seed, 5) for seed in range(sequential)]
    return rows + leak_rows(runs)


def concurrency_rows(burst: list[tuple[float, dict]], wall: float) -> list[tuple[str, str]]:
    latencies = sorted(seconds for seconds, _ in burst)
    queued = [result["metrics"]["timing"]["queue_s"] for _, result in burst]
    return [
        ("20 concurrent requests, concurrency 4: answered", f"{len(burst)} of 20 in {wall:.1f} s"),
        ("  409 answers retried by the clients", str(sum(result["busy_answers"] for _, result in burst))),
        ("  latency median / max", f"{statistics.median(latencies):.2f} s / {latencies[-1]:.2f} s"),
        ("  wait at the gate median / max", f"{statistics.median(queued):.2f} s / {max(queued):.2f} s"),
    ]


def leak_rows(runs: list[tuple[float, dict]]) -> list[tuple[str, str]]:
    metrics = [result["metrics"] for _, result in runs]
    rss = [m["memory"]["host_rss_bytes"] / MIB for m in metrics]
    window = max(1, len(rss) // 10)
    early, late = statistics.median(rss[window : 2 * window]), statistics.median(rss[-window:])
    return [
        (
            f"{len(runs)} sequential generations: median latency",
            f"{statistics.median(s for s, _ in runs):.2f} s",
        ),
        (
            "  worker RSS early / late (median of a tenth)",
            f"{early:.1f} / {late:.1f} MiB ({late - early:+.1f})",
        ),
        ("  models in use after each", str(sorted({m["models"]["in_use"] for m in metrics}))),
        ("  distinct loaded_bytes values", str(len({m["models"]["loaded_bytes"] for m in metrics}))),
        ("  models built", str(sum(m["models"]["built"] for m in metrics))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 sequential generations instead of 200")
    args = parser.parse_args()
    rows = guard_costs() + under_load(40 if args.quick else 200)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
