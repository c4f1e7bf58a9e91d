"""`framewatch serve` in a real browser: the system's headless Chromium, driven by Playwright
(never Playwright's own browser download). The dashboard draws its chart from the JS the
package serves itself (no request leaves 127.0.0.1), a stored query runs with a parameter
typed into its form and shows t.me links, and the screenshot is not blank."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from tests.serve_seed import running_serve, seed_database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no system Chromium: install the operating system's package (apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture
async def db(tmp_path: Path) -> Path:
    path = tmp_path / "framewatch.db"
    await seed_database(path)
    return path


def test_dashboard_chart_stored_query_and_links_in_chromium(db: Path, tmp_path: Path) -> None:
    with running_serve(db, tmp_path) as (base, _), sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(f"{base}/-/dashboard")
            page.wait_for_selector("#framings-chart[data-state=drawn]", timeout=30_000)
            assert page.locator("#framings-chart svg path").count() > 0
            assert "biolabs" in (page.locator("#framings-chart svg").text_content() or "")
            shot = page.screenshot(full_page=True)
            (tmp_path / "dashboard.png").write_bytes(shot)
            grey = Image.open(io.BytesIO(shot)).convert("L")
            assert ImageStat.Stat(grey).stddev[0] > 10, "the dashboard screenshot is blank"

            page.click("text=First seen: a framing's earliest posts")
            page.fill("input[name=framing]", "goodwill")
            page.click("input[type=submit]")
            link = page.wait_for_selector("td a[href^='https://t.me/']", timeout=30_000)
            assert link is not None
            assert link.get_attribute("href") == "https://t.me/c/1234567890/5"
            assert "framing=goodwill" in page.url
            assert page.title().startswith("First seen")
            outside = [url for url in requested if not url.startswith(base)]
            assert outside == [], f"the page loaded from outside: {outside}"
        finally:
            browser.close()
