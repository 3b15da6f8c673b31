"""The location lifecycle on the admin pages in a real Chromium against a real ``smilepost server`` (issue #14): an
admin nests a city group in a region, puts a location in it with the group checkboxes, renames the location, moves a
kiosk (the page shows the pairing code for the device, and the code pairs), and archives the other location, which
leaves the overview while the region's roll-up counts the taps the test sent.

Screenshots: test-output/dashboard/admin-location-lifecycle.png, test-output/dashboard/overview-groups.png.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import open_page, screenshot, sign_in
from tests.support.live import SMILEPOST, Cli, LiveServer, launch_server

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"
SCORES = [5, 5, 4, 2]
SCORES_INDEX = {1: 0, 2: 25, 3: 50, 4: 75, 5: 100}  # a 5-face score on the index scale (docs/architecture.md)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server with two locations, a kiosk at the first that sent SCORES, a region group and an admin."""
    folder = tmp_path_factory.mktemp("admin-lifecycle")
    cli = Cli(folder / "server-data")
    first = cli.json("location", "add", "Gate 7", "--timezone", "Europe/Oslo", "--json")["id"]
    second = cli.json("location", "add", "Old Lounge", "--timezone", "Europe/Oslo", "--json")["id"]
    region = cli.json("group", "add", "Norway", "--json")["id"]
    kiosk = cli.json("kiosk", "enroll", "--location", str(first), "--name", "Lane 1", "--json")
    args = [SMILEPOST, "user", "add", ADMIN, "--role", "admin", "--password-stdin"]
    subprocess.run(args, env=cli.env, input=PASSWORD + "\n", capture_output=True, text=True, check=True, timeout=60)
    server: LiveServer = launch_server(cli.env, folder / "server.log")
    try:
        sent = httpx.post(f"{server.url}/api/v1/taps", json=_batch(SCORES), timeout=10,
                          headers={"Authorization": f"Bearer {kiosk['token']}"})  # fmt: skip
        assert sent.status_code == 200 and sent.json()["accepted"] == len(SCORES), sent.text
        yield {"url": server.url, "first": first, "second": second, "region": region, "kiosk": kiosk["kiosk_id"]}
    finally:
        server.stop()


def _batch(scores: list[int]) -> dict[str, Any]:
    """A kiosk batch sent now with one tap per score, a minute apart (none a repeat press)."""
    now = datetime.now(UTC)
    taps = [
        {
            "id": str(uuid.uuid4()),
            "seq": i + 1,
            "question_id": "main",
            "scale": 5,
            "score": score,
            "tapped_at": (now - timedelta(minutes=len(scores) - i)).isoformat().replace("+00:00", "Z"),
            "mono_ns": (i + 1) * 60 * 10**9,
            "boot_id": "boot-e2e",
            "flags": [],
        }
        for i, score in enumerate(scores)
    ]
    return {"sent_at": now.isoformat().replace("+00:00", "Z"), "boot_id": "boot-e2e",
            "mono_ns": (len(scores) + 1) * 60 * 10**9, "taps": taps}  # fmt: skip


def submit(page: Page, selector: str) -> str:
    """Send a form and wait for the next page; that page's one-shot message ('' without one)."""
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(f"{selector} button[type=submit]")
    flash = page.locator("#flash")
    return flash.inner_text().strip() if flash.count() else ""


def test_an_admin_runs_a_locations_life_from_the_admin_pages(browser: Browser, site: dict[str, Any]) -> None:
    url = site["url"]
    page = open_page(browser, url, sign_in(browser, url, ADMIN, PASSWORD))
    try:
        page.goto("/admin")
        page.fill("#new-group input[name=name]", "Oslo")
        page.select_option("#new-group select[name=parent_id]", str(site["region"]))
        submit(page, "#new-group")
        oslo = page.locator("#groups li:has(> span.group-name:text-is('Oslo'))")
        assert oslo.locator("select[name=parent_id]").input_value() == str(site["region"])

        page.goto(f"/admin/locations/{site['first']}")
        page.locator("#location-groups label", has_text="Oslo").locator("input").check()
        assert submit(page, "#location-groups") == "Saved."
        page.fill("#rename input[name=name]", "Gate 7 North")
        assert submit(page, "#rename") == "Renamed."
        assert page.locator("h1").inner_text().startswith("Gate 7 North")

        row = page.locator(f"#kiosk-list li[data-kiosk='{site['kiosk']}']")
        row.locator("select[name=location_id]").select_option(str(site["second"]))
        submit(page, f"#kiosk-list li[data-kiosk='{site['kiosk']}'] form.kiosk-move")
        assert "Old Lounge" in page.locator("#move-code").inner_text()
        code = page.locator("#pair-code").inner_text()
        screenshot(page, "admin-location-lifecycle")
        paired = httpx.post(f"{url}/api/v1/pair", json={"code": code}, timeout=10)
        assert paired.status_code in (200, 201) and paired.json()["kiosk_id"] != site["kiosk"]

        page.goto(f"/admin/locations/{site['second']}")
        assert submit(page, "#archive").startswith("Archived")
        assert page.locator("#archived").is_visible()

        page.goto("/?range=30d")
        assert page.locator(f"#overview tr[data-location='{site['second']}']").count() == 0
        region = page.locator(f"#group-overview tr[data-group='{site['region']}']")
        assert region.locator("td.responses").inner_text() == str(len(SCORES))
        happy = sum(SCORES_INDEX[score] for score in SCORES) / len(SCORES)  # the Happy Index of the taps sent
        assert region.locator("td.index").inner_text().startswith(f"{happy:.0f}")
        screenshot(page, "overview-groups")
    finally:
        page.context.close()
