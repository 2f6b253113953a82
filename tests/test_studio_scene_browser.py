"""The studio's floor in place in a real browser (headless Chromium, Selenium) before the real Cog
server: pick a scene, upload a room photo, drag its corners; the server gets those corners in the
photo's pixels and the scene and room pictures appear; a crossed quadrilateral is refused beside it.
Skipped, with the reason, where chromium, chromium-driver or selenium is absent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from plitka.cog_client import running_server
from plitka.studio import StudioServer
from plitka.studio.backends import CogBackend
from plitka.studio.browser import by_id, headless_chromium, missing, wait_until
from plitka.studio.predictions import PredictionStore

NO_BROWSER = missing()
pytestmark = [
    pytest.mark.server,
    pytest.mark.browser,
    pytest.mark.skipif(NO_BROWSER is not None, reason=f"no browser: {NO_BROWSER}"),
]
WAIT = 90  # seconds: a scene and a room photo on a 2-core machine shared with other work


class RecordingInputs(CogBackend):
    """The real local server; keeps the inputs of each prediction the page starts."""

    def __init__(self, url, store):
        super().__init__(url, store)
        self.received: list[dict] = []

    def start(self, prediction_id, inputs):
        self.received.append(dict(inputs))
        return super().start(prediction_id, inputs)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("work")) as url:
        yield RecordingInputs(url, PredictionStore())


@pytest.fixture(scope="module")
def page(backend):
    with StudioServer(backend, backend.store) as studio, headless_chromium() as driver:
        driver.set_window_size(1400, 1000)
        driver.get(f"{studio.url}/?lang=en")
        until(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
        yield driver


def until(driver, condition, timeout=WAIT):
    return wait_until(driver, condition, timeout)


def room_photo(path: Path) -> Path:
    pixels = np.full((500, 800, 3), (205, 195, 175), np.uint8)
    pixels[260:] = (110, 110, 110)
    Image.fromarray(pixels).save(path)
    return path


def drag(driver, handle, dx: int, dy: int) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).click_and_hold(handle).move_by_offset(dx, dy).release().perform()


def test_scene_and_own_photo_with_dragged_corners(page, backend, tmp_path):
    from selenium.webdriver.support.ui import Select

    assert by_id(page, "scene-fields").is_displayed()
    page.find_element("css selector", 'button.swatch[data-code="RED"]').click()
    page.find_element("css selector", 'button.swatch[data-code="WHITE"]').click()
    Select(by_id(page, "scene")).select_by_value("gym")
    by_id(page, "room_photo").send_keys(str(room_photo(tmp_path / "room.png")))
    until(page, lambda d: by_id(d, "room-board").is_displayed())
    handles = page.find_elements("css selector", "#room-board .corner")
    assert handles[0].get_attribute("aria-label") == "Corner: far left"
    shown_width = page.execute_script("return document.getElementById('room-image').clientWidth")
    drag(page, handles[0], -round(0.1 * shown_width), 0)  # far left: from 30% to 20% of the width
    by_id(page, "generate").click()

    until(page, lambda d: len(d.find_elements("css selector", "#scene-results figure")) == 2)
    sent = backend.received[-1]
    assert sent["scene"] == "gym"
    assert sent["room_photo"].startswith("data:image/png;base64,")
    corners = [int(v) for v in sent["room_corners"].split(",")]
    assert corners[:2] == pytest.approx([160, 275], abs=8)  # dragged to 20% of 800 px (a CSS px is ~1.5 here)
    assert corners[2:] == pytest.approx([560, 275, 760, 475, 40, 475], abs=2)  # the others where placed
    kinds = [
        f.get_attribute("data-kind") for f in page.find_elements("css selector", "#scene-results figure")
    ]
    assert kinds == ["scene", "room"]
    natural = "const i = document.getElementById('room-result'); return [i.naturalWidth, i.naturalHeight]"
    until(page, lambda d: d.execute_script(natural) == [800, 500])  # the photo, with the surface laid in


def test_crossed_corners_are_refused_beside_the_photo(page, tmp_path):
    if not by_id(page, "room-board").is_displayed():
        by_id(page, "room_photo").send_keys(str(room_photo(tmp_path / "room.png")))
        until(page, lambda d: by_id(d, "room-board").is_displayed())
    handles = page.find_elements("css selector", "#room-board .corner")
    page.execute_script("arguments[0].focus()", handles[2])
    from selenium.webdriver.common.keys import Keys

    handles[2].send_keys(*([Keys.ARROW_UP] * 60))  # near right moved above the far side: a bow tie
    by_id(page, "generate").click()
    until(page, lambda d: by_id(d, "room_corners-error").is_displayed())
    assert by_id(page, "room_corners-error").text.startswith(
        "room_corners: the four corners must make a convex"
    )


def test_match_a_colour_and_use_the_mix(page):
    page.execute_script(
        "const input = document.getElementById('match-target'); input.value = '#8a3b2c';"
        "input.dispatchEvent(new Event('input', { bubbles: true }));"
    )
    by_id(page, "match-find").click()
    until(page, lambda d: len(d.find_elements("css selector", "#match-results li")) == 5)
    first = page.find_element("css selector", "#match-results li")
    assert first.get_attribute("data-mix") == "10% BLACK, 90% TERCOT"
    assert "ΔE2000 2.18" in first.text
    first.find_element("css selector", "button.match-use").click()
    assert by_id(page, "share-BLACK").get_attribute("value") == "10"
    assert by_id(page, "share-TERCOT").get_attribute("value") == "90"
    assert by_id(page, "shares-total").text == "Total: 100%"


def test_match_refuses_a_bad_colour_naming_it(page):
    answer = page.execute_script(
        "return fetch('/api/match?target=zz').then(async (r) => [r.status, await r.json()])"
    )
    assert answer[0] == 400
    assert answer[1]["error"]["field"] == "target"
    assert answer[1]["error"]["message"].startswith("target: 'zz' is not a colour")
    answer = page.execute_script("return fetch('/api/match?target=8a3b2c&count=99').then((r) => r.status)")
    assert answer == 400
