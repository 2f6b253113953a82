"""The studio's order features (issue 33) in front of the real Cog server: the share and sheet routes
over HTTP, then parts mode, a link that reopens the same tile, and the sheet button in headless
Chromium (skipped, with the reason, where chromium, chromium-driver or selenium is absent)."""

import hashlib
import io
from urllib.parse import parse_qs, urlsplit

import pypdf
import pytest
import requests

from plitka.cog_client import running_server
from plitka.order.share import decode
from plitka.studio import StudioServer
from plitka.studio.backends import CogBackend
from plitka.studio.browser import by_id, headless_chromium, missing, wait_until
from plitka.studio.predictions import PredictionStore

NO_BROWSER = missing()
pytestmark = pytest.mark.server
WAIT = 60  # seconds for anything the server does (a 2-core machine shared with other work)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("work")) as api:
        store = PredictionStore()
        with StudioServer(CogBackend(api, store), store) as server:
            yield server.url


def finished_prediction(studio, colors, **inputs):
    answer = requests.post(
        f"{studio}/api/predictions", json={"input": {"colors": colors, **inputs}}, timeout=30
    )
    prediction = answer.json()
    while prediction["status"] not in ("succeeded", "failed", "canceled"):
        prediction = requests.get(
            f"{studio}/api/predictions/{prediction['id']}?after={prediction['version']}", timeout=60
        ).json()
    assert prediction["status"] == "succeeded", prediction
    return prediction


# --- over HTTP ------------------------------------------------------------------------------------


def test_share_route_turns_a_request_into_a_code_and_back(studio):
    made = requests.get(
        f"{studio}/api/share", params={"colors": "2:1 red/white", "angle": 45, "seed": 9}, timeout=10
    ).json()
    assert made["mix"] == {"RED": 66.667, "WHITE": 33.333} and made["seed"] == 9
    opened = requests.get(f"{studio}/api/share", params={"code": made["code"]}, timeout=10).json()
    assert opened == made
    assert decode(made["code"]).angle == 45


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"code": "RED60-WHITE40-A0-S7-QS-00"}, "code"),
        ({"code": "x" * 500}, "code"),
        ({"colors": "60% red, 30% white"}, "colors"),
        ({"colors": "red", "seed": "1e9"}, "seed"),
        ({"colors": "red", "angle": "33"}, "angle"),
    ],
)
def test_share_route_refuses_garbage_naming_the_field(studio, params, field):
    answer = requests.get(f"{studio}/api/share", params=params, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == field


def test_sheet_route_writes_the_pdf_of_a_finished_prediction(studio):
    prediction = finished_prediction(studio, "60% red, 40% white", seed=7, quality="preview")
    answer = requests.get(
        f"{studio}/api/predictions/{prediction['id']}/sheet.pdf",
        params={"area": "120", "depth_mm": "15"},
        timeout=60,
    )
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith(
        'attachment; filename="plitka-RED60-WHITE40-A0-S7-QP-'
    )
    text = pypdf.PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    for figure in ("1,247.4", "831.6", "84 bags", "415.8 kg", "RED60-WHITE40-A0-S7-QP-", "Seed 7"):
        assert figure in text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"area": "-5"}, "area"),
        ({"area": "120", "depth_mm": "500"}, "depth_mm"),
        ({"area": "120", "area_unit": "acre"}, "area_unit"),
        ({"area": "120", "binder_percent": "1e3"}, "binder_percent"),
        ({"area": "9" * 40}, "area"),
    ],
)
def test_sheet_route_refuses_bad_order_inputs_naming_the_field(studio, params, field):
    prediction = finished_prediction(studio, "red", seed=1, quality="preview")
    answer = requests.get(f"{studio}/api/predictions/{prediction['id']}/sheet.pdf", params=params, timeout=60)
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == field


# --- in the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():  # the browser tests skip here, with the reason, where there is none
    if NO_BROWSER is not None:
        pytest.skip(f"no browser: {NO_BROWSER}")
    with headless_chromium() as driver:
        yield driver


def until(driver, condition, timeout=WAIT):
    return wait_until(driver, condition, timeout)


def open_page(driver, url):
    driver.get(url)
    until(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


def pick(driver, *codes):
    for code in codes:
        driver.find_element("css selector", f'button.swatch[data-code="{code}"]').click()


def finished(driver):
    """Wait until the final picture and the share code of the newest prediction are on the page."""
    until(driver, lambda d: not by_id(d, "downloads").get_attribute("hidden"))
    until(
        driver,
        lambda d: d.execute_script("return document.getElementById('result-image').dataset.kind") == "final",
    )
    # read in one script: the order panel is drawn anew when the code arrives
    code = "return document.getElementById('share-code')?.textContent"
    until(driver, lambda d: d.execute_script(code) not in (None, "", "—"))


def shown_picture(driver):
    """The final picture's bytes (hashed) and the report, as the page fetched them."""
    data = driver.execute_script(
        "return fetch(document.getElementById('result-image').src).then((r) => r.arrayBuffer())"
        ".then((b) => Array.from(new Uint8Array(b)))"
    )
    report = driver.execute_script(
        "return fetch(document.getElementById('download-report').href).then((r) => r.json())"
    )
    return hashlib.sha256(bytes(data)).hexdigest(), report


def part_texts(driver, *codes):
    return {
        code: (by_id(driver, f"parts-{code}").text, by_id(driver, f"parts-share-{code}").text)
        for code in codes
    }


@pytest.mark.browser
def test_parts_mode_steps_parts_and_snaps_to_halves_thirds_quarters(browser, studio):
    open_page(browser, f"{studio}/?lang=en")
    pick(browser, "RED", "WHITE")
    by_id(browser, "mode-parts").click()
    assert part_texts(browser, "RED", "WHITE") == {"RED": ("1", "50%"), "WHITE": ("1", "50%")}
    assert not by_id(browser, "parts-fewer-RED").is_enabled()  # one part is the least
    by_id(browser, "parts-more-RED").click()
    assert part_texts(browser, "RED", "WHITE") == {"RED": ("2", "66.7%"), "WHITE": ("1", "33.3%")}
    assert by_id(browser, "shares-total").text == "3 parts in all = 100%"
    by_id(browser, "preset-4").click()  # quarters: 66.7/33.3 -> 3:1
    assert part_texts(browser, "RED", "WHITE") == {"RED": ("3", "75%"), "WHITE": ("1", "25%")}
    by_id(browser, "preset-2").click()
    assert part_texts(browser, "RED", "WHITE") == {"RED": ("1", "50%"), "WHITE": ("1", "50%")}
    by_id(browser, "preset-3").click()
    assert part_texts(browser, "RED", "WHITE") == {"RED": ("2", "66.7%"), "WHITE": ("1", "33.3%")}
    pick(browser, "BLACK", "BLUE")  # four colours: halves and thirds cannot hold them
    assert not by_id(browser, "preset-2").is_enabled() and not by_id(browser, "preset-3").is_enabled()
    pick(browser, "BLACK", "BLUE")
    browser.execute_script("document.getElementById('seed').value = '3'")
    by_id(browser, "generate").click()
    finished(browser)
    _, report = shown_picture(browser)
    assert report["requested"] == {"RED": 66.667, "WHITE": 33.333}
    assert "2 parts RED, 1 part WHITE" in by_id(browser, "result-image").get_attribute("alt")
    by_id(browser, "mode-percent").click()
    assert by_id(browser, "share-RED").get_attribute("value") == "66.5"  # sliders: the nearest half point


@pytest.mark.browser
def test_a_studio_link_and_its_code_reopen_the_same_tile(browser, studio):
    open_page(browser, f"{studio}/?lang=en")
    pick(browser, "RED", "WHITE")
    by_id(browser, "share-RED").clear()
    by_id(browser, "share-RED").send_keys("60\t")
    browser.execute_script("document.getElementById('seed').value = '-1'")  # a random seed, reported
    by_id(browser, "angle").send_keys("45")
    by_id(browser, "generate").click()
    finished(browser)
    picture, report = shown_picture(browser)
    link, code = by_id(browser, "share-link").get_attribute("href"), by_id(browser, "share-code").text
    query = parse_qs(urlsplit(browser.current_url).query)
    assert browser.current_url == link
    assert (query["colors"], query["seed"], query["angle"]) == (
        ["60% RED, 40% WHITE"],
        [str(report["seed"])],
        ["45"],
    )

    for url in (link, f"{studio}/?code={code}&lang=en"):
        browser.get("about:blank")
        open_page(browser, url)  # the link alone: the page fills the form and generates
        finished(browser)
        again, reopened = shown_picture(browser)
        assert again == picture
        assert {**reopened, "timings": None} == {**report, "timings": None}
        assert by_id(browser, "seed").get_attribute("value") == str(report["seed"])
        assert by_id(browser, "share-code").text == code


@pytest.mark.browser
def test_a_broken_link_is_refused_beside_the_colours(browser, studio):
    open_page(browser, f"{studio}/?lang=en&code=RED60-WHITE40-A0-S7-QS-00")
    until(browser, lambda d: by_id(d, "colors-error").is_displayed())
    assert by_id(browser, "colors-error").text.startswith("code: the check characters do not match")
    assert browser.execute_script("return window.studio.timings.length") == 0


@pytest.mark.browser
def test_the_sheet_button_downloads_the_pdf_and_shows_a_bad_area_beside_it(browser, studio):
    open_page(browser, f"{studio}/?lang=en")
    pick(browser, "RED")
    browser.execute_script("document.getElementById('seed').value = '5'")
    by_id(browser, "generate").click()
    finished(browser)
    by_id(browser, "order-area").send_keys("120")
    by_id(browser, "sheet").click()
    until(browser, lambda d: d.execute_script("return window.order.sheets.length") == 1)
    sheet = browser.execute_script("return window.order.sheets[0]")
    assert sheet["ok"] and sheet["type"] == "application/pdf" and sheet["size"] > 10_000
    assert parse_qs(urlsplit(sheet["url"]).query)["area"] == ["120"]
    by_id(browser, "order-area").clear()
    by_id(browser, "order-area").send_keys("200000")
    by_id(browser, "sheet").click()
    until(browser, lambda d: by_id(d, "order-error").is_displayed())
    assert by_id(browser, "order-error").text.startswith("area: must be from 0.1 to 100000 m²")
