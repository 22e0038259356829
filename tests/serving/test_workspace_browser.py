"""The workspace in a real headless Chromium (Debian's, driven by Playwright) against a real uvicorn.

Every page visited is checked for console errors, requests to any other host, and
axe-core accessibility violations (axe vendored in ``tests/serving/vendor``); every
chart must render an SVG with marks. A screenshot of each page is saved under
``$SUPPLIERRISK_TEST_ARTIFACTS`` (default ``test-artifacts/``) in ``browser/``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from serving.app import create_app
from supplierrisk.tracking import CHALLENGER, CHAMPION, MODEL_NAMES, connect, version_for_alias
from tests.stack import Stack, copy_home, new_otd_version, running

pytestmark = pytest.mark.slow
CHROMIUM = Path(os.environ.get("SUPPLIERRISK_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = (
    Path(os.environ.get("SUPPLIERRISK_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))
    / "browser"
)


@dataclass
class Watch:
    """What a page did that it should not: console errors, page errors, requests elsewhere."""

    base: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "request",
            lambda r: None if r.url.startswith((self.base, "data:")) else self.foreign.append(r.url),
        )

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install it with 'apt-get install -y chromium' (.ci/run does)"
        )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The stack's copy served by uvicorn, with an OTD challenger waiting to be promoted."""
    settings = copy_home(stack, tmp_path_factory.mktemp("browser") / "home")
    version = new_otd_version(settings)
    connect(settings).set_registered_model_alias(MODEL_NAMES["otd"], CHALLENGER, version)
    with running(create_app(settings)) as url:
        yield url, settings


def violations(page: Page) -> list[tuple[str, str, list[Any]]]:
    """axe-core's violations on the page (injected through the debugger, so the page's CSP allows it)."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result]


def checked(page: Page, name: str) -> None:
    """Screenshot the page and fail on any axe-core violation."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    problems = violations(page)
    assert problems == [], problems


def test_the_accessibility_check_catches_what_it_should(browser: Browser) -> None:
    page = browser.new_page()
    page.set_content(
        '<html lang="en"><title>t</title><main><img src="data:,"><input type="text"></main></html>'
    )
    found = {name for name, _, _ in violations(page)}
    assert {"image-alt", "label"} <= found
    page.close()


def chart_marks(page: Page, chart: str) -> int:
    page.wait_for_selector(f"#chart-{chart} svg .mark-symbol path, #chart-{chart} svg .mark-line path")
    return page.locator(f"#chart-{chart} svg [class*='mark-'] path").count()


def log_in(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/ui/")
    assert "/ui/login" in page.url
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/ui/")


def column(page: Page, table: str, key: str) -> list[str]:
    return page.locator(f"#table-{table} tbody td[data-col='{key}']").all_inner_texts()


def logged_in(browser: Browser, base: str, key: str) -> tuple[BrowserContext, Page, Watch]:
    """A fresh browser context logged in with ``key``, its page watched for errors and foreign requests."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch = Watch(base)
    watch.attach(page)
    log_in(page, base, key)
    return context, page, watch


def percent(text: str) -> float:
    found = re.match(r"([0-9.]+)%", text)
    return float(found.group(1)) if found else float("inf")


def test_a_category_manager_reviews_a_category_and_a_supplier(
    browser: Browser, site: tuple[str, Any], stack: Stack
) -> None:
    base, _ = site
    context, page, watch = logged_in(browser, base, stack.viewer)
    checked(page, "home")
    # The category with the most suppliers, from the home table.
    counts = [int(n) for n in column(page, "categories", "n_suppliers")]
    names = column(page, "categories", "category")
    category = names[counts.index(max(counts))]
    page.get_by_role("link", name=category, exact=True).first.click()
    page.wait_for_url(re.compile(r".*/ui/categories/.+"))
    assert chart_marks(page, "risk-spend") > 0
    assert chart_marks(page, "otd-trend") > 0
    checked(page, "category")

    # From the keyboard: the skip link comes first, and a sort header is a link Enter follows.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.locator("#table-suppliers th a[data-sort='otd_rate']").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*sort=otd_rate.*"))
    page.wait_for_selector("#table-suppliers th[aria-sort='descending']")
    shown = [percent(t) for t in column(page, "suppliers", "otd_rate")]
    known = [v for v in shown if v != float("inf")]
    assert known == sorted(known, reverse=True)
    assert len(known) > 1

    band = column(page, "suppliers", "risk_band")[0]
    page.get_by_label("Risk band", exact=True).select_option(band)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(rf".*band={band}.*"))
    assert set(column(page, "suppliers", "risk_band")) == {band}
    listed = column(page, "suppliers", "supplier_id")
    with page.expect_download() as download:
        page.locator("#table-suppliers .exports a", has_text="CSV").click()
    saved = ARTIFACTS / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("supplierrisk_suppliers_")
    assert f"_{band}_as-of-" in saved.name
    rows = list(csv.reader(saved.read_text(encoding="utf-8-sig").splitlines()))
    assert [r[0] for r in rows[1:]] == listed

    page.locator("#table-suppliers tbody td[data-col='supplier_id'] a").first.click()
    page.wait_for_url(re.compile(r".*/ui/suppliers/.+"))
    assert chart_marks(page, "kpi-trend") > 0
    assert page.get_by_role("heading", name="Disruption risk").is_visible()
    checked(page, "supplier")

    page.get_by_role("link", name="Open lines", exact=True).click()
    page.wait_for_url(f"{base}/ui/lines")
    checked(page, "lines")
    page.get_by_role("link", name="Models and monitoring").click()
    checked(page, "monitoring-viewer")
    assert page.get_by_role("button", name="Promote to champion").count() == 0
    # Evidently's page runs sandboxed under its own policy, and draws.
    page.get_by_role("link", name="open lines (OTD features)").click()
    page.wait_for_url(f"{base}/ui/monitoring/drift/otd")
    page.wait_for_selector("svg", timeout=20_000)
    assert page.get_by_text("Dataset Drift").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "drift-otd.png"), full_page=False)
    page.go_back()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/ui/login\?reason=logout"))
    assert page.get_by_text("You are logged out.").is_visible()
    checked(page, "login")
    page.goto(f"{base}/ui/")
    assert "/ui/login" in page.url
    watch.assert_clean()
    context.close()


def test_an_admin_promotes_the_challenger_with_a_reason(
    browser: Browser, site: tuple[str, Any], stack: Stack
) -> None:
    base, settings = site
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = Watch(base)
    watch.attach(page)
    log_in(page, base, stack.admin)
    page.goto(f"{base}/ui/monitoring")
    client = connect(settings)
    challenger = version_for_alias(client, MODEL_NAMES["otd"], CHALLENGER)
    assert challenger is not None
    page.get_by_label(f"Reason for promoting otd version {challenger.version}").fill(
        "browser test: reviewed backtest"
    )
    page.get_by_role("button", name="Promote to champion").click()
    page.wait_for_url(re.compile(r".*/ui/monitoring\?message=.*"))
    assert page.get_by_text(f"supplierrisk-otd version {challenger.version} is now champion").is_visible()
    checked(page, "monitoring-promoted")
    champion = version_for_alias(client, MODEL_NAMES["otd"], CHAMPION)
    assert champion is not None
    assert champion.version == challenger.version
    # Recorded exactly as `supplierrisk promote` records it (tracking.promote): who, why, when.
    tags = client.get_model_version(MODEL_NAMES["otd"], challenger.version).tags
    assert tags["promoted_reason"] == "browser test: reviewed backtest"
    assert tags["promoted_by"] == "test-admin (workspace)"
    assert tags["promoted_at"]
    # The service reloaded: the banner names the new champion.
    assert f"otd v{challenger.version}" in page.locator(".status").inner_text()
    watch.assert_clean()
    page.close()


def test_a_category_manager_drags_shares_runs_a_scenario_saves_and_exports_it(
    browser: Browser, site: tuple[str, Any], stack: Stack
) -> None:
    base, _ = site
    context, page, watch = logged_in(browser, base, stack.viewer)
    page.get_by_role("link", name="Scenarios").click()
    page.wait_for_url(f"{base}/ui/scenarios")
    checked(page, "scenarios-start")
    category = page.locator("#category option").nth(1).get_attribute("value")
    assert category
    page.get_by_label("Category").select_option(category)
    page.get_by_role("button", name="Show suppliers").click()
    page.wait_for_selector("table[data-table='allocation']")
    numbers = page.locator("input[data-share]")
    assert page.locator("#share-total").inner_text() == "100.0"
    first, second = float(numbers.nth(0).input_value()), float(numbers.nth(1).input_value())
    # Drag the largest supplier's slider down to half its share: its number follows, and the total.
    half = round(first / 2 * 2) / 2  # the slider moves in steps of 0.5
    page.locator("input[data-share-for='share-0']").fill(f"{half:g}")
    assert float(numbers.nth(0).input_value()) == half
    numbers.nth(1).fill(f"{second + first - half:g}")
    assert page.locator("#share-total").inner_text() == "100.0"
    page.get_by_role("button", name="Run scenario").click()
    page.wait_for_url(re.compile(r".*/ui/scenarios\?.*share=.*"))
    page.wait_for_selector("#scenario-result")
    page.wait_for_selector("#chart-late-lines svg .mark-rect path")
    assert page.locator("#chart-late-lines svg .mark-rect path").count() > 2
    measures = column(page, "comparison", "measure")
    assert measures[0] == "Late lines, expected"
    on_screen = column(page, "comparison", "scenario")[0]
    checked(page, "scenarios-result")
    page.get_by_role("button", name=re.compile("Save this scenario")).click()
    page.wait_for_url(re.compile(r".*/ui/scenarios/saved/sc-[0-9a-f]+"))
    assert column(page, "comparison", "scenario")[0] == on_screen
    checked(page, "scenario-saved")
    with page.expect_download() as download:
        page.locator("#table-comparison .exports a", has_text="CSV").click()
    saved = ARTIFACTS / download.value.suggested_filename
    download.value.save_as(saved)
    rows = list(csv.reader(saved.read_text(encoding="utf-8-sig").splitlines()))
    assert [r[0] for r in rows[1:]] == measures
    assert rows[1][2] == on_screen
    watch.assert_clean()
    context.close()
