"""Screenshots of the studio in the real browser (headless Chromium) for docs/studio.md.

    python tools/studio_screenshots.py [--out FOLDER]

Starts the local Cog server (procedural engine) and the studio, then, as a person would: picks red
and white, sets 60/40, angle 45, seed 7, generates (docs/images/studio-en.png); switches to Russian
and sends a 0% share, which the product refuses beside the shares (docs/images/studio-ru-error.png).
Needs selenium and Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import base64
import io
import tempfile
from pathlib import Path

from PIL import Image
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from plitka.cog_client import running_server
from plitka.studio import StudioServer
from plitka.studio.backends import CogBackend
from plitka.studio.browser import headless_chromium, missing
from plitka.studio.predictions import PredictionStore

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1280
SCALE = 0.75  # docs need to read the page, not every pixel
COLOURS = 128  # an indexed PNG: a page of flat colours and one tile picture


def save(driver, out: Path, element_id: str | None = None) -> None:
    """The whole page (or one element of it), scaled and stored as an indexed PNG."""
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    if element_id:
        png = driver.find_element("id", element_id).screenshot_as_png
    else:  # beyond the window: Chromium's own full-page capture
        capture = {"format": "png", "captureBeyondViewport": True}
        png = base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot", capture)["data"])
    shot = Image.open(io.BytesIO(png))
    shot = shot.convert("RGB")
    small = shot.resize((round(shot.width * SCALE), round(shot.height * SCALE)), Image.Resampling.LANCZOS)
    small.quantize(COLOURS, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"{out}: {small.width}x{small.height}, {out.stat().st_size // 1024} KiB")


def field(driver, element_id: str, text: str) -> None:
    element = driver.find_element("id", element_id)
    element.clear()
    element.send_keys(text, Keys.TAB)


def take(url: str, out: Path) -> None:
    with headless_chromium() as driver:
        wait = WebDriverWait(driver, 300, poll_frequency=0.1)
        driver.set_window_size(WIDTH, 1400)
        driver.get(f"{url}/?lang=en")
        wait.until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
        wait.until(lambda d: d.execute_script("return [...document.images].every((i) => i.complete)"))
        for code in ("RED", "WHITE"):
            driver.find_element("css selector", f'button.swatch[data-code="{code}"]').click()
        field(driver, "share-RED", "60")
        driver.find_element("id", "angle").send_keys("45")
        for seed in ("3", "7"):  # two tiles, the first kept in Recent tiles and compared
            field(driver, "seed", seed)
            driver.find_element("id", "generate").click()
            wait.until(lambda d, s=seed: f"seed {s}" in d.find_element("id", "recent").text)
        for box in range(2):
            driver.find_elements("css selector", "#recent input[type=checkbox]")[box].click()
        wait.until(
            lambda d: d.execute_script(
                "return [...document.images].filter((i) => !i.hidden).every((i) => i.complete)"
            )
        )
        save(driver, out / "studio-en.png")

        driver.find_element("id", "lang-ru").click()
        field(driver, "share-RED", "100")
        driver.find_element("id", "generate").click()
        wait.until(lambda d: d.find_element("id", "colors-error").is_displayed())
        save(driver, out / "studio-ru-error.png", element_id="studio")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args(argv)
    reason = missing()
    if reason:
        parser.error(reason)
    store = PredictionStore()
    work = Path(tempfile.mkdtemp(prefix="plitka-shots-"))
    with running_server(work) as api, StudioServer(CogBackend(api, store), store) as studio:
        take(studio.url, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
