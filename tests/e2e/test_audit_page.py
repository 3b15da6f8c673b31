"""The audit trail page in a real Chromium against a real ``smilepost server`` (issue #14): what an operator did with
the ``smilepost`` command shows as the CLI on this host, what an admin then does on the dashboard (revoking a web
touchpoint) shows under their e-mail with its values before and after, and the filter form narrows the table.
Screenshot: test-output/dashboard/admin-audit.png.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.support.browser import open_page, screenshot, sign_in
from tests.support.live import SMILEPOST, Cli, LiveServer, launch_server

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
ADMIN = "ops@example.com"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A server with a location and its touchpoint made from the CLI, and an admin; the URL and the touchpoint id."""
    folder = tmp_path_factory.mktemp("audit-page")
    cli = Cli(folder / "server-data")
    location = str(cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")["id"])
    touchpoint = int(str(cli.json("channel", "add", "--location", location, "--name", "Entrance", "--json")["id"]))
    args = [SMILEPOST, "user", "add", ADMIN, "--role", "admin", "--password-stdin"]
    subprocess.run(args, env=cli.env, input=PASSWORD + "\n", capture_output=True, text=True, check=True, timeout=60)
    server: LiveServer = launch_server(cli.env, folder / "server.log")
    try:
        yield server.url, touchpoint
    finally:
        server.stop()


def test_the_trail_shows_cli_and_dashboard_actions_and_filters_them(browser: Browser, live: tuple[str, int]) -> None:
    url, touchpoint = live
    page = open_page(browser, url, sign_in(browser, url, ADMIN, PASSWORD))
    try:
        page.goto("/admin/touchpoints")
        page.once("dialog", lambda dialog: dialog.accept())  # "Revoke Entrance? …"
        with page.expect_navigation():
            page.locator("tr", has_text="Entrance").locator("button", has_text="Revoke").click()
        with page.expect_navigation():
            page.click("nav.subnav a[href='/admin/audit']")

        rows = page.locator("#audit tbody tr")
        actions = [rows.nth(i).get_attribute("data-action") for i in range(rows.count())]
        assert actions == ["touchpoint.revoke", "user.add", "touchpoint.add", "location.add"]
        revoked = rows.nth(0)
        assert revoked.locator("td.actor").inner_text() == ADMIN
        assert revoked.locator("td.target").inner_text() == f"touchpoint {touchpoint}"
        assert revoked.locator("td.changes dd").inner_text().startswith('null → "20')
        assert revoked.locator("td.when").inner_text().endswith(("CET", "CEST"))  # the admin's zone: Oslo's
        assert rows.nth(3).locator("td.actor").inner_text().startswith("cli ")
        screenshot(page, "admin-audit")

        page.fill("#audit-filter input[name=action]", "touchpoint")
        page.fill("#audit-filter input[name=actor]", "cli")
        with page.expect_navigation():
            page.click("#audit-filter button[type=submit]")
        assert [rows.nth(i).get_attribute("data-action") for i in range(rows.count())] == ["touchpoint.add"]
        assert page.locator("#audit-filter input[name=actor]").input_value() == "cli"
    finally:
        page.context.close()
