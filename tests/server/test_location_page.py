"""The location page shows what the filter did and lets a manager try another repeat interval, chooses the trend's
granularity and comparison, and marks small samples (over HTTP with TestClient; Chromium in tests/e2e)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from server.auth import accounts
from server.locations import configure_location
from shared.protocol import FollowUp, LocationConfig

PASSWORD = "correct horse battery"


@pytest.fixture
def page(client, engine, location):
    """``page(query)`` -> the location page's HTML for a signed-in admin."""
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
        configure_location(
            conn,
            location,
            config=LocationConfig(
                repeat_press_seconds=5, followup=FollowUp(negative_reasons=["queue"], positive_reasons=["queue"])
            ),
        )
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    token = match.group(1)
    client.post("/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": token})

    def read(query: str = "range=today") -> str:
        response = client.get(f"/locations/{location}?{query}")
        assert response.status_code == 200, response.text
        return response.text

    return read


@pytest.fixture
def today_noon() -> datetime:
    return datetime.now(ZoneInfo("Europe/Oslo")).replace(hour=12, minute=0, second=0, microsecond=0)


def at(moment: datetime, seconds: float = 0) -> str:
    return (moment + timedelta(seconds=seconds)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def chart(html: str) -> dict:
    match = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html)
    assert match
    return json.loads(match.group(1))


def test_the_page_says_how_many_presses_the_filter_left_out(page, send, tap, today_noon):
    send([tap(score=5, tapped_at=at(today_noon)), tap(score=1, tapped_at=at(today_noon, 2), flags=["repeat"]),
          tap(score=1, tapped_at=at(today_noon, 3), flags=["repeat"])])  # fmt: skip

    html = page()

    assert re.search(r'id="filtered-count">2 presses filtered \(repeat within 5 s\)<', html)
    assert '<p class="big">1</p>' in html  # responses


def test_a_manager_can_replay_the_figures_with_another_repeat_interval(page, send, tap, today_noon):
    send([tap(score=5, tapped_at=at(today_noon)), tap(score=1, tapped_at=at(today_noon, 2), flags=["repeat"]),
          tap(score=1, tapped_at=at(today_noon, 3), flags=["repeat"])])  # fmt: skip

    html = page("range=today&what_if=0")

    # with no interval all three count: index = 100 × (1 + 0 + 0) / 3 = 33.3; nothing filtered
    assert 'id="what-if"' in html and "repeat interval of 0 s" in html
    assert re.search(r'id="filtered-count">0 presses filtered<', html)
    assert '<p class="big">33.3</p>' in html and '<p class="big">3</p>' in html
    assert 'name="what_if"' in html and "Back to the stored figures" in html


def test_a_what_if_over_more_than_92_days_is_a_message_not_an_error(page):
    html = page("range=365d&what_if=10")

    assert 'role="alert"' in html and "at most 92 days" in html
    assert 'id="what-if"' not in html  # the stored figures of the default range are shown instead


@pytest.mark.parametrize(
    ("query", "heading", "points"),
    [("range=30d&granularity=day", "Daily trend", 30), ("range=30d&granularity=week", "Weekly trend", None),
     ("range=365d&granularity=month&compare=year", "Monthly trend", None)],
)  # fmt: skip
def test_the_trend_can_be_per_day_week_or_month_and_compared_with_a_year_earlier(page, query, heading, points):
    html = page(query)
    data = chart(html)["trend"]

    assert f"<h2>{heading}</h2>" in html
    assert len(data["labels"]) == len(data["now"]) == len(data["low"]) == len(data["high"]) == len(data["n"])
    if points:
        assert len(data["labels"]) == points
    if "year" in query:
        assert "(the same dates a year earlier)" in html and 'value="year" selected' in html
        assert 12 <= len(data["labels"]) <= 13 and all(label.endswith("-01") for label in data["labels"][1:])


def test_trend_points_carry_their_n_and_band_and_small_ones_are_marked(page, send, tap, today_noon):
    send([tap(score=s, tapped_at=at(today_noon, i)) for i, s in enumerate([5, 4, 1])])

    data = chart(page("range=7d"))["trend"]

    # today: (1 + 0.75 + 0) / 3 = 58.33; s = 100 × sd(1, .75, 0) = 52.04; half = 1.96 × 52.04 / √3 = 58.9
    assert data["n"][-1] == 3 and data["small"][-1] is True
    assert data["now"][-1] == pytest.approx(175 / 3)
    assert data["low"][-1] == 0.0 and data["high"][-1] == pytest.approx(100.0)
    assert data["n"][0] == 0 and data["now"][0] is None


def test_heatmap_cells_show_their_n_on_hover_and_small_ones_are_marked(page, send, tap, today_noon):
    send([tap(score=5, tapped_at=at(today_noon, i)) for i in range(3)])

    html = page()

    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[today_noon.weekday()]
    cell = re.search(r'<td style="[^"]*" data-n="3" class="small"\s+title="([^"]+)"', html)
    assert cell and cell.group(1).startswith(f"{weekday} 12:00 · n = 3 (few responses)")
