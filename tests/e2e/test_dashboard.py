"""The manager dashboard in a real Chromium against a real server (#4): sign-in, the numbers on every page for a
known dataset, date ranges, sorting, a manager's limits, CSRF, admin changes reaching a kiosk, the fleet, exports
and phone layouts; the channel and question pickers (#13) over web taps and an aspect question's answers.

One server and one dataset serve the whole module. The data is made the way users make it: locations, groups,
users and kiosks with the ``smilepost`` command, taps POSTed with each kiosk's token. Every expected number is
computed here from the taps listed in :data:`PLACES` with the formulas of docs/architecture.md, not read from the
server.
Each tap sits at a whole hour of a local date counted back from the location's "today", so local dates are
unambiguous; seeding waits out a local midnight that is about to pass. Screenshots: test-output/dashboard/.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from server.db import make_engine
from server.touchpoints import add_touchpoint
from shared.protocol import Heartbeat, Scale, Tap, TapBatch
from tests.support.browser import DESKTOP, PHONE, cookie, horizontal_overflow, screenshot, sign_in
from tests.support.live import SMILEPOST, Cli, LiveServer, start_server

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
ADMIN, MANAGER = "admin@example.com", "manager@example.com"
RANKING_WEIGHT = 20  # docs/architecture.md: (overall × W + index × n) / (W + n)
XSS = "<b>Too slow</b><script>window.__xss = 1</script>"
HEARTBEAT = Heartbeat(queue_depth=3, app_version="9.9.9-e2e")


@dataclass(frozen=True)
class Taps:
    """``count`` identical taps on one kiosk at ``hour``:00 local time, ``days_ago`` days before local today."""

    kiosk: str
    days_ago: int
    hour: int
    score: int
    count: int = 1
    followup: str | None = None
    comment: str | None = None
    repeat: bool = False  # stored flagged "repeat": left out of every figure, counted as filtered


@dataclass(frozen=True)
class Place:
    key: str
    name: str
    timezone: str
    scale: Scale
    group: str
    kiosks: dict[str, str]  # key -> name; kiosks without taps never sync
    taps: tuple[Taps, ...]


OSLO = Place("A", "Oslo Security A", "Europe/Oslo", 5, "Oslo Airport", {"a1": "Gate 1", "a2": "Gate 2"}, (
    # today: 10 × 5, 6 × 4, 3 × 3, 1 × 1, with follow-up reasons and two comments
    Taps("a1", 0, 11, 5, comment="Lovely staff"), Taps("a1", 0, 12, 5), Taps("a1", 0, 12, 5, 4, "staff"),
    Taps("a1", 0, 12, 4, 4), Taps("a1", 0, 12, 3, followup="queue"), Taps("a1", 0, 12, 3),
    Taps("a2", 0, 8, 5, 4), Taps("a2", 0, 12, 4, 2), Taps("a2", 0, 12, 3, followup="rude"),
    Taps("a2", 0, 12, 1, followup="queue", comment=XSS),
    # the rest of the last 7 days
    Taps("a1", 2, 12, 5, 8), Taps("a1", 2, 12, 4, 4), Taps("a1", 2, 12, 2, 2), Taps("a1", 2, 12, 1, 2),
    Taps("a1", 5, 9, 4, 2), Taps("a1", 5, 9, 3, 2),
    # the 7 days before
    Taps("a1", 8, 12, 4, 10), Taps("a1", 8, 12, 3, 5), Taps("a1", 8, 12, 1, 5),
    Taps("a2", 12, 12, 5, 5), Taps("a2", 12, 12, 2, 3),
    Taps("a1", 20, 12, 5, 3),
))  # fmt: skip
KATHMANDU = Place("B", "Kathmandu Shop", "Asia/Kathmandu", 3, "Oslo Airport", {"b1": "Till"}, (
    Taps("b1", 0, 12, 3, 4), Taps("b1", 0, 12, 2, 2), Taps("b1", 0, 12, 1),
    Taps("b1", 3, 12, 3, 5), Taps("b1", 3, 12, 2, 5),
    Taps("b1", 10, 12, 1, 3), Taps("b1", 10, 12, 3, 2),
))  # fmt: skip
NEW_YORK = Place("C", "New York Gate", "America/New_York", 4, "Manhattan", {"c1": "Door", "c9": "Lane 9"}, (
    Taps("c1", 0, 12, 4, 2), Taps("c1", 0, 12, 1), Taps("c1", 1, 12, 3), Taps("c1", 1, 12, 2),
    Taps("c1", 1, 12, 1, 2, repeat=True),  # two presses right after the 2★: repeats
))  # fmt: skip
PLACES = (OSLO, KATHMANDU, NEW_YORK)
REASON_LABELS = {"queue": "Waiting time", "rude": "Unfriendly staff", "staff": "Friendly staff"}
OSLO_CONFIG = {
    "followup": {"negative_reasons": ["queue", "rude"], "positive_reasons": ["staff"]},
    "comment": {"enabled": True},
    "texts": {"en": {"question": "How was security today?", "thanks": "Thank you!",
                     **{f"reason.{reason}": label for reason, label in REASON_LABELS.items()}}},
    "question_mode": "sequence",
    "questions": [{"id": "speed", "scale": 11, "texts": {"en": {"question": "How likely are you to recommend us?"}}}],
}  # fmt: skip
# Customers of Oslo 22-26 days ago (outside every window the other tests read): (days ago, hour, face, answer to
# "speed" 0-10 or None), on Gate 2 and on phones at a web touchpoint. Posted by the channel test itself.
GATE_CUSTOMERS = ((22, 9, 5, 10), (23, 9, 4, 9), (24, 9, 3, 6), (25, 9, 5, None))
PHONE_CUSTOMERS = ((22, 10, 1, 0), (23, 11, 2, 3), (24, 12, 5, 9), (25, 13, 4, 10), (26, 14, 1, None))


# --- the expected numbers, from the taps above and the formulas of docs/architecture.md ------------------------


@dataclass
class Seeded:
    """The running server and what was made on it."""

    url: str
    today: dict[str, date]  # place key -> its local date when seeded
    data_dir: Path  # the server's data folder (its SQLite database)
    ids: dict[str, int] = field(default_factory=dict)  # place key -> location id
    kiosk_ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def local_date(self, place: Place, taps: Taps) -> date:
        return self.today[place.key] - timedelta(days=taps.days_ago)

    def taps_between(self, place: Place, first: date, last: date) -> list[Taps]:
        """The place's tap runs with local dates in [first, last]."""
        return [t for t in place.taps if first <= self.local_date(place, t) <= last]

    def last_days(self, place: Place, days: int) -> tuple[date, date]:
        """First and last local date of the picker's "today" (1), "7d" (7) ... at the place."""
        return self.today[place.key] - timedelta(days=days - 1), self.today[place.key]


def counts(runs: list[Taps]) -> Counter[int]:
    """Counted taps per score (repeat presses left out)."""
    out: Counter[int] = Counter()
    for run in runs:
        if not run.repeat:
            out[run.score] += run.count
    return out


def happy_index(faces: Counter[int], scale: int) -> float | None:
    """100 × mean((score − 1) / (n − 1)); None without taps."""
    n = sum(faces.values())
    return None if n == 0 else 100 * sum((s - 1) / (scale - 1) * c for s, c in faces.items()) / n


def top_faces(scale: int) -> set[int]:
    return {scale} if scale == 3 else {scale, scale - 1}


def bottom_faces(scale: int) -> set[int]:
    return {1} if scale == 3 else {1, 2}


def num(value: float | None) -> str:
    """As the templates' ``num`` filter shows a number."""
    return "–" if value is None else f"{value:.1f}"


def share(k: int, n: int) -> str:
    """As the ``share`` macro shows a percentage."""
    return "–" if n == 0 else f"{100 * k / n:.1f} %"


def change(value: float | None) -> str:
    """As the ``change`` macro shows the difference to the period before."""
    if value is None:
        return "–"
    if value == 0:
        return "± 0.0"
    return f"{'▲' if value > 0 else '▼'} {value:+.1f}"


@dataclass(frozen=True)
class Expected:
    """One location's numbers over a period and the one before, as the pages show them."""

    faces: Counter[int]
    before: Counter[int]
    scale: int

    @property
    def responses(self) -> int:
        return sum(self.faces.values())

    @property
    def index(self) -> float | None:
        return happy_index(self.faces, self.scale)

    @property
    def csat(self) -> str:
        return share(sum(self.faces[s] for s in top_faces(self.scale)), self.responses)

    @property
    def negative(self) -> str:
        return share(sum(self.faces[s] for s in bottom_faces(self.scale)), self.responses)

    @property
    def change(self) -> str:
        before = happy_index(self.before, self.scale)
        return change(None if self.index is None or before is None else self.index - before)

    def face_counts(self, which: Counter[int]) -> list[int]:
        return [which[s] for s in range(1, self.scale + 1)]


def expected(seeded: Seeded, place: Place, first: date, last: date) -> Expected:
    days = (last - first).days + 1
    before = seeded.taps_between(place, first - timedelta(days=days), first - timedelta(days=1))
    return Expected(counts(seeded.taps_between(place, first, last)), counts(before), place.scale)


def ranks(numbers: dict[str, Expected]) -> dict[str, str]:
    """Rank per place: index shrunk toward the index of every tap counted together, best first; '–' without taps."""
    answered = {key: e for key, e in numbers.items() if e.responses}
    total = sum(e.responses for e in answered.values())
    overall = sum((e.index or 0) * e.responses for e in answered.values()) / total if total else 0.0
    shrunk = {
        key: (overall * RANKING_WEIGHT + (e.index or 0) * e.responses) / (RANKING_WEIGHT + e.responses)
        for key, e in answered.items()
    }
    order = sorted(shrunk, key=lambda key: -shrunk[key])
    return {key: str(order.index(key) + 1) if key in shrunk else "–" for key in numbers}


# --- the server and its data, made once for the module ---------------------------------------------------------


def wait_out_midnight(zones: list[str], margin: timedelta = timedelta(minutes=3)) -> None:
    """Sleep past a local midnight due in any of the zones within ``margin``, so "today" holds for the module."""
    now = datetime.now(UTC)
    for zone in zones:
        local = now.astimezone(ZoneInfo(zone))
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
        if (wait := (midnight - local).total_seconds()) < margin.total_seconds():
            time.sleep(wait + 2)


def add_user(cli: Cli, email: str, role: str, *grants: str) -> None:
    """``smilepost user add`` with the password on standard input, as the README shows."""
    args = [SMILEPOST, "user", "add", email, "--role", role, *grants, "--password-stdin", "--json"]
    subprocess.run(args, env=cli.env, input=PASSWORD + "\n", capture_output=True, text=True, check=True, timeout=60)


def post_taps(seeded: Seeded, place: Place, kiosk: str) -> None:
    """One batch with all of a kiosk's taps (at whole local hours), sent with its token as a kiosk sends it."""
    zone, boot = ZoneInfo(place.timezone), f"boot-{kiosk}"
    taps = []
    for run in (run for run in place.taps if run.kiosk == kiosk):
        day = seeded.local_date(place, run)
        at = datetime(day.year, day.month, day.day, run.hour, tzinfo=zone).astimezone(UTC)
        for _ in range(run.count):
            taps.append(Tap(id=uuid.uuid4(), seq=len(taps) + 1, scale=place.scale, score=run.score, tapped_at=at,
                            mono_ns=len(taps), boot_id=boot, followup=run.followup, comment=run.comment,
                            flags=["repeat"] if run.repeat else []))  # fmt: skip
    # a1 holds HEARTBEAT.queue_depth taps more than it sends; its heartbeat counts the batch's taps too.
    held = HEARTBEAT.model_copy(update={"queue_depth": len(taps) + HEARTBEAT.queue_depth,
                                        "last_tap_at": max(tap.tapped_at for tap in taps)})  # fmt: skip
    batch = TapBatch(sent_at=datetime.now(UTC), boot_id=boot, mono_ns=10**12, taps=taps,
                     heartbeat=held if kiosk == "a1" else None)  # fmt: skip
    response = httpx.post(
        f"{seeded.url}/api/v1/taps", content=batch.model_dump_json(), timeout=30,
        headers={"Authorization": f"Bearer {seeded.tokens[kiosk]}", "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["accepted"] == len(taps), response.text


def seed(pool: ThreadPoolExecutor, cli: Cli, folder: Path, server: Future[LiveServer]) -> Seeded:
    """Locations, groups, users and kiosks of :data:`PLACES` with the CLI (side by side where they do not depend on
    each other: each command takes about a second), then each kiosk's taps, once the server is up."""
    # The first command creates the database, so it runs alone.
    first = cli.json("location", "add", OSLO.name, "--timezone", OSLO.timezone, "--scale", str(OSLO.scale), "--json")
    ids = {OSLO.key: int(str(first["id"]))}
    config = folder / "oslo.json"
    config.write_text(json.dumps(OSLO_CONFIG))
    others = {p.key: pool.submit(cli.json, "location", "add", p.name, "--timezone", p.timezone, "--scale",
                                 str(p.scale), "--json") for p in PLACES[1:]}  # fmt: skip
    configure = ("location", "configure", str(ids[OSLO.key]), "--file", str(config))
    steps: list[Future[object]] = [pool.submit(cli.run, *configure), pool.submit(add_user, cli, ADMIN, "admin")]
    ids.update({key: int(str(future.result()["id"])) for key, future in others.items()})
    groups = {}
    for name in sorted({p.group for p in PLACES}):
        members = [arg for p in PLACES if p.group == name for arg in ("--location", str(ids[p.key]))]
        groups[name] = pool.submit(cli.json, "group", "add", name, *members, "--json")
    kiosks = {k: pool.submit(cli.json, "kiosk", "enroll", "--location", str(ids[p.key]), "--name", name, "--json")
              for p in PLACES for k, name in p.kiosks.items()}  # fmt: skip
    steps.append(pool.submit(add_user, cli, MANAGER, "manager", "--group", str(groups[OSLO.group].result()["id"])))
    today = {p.key: datetime.now(ZoneInfo(p.timezone)).date() for p in PLACES}
    data = Seeded(server.result().url, today, cli.data_dir, ids)
    for key, enrolled in kiosks.items():
        data.kiosk_ids[key], data.tokens[key] = str(enrolled.result()["kiosk_id"]), str(enrolled.result()["token"])
    steps += [pool.submit(post_taps, data, p, k) for p in PLACES for k in p.kiosks if any(t.kiosk == k for t in p.taps)]
    for step in steps:
        step.result()  # raises what went wrong
    return data


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A server with three locations in two groups, five kiosks, an admin, a manager of one group and the taps of
    :data:`PLACES`, stopped after the module."""
    folder = tmp_path_factory.mktemp("dashboard")
    cli = Cli(folder / "server-data")
    wait_out_midnight([place.timezone for place in PLACES])
    pool = ThreadPoolExecutor(max_workers=4)
    server = pool.submit(start_server, cli, folder / "server.log")
    try:
        data = seed(pool, cli, folder, server)
        pool.shutdown()
        yield data
    finally:
        pool.shutdown()
        if server.exception() is None:
            server.result().process.terminate()
            server.result().process.wait(timeout=10)


@pytest.fixture(scope="module")
def admin_state(browser: Browser, seeded: Seeded) -> dict[str, Any]:
    return sign_in(browser, seeded.url, ADMIN, PASSWORD)


@pytest.fixture(scope="module")
def manager_state(browser: Browser, seeded: Seeded) -> dict[str, Any]:
    return sign_in(browser, seeded.url, MANAGER, PASSWORD)


@pytest.fixture
def open_context(browser: Browser, seeded: Seeded) -> Iterator[Any]:
    """Opens browser contexts on the server (signed in with a storage state, or not), closed after the test."""
    opened: list[BrowserContext] = []

    def open_one(state: dict[str, Any] | None = None, viewport: dict[str, int] = DESKTOP) -> BrowserContext:
        context = browser.new_context(base_url=seeded.url, storage_state=state, viewport=viewport)  # type: ignore[arg-type]
        opened.append(context)
        return context

    yield open_one
    for context in opened:
        context.close()


@pytest.fixture
def admin(open_context: Any, admin_state: dict[str, Any]) -> Page:
    """A page in a new context signed in as the admin."""
    page: Page = open_context(admin_state).new_page()
    return page


def click_and_load(page: Page, selector: str) -> None:
    """Click something that loads a new page, and wait for it."""
    with page.expect_navigation():
        page.click(selector)


def texts(page: Page, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


# --- the tests --------------------------------------------------------------------------------------------------


def test_sign_in_sets_an_httponly_lax_session_cookie_and_a_wrong_password_sets_none(
    open_context: Any, seeded: Seeded
) -> None:
    context = open_context()
    page = context.new_page()
    page.goto("/")
    assert page.url == f"{seeded.url}/login?next=/"
    screenshot(page, "login")

    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", "not the password")
    with page.expect_response(lambda r: r.request.method == "POST") as wrong:
        page.click("button[type=submit]")
    assert wrong.value.status == 401
    assert texts(page, "p.error") == ["Wrong email or password."]
    assert cookie(context, "smilepost_session") is None

    page.fill("input[name=password]", PASSWORD)
    click_and_load(page, "button[type=submit]")
    assert page.url == f"{seeded.url}/"
    session = cookie(context, "smilepost_session")
    assert session is not None and session["httpOnly"] is True and session["sameSite"] == "Lax"
    assert cookie(context, "smilepost_login_csrf") is None
    assert texts(page, "header .who") == [ADMIN]

    click_and_load(page, "form.logout button")
    assert page.url == f"{seeded.url}/login"
    assert cookie(context, "smilepost_session") is None
    context.add_cookies([session])  # signing out ended the session on the server too
    page.goto("/fleet")
    assert page.url.startswith(f"{seeded.url}/login?next=/fleet")


def overview_rows(page: Page, seeded: Seeded) -> dict[str, dict[str, str]]:
    """Per place key: the text of each numeric cell of its overview row."""
    rows = {}
    for place in PLACES:
        row = page.locator(f'tr[data-location="{seeded.ids[place.key]}"]')
        if row.count():
            rows[place.key] = {
                "index": row.locator("td.index strong").inner_text().strip(),
                **{name: row.locator(f"td.{name}").inner_text().strip()
                   for name in ("csat", "negative", "responses", "delta", "rank")},
            }  # fmt: skip
    return rows


def expected_rows(seeded: Seeded, periods: dict[str, tuple[date, date]]) -> dict[str, dict[str, str]]:
    numbers = {p.key: expected(seeded, p, *periods[p.key]) for p in PLACES}
    rank = ranks(numbers)
    return {
        key: {"index": num(e.index), "csat": e.csat, "negative": e.negative, "responses": str(e.responses),
              "delta": e.change, "rank": rank[key]}
        for key, e in numbers.items()
    }  # fmt: skip


def row_order(page: Page, seeded: Seeded) -> list[str]:
    keys = {str(i): key for key, i in seeded.ids.items()}
    return [
        keys[i] for i in page.locator("#overview tbody tr").evaluate_all("rows => rows.map(r => r.dataset.location)")
    ]


def test_overview_shows_each_locations_numbers_for_the_picked_range_and_sorts(admin: Page, seeded: Seeded) -> None:
    admin.goto("/?range=7d")
    week = expected_rows(seeded, {p.key: seeded.last_days(p, 7) for p in PLACES})
    assert overview_rows(admin, seeded) == week
    assert week["A"]["responses"] == "40" and week["C"]["delta"] == "–"  # the data is what this test means
    by_rank = sorted(week, key=lambda key: week[key]["rank"])
    assert row_order(admin, seeded) == by_rank
    screenshot(admin, "overview")

    click_and_load(admin, "a.preset:text-is('Today')")
    assert "range=today" in admin.url
    today = expected_rows(seeded, {p.key: seeded.last_days(p, 1) for p in PLACES})
    assert overview_rows(admin, seeded) == today
    assert today["A"]["responses"] == "20" and today != week

    first, last = seeded.today["A"] - timedelta(days=13), seeded.today["A"] - timedelta(days=7)
    admin.fill("input[name=start]", first.isoformat())
    admin.fill("input[name=last]", last.isoformat())
    click_and_load(admin, "form.range button[type=submit]")
    assert f"start={first}" in admin.url and f"last={last}" in admin.url
    custom = expected_rows(seeded, {p.key: (first, last) for p in PLACES})
    assert overview_rows(admin, seeded) == custom
    assert custom["A"]["responses"] == "28" and custom["C"]["index"] == "–"

    admin.goto("/?range=7d")
    click_and_load(admin, "#overview th a:text('Responses')")
    assert row_order(admin, seeded) == ["C", "B", "A"]  # 5, 17, 40 responses
    click_and_load(admin, "#overview th a:text('Responses')")
    assert row_order(admin, seeded) == ["A", "B", "C"]
    assert "desc=true" in admin.url
    click_and_load(admin, "#overview th a:text('Happy Index')")
    assert row_order(admin, seeded) == sorted(week, key=lambda key: float(week[key]["index"]))


def test_location_page_shows_kpis_faces_heatmap_reasons_comments_kiosks_and_charts(admin: Page, seeded: Seeded) -> None:
    admin.goto(f"/locations/{seeded.ids['A']}?range=7d")
    first, last = seeded.last_days(OSLO, 7)
    e = expected(seeded, OSLO, first, last)
    assert texts(admin, "#kpi-index p.big") == [num(e.index)]
    assert texts(admin, "#kpi-csat p.big") == [e.csat]
    assert texts(admin, "#kpi-negative p.big") == [e.negative]
    assert texts(admin, "#kpi-responses p.big") == ["40"]
    assert texts(admin, "#kpi-responses p:not(.big)") == [f"before {sum(e.before.values())}"]
    assert admin.locator("#few-responses").count() == 0
    assert texts(admin, "#faces tbody tr:nth-child(1) td") == [str(n) for n in e.face_counts(e.faces)]
    assert texts(admin, "#faces tbody tr:nth-child(2) td") == [str(n) for n in e.face_counts(e.before)]

    heat = Counter()
    for run in seeded.taps_between(OSLO, first, last):
        heat[seeded.local_date(OSLO, run).weekday(), run.hour] += run.count
    cells = admin.evaluate("""() => [...document.querySelectorAll('#heatmap tbody tr')].flatMap((tr, weekday) =>
        [...tr.querySelectorAll('td')].map((td, hour) => [weekday, hour, Number(td.dataset.n)]))""")
    assert len(cells) == 7 * 24
    assert {(w, h): n for w, h, n in cells if n} == dict(heat)
    assert heat[seeded.today["A"].weekday(), 8] == 4  # Gate 2's four early taps today

    # A reason is on the side of the face tapped: 1-2 negative, 3 neutral, 4-5 positive (5 faces).
    reasons: Counter[tuple[str, str]] = Counter()
    for run in seeded.taps_between(OSLO, first, last):
        if run.followup:
            side = "negative" if run.score <= 2 else "neutral" if run.score == 3 else "positive"
            reasons[side, run.followup] += run.count
    shown = admin.locator("#reasons tr").evaluate_all("""rows => rows.map(r => [r.querySelector('th').firstChild
        .textContent.trim(), r.className, ...[...r.querySelectorAll('td.num')].map(td => td.innerText.trim())])""")
    sides = {side: sum(n for (s, _), n in reasons.items() if s == side) for side in ("negative", "neutral", "positive")}
    assert shown == [
        [REASON_LABELS[reason], side, str(n), share(n, sides[side]) + " few"]  # under 30 picks on each side
        for side in ("negative", "neutral", "positive")
        for (s, reason), n in sorted(reasons.items(), key=lambda item: (-item[1], item[0][1]))
        if s == side
    ]
    assert reasons == {("negative", "queue"): 1, ("neutral", "queue"): 1, ("neutral", "rude"): 1,
                       ("positive", "staff"): 4}  # fmt: skip

    comments = texts(admin, "#comments li q")
    assert comments == [XSS, "Lovely staff"]  # newest first; the markup is shown as text
    assert admin.evaluate("window.__xss") is None
    assert admin.locator("#comments b, #comments script").count() == 0
    assert f"{seeded.today['A']} 12:00 · Gate 2" in admin.inner_text("#comments li:first-child")

    split = {}
    for kiosk in OSLO.kiosks:
        mine = counts([r for r in seeded.taps_between(OSLO, first, last) if r.kiosk == kiosk])
        one = Expected(mine, Counter(), OSLO.scale)
        split[OSLO.kiosks[kiosk]] = [str(one.responses), num(one.index), one.csat, one.negative]
    rows = admin.locator("#kiosk-split tbody tr")
    assert {
        rows.nth(i).locator("td").nth(0).inner_text(): [
            rows.nth(i).locator("td").nth(1).inner_text(), rows.nth(i).locator("td strong").inner_text(),
            rows.nth(i).locator("td").nth(3).inner_text(), rows.nth(i).locator("td").nth(4).inner_text(),
        ] for i in range(rows.count())
    } == split  # fmt: skip

    faces = admin.evaluate("Chart.getChart(document.getElementById('faces-chart')).data.datasets.map(d => d.data)")
    assert faces == [e.face_counts(e.faces), e.face_counts(e.before)]
    trend = admin.evaluate("Chart.getChart(document.getElementById('trend-chart')).data")
    days = [first + timedelta(days=i) for i in range(7)]
    assert trend["labels"] == [day.isoformat() for day in days]
    datasets = {dataset["label"]: dataset["data"] for dataset in trend["datasets"]}
    for label, shift in (("this period", 0), ("compared with", 7)):
        want = [happy_index(counts(seeded.taps_between(OSLO, d - timedelta(shift), d - timedelta(shift))), 5)
                for d in days]  # fmt: skip
        assert [None if v is None else round(v, 6) for v in datasets[label]] == [
            None if v is None else round(v, 6) for v in want
        ]
    band = zip(datasets["95 % low"], datasets["this period"], datasets["95 % interval"], strict=True)
    assert all(low <= value <= high for low, value, high in band if value is not None)
    screenshot(admin, "location")

    admin.goto(f"/locations/{seeded.ids['A']}?range=today")
    assert texts(admin, "#kpi-responses p.big") == ["20"]
    admin.goto(f"/locations/{seeded.ids['C']}?range=7d")
    assert texts(admin, "#kpi-responses p.big") == ["5"]
    assert "only 5 in this period" in admin.inner_text("#few-responses")


def test_a_manager_sees_what_the_repeat_filter_did_and_replays_another_interval(admin: Page, seeded: Seeded) -> None:
    first, last = seeded.last_days(NEW_YORK, 7)
    runs = seeded.taps_between(NEW_YORK, first, last)
    repeats = sum(run.count for run in runs if run.repeat)
    stored = expected(seeded, NEW_YORK, first, last)
    admin.goto(f"/locations/{seeded.ids['C']}?range=7d")
    assert texts(admin, "#filtered-count") == [f"{repeats} presses filtered (repeat within 5 s)"]
    assert texts(admin, "#kpi-responses p.big") == [str(stored.responses)]

    admin.fill("#filtered input[name=what_if]", "0")
    click_and_load(admin, "#filtered button[type=submit]")

    # with no interval the two repeats count too: 4, 4, 1, 3, 2, 1, 1 on four faces
    every = Counter()
    for run in runs:
        every[run.score] += run.count
    replayed = Expected(every, Counter(), NEW_YORK.scale)
    assert "what_if=0" in admin.url and admin.locator("#what-if").count() == 1
    assert texts(admin, "#filtered-count") == ["0 presses filtered"]
    assert texts(admin, "#kpi-responses p.big") == [str(replayed.responses)] == [str(stored.responses + repeats)]
    assert texts(admin, "#kpi-index p.big") == [num(replayed.index)]
    screenshot(admin, "location-what-if")

    admin.select_option("#trend-view select[name=granularity]", "week")
    click_and_load(admin, "#trend-view button[type=submit]")
    assert "granularity=week" in admin.url and "what_if=0" in admin.url  # the replay is kept
    assert texts(admin, "#kpi-responses p.big") == [str(replayed.responses)]
    assert admin.locator("h2:text-is('Weekly trend')").count() == 1


def test_manager_sees_only_their_groups_locations_and_gets_403_elsewhere(
    open_context: Any, manager_state: dict[str, Any], seeded: Seeded
) -> None:
    context = open_context(manager_state)
    page = context.new_page()
    page.goto("/?range=7d")
    shown = set(overview_rows(page, seeded))
    assert shown == {"A", "B"}
    assert page.locator("header nav a:text('Admin')").count() == 0

    page.goto(f"/locations/{seeded.ids['B']}")
    assert texts(page, "h1")[0].startswith(KATHMANDU.name)
    response = page.goto(f"/locations/{seeded.ids['C']}")
    assert response is not None and response.status == 403
    assert texts(page, "h1") == ["Not yours to see"]
    assert NEW_YORK.name not in page.content()

    window = {"start": str(seeded.today["C"] - timedelta(days=7)), "end": str(seeded.today["C"] + timedelta(days=1))}
    for path in ("/api/v1/export/taps", "/api/v1/export/summaries"):
        assert context.request.get(path, params={"location_id": seeded.ids["C"], **window}).status == 403
        assert context.request.get(path, params={"location_id": seeded.ids["A"], **window}).status == 200
    summary = context.request.get(f"/api/v1/locations/{seeded.ids['C']}/summary", params=window)
    assert summary.status == 403

    for path in ("/admin", f"/admin/locations/{seeded.ids['A']}"):
        response = page.goto(path)
        assert response is not None and response.status == 403
    page.goto("/fleet")
    shown_kiosks = set(page.locator("#fleet tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kiosk)"))
    assert shown_kiosks <= {seeded.kiosk_ids[k] for p in (OSLO, KATHMANDU) for k in p.kiosks}
    assert seeded.kiosk_ids["a1"] in shown_kiosks and seeded.kiosk_ids["c1"] not in shown_kiosks


def test_form_posts_without_the_right_csrf_token_are_refused_and_change_nothing(
    admin: Page, open_context: Any, seeded: Seeded
) -> None:
    admin.goto("/admin")
    screenshot(admin, "admin")
    forms: tuple[dict[str, str | float | bool], ...] = (
        {"name": "No token"},
        {"name": "Wrong token", "csrf_token": "x" * 43},
    )
    for form in forms:
        response = admin.context.request.post("/admin/groups", form=form)
        assert response.status == 403, form
        assert "CSRF" in response.text()
    response = admin.context.request.post(
        f"/admin/locations/{seeded.ids['A']}/config", form={"thank_you_seconds": "9", "scale": "3"}
    )
    assert response.status == 403
    admin.goto("/admin")
    names = texts(admin, "#groups li span.group-name")
    assert "No token" not in names and "Wrong token" not in names
    config = kiosk_config(seeded, seeded.tokens["a1"])
    assert config.json()["thank_you_seconds"] == 3.0 and config.json()["scale"] == 5

    admin.fill("#new-group input[name=name]", "Bergen Airport")  # the same post with the form's token works
    click_and_load(admin, "#new-group button")
    assert "Bergen Airport" in texts(admin, "#groups li span.group-name")

    stranger = open_context()  # never loaded the sign-in form, so it has no sign-in CSRF cookie
    response = stranger.request.post("/login", form={"email": ADMIN, "password": PASSWORD, "csrf_token": "x" * 43})
    assert response.status == 403
    assert cookie(stranger, "smilepost_session") is None


def kiosk_config(seeded: Seeded, token: str, etag: str | None = None) -> httpx.Response:
    """GET /api/v1/kiosk/config as the kiosk with that token does (revalidating ``etag`` if given)."""
    headers = {"Authorization": f"Bearer {token}", **({"If-None-Match": etag} if etag else {})}
    return httpx.get(f"{seeded.url}/api/v1/kiosk/config", headers=headers)


def test_admin_settings_reach_the_kiosk_pairing_shows_a_code_and_revoking_locks_a_kiosk_out(
    admin: Page, seeded: Seeded
) -> None:
    before = kiosk_config(seeded, seeded.tokens["b1"])
    assert before.status_code == 200 and before.json()["thank_you_seconds"] == 3.0
    admin.goto(f"/admin/locations/{seeded.ids['B']}")
    screenshot(admin, "admin-location")
    admin.fill("#settings input[name='question.en']", "How was the shop today?")
    admin.fill("#settings textarea[name=negative_reasons]", "price: Prices\nwait: Waiting time")
    admin.fill("#settings textarea[name=positive_reasons]", "help: Helpful staff")
    admin.fill("#settings input[name=thank_you_seconds]", "5")
    click_and_load(admin, "#settings button[type=submit]")
    assert admin.url.endswith(f"/admin/locations/{seeded.ids['B']}")
    assert texts(admin, "#flash") == ["Saved. Kiosks pick the change up at their next config check."]

    after = kiosk_config(seeded, seeded.tokens["b1"], before.headers["ETag"])
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    config = after.json()
    assert config["texts"]["en"]["question"] == "How was the shop today?"
    assert config["followup"]["negative_reasons"] == ["price", "wait"]
    assert config["followup"]["positive_reasons"] == ["help"]
    assert config["texts"]["en"]["reason.price"] == "Prices" and config["texts"]["en"]["reason.help"] == "Helpful staff"
    assert config["thank_you_seconds"] == 5.0 and config["scale"] == KATHMANDU.scale
    assert kiosk_config(seeded, seeded.tokens["b1"], after.headers["ETag"]).status_code == 304
    assert admin.input_value("#settings input[name=thank_you_seconds]") == "5.0"

    admin.fill("#pair input[name=kiosk_name]", "Lane 3")
    click_and_load(admin, "#pair button")
    code = admin.inner_text("#pair-code")
    assert re.fullmatch(r"[0-9]{8}", code)
    paired = httpx.post(f"{seeded.url}/api/v1/pair", json={"code": code})  # what a new kiosk does with the code
    assert paired.status_code == 200, paired.text
    kiosk_id, token = paired.json()["kiosk_id"], paired.json()["token"]
    assert kiosk_config(seeded, token).json()["location_id"] == seeded.ids["B"]

    admin.goto(f"/admin/locations/{seeded.ids['B']}")
    assert "Lane 3" in admin.inner_text(f"#kiosk-list li:has(small:text-is('{kiosk_id}'))")
    admin.once("dialog", lambda dialog: dialog.accept())  # "Revoke this kiosk?"
    click_and_load(admin, f"#kiosk-list li:has(small:text-is('{kiosk_id}')) button")
    assert kiosk_id in admin.inner_text("#flash")
    assert kiosk_id not in admin.inner_text("#kiosk-list")
    assert kiosk_config(seeded, token).status_code == 401
    assert kiosk_config(seeded, seeded.tokens["b1"]).status_code == 200


def test_fleet_shows_silent_kiosks_offline_and_syncing_ones_online_with_their_heartbeat(
    admin: Page, seeded: Seeded
) -> None:
    admin.goto("/fleet")
    screenshot(admin, "fleet")

    def cells(kiosk: str) -> tuple[str, list[str]]:
        row = admin.locator(f'tr[data-kiosk="{seeded.kiosk_ids[kiosk]}"]')
        return str(row.get_attribute("class")), [text.strip() for text in row.locator("td").all_inner_texts()]

    # cells: kiosk, location, status, last seen, last sync, last tap, queue, version, clock offset, missing taps
    status, silent = cells("c9")
    assert status == "offline" and silent[1:8] == [NEW_YORK.name, "offline", "never", "never", "never", "–", "–"]
    status, synced = cells("a1")
    assert status == "online" and synced[1:3] == [OSLO.name, "online"]
    assert synced[3].endswith(" ago") and synced[6:8] == [str(HEARTBEAT.queue_depth), HEARTBEAT.app_version]
    assert synced[5].endswith(" ago")  # the last tap its heartbeat reported
    assert synced[9] == "0"
    status, no_heartbeat = cells("a2")
    assert status == "online" and no_heartbeat[5:8] == ["never", "–", "–"]
    rows = admin.locator("#fleet tbody tr").evaluate_all("rows => rows.map(r => r.className)")
    assert rows == sorted(rows, key=lambda c: c != "offline")  # offline kiosks first


def test_exports_give_exactly_the_seeded_taps_in_disjoint_pages(admin: Page, seeded: Seeded) -> None:
    first, last = seeded.last_days(OSLO, 14)
    window: dict[str, str | float | bool] = {
        "location_id": seeded.ids["A"],
        "start": str(first),
        "end": str(last + timedelta(days=1)),
    }
    runs = seeded.taps_between(OSLO, first, last)
    want = counts(runs)
    request = admin.context.request

    everything = request.get("/api/v1/export/taps", params={**window, "format": "json"}).json()
    assert everything["next_offset"] is None
    assert Counter(item["score"] for item in everything["items"]) == want
    assert {item["local_date"] for item in everything["items"]} == {str(seeded.local_date(OSLO, r)) for r in runs}

    table = request.get("/api/v1/export/taps", params={**window, "format": "csv"})
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text())))
    assert Counter(int(row["score"]) for row in rows) == want
    assert {row["id"] for row in rows} == {item["id"] for item in everything["items"]}
    assert sorted(row["comment"] for row in rows if row["comment"]) == sorted([XSS, "Lovely staff"])

    pages, offset = [], 0
    while offset is not None:
        page = request.get("/api/v1/export/taps", params={**window, "limit": 25, "offset": offset}).json()
        pages.append([item["id"] for item in page["items"]])
        offset = page["next_offset"]
    assert [len(p) for p in pages] == [25, 25, sum(want.values()) - 50]
    assert len({i for p in pages for i in p}) == sum(len(p) for p in pages) == sum(want.values())

    daily = request.get("/api/v1/export/summaries", params={**window, "format": "json"}).json()["items"]
    assert [row["local_date"] for row in daily] == [str(first + timedelta(days=i)) for i in range(14)]
    assert sum(row["responses"] for row in daily) == sum(want.values())
    assert request.get("/api/v1/export/taps", params={**window, "limit": 10001}).status == 422


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_dashboard_pages_fit_the_screen_without_sideways_scrolling(
    open_context: Any, admin_state: dict[str, Any], seeded: Seeded, viewport: dict[str, int]
) -> None:
    page = open_context(admin_state, viewport).new_page()
    paths = {"overview": "/?range=7d", "location": f"/locations/{seeded.ids['A']}?range=7d", "fleet": "/fleet",
             "admin": "/admin", "admin-location": f"/admin/locations/{seeded.ids['A']}"}  # fmt: skip
    for name, path in paths.items():
        page.goto(path)
        overflow, culprits = horizontal_overflow(page)
        assert overflow <= 1, f"{path} scrolls sideways by {overflow} px at {viewport}: {culprits}"
        if viewport == PHONE and name in ("overview", "location"):
            screenshot(page, f"{name}-phone")


def nps(answers: list[int]) -> float:
    """% of 9-10 minus % of 0-6."""
    return 100 * (sum(a >= 9 for a in answers) - sum(a <= 6 for a in answers)) / len(answers)


def post_customers(seeded: Seeded) -> None:
    """:data:`GATE_CUSTOMERS` from Gate 2 (its next seqs) and :data:`PHONE_CUSTOMERS` from phones at a touchpoint
    made for them, each answer to "speed" linked to the customer's face, posted as the kiosk and the page post."""
    zone, url = ZoneInfo(OSLO.timezone), seeded.url

    def customer(days_ago: int, hour: int, face: int, speed: int | None, seq: int, boot: str) -> list[Tap]:
        day = seeded.today["A"] - timedelta(days=days_ago)
        at = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
        first = Tap(id=uuid.uuid4(), seq=seq, scale=OSLO.scale, score=face, tapped_at=at, mono_ns=seq, boot_id=boot)
        if speed is None:
            return [first]
        return [first, Tap(id=uuid.uuid4(), seq=seq + 1, question_id="speed", scale=11, score=speed, mono_ns=seq + 1,
                           tapped_at=at + timedelta(seconds=5), boot_id=boot, first_tap_id=first.id)]  # fmt: skip

    taps: list[Tap] = []
    for days_ago, hour, face, speed in GATE_CUSTOMERS:
        seq = sum(run.count for run in OSLO.taps if run.kiosk == "a2") + len(taps) + 1
        taps += customer(days_ago, hour, face, speed, seq, "boot-a2")
    batch = TapBatch(sent_at=datetime.now(UTC), boot_id="boot-a2", mono_ns=10**12, taps=taps)
    response = httpx.post(f"{url}/api/v1/taps", content=batch.model_dump_json(), headers={
        "Authorization": f"Bearer {seeded.tokens['a2']}", "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 200 and response.json()["accepted"] == len(taps), response.text

    engine = make_engine(f"sqlite:///{seeded.data_dir / 'smilepost.db'}")
    try:
        with engine.begin() as conn:
            slug = add_touchpoint(conn, location_id=seeded.ids["A"], name="Receipt QR").slug
    finally:
        engine.dispose()
    for i, (days_ago, hour, face, speed) in enumerate(PHONE_CUSTOMERS):
        device = f"phone-{i}"
        taps = customer(days_ago, hour, face, speed, 1, device)
        batch = TapBatch(sent_at=datetime.now(UTC), boot_id=device, mono_ns=10**12, taps=taps)
        response = httpx.post(f"{url}/api/v1/touchpoints/{slug}/taps", content=batch.model_dump_json(), headers={
            "X-Smilepost-Client": "web", "Origin": url, "Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 200 and response.json()["accepted"] == len(taps), response.text


def test_the_channel_and_question_pickers_change_the_figures_on_the_location_page_and_the_overview(
    admin: Page, seeded: Seeded
) -> None:
    post_customers(seeded)
    first, last = seeded.last_days(OSLO, 30)
    kiosk_faces = counts(seeded.taps_between(OSLO, first, last)) + Counter(c[2] for c in GATE_CUSTOMERS)
    web_faces = Counter(c[2] for c in PHONE_CUSTOMERS)
    gate_speed = [c[3] for c in GATE_CUSTOMERS if c[3] is not None]
    web_speed = [c[3] for c in PHONE_CUSTOMERS if c[3] is not None]

    admin.goto(f"/locations/{seeded.ids['A']}?range=30d")
    every = Expected(kiosk_faces + web_faces, Counter(), OSLO.scale)
    assert texts(admin, "#kpi-responses p.big") == [str(every.responses)]
    assert texts(admin, "#kpi-index p.big") == [num(every.index)]
    assert texts(admin, "#kiosk-split tbody tr td:first-child") == ["Gate 1", "Gate 2", "Web (phones)"]
    assert texts(admin, "#channel-picker a[aria-current]") == ["All channels"]
    screenshot(admin, "location-channels")

    click_and_load(admin, "#channel-picker a[data-channel=web]")
    web = Expected(web_faces, Counter(), OSLO.scale)
    assert "channel=web" in admin.url and "range=30d" in admin.url
    assert texts(admin, "#kpi-responses p.big") == [str(web.responses)]
    assert texts(admin, "#kpi-index p.big") == [num(web.index)] and texts(admin, "#kpi-csat p.big") == [web.csat]
    assert texts(admin, "#kiosk-split tbody tr td:first-child") == ["Web (phones)"]

    admin.select_option("#question-picker select[name=question]", "speed")
    click_and_load(admin, "#question-picker button[type=submit]")
    assert "question=speed" in admin.url and "channel=web" in admin.url
    assert texts(admin, "#kpi-index h2") == ["NPS"]
    assert texts(admin, "#kpi-index p.big") == [num(nps(web_speed))]
    assert texts(admin, "#kpi-responses p.big") == [str(len(web_speed))]
    assert texts(admin, "#faces thead th")[1:] == [str(score) for score in range(11)]
    screenshot(admin, "location-question")

    click_and_load(admin, "#channel-picker a[data-channel=all]")
    assert "question=speed" in admin.url and "channel=" not in admin.url
    assert texts(admin, "#kpi-index p.big") == [num(nps(gate_speed + web_speed))]
    assert texts(admin, "#kpi-responses p.big") == [str(len(gate_speed + web_speed))]

    admin.goto("/?range=30d")
    admin.select_option("#question-picker select[name=question]", "speed")
    click_and_load(admin, "#question-picker button[type=submit]")
    click_and_load(admin, "#channel-picker a[data-channel=kiosk]")
    assert "question=speed" in admin.url and "channel=kiosk" in admin.url
    row = admin.locator(f'tr[data-location="{seeded.ids["A"]}"]')
    assert row.locator("td.responses").inner_text().strip() == str(len(gate_speed))
    assert row.locator("td.index strong").inner_text().strip() == num(nps(gate_speed))
    others = admin.locator(f'tr[data-location="{seeded.ids["B"]}"] td.index .not-asked')
    assert others.inner_text() == "not asked"
