"""A real headless Chromium for the studio's tests and bench/studio.py, driven by Selenium.

For the tests and bench/; needs selenium (a dev dependency) and Debian's `chromium` and
`chromium-driver` packages. Where they are absent, `missing()` says what is missing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver",)
# Headless, no sandbox (root in CI containers), and nothing that would reach the network.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1400",
)


def _first(paths: tuple[str, ...]) -> str | None:
    return next((path for path in paths if Path(path).exists()), None)


def missing() -> str | None:
    """Why a browser cannot be started here, or None where it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if not _first(CHROMIUM):
        return "chromium is not installed (apt-get install -y chromium chromium-driver)"
    if not _first(CHROMEDRIVER):
        return "chromedriver is not installed (apt-get install -y chromium-driver)"
    return None


@contextmanager
def headless_chromium(language: str = "en-US") -> Iterator[Any]:
    """A Selenium WebDriver on a fresh, empty profile; quit and the profile removed on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="plitka-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = _first(CHROMIUM) or CHROMIUM[0]
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--lang={language}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(_first(CHROMEDRIVER) or CHROMEDRIVER[0]))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(driver: Any, condition: Any, timeout: float, poll_seconds: float = 0.05) -> Any:
    """What `condition(driver)` returns once it is truthy, polling every poll_seconds; Selenium's
    TimeoutException after timeout seconds."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=poll_seconds).until(condition)


def by_id(driver: Any, element_id: str) -> Any:
    """The page's element with this id (NoSuchElementException where there is none)."""
    return driver.find_element("id", element_id)
