"""The dashboard's alert pages over HTTP (TestClient), on SQLite and PostgreSQL: the alerts list per user and state,
one alert with its window, acknowledging with and without the CSRF token, a manager's limits, the admin pages of
alert rules and failed notifications, and the open-alert marks on the overview, the location page and in the
navigation. The same acknowledgement in a real Chromium is in tests/e2e/test_alert_dashboard.py.
"""

from __future__ import annotations

import re
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from server.alerts import rules
from server.alerts.evaluate import evaluate
from server.auth import accounts
from server.db import alert_rules, alerts, notifications
from server.web.alert_views import figure, span, threshold
from tests.support.sessions import PASSWORD, form_token, sign_in
from tests.support.sites import airport

pytestmark = pytest.mark.slow  # in make test, not in the fast tier (make check): page-heavy, ~6 s

XSS = "<b>Too slow</b><script>window.__xss = 1</script>"


@pytest.fixture
def site(engine, make_location, enroll):
    """Two Oslo Airport locations (a group) and a New York shop, a kiosk at each, an admin and a group manager."""
    a, b, shop, group = astuple(airport(engine, make_location))
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
        accounts.add_user(conn, email="mgr@example.com", password=PASSWORD, role="manager", group_ids=[group])
    return {"a": a, "b": b, "shop": shop, "group": group, "kiosks": {i: enroll(i) for i in (a, b, shop)}}


@pytest.fixture
def opened(client, engine, site, tap, make_batch) -> dict[str, int]:
    """A negative-share rule (above 40 %, 30 minutes, 5 responses, e-mail) at Security A and at the shop, and 6 sad
    and 2 happy taps at each 10 minutes ago (one sad tap with a reason and a comment with markup): one open alert at
    each. {"a": alert id, "shop": alert id}."""
    now = datetime.now(UTC)
    at = (now - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    with engine.begin() as conn:
        for key in ("a", "shop"):
            rules.add_rule(conn, location_id=site[key], metric="negative", above=40, window="30m", min_responses=5,
                           notify=["email:lead@example.com"], created_by="test")  # fmt: skip
    for key in ("a", "shop"):
        taps = [tap(score=1, tapped_at=at) for _ in range(5)] + [tap(score=5, tapped_at=at) for _ in range(2)]
        taps.append(tap(score=1, tapped_at=at, followup="queue", comment=XSS))
        token = site["kiosks"][site[key]].token
        response = client.post("/api/v1/taps", json=make_batch(taps), headers={"Authorization": f"Bearer {token}"})
        assert response.json()["accepted"] == 8, response.text
    assert len(evaluate(engine, now=now).opened) == 2
    with engine.connect() as conn:
        by_location = dict(conn.execute(select(alerts.c.location_id, alerts.c.id)).all())
    return {key: by_location[site[key]] for key in ("a", "shop")}


def alert_ids(html: str) -> list[int]:
    """The alerts listed on an alerts page, in order."""
    return [int(found) for found in re.findall(r'data-alert="(\d+)"', html)]


def state_of(engine, alert_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()


def acknowledge(client, alert_id: int, comment: str) -> Any:
    token = form_token(client, f"/alerts/{alert_id}")
    return client.post(f"/alerts/{alert_id}/ack", data={"comment": comment, "csrf_token": token},
                       follow_redirects=False)  # fmt: skip


# --- the alerts list --------------------------------------------------------------------------------------------


def test_the_alerts_page_lists_what_each_user_may_see_by_state(client, site, opened):
    sign_in(client, "admin@example.com")
    everything = client.get("/alerts")
    only_shop = client.get("/alerts", params={"location_id": site["shop"]})
    client.post("/logout", data={"csrf_token": form_token(client)})
    sign_in(client, "mgr@example.com")
    mine = client.get("/alerts")
    closed = client.get("/alerts", params={"state": "closed"})

    assert everything.status_code == 200
    assert alert_ids(everything.text) == sorted(opened.values(), reverse=True)  # newest first
    assert alert_ids(only_shop.text) == [opened["shop"]]
    assert alert_ids(mine.text) == [opened["a"]] and "Shop" not in mine.text
    row = mine.text[mine.text.index(f'data-alert="{opened["a"]}"') :]
    assert "Security A" in row and "Negative share" in row
    assert "75.0 %" in row and "above 40 %" in row  # the value against its threshold, in the figure's unit
    assert alert_ids(closed.text) == [] and "No closed alerts" in closed.text


def test_an_acknowledged_alert_moves_from_the_open_tab_to_the_acknowledged_one(client, site, opened):
    sign_in(client, "mgr@example.com")

    assert acknowledge(client, opened["a"], "extra lane opened").status_code == 303

    assert alert_ids(client.get("/alerts").text) == []
    acked = client.get("/alerts", params={"state": "acknowledged"}).text
    assert alert_ids(acked) == [opened["a"]] and "mgr@example.com" in acked
    assert alert_ids(client.get("/alerts", params={"state": "all"}).text) == [opened["a"]]


def test_the_window_is_shown_in_the_locations_local_time(client, site, opened, engine):
    sign_in(client, "admin@example.com")
    shop = state_of(engine, opened["shop"])

    page = client.get("/alerts", params={"location_id": site["shop"]}).text

    assert span(shop.window_start, shop.window_end, "America/New_York") in page
    assert re.search(r"\d{2}:\d{2}–\d{2}:\d{2} E[SD]T", page)


def test_the_alerts_list_is_paged(client, site, opened, engine, monkeypatch):
    from server.web.pages import alerts as pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    sign_in(client, "admin@example.com")

    first = client.get("/alerts").text
    second = client.get("/alerts", params={"offset": 1}).text

    assert alert_ids(first) == [opened["shop"]] and "Older →" in first and "Newer" not in first
    assert alert_ids(second) == [opened["a"]] and "← Newer" in second and "Older" not in second


# --- one alert ---------------------------------------------------------------------------------------------------


def test_the_alert_page_shows_the_taps_reasons_and_comments_of_its_window_escaped(client, site, opened):
    sign_in(client, "mgr@example.com")

    page = client.get(f"/alerts/{opened['a']}")

    assert page.status_code == 200
    assert "Alert #" in page.text and "Security A" in page.text and "75.0 %" in page.text
    assert page.text.count('data-side="negative"') == 6 and page.text.count('data-side="positive"') == 2
    assert 'data-reason="queue"' in page.text and "Queue" in page.text  # the reason, labelled
    assert "&lt;b&gt;Too slow&lt;/b&gt;&lt;script&gt;" in page.text and XSS not in page.text
    assert 'id="ack"' in page.text  # open: the acknowledge form


def test_an_unknown_alert_is_the_404_page(client, site):
    sign_in(client, "admin@example.com")

    assert client.get("/alerts/999").status_code == 404


def test_a_manager_gets_403_on_another_locations_alert_and_cannot_acknowledge_it(client, engine, site, opened):
    sign_in(client, "mgr@example.com")
    token = form_token(client)

    page = client.get(f"/alerts/{opened['shop']}")
    acked = client.post(f"/alerts/{opened['shop']}/ack", data={"comment": "mine now", "csrf_token": token})
    listed = client.get("/alerts", params={"location_id": site["shop"]})

    assert page.status_code == acked.status_code == listed.status_code == 403
    assert "Not yours to see" in page.text
    assert state_of(engine, opened["shop"]).state == "open"


# --- acknowledging ---------------------------------------------------------------------------------------------


def test_acknowledging_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, engine, site, opened):
    sign_in(client, "mgr@example.com")

    missing = client.post(f"/alerts/{opened['a']}/ack", data={"comment": "seen"})
    wrong = client.post(f"/alerts/{opened['a']}/ack", data={"comment": "seen", "csrf_token": "guess"})

    assert missing.status_code == wrong.status_code == 403 and "CSRF" in missing.text
    assert state_of(engine, opened["a"]).state == "open"


def test_acknowledging_records_who_when_and_the_comment_and_says_so_once(client, engine, site, opened):
    sign_in(client, "mgr@example.com")

    response = acknowledge(client, opened["a"], "Opened lane 3 <b>now</b>")
    page = client.get(f"/alerts/{opened['a']}").text
    again = client.get(f"/alerts/{opened['a']}").text

    assert response.status_code == 303 and response.headers["location"] == f"/alerts/{opened['a']}"
    row = state_of(engine, opened["a"])
    assert (row.state, row.acknowledged_by, row.ack_comment) == ("acknowledged", "mgr@example.com",
                                                                 "Opened lane 3 <b>now</b>")  # fmt: skip
    assert 'id="flash">Acknowledged<' in page and "flash" not in again
    assert 'Acknowledged by <strong class="by">mgr@example.com</strong>' in page
    assert "Opened lane 3 &lt;b&gt;now&lt;/b&gt;" in page
    assert 'id="ack"' not in page  # no form once acknowledged
    with engine.connect() as conn:
        events = conn.execute(select(notifications.c.event).where(notifications.c.alert_id == opened["a"])).scalars()
        assert sorted(events) == ["alert.acknowledged", "alert.opened"]


def test_acknowledging_twice_or_with_too_long_a_comment_is_shown_on_the_alert_page(client, engine, site, opened):
    sign_in(client, "admin@example.com")

    too_long = acknowledge(client, opened["a"], "x" * 1001)
    assert too_long.status_code == 422 and "at most 1000 characters" in too_long.text
    assert state_of(engine, opened["a"]).state == "open"
    assert acknowledge(client, opened["a"], "").status_code == 303
    twice = client.post(f"/alerts/{opened['a']}/ack", data={"comment": "again", "csrf_token": form_token(client)})

    assert twice.status_code == 422 and "only an open alert can be acknowledged" in twice.text
    assert state_of(engine, opened["a"]).acknowledged_by == "admin@example.com"


# --- marks and the navigation's count ----------------------------------------------------------------------------


def test_the_overview_and_the_location_page_mark_locations_with_open_alerts(client, site, opened):
    sign_in(client, "mgr@example.com")
    mark = f'href="/alerts?state=open&location_id={site["a"]}"'

    overview = client.get("/").text
    location = client.get(f"/locations/{site['a']}").text
    other = client.get(f"/locations/{site['b']}").text

    assert overview.count('class="alert-mark"') == 1 and mark in overview
    row = overview[overview.index(f'data-location="{site["a"]}"') :].split("</tr>")[0]
    assert "1 open alert<" in row
    assert mark in location and "1 open alert<" in location
    assert "alert-mark" not in other
    acknowledge(client, site_alert := opened["a"], "on it")
    assert "alert-mark" not in client.get("/").text and "alert-mark" not in client.get(f"/locations/{site['a']}").text
    assert client.get(f"/alerts/{site_alert}").status_code == 200


def test_the_navigation_counts_the_open_alerts_the_user_may_see(client, site, opened):
    sign_in(client, "admin@example.com")
    admin = client.get("/fleet").text
    client.post("/logout", data={"csrf_token": form_token(client)})
    sign_in(client, "mgr@example.com")
    manager = client.get("/fleet").text
    acknowledge(client, opened["a"], "")
    after = client.get("/fleet").text

    def nav(html: str) -> str:
        link = re.search(r'<a href="/alerts" id="nav-alerts"[^>]*>(.*?)</a>', html)
        assert link, html
        return re.sub(r"<[^>]+>", "", link.group(1))

    assert (nav(admin), nav(manager), nav(after)) == ("Alerts (2)", "Alerts (1)", "Alerts")


# --- admin: alert rules ------------------------------------------------------------------------------------------


RULE_FORM = {"scope": "", "metric": "negative", "above": "40", "below": "", "window": "30m", "min_responses": "5",
             "notify": "email:lead@example.com\nemail:ops@example.com"}  # fmt: skip


def stored_rules(engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(alert_rules).order_by(alert_rules.c.id)).all()


def test_a_rule_from_the_form_is_stored_and_listed(client, engine, site):
    sign_in(client, "admin@example.com")
    form = RULE_FORM | {"scope": f"group:{site['group']}", "csrf_token": form_token(client, "/admin/alert-rules")}

    response = client.post("/admin/alert-rules", data=form, follow_redirects=False)
    page = client.get("/admin/alert-rules").text

    assert response.status_code == 303 and response.headers["location"] == "/admin/alert-rules"
    (rule,) = stored_rules(engine)
    assert (rule.group_id, rule.location_id, rule.metric, rule.direction, rule.threshold) == (
        site["group"], None, "negative", "above", 40.0)  # fmt: skip
    assert (rule.window_seconds, rule.min_responses, rule.created_by) == (1800, 5, "admin@example.com")
    assert rule.notify == '["email:lead@example.com", "email:ops@example.com"]'
    assert f"Alert rule {rule.id} added." in page
    row = page[page.index(f'data-rule="{rule.id}"') :].split("</tr>")[0]
    for shown in ("group Oslo Airport", ">negative<", "above 40 %", "30 min", ">5<", "email:ops@example.com", "yes"):
        assert shown in row, shown


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("above", "lots", "--above: expected a number, got &#39;lots&#39;"),
        ("above", "140", "--above: expected a percentage from 0 to 100"),
        ("window", "1w", "--window: expected minutes, hours or days"),
        ("window", "5m", "--window: 5m is shorter than the shortest window, 15m"),
        ("min_responses", "some", "--min-responses: expected a whole number"),
        ("notify", "sms:+4712345678", "notify: expected email:ADDRESS or webhook:ID"),
        ("notify", "webhook:77", "--notify: webhook 77 does not exist"),
        ("metric", "loudness", "--metric must be one of"),
        ("scope", "", "give exactly one of --location or --group"),
    ],
)
def test_a_rule_that_cannot_be_used_is_shown_back_and_nothing_is_saved(client, engine, site, field, value, message):
    sign_in(client, "admin@example.com")
    form = RULE_FORM | {"scope": f"location:{site['a']}", field: value}
    form["csrf_token"] = form_token(client, "/admin/alert-rules")

    response = client.post("/admin/alert-rules", data=form)

    assert response.status_code == 422
    assert message in response.text
    if field not in ("metric", "scope"):  # what was typed is kept in the form (a select keeps its options)
        assert f'value="{value}"' in response.text or f">{value}</textarea>" in response.text
    assert ">email:lead@example.com\nemail:ops@example.com</textarea>" in response.text or field == "notify"
    assert stored_rules(engine) == []


def test_disabling_a_rule_closes_its_alerts(client, engine, site, opened):
    sign_in(client, "admin@example.com")
    rule_id = state_of(engine, opened["a"]).rule_id

    response = client.post(f"/admin/alert-rules/{rule_id}/disable", data={"csrf_token": form_token(client)},
                           follow_redirects=False)  # fmt: skip
    page = client.get("/admin/alert-rules").text

    assert response.status_code == 303
    assert state_of(engine, opened["a"]).state == "closed" and state_of(engine, opened["shop"]).state == "open"
    assert f"Alert rule {rule_id} disabled; 1 alert(s) closed." in page
    row = page[page.index(f'data-rule="{rule_id}"') :].split("</tr>")[0]
    assert "no <small>since" in row and "Disable" not in row


def test_the_admin_pages_of_rules_and_notifications_are_for_admins_only(client, engine, site, opened):
    sign_in(client, "mgr@example.com")
    token = form_token(client)
    rule_id = state_of(engine, opened["a"]).rule_id

    pages = [client.get(path).status_code for path in ("/admin/alert-rules", "/admin/notifications")]
    added = client.post("/admin/alert-rules", data=RULE_FORM | {"scope": f"location:{site['a']}", "csrf_token": token})
    disabled = client.post(f"/admin/alert-rules/{rule_id}/disable", data={"csrf_token": token})
    retried = client.post("/admin/notifications/1/retry", data={"csrf_token": token})

    assert pages == [403, 403] and (added.status_code, disabled.status_code, retried.status_code) == (403, 403, 403)
    assert len(stored_rules(engine)) == 2 and all(rule.disabled_at is None for rule in stored_rules(engine))


# --- admin: notifications ----------------------------------------------------------------------------------------


def test_a_failed_delivery_is_listed_and_retry_puts_it_back_in_the_queue(client, engine, site, opened):
    with engine.begin() as conn:
        failed_id = conn.execute(
            select(notifications.c.id).where(notifications.c.alert_id == opened["shop"])
        ).scalar_one()
        conn.execute(update(notifications).where(notifications.c.id == failed_id).values(
            status="failed", attempts=8, last_error="mail.example.com answered 550 <mailbox unavailable>"))  # fmt: skip
    sign_in(client, "admin@example.com")

    page = client.get("/admin/notifications").text
    row = page[page.index(f'data-delivery="{failed_id}"') :].split("</tr>")[0]
    assert page.count("data-delivery=") == 1
    for shown in ("alert.opened", "email", "lead@example.com", ">8<", "550 &lt;mailbox unavailable&gt;", "Retry"):
        assert shown in row, shown

    retried = client.post(f"/admin/notifications/{failed_id}/retry", data={"csrf_token": form_token(client)},
                          follow_redirects=False)  # fmt: skip
    after = client.get("/admin/notifications").text

    assert retried.status_code == 303
    with engine.connect() as conn:
        row_after = conn.execute(select(notifications).where(notifications.c.id == failed_id)).one()
    assert (row_after.status, row_after.attempts) == ("pending", 0)
    assert f"Delivery {failed_id} queued again." in after and "No failed deliveries." in after


def test_the_webhooks_are_listed_by_host_only(client, engine, site):
    from server.notify.webhooks import add_webhook

    with engine.begin() as conn:
        add_webhook(conn, "https://hooks.slack.example/services/T000/B000/SECRET-TOKEN", "slack", key=b"k" * 32)
    sign_in(client, "admin@example.com")

    page = client.get("/admin/notifications").text

    assert "https://hooks.slack.example" in page and "slack" in page and "SECRET-TOKEN" not in page


# --- how a figure is worded (pure) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "direction", "value", "limit", "shown"),
    [
        ("negative", "above", 62.5, 40.0, ("62.5 %", "above 40 %")),
        ("index", "below", 35.21, 50.0, ("35.2", "below 50")),
        ("index", "above", 81.0, 80.0, ("81.0", "above 80")),
        ("responses", "below", 3.0, 10.0, ("3", "below 10")),
        ("silence", "above", 47.6, 30.0, ("48 min", "30 min")),
        ("offline", "above", 90.0, 60.0, ("90 min", "60 min")),
        ("baseline", "above", 55.0, 12.34, ("55.0 %", "usually 12.3 %")),
        ("target", "above", 82.0, 80.0, ("82.0", "target 80")),
        ("silence", "above", None, 30.0, ("–", "30 min")),
    ],
)
def test_a_figure_and_its_threshold_are_worded_in_the_figures_unit(metric, direction, value, limit, shown):
    assert (figure(metric, value), threshold(metric, direction, limit)) == shown


def test_a_window_crossing_local_midnight_shows_both_dates():
    start = datetime(2026, 11, 22, 22, 45, tzinfo=UTC)

    assert span(start, start + timedelta(minutes=30), "Europe/Oslo") == "2026-11-22 23:45 – 2026-11-23 00:15 CET"
    assert span(start, start + timedelta(minutes=10), "Europe/Oslo") == "2026-11-22 23:45–23:55 CET"


def test_every_metric_has_a_name_and_a_description_on_the_rule_form():
    from server.web.alert_views import METRIC_HELP, METRIC_NAMES

    assert tuple(METRIC_NAMES) == tuple(METRIC_HELP) == rules.METRICS
