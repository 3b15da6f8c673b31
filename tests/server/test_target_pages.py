"""Service targets on the dashboard (TestClient, SQLite and PostgreSQL): the overview and the location page say how
far each location's Happy Index is from its target — its own, else its group's — or that it reached it, and say
nothing where no target applies. The figures are computed here from the taps the test sends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from server import groups as server_groups
from server.alerts.targets import set_target, targets_for
from server.auth import accounts
from tests.support.sessions import PASSWORD, sign_in

SCORES = {"a": [5, 5, 4, 3], "b": [2, 4], "shop": [1, 5]}  # Happy Index 81.25, 50, 50


def happy_index(scores: list[int]) -> float:
    return sum(100 * (s - 1) / 4 for s in scores) / len(scores)


@pytest.fixture
def site(client, engine, make_location, enroll, tap, make_batch) -> dict[str, int]:
    """Security A (own target 80) and Security B in the group Oslo Airport (target 60), a shop without a target;
    SCORES sent two hours ago; an admin signed in."""
    names = {"a": "Security A", "b": "Security B", "shop": "Shop"}
    ids = {key: make_location(name=name) for key, name in names.items()}
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Oslo Airport")
        for key in ("a", "b"):
            server_groups.add_location(conn, group, ids[key])
        set_target(conn, group_id=group, index=60)
        set_target(conn, location_id=ids["a"], index=80)
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    at = (datetime.now(UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    for key, scores in SCORES.items():
        token = enroll(ids[key]).token
        body = make_batch([tap(score=score, tapped_at=at) for score in scores])
        response = client.post("/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.json()["accepted"] == len(scores), response.text
    assert sign_in(client, "admin@example.com").status_code == 303
    return ids


def overview_target(html: str, location_id: int) -> str | None:
    row = re.search(rf'<tr data-location="{location_id}">(.*?)</tr>', html, re.S)
    assert row, f"no overview row for location {location_id}"
    target = re.search(r'<small class="target">(.*?)</small>', row.group(1), re.S)
    return target.group(1).strip() if target else None


def test_a_location_target_wins_over_its_group_target(engine, site):
    with engine.connect() as conn:
        assert targets_for(conn, list(site.values())) == {site["a"]: 80.0, site["b"]: 60.0}
        assert targets_for(conn, []) == {}


def test_the_overview_says_how_far_each_location_is_from_its_target(client, site):
    html = client.get("/", params={"range": "7d"}).text
    assert happy_index(SCORES["a"]) >= 80
    assert overview_target(html, site["a"]) == "target 80.0 reached"
    assert overview_target(html, site["b"]) == f"{60 - happy_index(SCORES['b']):.1f} to target 60.0"
    assert overview_target(html, site["shop"]) is None


def test_the_location_page_shows_the_points_to_go_and_the_target_on_the_interval_bar(client, site):
    html = client.get(f"/locations/{site['b']}", params={"range": "7d"}).text
    to_go = 60 - happy_index(SCORES["b"])
    assert re.search(rf'<p class="target" id="target">{to_go:.1f} points to the target of 60.0</p>', html)
    assert 'fill="#2e7d32"' in html  # the target's mark on the interval bar
    reached = client.get(f"/locations/{site['a']}", params={"range": "7d"}).text
    assert '<p class="target" id="target">Target 80.0 reached</p>' in reached
    without = client.get(f"/locations/{site['shop']}", params={"range": "7d"}).text
    assert 'id="target"' not in without and 'fill="#2e7d32"' not in without
