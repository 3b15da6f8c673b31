"""Searching comments on the dashboard in a real Chromium against a real ``smilepost server`` (#14): an admin filters
by text and score, pages through the results, hides a comment from managers and sees it greyed; the manager of the
location then does not see it at all.

The data is made the way users make it: a location, a kiosk and the users with the ``smilepost`` command, taps
POSTed with the kiosk's token. Screenshot: test-output/dashboard/comments.png.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser

from tests.support.browser import open_page, screenshot, sign_in
from tests.support.live import SMILEPOST, Cli, launch_server

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
ADMIN, MANAGER = "admin@example.com", "lane-lead@example.com"
SLOW = [f"Slow queue at lane {i}" for i in range(30)]  # score 1 each: two pages of 25
HAPPY = [f"Slow but friendly, lane {i}" for i in range(3)]  # score 5: filtered out by the score


@dataclass
class Live:
    url: str
    ids: dict[str, str]  # comment -> tap id


def add_user(cli: Cli, email: str, role: str, *grants: str) -> None:
    """``smilepost user add`` with the password on standard input, as the README shows."""
    args = [SMILEPOST, "user", "add", email, "--role", role, *grants, "--password-stdin", "--json"]
    subprocess.run(args, env=cli.env, input=PASSWORD + "\n", capture_output=True, text=True, check=True, timeout=60)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with an Oslo location, its kiosk's commented taps of an hour ago, an admin and the location's
    manager; stopped after the module."""
    folder = tmp_path_factory.mktemp("comments-page")
    cli = Cli(folder / "server-data")
    location = str(cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")["id"])
    token = str(cli.json("kiosk", "enroll", "--location", location, "--name", "lane 3", "--json")["token"])
    add_user(cli, ADMIN, "admin")
    add_user(cli, MANAGER, "manager", "--location", location)
    server = launch_server(cli.env, folder / "server.log")
    try:
        at = datetime.now(UTC) - timedelta(hours=1)
        typed = [(1, text) for text in SLOW] + [(5, text) for text in HAPPY]
        taps = [
            {"id": str(uuid.uuid4()), "seq": i + 1, "question_id": "main", "scale": 5, "score": score,
             "tapped_at": (at + timedelta(seconds=10 * i)).isoformat(), "mono_ns": i, "boot_id": "boot-e2e",
             "followup": None, "comment": text, "flags": []}
            for i, (score, text) in enumerate(typed)
        ]  # fmt: skip
        body = {"sent_at": datetime.now(UTC).isoformat(), "boot_id": "boot-e2e", "mono_ns": 10**12, "taps": taps}
        sent = httpx.post(f"{server.url}/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"})
        assert sent.status_code == 200 and sent.json()["accepted"] == len(taps), sent.text
        yield Live(server.url, {str(tap["comment"]): str(tap["id"]) for tap in taps})
    finally:
        server.stop()


def test_an_admin_filters_pages_and_hides_a_comment_that_the_manager_then_does_not_see(
    browser: Browser, live: Live
) -> None:
    newest_first = list(reversed(SLOW))
    hidden = newest_first[3]
    page = open_page(browser, live.url, sign_in(browser, live.url, ADMIN, PASSWORD))
    try:
        page.goto("/")
        with page.expect_navigation():
            page.click("#nav-comments")
        page.fill("#comment-filter input[name=text]", "slow")
        page.check('#comment-filter input[name=score][value="1"]')
        with page.expect_navigation():
            page.click("#comment-filter button[type=submit]")
        assert page.locator("#comment-count").inner_text().startswith(f"1–25 of {len(SLOW)}")
        assert page.locator("#comment-results q").all_inner_texts() == newest_first[:25]
        with page.expect_navigation():
            page.click("#pager a[rel=next]")
        assert page.locator("#comment-results q").all_inner_texts() == newest_first[25:]
        with page.expect_navigation():
            page.click("#pager a[rel=prev]")

        item = page.locator(f'li[data-tap="{live.ids[hidden]}"]')
        with page.expect_navigation():
            item.locator("button").click()
        assert page.locator("#flash").is_visible()
        assert item.get_attribute("data-hidden") == "true"
        assert "hidden from managers" in item.inner_text() and item.locator("button").inner_text() == "Show to managers"
        assert page.locator("#comment-count").inner_text().startswith(f"1–25 of {len(SLOW)}")  # the same search
        screenshot(page, "comments")
    finally:
        page.context.close()

    page = open_page(browser, live.url, sign_in(browser, live.url, MANAGER, PASSWORD))
    try:
        page.goto("/comments?text=slow&score=1")
        assert page.locator("#comment-count").inner_text().startswith(f"1–25 of {len(SLOW) - 1}")
        assert page.locator("#comment-results button").count() == 0  # managers hide nothing
        with page.expect_navigation():
            page.click("#pager a[rel=next]")
        shown = page.locator("#comment-results q").all_inner_texts()
        page.goto("/comments?text=slow&score=1")
        shown = page.locator("#comment-results q").all_inner_texts() + shown
        assert shown == [text for text in newest_first if text != hidden]
    finally:
        page.context.close()
