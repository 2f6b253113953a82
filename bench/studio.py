"""The studio page in a real browser (headless Chromium): from the click on Generate to the exact
preview on screen, measured by the page itself (performance.now() in the frame that paints it)."""

from __future__ import annotations

import math
import statistics
import tempfile
from pathlib import Path

from common import Figure

from plitka.cog_client import WebhookReceiver, running_server
from plitka.studio import StudioServer
from plitka.studio.backends import CogBackend
from plitka.studio.browser import headless_chromium, missing
from plitka.studio.predictions import PredictionStore

TARGET_CLICK_TO_PREVIEW_S = 0.5
NAME = "studio: click to preview on screen, procedural (median, in the browser)"


def click_to_screen(url: str, count: int) -> list[dict]:
    """`count` predictions from the page, one after the other; the page's timing record of each."""
    from selenium.webdriver.support.ui import WebDriverWait

    with headless_chromium() as driver:
        driver.get(f"{url}/?lang=en")
        wait = WebDriverWait(driver, 120, poll_frequency=0.05)
        wait.until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
        for code in ("RED", "WHITE"):
            driver.find_element("css selector", f'button.swatch[data-code="{code}"]').click()
        for seed in range(count):
            driver.find_element("id", "seed").clear()
            driver.find_element("id", "seed").send_keys(str(seed))
            driver.find_element("id", "generate").click()
            wait.until(
                lambda d, n=seed + 1: (
                    d.execute_script(
                        "return window.studio.timings.filter((t) => t.clickToFinalMs !== undefined).length"
                    )
                    >= n
                )
            )
            wait.until(lambda d: d.find_element("id", "generate").is_enabled())
        return driver.execute_script("return window.studio.timings")


def figures(quick: bool) -> list[Figure]:
    reason = missing()
    if reason:
        return [Figure(NAME, math.nan, "s", note=f"not measured: {reason}")]
    store = PredictionStore()
    work = Path(tempfile.mkdtemp(prefix="plitka-bench-studio-"))
    count = 6 if quick else 21
    with running_server(work) as api, StudioServer(CogBackend(api, store), store) as studio:
        timings = click_to_screen(studio.url, count)[1:]  # the first warms the page up
        with WebhookReceiver() as hooks:  # the API alone, same server, same inputs, right after
            direct = [hooks.predict(api, colors="60% RED, 40% WHITE", seed=seed) for seed in range(count)][1:]
    api_first = statistics.median(run.first_output_seconds for run in direct)
    previews = [t["clickToPreviewMs"] / 1000 for t in timings]
    answered = statistics.median(t["clickToAnswerMs"] for t in timings) / 1000
    known = statistics.median(t["clickToPreviewKnownMs"] for t in timings) / 1000
    return [
        Figure(
            NAME,
            statistics.median(previews),
            "s",
            TARGET_CLICK_TO_PREVIEW_S,
            note=(
                f"slowest {max(previews):.3f} s of {len(previews)}; medians: the studio accepted the"
                f" prediction {answered:.3f} s, the page knew the preview {known:.3f} s after the click"
            ),
        ),
        Figure(
            "studio: click to the slowest preview on screen, procedural",
            max(previews),
            "s",
            TARGET_CLICK_TO_PREVIEW_S,
        ),
        Figure(
            "studio: the API alone, request to first output (webhook), same server (median)",
            api_first,
            "s",
            note="what the Cog server itself takes for the preview; the rest is the studio and the page",
        ),
        Figure(
            "studio: click to final picture on screen, procedural 1024 (median)",
            statistics.median(t["clickToFinalMs"] / 1000 for t in timings),
            "s",
        ),
    ]
