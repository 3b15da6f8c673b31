"""The ``/subscriptions`` page over HTTP (TestClient), on SQLite and PostgreSQL: a signed-in user lists, makes and
stops their own alert and report subscriptions and sets their reports' time zone; another user's subscription is
404; a post without the session's CSRF token, a bad period, time or zone, or a location the user may not see
changes nothing and says why on the page. The same in a real Chromium is in tests/e2e/test_subscription_page.py.
"""

from __future__ import annotations

import html
import re
from dataclasses import astuple
from typing import Any

import pytest
from sqlalchemy import select

from server import groups as server_groups
from server.alerts.subscriptions import subscribe_alerts
from server.auth import accounts
from server.db import subscriptions, users
from server.notify.webhooks import add_webhook
from server.reports.subscriptions import subscribe
from tests.support.sessions import PASSWORD, form_token, sign_in
from tests.support.sites import airport

pytestmark = pytest.mark.slow  # in make test, not in the fast tier (make check): page-heavy, ~6 s

XSS = "<script>window.__xss = 1</script>"


@pytest.fixture
def site(engine, make_location) -> dict[str, int]:
    """Two Oslo Airport locations (a group), a New York shop; an admin, a manager of the group, a manager of
    Security A alone and a manager of the shop."""
    a, b, shop, group = astuple(airport(engine, make_location))
    with engine.begin() as conn:
        ids = {
            "admin": accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin"),
            "mgr": accounts.add_user(conn, email="mgr@example.com", password=PASSWORD, role="manager",
                                     group_ids=[group]),
            "lane": accounts.add_user(conn, email="lane@example.com", password=PASSWORD, role="manager",
                                      location_ids=[a]),
            "shop_lead": accounts.add_user(conn, email="shop@example.com", password=PASSWORD, role="manager",
                                           location_ids=[shop]),
        }  # fmt: skip
    return {"a": a, "b": b, "shop": shop, "group": group, **ids}


def stored(engine, user_id: int) -> list[tuple[Any, ...]]:
    """A user's subscriptions as (kind, location, group, period, at, webhook), by id."""
    s = subscriptions.c
    query = select(s.kind, s.location_id, s.group_id, s.period, s.at_time, s.webhook_id).where(s.user_id == user_id)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query.order_by(s.id))]


def own_zone(engine, user_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(users.c.timezone).where(users.c.id == user_id)).scalar()


def listed(html: str, table: str) -> list[int]:
    """The subscription ids listed in a table of the page, in order."""
    body = html[html.index(f'id="{table}"') :]
    body = body[: body.index("</table>")]
    return [int(found) for found in re.findall(r'data-subscription="(\d+)"', body)]


def options(html: str, form: str) -> list[str]:
    """The values of the scope select of a form."""
    body = html[html.index(f'id="{form}"') :]
    body = body[: body.index("</select>")]
    return re.findall(r'<option value="([^"]+)"', body)


def error_of(page: str) -> str:
    """The page's error message, as read."""
    match = re.search(r'<p class="error" role="alert" id="error">([^<]*)</p>', page)
    assert match, page
    return html.unescape(match.group(1))


def flash_of(page: str) -> str:
    """The page's one-shot message, as read."""
    match = re.search(r'<p class="ok" role="status" id="flash">([^<]*)</p>', page)
    assert match, page
    return html.unescape(match.group(1))


def post(client, path: str, **data: str) -> Any:
    """A form post from the page with its CSRF token; the answer is not followed."""
    token = form_token(client, "/subscriptions")
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


# --- listing ----------------------------------------------------------------------------------------------------


def test_the_page_lists_only_the_signed_in_users_subscriptions(client, engine, site):
    with engine.begin() as conn:
        mine_alerts = subscribe_alerts(conn, user_id=site["mgr"], group_id=site["group"])
        mine_report = subscribe(conn, user_id=site["mgr"], location_id=site["b"], every="month", at="06:15")
        theirs_alerts = subscribe_alerts(conn, user_id=site["admin"], location_id=site["shop"])
        theirs_report = subscribe(conn, user_id=site["admin"], location_id=site["shop"], every="day")
        hook, _ = add_webhook(conn, "https://hooks.example.net/smilepost", key=b"k" * 32)
        to_hook = subscribe(conn, user_id=site["admin"], group_id=site["group"], every="week", webhook_id=hook)
    sign_in(client, "mgr@example.com")
    mine = client.get("/subscriptions")
    client.post("/logout", data={"csrf_token": form_token(client)})
    sign_in(client, "admin@example.com")
    admins = client.get("/subscriptions").text

    assert mine.status_code == 200
    assert listed(mine.text, "alert-subscriptions") == [mine_alerts]
    assert listed(mine.text, "report-subscriptions") == [mine_report]
    report = mine.text[mine.text.index(f'data-subscription="{mine_report}"') :]
    cells = re.findall(r'<(?:td|span) class="(scope|every|at|to)">(.*?)</(?:td|span)>', report)[:4]
    assert cells == [("scope", "Security B"), ("every", "monthly"), ("at", "06:15"), ("to", "e-mail")]
    assert "Shop" not in mine.text  # neither the admin's subscriptions nor the shop in the selects
    assert listed(admins, "alert-subscriptions") == [theirs_alerts]
    assert listed(admins, "report-subscriptions") == [theirs_report, to_hook]
    hooked = admins[admins.index(f'data-subscription="{to_hook}"') :]
    assert re.search(r'<td class="to">to webhook (\d+)</td>', hooked)[1] == str(hook)  # type: ignore[index]


def test_the_selects_offer_the_locations_and_whole_groups_the_user_may_see(client, site):
    sign_in(client, "lane@example.com")
    lane = client.get("/subscriptions").text
    client.post("/logout", data={"csrf_token": form_token(client)})
    sign_in(client, "mgr@example.com")
    mgr = client.get("/subscriptions").text

    assert options(lane, "subscribe-alerts") == [f"location:{site['a']}"]  # not the group: Security B is not theirs
    assert options(lane, "subscribe-reports") == [f"location:{site['a']}"]
    group = [f"location:{site['a']}", f"location:{site['b']}", f"group:{site['group']}"]
    assert options(mgr, "subscribe-alerts") == options(mgr, "subscribe-reports") == group


def test_every_signed_in_user_finds_the_page_in_the_navigation_and_strangers_sign_in_first(client, site):
    anonymous = client.get("/subscriptions", follow_redirects=False)
    sign_in(client, "shop@example.com")
    page = client.get("/subscriptions").text

    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/subscriptions"
    assert re.search(r'<a href="/subscriptions"\s+aria-current="page">Subscriptions</a>', page)
    assert re.search(r'<a href="/subscriptions"\s*>Subscriptions</a>', client.get("/").text)
    assert "e-mailed to shop@example.com" in page


# --- subscribing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["a", "group"])
def test_a_manager_subscribes_to_the_alerts_of_a_location_or_a_group(client, engine, site, scope):
    sign_in(client, "mgr@example.com")
    value = f"location:{site['a']}" if scope == "a" else f"group:{site['group']}"

    answer = post(client, "/subscriptions/alerts", scope=value)
    page = client.get("/subscriptions").text

    assert answer.status_code == 303 and answer.headers["location"] == "/subscriptions"
    name = "Security A" if scope == "a" else "Oslo Airport"
    assert flash_of(page) == f"Subscribed to alerts of {name}."
    expected = (site["a"], None) if scope == "a" else (None, site["group"])
    assert stored(engine, site["mgr"]) == [("alerts", *expected, None, None, None)]
    assert len(listed(page, "alert-subscriptions")) == 1


def test_a_manager_subscribes_to_reports_of_a_location_and_of_a_group(client, engine, site):
    sign_in(client, "mgr@example.com")

    weekly = post(client, "/subscriptions/reports", scope=f"location:{site['a']}", every="week", at="07:30")
    weekly_page = client.get("/subscriptions").text
    monthly = post(client, "/subscriptions/reports", scope=f"group:{site['group']}", every="month", at="8:05")
    monthly_page = client.get("/subscriptions").text

    assert weekly.status_code == monthly.status_code == 303
    assert flash_of(weekly_page) == "Subscribed to weekly reports of Security A at 07:30 Europe/Oslo."
    assert flash_of(monthly_page) == "Subscribed to monthly reports of Oslo Airport at 08:05 Europe/Oslo."
    assert stored(engine, site["mgr"]) == [
        ("report", site["a"], None, "week", "07:30", None),
        ("report", None, site["group"], "month", "08:05", None),
    ]
    assert len(listed(monthly_page, "report-subscriptions")) == 2


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/subscriptions/alerts", {}),
        ("/subscriptions/reports", {"every": "week", "at": "08:00"}),
    ],
    ids=["alerts", "reports"],
)
@pytest.mark.parametrize("scope", ["shop", "group"])
def test_a_manager_cannot_subscribe_to_what_they_may_not_see(client, engine, site, path, data, scope):
    sign_in(client, "lane@example.com")  # Security A only: neither the shop nor the whole group
    value = f"location:{site['shop']}" if scope == "shop" else f"group:{site['group']}"

    answer = post(client, path, scope=value, **data)

    assert answer.status_code == 403
    assert "may not see" in error_of(answer.text)
    assert 'id="subscribe-alerts"' in answer.text  # the page itself, with its forms, not the error page
    assert stored(engine, site["lane"]) == []


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"every": "week", "at": "25:00"}, 422, "expected HH:MM on a 24-hour clock (08:00, 17:30), got '25:00'"),
        ({"every": "week", "at": ""}, 422, "expected HH:MM"),
        ({"every": "year", "at": "08:00"}, 422, "period must be one of day, week, month, got 'year'"),
        ({"every": "week", "at": "08:00", "scope": "somewhere"}, 422, "choose a location or a group from the list"),
        ({"every": "week", "at": "08:00", "scope": "location:999999"}, 404, "location 999999 does not exist"),
        ({"every": "week", "at": "08:00", "scope": "location:99999999999"}, 404, "does not exist"),
    ],
    ids=["hour-25", "no-time", "period", "scope", "unknown-location", "huge-id"],
)
def test_bad_report_input_is_said_on_the_page_and_stores_nothing(client, engine, site, data, status, message):
    sign_in(client, "mgr@example.com")

    answer = post(client, "/subscriptions/reports", **({"scope": f"location:{site['a']}"} | data))

    assert answer.status_code == status
    assert message in error_of(answer.text)
    assert stored(engine, site["mgr"]) == []
    if data["at"] == "25:00":  # what was typed is shown again, to be fixed
        assert 'name="at" value="25:00"' in answer.text and "selected>Security A" in answer.text


# --- stopping ---------------------------------------------------------------------------------------------------


def test_a_user_stops_their_own_subscriptions(client, engine, site):
    with engine.begin() as conn:
        alerts = subscribe_alerts(conn, user_id=site["mgr"], group_id=site["group"])
        report = subscribe(conn, user_id=site["mgr"], location_id=site["a"], every="week")
        subscribe(conn, user_id=site["mgr"], location_id=site["b"], every="day")
    sign_in(client, "mgr@example.com")

    stop_report = post(client, f"/subscriptions/reports/{report}/stop")
    report_page = client.get("/subscriptions").text
    stop_alerts = post(client, f"/subscriptions/alerts/{alerts}/stop")
    alerts_page = client.get("/subscriptions").text

    assert stop_report.status_code == stop_alerts.status_code == 303
    assert flash_of(report_page) == "Stopped weekly reports of Security A."
    assert flash_of(alerts_page) == "Stopped alerts of Oslo Airport."
    assert stored(engine, site["mgr"]) == [("report", site["b"], None, "day", "08:00", None)]


@pytest.mark.parametrize("kind", ["alerts", "reports"])
def test_stopping_another_users_subscription_is_not_found_and_stops_nothing(client, engine, site, kind):
    with engine.begin() as conn:
        if kind == "alerts":
            theirs = subscribe_alerts(conn, user_id=site["mgr"], location_id=site["a"])
        else:
            theirs = subscribe(conn, user_id=site["mgr"], location_id=site["a"], every="week")
    sign_in(client, "lane@example.com")  # may see Security A too, but the subscription is not theirs

    answer = post(client, f"/subscriptions/{kind}/{theirs}/stop")
    unknown = post(client, f"/subscriptions/{kind}/{theirs + 1000}/stop")

    assert answer.status_code == unknown.status_code == 404  # the same answer: ids are not probed
    assert "Not found" in answer.text
    assert len(stored(engine, site["mgr"])) == 1


# --- CSRF -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong"], ids=["missing", "wrong"])
@pytest.mark.parametrize("action", ["subscribe-alerts", "subscribe-reports", "stop-alerts", "stop-reports", "timezone"])
def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, engine, site, token, action):
    with engine.begin() as conn:
        alerts = subscribe_alerts(conn, user_id=site["mgr"], location_id=site["a"])
        report = subscribe(conn, user_id=site["mgr"], location_id=site["a"], every="week")
    before = stored(engine, site["mgr"])
    sign_in(client, "mgr@example.com")
    path, data = {
        "subscribe-alerts": ("/subscriptions/alerts", {"scope": f"group:{site['group']}"}),
        "subscribe-reports": ("/subscriptions/reports", {"scope": f"location:{site['b']}", "every": "day",
                                                         "at": "09:00"}),
        "stop-alerts": (f"/subscriptions/alerts/{alerts}/stop", {}),
        "stop-reports": (f"/subscriptions/reports/{report}/stop", {}),
        "timezone": ("/subscriptions/timezone", {"timezone": "Asia/Tokyo"}),
    }[action]  # fmt: skip

    answer = client.post(path, data=data | ({"csrf_token": token} if token else {}), follow_redirects=False)

    assert answer.status_code == 403
    assert "CSRF token is missing or wrong" in answer.text
    assert stored(engine, site["mgr"]) == before
    assert own_zone(engine, site["mgr"]) is None


# --- time zone --------------------------------------------------------------------------------------------------


def test_a_user_sets_their_time_zone_and_empty_resets_it_to_their_first_locations(client, engine, site):
    sign_in(client, "mgr@example.com")
    before = client.get("/subscriptions").text

    set_zone = post(client, "/subscriptions/timezone", timezone=" America/New_York ")
    after_set = client.get("/subscriptions").text
    stored_set = own_zone(engine, site["mgr"])
    reset = post(client, "/subscriptions/timezone", timezone="")
    after_reset = client.get("/subscriptions").text

    assert '<strong id="effective-zone">Europe/Oslo</strong>' in before and "your first location&#39;s" in before
    assert set_zone.status_code == reset.status_code == 303
    assert stored_set == "America/New_York"
    assert flash_of(after_set) == "Your reports arrive in America/New_York time."
    assert '<strong id="effective-zone">America/New_York</strong>' in after_set and "your own setting" in after_set
    assert 'name="timezone" value="America/New_York"' in after_set
    assert own_zone(engine, site["mgr"]) is None
    assert flash_of(after_reset) == "Your reports arrive in Europe/Oslo time (your first location's)."
    assert '<strong id="effective-zone">Europe/Oslo</strong>' in after_reset


@pytest.mark.parametrize(
    ("typed", "message"),
    [("Europe/Osloo", "unknown time zone 'Europe/Osloo'"), ("europe/oslo", "Europe/Oslo"), ("Mars/Base", "unknown")],
)
def test_an_unknown_time_zone_is_said_on_the_page_and_changes_nothing(client, engine, site, typed, message):
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == site["mgr"]).values(timezone="Asia/Tokyo"))
    sign_in(client, "mgr@example.com")

    answer = post(client, "/subscriptions/timezone", timezone=typed)

    assert answer.status_code == 422
    assert message in error_of(answer.text)
    assert f'name="timezone" value="{typed}"' in answer.text
    assert own_zone(engine, site["mgr"]) == "Asia/Tokyo"


# --- escaping ---------------------------------------------------------------------------------------------------


def test_names_are_shown_as_text_never_as_markup(client, engine, site, make_location):
    evil = make_location(name=XSS)
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name=f"Group {XSS}")
        server_groups.add_location(conn, group, evil)
        subscribe_alerts(conn, user_id=site["admin"], location_id=evil)
        subscribe(conn, user_id=site["admin"], group_id=group, every="day")
    sign_in(client, "admin@example.com")

    page = client.get("/subscriptions").text
    answer = post(client, "/subscriptions/alerts", scope=f"group:{group}")
    flashed = client.get("/subscriptions").text

    assert XSS not in page and XSS not in flashed
    escaped = "&lt;script&gt;window.__xss = 1&lt;/script&gt;"
    assert page.count(escaped) >= 4  # the alert and the report rows, and both selects
    assert answer.status_code == 303
    assert f'id="flash">Subscribed to alerts of Group {escaped}.</p>' in flashed
