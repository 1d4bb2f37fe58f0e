"""The install flow in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright, no browser download) against `compass serve --http` and the fake Slack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SMALL_BANK
from fakeslack import FakeSlack, Install
from harness import AppProcess
from sqlalchemy import text

from bot.db.setup import open_database

CHROMIUM = Path("/usr/bin/chromium")
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: install Debian's chromium package (.ci/run does)"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FakeSlack, AppProcess, str]]:
    url = f"sqlite:///{tmp_path / 'compass.db'}"
    with FakeSlack() as fake:
        fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
        app = AppProcess(fake.api_url, url, SMALL_BANK)
        # localhost, not 127.0.0.1: Chromium keeps Bolt's Secure state cookie over plain http on localhost.
        public = f"http://localhost:{app.port}"
        app.env.update(
            {
                "SLACK_BOT_TOKEN": "",
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                "COMPASS_PUBLIC_URL": public,
            }
        )
        with app:
            yield fake, app, url


def test_a_workspace_installs_the_app_from_the_install_page_in_a_browser(
    served: tuple[FakeSlack, AppProcess, str],
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    fake, app, url = served
    fake.next_install(Install("T0BROWSER", team_name="Browser Team"))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"http://localhost:{app.port}/slack/install")
            link = page.locator("a[href*='oauth/v2/authorize']")
            assert link.count() == 1
            link.first.click()  # to the fake Slack's authorize page, which sends the browser back with a code
            page.wait_for_url("**/slack/oauth_redirect**")
            page.wait_for_selector("h1")
            assert page.locator("h1").inner_text() == "MLOps Compass is installed", page.content()
            assert "Browser Team" in page.content()
            assert page.locator("#open").get_attribute("href") == "slack://app?team=T0BROWSER&id=A0COMPASS"
        finally:
            browser.close()
    assert len(fake.calls_to("oauth.v2.access")) == 1
    db = open_database(url, auto_migrate=False)
    try:
        with db.engine.connect() as conn:
            teams = [r[0] for r in conn.execute(text("SELECT team_id FROM slack_bots"))]
    finally:
        db.dispose()
    assert teams == ["T0BROWSER"]
