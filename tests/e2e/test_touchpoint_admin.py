"""Web touchpoints on the admin pages in a real Chromium against a real ``smilepost server``: an admin opens "Web
touchpoints" from the admin navigation, creates one for a location, sees its QR code (the SVG as Chromium draws it
reads back as the link shown beside it), prints its table tent and revokes it; its QR code then answers 404. The
page fits a phone.

The data is made the way operators make it, with the ``smilepost`` command. Screenshots:
test-output/dashboard/admin-touchpoints.png and test-output/reports/table-tent.png (README's
docs/screenshots/admin-touchpoints.png and table-tent.png).
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.support import pdfs
from tests.support.browser import PHONE, horizontal_overflow, open_page, screenshot, sign_in
from tests.support.live import SMILEPOST, Cli, LiveServer, launch_server
from tests.support.qrcodes import codes_on_page, decoded

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
ADMIN = "ops@example.com"
QUESTION = "How was your experience today?"  # the default question (tests/server/test_table_tent.py sets one)


@dataclass
class Live:
    """The running server and what was made on it."""

    url: str
    location_id: int
    cli: Cli


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with two Oslo Airport locations, an entrance touchpoint with three taps, a revoked one, a counter
    touchpoint at the other location and an admin; stopped after the module."""
    folder = tmp_path_factory.mktemp("touchpoint-admin")
    cli = Cli(folder / "server-data")
    location = int(str(cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")["id"]))
    other = int(str(cli.json("location", "add", "Oslo Security B", "--timezone", "Europe/Oslo", "--json")["id"]))
    entrance = cli.json("channel", "add", "--location", str(location), "--name", "Entrance", "--json")
    old = cli.json("channel", "add", "--location", str(location), "--name", "Spring flyer", "--json")
    cli.run("channel", "revoke", str(old["id"]))
    cli.json("channel", "add", "--location", str(other), "--name", "Counter", "--json")
    args = [SMILEPOST, "user", "add", ADMIN, "--role", "admin", "--password-stdin"]
    subprocess.run(args, env=cli.env, input=PASSWORD + "\n", capture_output=True, text=True, check=True, timeout=60)
    server: LiveServer = launch_server(cli.env, folder / "server.log")
    try:
        for phone, score in enumerate([5, 4, 5]):  # three phones answered at the entrance
            post_web_tap(server.url, str(entrance["url"]), f"phone-{phone}", score)
        yield Live(server.url, location, cli)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin_state(browser: Browser, live: Live) -> dict[str, Any]:
    return sign_in(browser, live.url, ADMIN, PASSWORD)


def post_web_tap(url: str, path: str, device: str, score: int) -> None:
    """One tap from a phone, as a touchpoint's page sends it. Raises AssertionError unless it is stored."""
    now = datetime.now(UTC)
    at, mono_ns = now.isoformat().replace("+00:00", "Z"), int(now.timestamp() * 1000) * 1_000_000
    tap = {"id": str(uuid.uuid4()), "seq": 1, "question_id": "main", "scale": 5, "score": score, "tapped_at": at,
           "mono_ns": mono_ns, "boot_id": device, "followup": None, "comment": None, "flags": []}  # fmt: skip
    body = {"sent_at": at, "boot_id": device, "mono_ns": mono_ns, "taps": [tap]}
    headers = {"X-Smilepost-Client": "web", "Origin": url}
    answer = httpx.post(f"{url}/api/v1/touchpoints/{path.rsplit('/', 1)[1]}/taps", json=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text


def submit(page: Page, form: str) -> str:
    """Send a form of the page and wait for the page it leads to; that page's one-shot message."""
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")
    return page.locator("#flash").inner_text().strip()


def test_an_admin_creates_a_touchpoint_sees_its_qr_code_prints_its_tent_and_revokes_it(
    browser: Browser, live: Live, admin_state: dict[str, Any]
) -> None:
    page = open_page(browser, live.url, admin_state)
    try:
        page.goto("/admin")
        with page.expect_navigation():
            page.click("nav.subnav a[href='/admin/touchpoints']")
        page.select_option("#new-touchpoint select[name=location_id]", str(live.location_id))
        page.fill("#new-touchpoint input[name=name]", "Table 4")
        created = submit(page, "#new-touchpoint")

        match = re.fullmatch(rf"Touchpoint Table 4 created at Oslo Security A: ({live.url}/s/[\w-]{{22}})", created)
        assert match, created
        url = match.group(1)
        row = page.locator("tr", has_text="Table 4")
        assert row.locator("td.url a").inner_text() == url and row.locator("td.tp-state").inner_text() == "active"
        qr = row.locator("td.qr img")
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
        assert decoded(qr.screenshot()) == [url]  # the SVG as the browser draws it, 104 px wide
        assert page.locator(f"#location-{live.location_id} tbody tr").count() == 3  # Entrance, flyer, Table 4
        entrance = page.locator("tr", has_text="Entrance")
        assert entrance.locator("td.received").inner_text() == "3"
        assert entrance.locator("td.last-tap").inner_text() != "–"
        screenshot(page, "admin-touchpoints")

        tent = page.request.get(row.locator("a.tent").get_attribute("href") or "")
        assert tent.status == 200 and tent.headers["content-type"] == "application/pdf"
        assert QUESTION in pdfs.text(tent.body()) and "Oslo Security A" in pdfs.text(tent.body())
        assert codes_on_page(tent.body(), "table-tent") == [url, url]

        page.once("dialog", lambda dialog: dialog.accept())  # "Revoke Table 4? …"
        with page.expect_navigation():
            row.locator("button", has_text="Revoke").click()
        assert page.locator("#flash").inner_text().strip() == (
            "Touchpoint Table 4 at Oslo Security A revoked: its link and QR code lead nowhere now."
        )
        assert page.locator("tr", has_text="Table 4").locator("td.tp-state").inner_text().startswith("revoked ")
        assert page.locator("tr", has_text="Table 4").locator("img").count() == 0
    finally:
        page.context.close()

    slug = url.rsplit("/", 1)[1]
    assert httpx.get(f"{live.url}/s/{slug}/qr.svg").status_code == 404
    listed = json.loads(live.cli.run("channel", "list", "--location", str(live.location_id), "--json").stdout)
    assert [(t["name"], t["revoked_at"] is not None) for t in listed] == [
        ("Entrance", False), ("Spring flyer", True), ("Table 4", True),
    ]  # fmt: skip


def test_the_touchpoint_page_fits_a_phone_without_sideways_scrolling(
    browser: Browser, live: Live, admin_state: dict[str, Any]
) -> None:
    page = open_page(browser, live.url, admin_state, PHONE)
    try:
        assert (response := page.goto("/admin/touchpoints")) is not None and response.status == 200
        overflow, culprits = horizontal_overflow(page)
        assert overflow <= 1, f"/admin/touchpoints scrolls sideways by {overflow} px on a phone: {culprits}"
    finally:
        page.context.close()
