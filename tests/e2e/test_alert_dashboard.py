"""Alerts on the dashboard in a real Chromium against a real ``smilepost server`` (#12): a manager finds the alert the
server's own scheduler opened, acknowledges it with a comment and sees who did it; the alert pages fit a phone.

The data is made the way users make it: a location, a kiosk, users and an alert rule with the ``smilepost`` command,
taps POSTed with the kiosk's token; the server evaluates the rules every second (``SMILEPOST_EVALUATE_SECONDS=1``).
Screenshots: test-output/dashboard/alerts.png and alert.png, and each alert page (admin ones too) at phone and
desktop size beside them.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from tests.support.browser import DESKTOP, PHONE, horizontal_overflow, open_page, screenshot, sign_in
from tests.support.live import SMILEPOST, Cli, LiveServer, launch_server
from tests.support.receivers import wait_until

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
ADMIN, MANAGER = "admin@example.com", "lane-lead@example.com"
XSS = "<b>Too slow</b><script>window.__xss = 1</script>"
COMMENT = "Opened lane 3 and called in a second guard."
EVALUATED_WITHIN = 30.0  # seconds; the server evaluates every second
HOOK_URL = "https://hooks.slack.example/services/T000/B000/SECRET-TOKEN"


@dataclass
class Live:
    """The running server and what was made on it."""

    url: str
    location_id: int
    other_id: int
    alert_id: int


def add_user(cli: Cli, email: str, role: str, *grants: str) -> None:
    """``smilepost user add`` with the password on standard input, as the README shows."""
    args = [SMILEPOST, "user", "add", email, "--role", role, *grants, "--password-stdin", "--json"]
    subprocess.run(args, env=cli.env, input=PASSWORD + "\n", capture_output=True, text=True, check=True, timeout=60)


def post_taps(url: str, token: str, scores: list[int]) -> None:
    """One batch of taps made two minutes ago, as a kiosk sends it; the first sad one has a reason and a comment."""
    at = datetime.now(UTC) - timedelta(minutes=2)
    taps = [
        {"id": str(uuid.uuid4()), "seq": i + 1, "question_id": "main", "scale": 5, "score": score,
         "tapped_at": (at + timedelta(seconds=i)).isoformat(), "mono_ns": i, "boot_id": "boot-e2e",
         "followup": "queue" if i == 0 else None, "comment": XSS if i == 0 else None, "flags": []}
        for i, score in enumerate(scores)
    ]  # fmt: skip
    body = {"sent_at": datetime.now(UTC).isoformat(), "boot_id": "boot-e2e", "mono_ns": 10**12, "taps": taps}
    response = httpx.post(f"{url}/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200 and response.json()["accepted"] == len(scores), response.text


def wait_for_open_alert(url: str, key: str) -> int:
    """The id of the first open alert the server's scheduler opens. Raises AssertionError after EVALUATED_WITHIN."""
    opened: list[int] = []

    def some_open() -> bool:
        page = httpx.get(f"{url}/api/v1/alerts", params={"state": "open"}, headers={"Authorization": f"Bearer {key}"})
        assert page.status_code == 200, page.text
        opened.extend(int(item["id"]) for item in page.json()["items"][:1])
        return bool(opened)

    wait_until(some_open, EVALUATED_WITHIN, "an open alert")
    return opened[0]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server evaluating every second, with an Oslo location (a kiosk, a negative-share rule telling a webhook that
    was revoked since, and 6 sad and 2 happy taps: one open alert, its notification failed), another location, an
    admin and a manager of the first; stopped after the module."""
    folder = tmp_path_factory.mktemp("alert-dashboard")
    cli = Cli(folder / "server-data")
    location = int(str(cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")["id"]))
    other = int(str(cli.json("location", "add", "Bergen Gate 4", "--timezone", "Europe/Oslo", "--json")["id"]))
    token = str(cli.json("kiosk", "enroll", "--location", str(location), "--name", "lane 3", "--json")["token"])
    key = str(cli.json("apikey", "create", "--name", "e2e", "--json")["key"])
    hook = str(cli.json("webhook", "add", HOOK_URL, "--format", "slack", "--json")["id"])
    cli.json("alert", "add", "--location", str(location), "--metric", "negative", "--above", "40", "--window", "30m",
             "--min-responses", "5", "--notify", f"webhook:{hook}", "--json")  # fmt: skip
    cli.json("webhook", "revoke", hook, "--json")  # so that its deliveries fail at once, for the admin page
    add_user(cli, ADMIN, "admin")
    add_user(cli, MANAGER, "manager", "--location", str(location))
    server: LiveServer = launch_server({**cli.env, "SMILEPOST_EVALUATE_SECONDS": "1"}, folder / "server.log")
    try:
        post_taps(server.url, token, [1, 1, 2, 1, 1, 2, 5, 4])
        yield Live(server.url, location, other, wait_for_open_alert(server.url, key))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def manager_state(browser: Browser, live: Live) -> dict[str, Any]:
    return sign_in(browser, live.url, MANAGER, PASSWORD)


@pytest.fixture(scope="module")
def admin_state(browser: Browser, live: Live) -> dict[str, Any]:
    return sign_in(browser, live.url, ADMIN, PASSWORD)


def test_a_manager_acknowledges_an_alert_with_a_comment_and_sees_who_did_it(
    browser: Browser, live: Live, manager_state: dict[str, Any]
) -> None:
    page = open_page(browser, live.url, manager_state)
    try:
        page.goto("/")
        assert page.locator(f'tr[data-location="{live.location_id}"] a.alert-mark').inner_text() == "1 open alert"
        screenshot(page, "overview-alert-mark")
        page.goto(f"/locations/{live.location_id}")
        assert page.locator("h1 a.alert-mark").inner_text().strip() == "1 open alert"
        page.click("h1 a.alert-mark")
        assert page.url == f"{live.url}/alerts?state=open&location_id={live.location_id}"
        page.goto("/alerts")
        assert page.locator("#nav-alerts").inner_text().strip() == "Alerts (1)"
        row = page.locator(f'tr[data-alert="{live.alert_id}"]')
        assert row.locator("td.value").inner_text().strip() == "75.0 %"
        assert row.locator("td.threshold").inner_text().strip() == "above 40 %"
        assert row.locator("td.window").inner_text().strip().endswith(("CET", "CEST"))
        screenshot(page, "alerts")

        with page.expect_navigation():
            row.locator(f'a[href="/alerts/{live.alert_id}"]').click()
        assert page.locator("#window-taps tbody tr").count() == 8
        assert page.locator("#window-comments q").inner_text() == XSS  # shown as text, never run
        assert page.evaluate("window.__xss") is None
        page.fill("#ack textarea[name=comment]", COMMENT)
        with page.expect_navigation():
            page.click("#ack button[type=submit]")

        assert page.url == f"{live.url}/alerts/{live.alert_id}"
        assert page.locator("#flash").inner_text().strip() == "Acknowledged"
        assert page.locator("#alert-state").inner_text().strip().lower() == "acknowledged"
        done = page.locator("#acknowledgement")
        assert f"Acknowledged by {MANAGER} at " in done.inner_text()
        assert page.locator("#ack-comment").inner_text().strip() == COMMENT
        assert page.locator("#ack").count() == 0
        assert page.locator("#nav-alerts").inner_text().strip() == "Alerts"
        screenshot(page, "alert")

        page.goto("/alerts?state=acknowledged")
        assert page.locator(f'tr[data-alert="{live.alert_id}"] td.ack').inner_text().startswith(MANAGER)
        denied = page.goto(f"/alerts?location_id={live.other_id}")
        assert denied is not None and denied.status == 403
    finally:
        page.context.close()


def test_an_admin_sees_the_failed_delivery_and_retries_it(
    browser: Browser, live: Live, admin_state: dict[str, Any]
) -> None:
    page = open_page(browser, live.url, admin_state)
    try:
        deadline = time.monotonic() + EVALUATED_WITHIN
        page.goto("/admin/notifications")
        while not page.locator("#failed tbody tr").count() and time.monotonic() < deadline:
            time.sleep(0.5)
            page.reload()
        assert page.locator("#failed tbody tr").count(), f"no failed delivery listed within {EVALUATED_WITHIN} s"
        row = page.locator("#failed tbody tr").last  # the oldest: alert.opened
        cells = [text.strip() for text in row.locator("td").all_inner_texts()]
        assert cells[1] == f"alert.opened #{live.alert_id}" and cells[2] == "webhook"
        assert cells[3] == "webhook 1 https://hooks.slack.example" and "revoked" in cells[5]
        assert "SECRET-TOKEN" not in page.content()
        hook = page.locator('#webhooks tr[data-webhook="1"] td').all_inner_texts()
        assert [text.strip() for text in hook[1:3]] == ["https://hooks.slack.example", "slack"]
        delivery = row.get_attribute("data-delivery")
        screenshot(page, "admin-notifications")

        with page.expect_navigation():
            row.locator("button", has_text="Retry").click()
        assert page.locator("#flash").inner_text().strip() == f"Delivery {delivery} queued again."

        page.goto("/admin/alert-rules")
        rule = page.locator("#rules tbody tr").first
        assert "webhook:1" in rule.locator("td.recipients").inner_text()
        screenshot(page, "admin-alert-rules")
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_alert_pages_fit_the_screen_without_sideways_scrolling(
    browser: Browser, live: Live, admin_state: dict[str, Any], viewport: dict[str, int]
) -> None:
    page = open_page(browser, live.url, admin_state, viewport)
    paths = {"alerts": "/alerts?state=all", "alert": f"/alerts/{live.alert_id}",
             "admin-alert-rules": "/admin/alert-rules", "admin-notifications": "/admin/notifications"}  # fmt: skip
    try:
        for name, path in paths.items():
            assert (response := page.goto(path)) is not None and response.status == 200, path
            overflow, culprits = horizontal_overflow(page)
            assert overflow <= 1, f"{path} scrolls sideways by {overflow} px at {viewport}: {culprits}"
            screenshot(page, f"{name}-{'phone' if viewport == PHONE else 'desktop'}")
    finally:
        page.context.close()
