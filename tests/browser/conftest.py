"""Headless Debian Chromium driven by Selenium against a real desk (see tests/desk/harness.py).

Nothing downloads a browser: when /usr/bin/chromium or /usr/bin/chromedriver is missing the
tests are skipped (CI installs Debian's chromium and chromium-driver)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.desk.harness import ROOT, make_world

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="session", autouse=True)
def _debian_chromium():
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(f"Debian chromium/chromium-driver not installed: {', '.join(missing)} missing")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = make_world(tmp_path_factory.mktemp("desk-browser"))
    yield w
    w.server.stop()
    w.engine.dispose()


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="makegood-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    # An explicit driver path: Selenium Manager is never consulted, nothing is downloaded.
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver, profile


@pytest.fixture
def browser():
    """A fresh browser per test: its own profile, no cookies."""
    driver, profile = _driver()
    yield driver
    try:
        driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def screenshot():
    """screenshot(driver, "queue.png"): saved to docs/screenshots only when MAKEGOOD_SCREENSHOTS=1."""

    def save(driver, name: str) -> None:
        if os.environ.get("MAKEGOOD_SCREENSHOTS") != "1":
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        height, chrome = driver.execute_script(
            "return [Math.max(document.documentElement.scrollHeight, 700), window.outerHeight - window.innerHeight]"
        )
        driver.set_window_size(1280, min(int(height) + int(chrome), 2400))
        driver.save_screenshot(str(SCREENSHOTS / name))
        driver.set_window_size(1280, 900)

    return save
