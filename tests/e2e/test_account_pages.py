"""Accounts on the dashboard in a real Chromium against a real ``smilepost server`` (issue #14): a manager opens
"Account" from the header and changes their password (their other browser is signed out, this one stays, the new
password signs in); an admin opens "Users" from the admin navigation and disables a manager, whose open page is sent
to the sign-in page on its next request. Both pages fit a phone.

The data is made the way operators make it, with the ``smilepost`` command. Screenshot:
test-output/dashboard/admin-users.png (README's docs/screenshots/admin-users.png).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import PHONE, horizontal_overflow, open_page, screenshot, sign_in
from tests.support.live import SMILEPOST, Cli, LiveServer, launch_server

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
ADMIN, LANE, SHOP = "admin@example.com", "lane-lead@example.com", "shop-lead@example.com"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with one location, an admin and two managers of it; stopped after the module."""
    folder = tmp_path_factory.mktemp("account-pages")
    cli = Cli(folder / "server-data")
    location = str(cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")["id"])
    for email, grant in ((ADMIN, []), (LANE, ["--location", location]), (SHOP, ["--location", location])):
        role = "admin" if email == ADMIN else "manager"
        args = [SMILEPOST, "user", "add", email, "--role", role, *grant, "--password-stdin"]
        subprocess.run(args, env=cli.env, input=PASSWORD + "\n", capture_output=True, text=True, check=True, timeout=60)
    server: LiveServer = launch_server(cli.env, folder / "server.log")
    try:
        yield server.url
    finally:
        server.stop()


def submit(page: Page, form: str) -> str:
    """Send a form of the page (accepting its confirmation) and wait for the next page; that page's message."""
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    return page.locator("#flash").inner_text().strip()


def signed_out(browser: Browser, url: str, state: dict[str, Any]) -> bool:
    """Whether a browser with this storage state is sent to the sign-in page by the overview."""
    page = open_page(browser, url, state)
    try:
        page.goto("/")
        return page.url.startswith(f"{url}/login")
    finally:
        page.context.close()


def test_a_manager_changes_their_password_and_their_other_browser_is_signed_out(browser: Browser, url: str) -> None:
    here, elsewhere = sign_in(browser, url, LANE, PASSWORD), sign_in(browser, url, LANE, PASSWORD)
    page = open_page(browser, url, here)
    try:
        page.goto("/")
        with page.expect_navigation():
            page.click("header a.account")
        assert page.locator("#account-email").inner_text().startswith(LANE)
        page.fill("#change-password input[name=current]", "not my password")
        page.fill("#change-password input[name=new]", NEW_PASSWORD)
        page.fill("#change-password input[name=repeat]", NEW_PASSWORD)
        with page.expect_navigation():
            page.click("#change-password button[type=submit]")
        assert page.locator("#error").inner_text().startswith("Your current password is not right")

        page.fill("#change-password input[name=current]", PASSWORD)
        page.fill("#change-password input[name=new]", NEW_PASSWORD)
        page.fill("#change-password input[name=repeat]", NEW_PASSWORD)
        assert submit(page, "#change-password").startswith("Password changed.")
        page.goto("/")
        assert page.url == f"{url}/"  # this browser stays signed in
    finally:
        page.context.close()
    assert signed_out(browser, url, elsewhere)
    assert not signed_out(browser, url, sign_in(browser, url, LANE, NEW_PASSWORD))


def test_an_admin_disables_a_manager_who_is_signed_out_at_once(browser: Browser, url: str) -> None:
    manager = sign_in(browser, url, SHOP, PASSWORD)
    page = open_page(browser, url, sign_in(browser, url, ADMIN, PASSWORD))
    try:
        page.goto("/admin")
        with page.expect_navigation():
            page.click("nav.subnav a[href='/admin/users']")
        row = page.locator("#users tr", has_text=SHOP)
        assert row.locator("td.user-state").inner_text() == "active"

        with page.expect_navigation():
            page.once("dialog", lambda dialog: dialog.accept())
            row.locator("form.disable button").click()

        assert page.locator("#flash").inner_text().strip() == f"{SHOP} disabled and signed out everywhere."
        assert page.locator("#users tr", has_text=SHOP).locator("td.user-state").inner_text().startswith("disabled")
        assert page.locator("#users tr", has_text=SHOP).locator("form.enable button").is_visible()
        screenshot(page, "admin-users")
    finally:
        page.context.close()
    assert signed_out(browser, url, manager)


@pytest.mark.parametrize("path", ["/account", "/admin/users"])
def test_the_pages_fit_a_phone_without_sideways_scrolling(browser: Browser, url: str, path: str) -> None:
    page = open_page(browser, url, sign_in(browser, url, ADMIN, PASSWORD), PHONE)
    try:
        assert (response := page.goto(path)) is not None and response.status == 200
        overflow, culprits = horizontal_overflow(page)
        assert overflow <= 1, f"{path} scrolls sideways by {overflow} px on a phone: {culprits}"
    finally:
        page.context.close()
