"""``/api/v1/alerts`` and ``/api/v1/alert-rules``: who may read, acknowledge and make what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.alerts.evaluate import evaluate
from server.auth import accounts, keys
from tests.support.sessions import PASSWORD, form_token, sign_in

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def admin_key(engine) -> str:
    with engine.begin() as conn:
        return keys.create_api_key(conn, name="ops", scope="admin")


@pytest.fixture
def rule(client, admin_key, location) -> dict:
    response = client.post(
        "/api/v1/alert-rules", headers={"Authorization": f"Bearer {admin_key}"},
        json={"location_id": location, "metric": "negative", "above": 40, "window": "30m", "min_responses": 5,
              "notify": ["email:lead@example.com"]},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def open_alert(engine, send, tap, rule) -> int:
    """6 sad and 2 happy taps in the last 10 minutes: 75 % negative, above 40 %: an alert opens."""
    at = (NOW - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    assert (
        send([tap(score=1, tapped_at=at) for _ in range(6)] + [tap(score=5, tapped_at=at) for _ in range(2)]).json()[
            "accepted"
        ]
        == 8
    )
    report = evaluate(engine, now=NOW)
    assert len(report.opened) == 1
    return report.opened[0]


def test_a_rule_made_through_the_api_is_stored_in_the_figures_unit(rule, location):
    assert rule == {"id": rule["id"], "location_id": location, "group_id": None, "metric": "negative",
                    "direction": "above", "threshold": 40.0, "window_seconds": 1800, "min_responses": 5,
                    "notify": ["email:lead@example.com"], "enabled": True}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [({"metric": "negative", "above": 140}, "--above"), ({"metric": "index", "window": "1w"}, "--window"),
     ({"metric": "loudness"}, "metric")],
)  # fmt: skip
def test_a_rule_that_cannot_be_used_is_a_422_naming_it(client, admin_key, location, body, field):
    response = client.post("/api/v1/alert-rules", headers={"Authorization": f"Bearer {admin_key}"},
                           json={"location_id": location, **body})  # fmt: skip

    assert response.status_code == 422 and field in response.json()["message"]


def test_a_read_key_may_not_make_rules_or_acknowledge(client, api_key, location, open_alert):
    headers = {"Authorization": f"Bearer {api_key}"}

    made = client.post("/api/v1/alert-rules", headers=headers, json={"location_id": location, "metric": "offline"})
    acked = client.post(f"/api/v1/alerts/{open_alert}/ack", headers=headers, json={"comment": "on it"})

    assert (made.status_code, acked.status_code) == (403, 403)
    assert client.get(f"/api/v1/alerts/{open_alert}", headers=headers).json()["state"] == "open"


def test_alerts_are_listed_newest_first_with_their_figures_and_filters(client, api_key, open_alert, location):
    headers = {"Authorization": f"Bearer {api_key}"}

    page = client.get("/api/v1/alerts", headers=headers).json()
    closed = client.get("/api/v1/alerts", params={"state": "closed"}, headers=headers).json()

    assert page["total"] == 1 and page["next_offset"] is None
    alert = page["items"][0]
    assert (alert["id"], alert["location_id"], alert["metric"], alert["state"]) == (open_alert, location, "negative",
                                                                                    "open")  # fmt: skip
    assert alert["value"] == pytest.approx(75.0) and alert["threshold"] == 40.0 and alert["responses"] == 8
    assert closed == {"total": 0, "items": [], "limit": 50, "offset": 0, "next_offset": None}


def test_an_admin_key_acknowledges_with_a_comment_once(client, admin_key, open_alert):
    headers = {"Authorization": f"Bearer {admin_key}"}

    first = client.post(f"/api/v1/alerts/{open_alert}/ack", headers=headers, json={"comment": "extra lane opened"})
    again = client.post(f"/api/v1/alerts/{open_alert}/ack", headers=headers, json={"comment": "twice"})

    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["state"], body["acknowledged_by"], body["ack_comment"]) == ("acknowledged", "API key",
                                                                             "extra lane opened")  # fmt: skip
    assert again.status_code == 422 and "open" in again.json()["message"]


def test_a_manager_acknowledges_only_their_own_alerts_and_only_with_the_csrf_token(
    client, engine, make_location, location, open_alert
):
    elsewhere = make_location(name="Elsewhere")
    with engine.begin() as conn:
        accounts.add_user(conn, email="lead@example.com", password=PASSWORD, role="manager", location_ids=[location])
        accounts.add_user(conn, email="other@example.com", password=PASSWORD, role="manager",
                          location_ids=[elsewhere])  # fmt: skip
    sign_in(client, "other@example.com")
    assert client.get("/api/v1/alerts").json()["total"] == 0
    token = form_token(client)
    assert client.post(f"/api/v1/alerts/{open_alert}/ack", json={}, headers={"X-CSRF-Token": token}).status_code == 403

    client.post("/logout", data={"csrf_token": token})
    sign_in(client, "lead@example.com")
    without = client.post(f"/api/v1/alerts/{open_alert}/ack", json={"comment": "seen"})
    token = form_token(client)
    acked = client.post(f"/api/v1/alerts/{open_alert}/ack", json={"comment": "seen"}, headers={"X-CSRF-Token": token})

    assert without.status_code == 403 and "X-CSRF-Token" in without.json()["message"]
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "lead@example.com"
