"""The colour lock on this CPU: one 1024x1024 picture of crumb re-coloured, beside the measurement's
own time on the same picture."""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
from common import Figure, median_seconds

from plitka.analysis import measure_proportions
from plitka.layout import build_layout
from plitka.lock import lock_colours
from plitka.render import render_tile

MADE = {"RED": 85, "WHITE": 15}  # what the picture shows...
ORDERED = {"BLUE": 20, "RED": 50, "WHITE": 30}  # ...and the mix it is locked to
TARGET_LOCK_1024_S = 1.0


def close_up_1024() -> object:
    """Granules edge to edge, 1024 px, as an sdxl final: the middle of a 1400 px render."""
    picture = render_tile(build_layout(MADE, size=1400, seed=2))
    return picture.crop((188, 188, 1212, 1212))


def figures(quick: bool) -> list[Figure]:
    repeats = 3 if quick else 7
    picture = close_up_1024()
    lock_s = median_seconds(lambda: lock_colours(picture, ORDERED), repeats)
    measure_s = median_seconds(lambda: measure_proportions(picture, list(ORDERED)), repeats)
    lock_cpu = one_thread_cpu_seconds(lambda: lock_colours(picture, ORDERED), repeats)
    return [
        Figure("lock: re-colour a 1024x1024 picture", lock_s, "s", TARGET_LOCK_1024_S),
        Figure(
            "lock: the same, CPU seconds on one thread",
            lock_cpu,
            "s",
            TARGET_LOCK_1024_S,
            note="what one idle core needs; unlike wall time, barely moved by other load",
        ),
        Figure("lock: measurement of the same picture", measure_s, "s"),
        Figure("lock: lock / measurement", lock_s / measure_s, "x"),
    ]


def one_thread_cpu_seconds(work: Callable[[], object], repeats: int) -> float:
    """Median process CPU time of `work` with OpenCV held to one thread (NumPy here uses one)."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        work()
        times = []
        for _ in range(repeats):
            start = time.process_time()
            work()
            times.append(time.process_time() - start)
    finally:
        cv2.setNumThreads(threads)
    return sorted(times)[len(times) // 2]
