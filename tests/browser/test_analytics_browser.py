"""The analytics page in a real headless Chromium: the charts load under the desk's CSP, and what a
chart says (its SVG's category labels and bar totals) is what the table behind it says.

With MAKEGOOD_SCREENSHOTS=1 it saves docs/screenshots/analytics.png (the README's picture)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC  # noqa: N812 - Selenium's own alias
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.seeded_ledger import seed

pytestmark = pytest.mark.browser

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def ids(world):
    return seed(world.ledger, world.services.catalog.version)


def sign_in(driver, world, name):
    driver.get(world.base_url + "/login?next=/analytics")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(world.passwords[name])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=case-count]")))


def chart_texts(driver, name):
    """{"label-0": "2026-11-02", "value-0": "3", ...} from the chart's SVG as the browser holds it."""
    src = driver.find_element(By.CSS_SELECTOR, f"img[data-chart={name}]").get_attribute("src")
    prefix = "data:image/svg+xml;base64,"
    assert src.startswith(prefix)
    root = ET.fromstring(base64.b64decode(src[len(prefix) :]))  # noqa: S314 - drawn by the desk this test started
    found = {}
    for group in root.iter(f"{SVG}g"):
        gid = group.get("id", "")
        if gid.startswith(("label-", "value-")):
            found[gid] = "".join(group.itertext()).strip()
    return found


def table_rows(driver, name):
    cells = []
    for row in driver.find_elements(By.CSS_SELECTOR, f"[data-table={name}] table tbody tr"):
        cells.append([td.get_attribute("textContent").strip() for td in row.find_elements(By.TAG_NAME, "td")])
    return cells


def test_each_chart_agrees_with_its_table(world, ids, browser, screenshot):
    sign_in(browser, world, "sam")
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=case-count]").text == "6"

    # The charts are data: images: the CSP (img-src 'self' data:) lets them load, and they did.
    for img in browser.find_elements(By.CSS_SELECTOR, "img.chart"):
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0

    # Cases per week: one bar per week, its total the sum of that week's rows in the table.
    weeks = Counter()
    for week, _situation, cases in table_rows(browser, "exceptions"):
        weeks[week] += int(cases)
    chart = chart_texts(browser, "exceptions")
    drawn = [(chart[f"label-{i}"], int(chart[f"value-{i}"])) for i in range(len(weeks))]
    assert drawn == sorted(weeks.items())
    assert drawn == [("2026-11-02", 3), ("2026-11-09", 3)]
    assert f"label-{len(weeks)}" not in chart

    # Where limits pinch: one bar per row, labelled situation · remedy · tier, as long as "times".
    rows = table_rows(browser, "limits")
    chart = chart_texts(browser, "limits")
    assert len(rows) == 2
    for i, (situation, remedy, tier, _cap, times, _total, _most) in enumerate(rows):
        assert chart[f"label-{i}"] == f"{situation.replace('_', ' ').capitalize()} · {remedy} · {tier}"
        assert chart[f"value-{i}"] == times

    # Asked and given: grouped bars, one value per series per row.
    rows = table_rows(browser, "asked_vs_given")
    chart = chart_texts(browser, "asked_vs_given")
    for i, (_situation, _asks, asked, _granted, given) in enumerate(rows):
        assert (chart[f"value-0-{i}"], chart[f"value-1-{i}"]) == (asked, given)

    screenshot(browser, "analytics.png")


def test_filters_redraw_the_charts(world, ids, browser):
    sign_in(browser, world, "sam")
    browser.find_element(By.ID, "f-from").send_keys("11/09/2026")  # Chromium's date input: mm/dd/yyyy
    browser.find_element(By.CSS_SELECTOR, "#f-situation option[value=late_delivery]").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Apply']").click()
    WebDriverWait(browser, 15).until(EC.url_contains("situation=late_delivery"))
    assert "from=2026-11-09" in browser.current_url
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=case-count]").text == "2"
    chart = chart_texts(browser, "exceptions")
    assert (chart["label-0"], chart["value-0"]) == ("2026-11-09", "2")
