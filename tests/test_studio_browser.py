"""The studio page in a real browser: Debian's headless Chromium, driven by Selenium, in front of the
real Cog server. Skipped, with the reason, where chromium, chromium-driver or selenium is absent."""

import base64
import json
from pathlib import Path

import pytest
from PIL import Image

from plitka.cog_client import free_port
from plitka.palette import PALETTE
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
WAIT = 60  # seconds for anything the server does (a 2-core machine shared with other work)


@pytest.fixture(scope="module")
def api(procedural_server):
    return procedural_server


@pytest.fixture(scope="module")
def studio(api):
    store = PredictionStore()
    with StudioServer(CogBackend(api, store), store) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as driver:
        yield driver


@pytest.fixture
def page(browser, studio):
    browser.get(f"{studio}/?lang=en")
    until(browser, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    return browser


def until(driver, condition, timeout=WAIT):
    return wait_until(driver, condition, timeout)


def pick(driver, *codes):
    for code in codes:
        driver.find_element("css selector", f'button.swatch[data-code="{code}"]').click()


def type_into(driver, element_id, text):
    from selenium.webdriver.common.keys import Keys

    field = by_id(driver, element_id)
    field.clear()
    field.send_keys(text, Keys.TAB)


def shares(driver):
    return {code: by_id(driver, f"share-{code}").get_attribute("value") for code in ("RED", "WHITE")}


def finished(driver, timeout=WAIT):
    """Wait until the report of the newest prediction is drawn; return the page's timing record."""
    until(driver, lambda d: not by_id(d, "downloads").get_attribute("hidden"), timeout)
    until(
        driver,
        lambda d: d.execute_script("return document.getElementById('result-image').dataset.kind") == "final",
        timeout,
    )
    return driver.execute_script("return window.studio.timings.at(-1)")


def events(driver, kind=None):
    found = driver.execute_script("return window.studio.events")
    return [event for event in found if kind is None or event["kind"] == kind]


def test_pick_colours_set_shares_and_see_the_preview_then_the_final(page):
    from selenium.webdriver.common.keys import Keys

    pick(page, "RED", "WHITE")
    assert shares(page) == {"RED": "50", "WHITE": "50"}
    type_into(page, "share-RED", "60")
    assert shares(page) == {"RED": "60", "WHITE": "40"}
    by_id(page, "share-range-WHITE").send_keys(Keys.ARROW_RIGHT)  # linked, in 0.5 steps
    assert shares(page) == {"RED": "59.5", "WHITE": "40.5"}
    by_id(page, "share-range-WHITE").send_keys(Keys.ARROW_LEFT)
    assert by_id(page, "shares-total").text == "Total: 100%"
    type_into(page, "seed", "7")
    by_id(page, "angle").send_keys("45")
    by_id(page, "generate").click()

    timing = finished(page)
    shown = [event["kind"] for event in events(page) if event["kind"] in ("preview", "final")]
    assert shown[-2:] == ["preview", "final"]
    assert 0 < timing["clickToPreviewMs"] < timing["clickToFinalMs"]
    image = by_id(page, "result-image")
    assert page.execute_script("return arguments[0].naturalWidth", image) == 1024
    assert "60% RED, 40% WHITE" in image.get_attribute("alt")
    assert not by_id(page, "colormap").get_attribute("hidden")
    rows = page.find_elements("css selector", "#chart tbody tr")
    assert [row.get_attribute("data-code") for row in rows] == ["RED", "WHITE"]
    ordered = [float(row.find_elements("css selector", "td")[0].text) for row in rows]
    measured = [float(row.find_elements("css selector", "td")[1].text) for row in rows]
    assert ordered == [60, 40]
    assert measured == pytest.approx([60, 40], abs=2)
    report = page.execute_script(
        "return fetch(document.getElementById('download-report').href).then((r) => r.json())"
    )
    assert (report["requested"], report["seed"], report["angle"]) == ({"RED": 60.0, "WHITE": 40.0}, 7, 45)
    assert by_id(page, "download-image").get_attribute("download").endswith("final.png")


def test_api_errors_are_shown_beside_the_field_they_name(page):
    pick(page, "RED")
    type_into(page, "seed", "3000000000")  # above the schema's maximum: Cog's own 422
    by_id(page, "generate").click()
    until(page, lambda d: by_id(d, "seed-error").is_displayed())
    assert by_id(page, "seed-error").text.startswith("seed:")
    assert by_id(page, "seed").get_attribute("aria-invalid") == "true"
    assert page.execute_script(
        "const seed = document.getElementById('seed');"
        "return document.getElementById('seed-error').closest('.field').contains(seed)"
    )
    assert not by_id(page, "colors-error").is_displayed()

    pick(page, "WHITE")
    type_into(page, "seed", "7")
    type_into(page, "share-RED", "100")  # WHITE 0%: the product refuses it, naming `colors`
    assert shares(page) == {"RED": "100", "WHITE": "0"}
    by_id(page, "generate").click()
    until(page, lambda d: by_id(d, "colors-error").is_displayed())
    assert by_id(page, "colors-error").text.startswith("colors: every colour needs a share above 0%")
    assert not by_id(page, "seed-error").is_displayed()
    assert by_id(page, "seed").get_attribute("aria-invalid") is None


def test_switch_the_page_to_russian_and_back(page, studio):
    red = PALETTE["RED"].name_ru
    by_id(page, "lang-ru").click()
    assert page.execute_script("return document.documentElement.lang") == "ru"
    assert by_id(page, "generate").text == "Создать"
    assert page.find_element("tag name", "h1").text == "Студия Plitka Pro"
    pick(page, "RED")
    swatch = page.find_element("css selector", 'button.swatch[data-code="RED"] .name')
    assert swatch.text == red[0].upper() + red[1:]
    assert by_id(page, "share-RED").get_attribute("aria-label") == f"Доля цвета «{swatch.text}», %"
    page.get(f"{studio}/")  # the choice is kept
    until(page, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    assert by_id(page, "generate").text == "Создать"
    by_id(page, "lang-en").click()
    assert by_id(page, "generate").text == "Generate"


def test_keyboard_alone_picks_a_colour_and_generates(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    keys = ActionChains(page)
    for _ in range(40):
        keys.send_keys(Keys.TAB).perform()
        if page.execute_script("return document.activeElement.dataset.code") == PALETTE.codes[0]:
            break
    keys.send_keys(Keys.SPACE).perform()
    assert by_id(page, "share-" + PALETTE.codes[0]).get_attribute("value") == "100"
    by_id(page, "generate").send_keys(Keys.ENTER)
    assert finished(page)["clickToPreviewMs"] > 0
    focusable = page.execute_script(
        "return [...document.querySelectorAll('button, input, select, a[href]')]"
        ".filter((e) => e.offsetParent && e.tabIndex < 0).map((e) => e.outerHTML)"
    )
    assert focusable == []


def test_two_recent_tiles_compare_side_by_side(page):
    pick(page, "BLUE", "YELLOW")
    for seed in ("1", "2"):
        type_into(page, "seed", seed)
        before = len(page.find_elements("css selector", "#recent li"))
        by_id(page, "generate").click()
        until(page, lambda d, n=before: len(d.find_elements("css selector", "#recent li")) > n)
    boxes = page.find_elements("css selector", "#recent input[type=checkbox]")
    boxes[0].click()
    page.find_elements("css selector", "#recent input[type=checkbox]")[1].click()
    until(page, lambda d: by_id(d, "compare").is_displayed())
    figures = page.find_elements("css selector", "#compare figure")
    assert len(figures) == 2
    left, right = (figure.rect for figure in figures)
    assert left["y"] == right["y"] and left["x"] + left["width"] <= right["x"]
    captions = [figure.find_element("tag name", "figcaption").text for figure in figures]
    assert {"seed 1" in text or "seed 2" in text for text in captions} == {True}
    assert captions[0] != captions[1]
    until(
        page,
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('#compare img')]"
            ".every((i) => i.complete && i.naturalWidth > 0)"
        ),
    )


CONTRAST = """
const linear = (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const luminance = (rgb) => rgb.map((v) => linear(v / 255))
  .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
const parse = (text) => text.match(/[\\d.]+/g).map(Number);
const background = (node) => {
  for (; node; node = node.parentElement) {
    const color = parse(getComputedStyle(node).backgroundColor);
    if (color.length < 4 || color[3] > 0) return color.slice(0, 3);
  }
  return [255, 255, 255];
};
const worst = [];
for (const node of document.querySelectorAll('body *')) {
  const own = [...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim());
  if (!own || !node.offsetParent) continue;
  const [a, b] = [luminance(parse(getComputedStyle(node).color).slice(0, 3)), luminance(background(node))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const text = node.textContent.trim().slice(0, 30);
  if (ratio < 4.5) worst.push(`${node.tagName}#${node.id} ${text}: ${ratio.toFixed(2)}`);
}
return worst;
"""

UNLABELLED = """
return [...document.querySelectorAll('input, select, button')]
  .filter((e) => e.offsetParent || e.type === 'file')
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
  .map((e) => e.outerHTML.slice(0, 80));
"""


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_control_is_labelled_and_text_has_contrast(page, lang):
    by_id(page, f"lang-{lang}").click()
    pick(page, "RED", "WHITE")
    by_id(page, "generate").click()
    finished(page)
    assert page.execute_script(UNLABELLED) == []
    assert page.execute_script(CONTRAST) == []
    assert page.execute_script("return [...document.images].filter((i) => i.alt === null).length") == 0


class WithoutImageInput(CogBackend):
    """The real local server, with the served schema as an older model's: no `image` input."""

    def schema(self):
        schema = super().schema()
        del schema["components"]["schemas"]["Input"]["properties"]["image"]
        return schema


class RecordingImages(CogBackend):
    """The real local server; keeps each `image` the page sends before passing it on unchanged."""

    def __init__(self, url, store):
        super().__init__(url, store)
        self.received: list[str | None] = []

    def start(self, prediction_id, inputs):
        self.received.append(inputs.get("image"))
        return super().start(prediction_id, inputs)


def test_page_waits_for_an_api_that_is_still_starting(browser, api):
    store = PredictionStore()
    backend = CogBackend(f"http://127.0.0.1:{free_port()}", store)  # nothing listens there yet
    with StudioServer(backend, store) as studio:
        browser.get(f"{studio.url}/?lang=en")
        until(browser, lambda d: by_id(d, "load-error").is_displayed())
        assert "could not reach the API" in by_id(browser, "load-error").text
        backend.url = api  # as `plitka serve --studio` does: the server comes up after the page
        until(browser, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
        assert not by_id(browser, "load-error").is_displayed()
        pick(browser, "RED")
        by_id(browser, "generate").click()
        assert finished(browser)["clickToPreviewMs"] > 0


def test_photo_upload_appears_only_with_an_image_input(page, browser, api):
    assert by_id(page, "image-field").is_displayed()  # the product's served schema has `image`
    store = PredictionStore()
    with StudioServer(WithoutImageInput(api, store), store) as other:
        browser.get(f"{other.url}/?lang=en")
        until(browser, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
        assert not by_id(browser, "image-field").is_displayed()


def upload(driver, path: Path) -> None:
    by_id(driver, "image").send_keys(str(path))
    until(driver, lambda d: d.execute_script("return document.getElementById('image').files.length") == 1)


def test_an_uploaded_photo_is_recoloured_by_the_server_and_a_bad_one_refused_beside_it(
    browser, api, tmp_path
):
    from plitka.layout import build_layout
    from plitka.render import render_tile

    photo = tmp_path / "crumb.png"  # a close-up of crumb, as a customer's photo would be
    render_tile(build_layout({"RED": 70, "WHITE": 30}, size=512, seed=5), 0).crop((64, 64, 448, 448)).save(
        photo
    )
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 8), (200, 30, 40)).save(tiny)
    store = PredictionStore()
    backend = RecordingImages(api, store)
    with StudioServer(backend, store) as studio:
        browser.get(f"{studio.url}/?lang=en")
        until(browser, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
        upload(browser, photo)
        pick(browser, "RED", "WHITE")
        by_id(browser, "generate").click()
        finished(browser)
        header, payload = backend.received[-1].split(",", 1)
        assert header == "data:image/png;base64"
        assert base64.b64decode(payload) == photo.read_bytes()
        report = browser.execute_script(
            "return fetch(document.getElementById('download-report').href).then((r) => r.json())"
        )
        assert report["engine"] == "recolor", json.dumps(report)[:300]

        upload(browser, tiny)
        by_id(browser, "generate").click()
        until(browser, lambda d: by_id(d, "image-error").is_displayed(), timeout=60)
        assert by_id(browser, "image-error").text.startswith("image:")
        assert by_id(browser, "image").get_attribute("aria-invalid") == "true"


@pytest.fixture(scope="module")
def sdxl_studio(sdxl_server):
    store = PredictionStore()
    with StudioServer(CogBackend(sdxl_server, store), store) as s:
        yield s.url


def test_a_long_prediction_shows_its_progress(browser, sdxl_studio):
    browser.get(f"{sdxl_studio}/?lang=en")
    until(browser, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    pick(browser, "RED", "WHITE")
    by_id(browser, "quality").send_keys("preview")  # 12 steps x strength 0.35: 4 denoising steps
    by_id(browser, "generate").click()
    shown = {}  # progress text -> bar value, as the page showed them
    slow = 600  # the tiny SDXL at 768 px: seconds per step on a loaded 2-core machine

    def two_steps_seen(driver):
        text, value = driver.execute_script(  # in one call: the page may move on between two reads
            "return [document.getElementById('progress-text').textContent,"
            " document.getElementById('progress').getAttribute('value')]"
        )
        shown[text] = value
        return len({text.split(" · ")[0] for text in shown if "(step " in text}) >= 2

    until(browser, two_steps_seen, timeout=slow)
    steps = sorted({text.split(" · ")[0] for text in shown if "(step " in text})
    assert steps[0].startswith("Preview ready. Rendering the final picture… (step 1 of ")
    values = [int(value) for text, value in shown.items() if "(step " in text]
    assert values == sorted(values) and values[0] < values[-1] < 100
    finished(browser, timeout=slow)
    report = browser.execute_script(
        "return fetch(document.getElementById('download-report').href).then((r) => r.json())"
    )
    assert report["engine"] == "sdxl", json.dumps(report)[:300]
