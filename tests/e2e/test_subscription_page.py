"""A manager's own e-mails on the dashboard in a real Chromium against a real ``smilepost server``: they subscribe to
the weekly report of their location at 07:30 and to the alerts of their group, set their time zone, see them
listed, stop one, and the rows in the database say the same; the page fits a phone.

The data is made the way users make it, with the ``smilepost`` command. Screenshots:
test-output/dashboard/subscriptions.png (README's docs/screenshots/subscriptions.png) and subscriptions-phone.png.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from server.db import make_engine, subscriptions, users
from tests.support.browser import PHONE, horizontal_overflow, open_page, screenshot, sign_in
from tests.support.live import SMILEPOST, Cli, LiveServer, launch_server

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
MANAGER = "lane-lead@example.com"


@dataclass
class Live:
    """The running server and what was made on it."""

    url: str
    database_url: str
    location_id: int
    group_id: int


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with an Oslo Airport group of two locations, a Bergen location and a manager of the group; stopped
    after the module."""
    folder = tmp_path_factory.mktemp("subscription-page")
    cli = Cli(folder / "server-data")
    location = int(str(cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")["id"]))
    other = int(str(cli.json("location", "add", "Oslo Security B", "--timezone", "Europe/Oslo", "--json")["id"]))
    cli.json("location", "add", "Bergen Gate 4", "--timezone", "Europe/Oslo", "--json")
    group = cli.json("group", "add", "Oslo Airport", "--location", str(location), "--location", str(other), "--json")
    args = [SMILEPOST, "user", "add", MANAGER, "--role", "manager", "--group", str(group["id"]), "--password-stdin"]
    subprocess.run(args, env=cli.env, input=PASSWORD + "\n", capture_output=True, text=True, check=True, timeout=60)
    server: LiveServer = launch_server(cli.env, folder / "server.log")
    try:
        yield Live(server.url, f"sqlite:///{cli.data_dir / 'smilepost.db'}", location, int(str(group["id"])))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def manager_state(browser: Browser, live: Live) -> dict[str, Any]:
    return sign_in(browser, live.url, MANAGER, PASSWORD)


def submit(page: Page, form: str) -> str:
    """Send a form of the page and wait for the page it leads to; that page's one-shot message."""
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    return page.locator("#flash").inner_text().strip()


def test_a_manager_subscribes_to_a_weekly_report_sets_their_zone_and_stops_a_subscription(
    browser: Browser, live: Live, manager_state: dict[str, Any]
) -> None:
    page = open_page(browser, live.url, manager_state)
    try:
        page.goto("/")
        with page.expect_navigation():
            page.click("header nav a[href='/subscriptions']")
        assert page.locator("#report-subscriptions tr.none").inner_text().strip() == "No reports yet."
        assert page.locator("#effective-zone").inner_text() == "Europe/Oslo"

        page.select_option("#subscribe-reports select[name=scope]", f"location:{live.location_id}")
        page.select_option("#subscribe-reports select[name=every]", "week")
        page.fill("#subscribe-reports input[name=at]", "07:30")
        weekly = submit(page, "#subscribe-reports")
        page.select_option("#subscribe-reports select[name=every]", "day")
        daily = submit(page, "#subscribe-reports")  # at the default 08:00
        page.select_option("#subscribe-alerts select[name=scope]", f"group:{live.group_id}")
        alerts = submit(page, "#subscribe-alerts")
        page.fill("#set-timezone input[name=timezone]", "Europe/London")
        zone = submit(page, "#set-timezone")

        assert weekly == "Subscribed to weekly reports of Oslo Security A at 07:30 Europe/Oslo."
        assert daily == "Subscribed to daily reports of Oslo Security A at 08:00 Europe/Oslo."
        assert alerts == "Subscribed to alerts of Oslo Airport."
        assert zone == "Your reports arrive in Europe/London time."
        assert page.locator("#effective-zone").inner_text() == "Europe/London"
        rows = page.locator("#report-subscriptions tbody tr")
        assert [r.strip().split("\t")[:3] for r in rows.all_inner_texts()] == [
            ["Oslo Security A", "weekly at 07:30", "e-mail"],
            ["Oslo Security A", "daily at 08:00", "e-mail"],
        ]
        assert page.locator("#alert-subscriptions td.scope").inner_text().strip() == "Oslo Airport group"

        with page.expect_navigation():
            rows.nth(1).locator("button", has_text="Stop").click()
        assert page.locator("#flash").inner_text().strip() == "Stopped daily reports of Oslo Security A."
        assert page.locator("#report-subscriptions tbody tr").count() == 1
        screenshot(page, "subscriptions")
    finally:
        page.context.close()

    engine = make_engine(live.database_url)
    try:
        with engine.connect() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.email == MANAGER)).scalar_one()
            s = subscriptions.c
            rows_stored = conn.execute(
                select(s.kind, s.location_id, s.group_id, s.period, s.at_time, s.webhook_id)
                .where(s.user_id == user_id)
                .order_by(s.id)
            ).all()
            own_zone = conn.execute(select(users.c.timezone).where(users.c.id == user_id)).scalar()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows_stored] == [
        ("report", live.location_id, None, "week", "07:30", None),
        ("alerts", None, live.group_id, None, None, None),
    ]
    assert own_zone == "Europe/London"


def test_the_subscription_page_fits_a_phone_without_sideways_scrolling(
    browser: Browser, live: Live, manager_state: dict[str, Any]
) -> None:
    page = open_page(browser, live.url, manager_state, PHONE)
    try:
        assert (response := page.goto("/subscriptions")) is not None and response.status == 200
        overflow, culprits = horizontal_overflow(page)
        assert overflow <= 1, f"/subscriptions scrolls sideways by {overflow} px on a phone: {culprits}"
        screenshot(page, "subscriptions-phone")
    finally:
        page.context.close()
