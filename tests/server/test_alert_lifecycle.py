"""An alert's life (server.alerts.lifecycle, server.alerts.listing): one alert per rule and location even with
evaluators racing, one notification per recipient written in the same transaction as each open, close and
acknowledgement, acknowledgement by who may, and the alerts as the API and the dashboard list them."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from server import Forbidden, InvalidInput, NotFound
from server import groups as server_groups
from server.alerts.evaluate import evaluate
from server.alerts.lifecycle import Finding, acknowledge, apply
from server.alerts.listing import alert_detail, list_alerts
from server.alerts.model import get_rule
from server.alerts.rules import add_rule, disable_rule
from server.auth import accounts
from server.auth.accounts import Access
from server.db import alerts, make_engine, notifications, webhooks

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
ADMIN = Access(user_id=None, email="admin key", role="admin", location_ids=None)
PAYLOAD_KEYS = {
    "event", "alert_id", "rule_id", "location_id", "location_name", "metric", "value", "threshold", "window_start",
    "window_end", "url", "direction", "kiosk_id", "responses", "timezone", "acknowledged_by", "comment",
}  # fmt: skip


def iso(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def recipients(engine):
    """Two addresses and a webhook."""
    with engine.begin() as conn:
        hook = conn.execute(insert(webhooks).values(url="https://example.com/h", format="json", created_at=NOW))
    return ["email:duty@example.com", "email:boss@example.com", f"webhook:{hook.inserted_primary_key[0]}"]


@pytest.fixture
def rule(engine, location, recipients):
    """A negative-share rule on the default location telling the three recipients."""
    with engine.begin() as conn:
        rule_id = add_rule(conn, location_id=location, metric="negative", above=40, window="30m",
                           notify=recipients, created_by="ops@example.com")  # fmt: skip
        return get_rule(conn, rule_id)


def _finding(rule, location, holds=True, **figures):
    values = {"value": 80.0, "threshold": 40.0, "responses": 12} | figures
    return Finding(rule, location, "", holds, NOW - timedelta(minutes=30), NOW, **values)


def _change(engine, finding, now=NOW):
    with engine.begin() as conn:
        return apply(conn, finding, now=now)


def _outbox(engine):
    """[(event, alert id, channel:target, payload)] in order."""
    with engine.connect() as conn:
        rows = conn.execute(select(notifications).order_by(notifications.c.id)).all()
    return [(r.event, r.alert_id, f"{r.channel}:{r.target}", json.loads(r.payload)) for r in rows]


def _alerts(engine):
    with engine.connect() as conn:
        return conn.execute(select(alerts).order_by(alerts.c.id)).all()


# --- one alert, however many evaluators --------------------------------------------------------------------------


def test_two_evaluators_racing_to_open_an_alert_open_one(settings, engine, location, rule, recipients):
    finding = _finding(rule, location)
    other_instance = make_engine(settings.resolved_database_url)
    outcomes = []

    def second_evaluator():
        with other_instance.begin() as conn:  # waits on the first one's insert (PostgreSQL) or write lock (SQLite)
            outcomes.append(apply(conn, finding, now=NOW))

    with engine.connect() as conn:
        with conn.begin():
            assert apply(conn, finding, now=NOW).kind == "opened"
            racer = threading.Thread(target=second_evaluator)
            racer.start()
            time.sleep(0.5)
        racer.join(timeout=30)
    other_instance.dispose()

    (alert,) = _alerts(engine)
    postgres = engine.dialect.name == "postgresql"
    assert [o.kind for o in outcomes] == ["raced" if postgres else "updated"]  # the unique index / the lock
    assert [(e, a, t) for e, a, t, _ in _outbox(engine)] == [("alert.opened", alert.id, r) for r in recipients]


def test_two_evaluators_at_once_open_one_alert(settings, engine, location, press, rule, post):
    post([press(1, 1 + i / 10) for i in range(12)])
    engines = [engine, make_engine(settings.resolved_database_url)]
    start, reports = threading.Barrier(2), []

    def evaluator(instance):
        start.wait()
        reports.append(evaluate(instance, now=NOW))

    threads = [threading.Thread(target=evaluator, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    engines[1].dispose()

    assert [r.errors for r in reports] == [[], []]
    assert sorted(len(r.opened) for r in reports) == [0, 1]
    assert len(_alerts(engine)) == 1 and len(_outbox(engine)) == 3


@pytest.fixture
def press(tap):
    def make(score, minutes_before=1.0, **overrides):
        return tap(score=score, tapped_at=iso(NOW - timedelta(minutes=minutes_before)), **overrides)

    return make


@pytest.fixture
def post(send):
    def deliver(taps):
        response = send(taps)
        assert response.status_code == 200 and response.json()["accepted"] == len(taps), response.text

    return deliver


# --- notifications: one per recipient, in the transaction of the change --------------------------------------------


def test_open_acknowledge_and_close_each_write_one_notification_per_recipient(engine, location, rule, recipients):
    opened = _change(engine, _finding(rule, location))
    with engine.begin() as conn:
        acknowledge(conn, opened.alert_id, by="duty@example.com", comment="extra staff sent", access=ADMIN, now=NOW)
    _change(engine, _finding(rule, location, holds=False), NOW + timedelta(minutes=1))
    closed = _change(engine, _finding(rule, location, holds=False), NOW + timedelta(minutes=31))

    assert closed.kind == "closed"
    outbox = _outbox(engine)
    events = ("alert.opened", "alert.acknowledged", "alert.closed")
    assert [(e, a, t) for e, a, t, _ in outbox] == [(e, opened.alert_id, r) for e in events for r in recipients]
    payloads = {e: p for e, _, _, p in outbox}
    assert set(payloads["alert.opened"]) == PAYLOAD_KEYS
    assert set(payloads["alert.acknowledged"]) == PAYLOAD_KEYS
    assert payloads["alert.opened"] | {"event": "x"} == {
        "event": "x", "alert_id": opened.alert_id, "rule_id": rule.id, "location_id": location,
        "location_name": "Gardermoen Gate 12", "metric": "negative", "direction": "above", "value": 80.0,
        "threshold": 40.0, "responses": 12, "kiosk_id": None, "window_start": "2026-11-23T09:30:00Z",
        "window_end": "2026-11-23T10:00:00Z", "url": f"/alerts/{opened.alert_id}", "timezone": "Europe/Oslo",
        "acknowledged_by": None, "comment": None,
    }  # fmt: skip
    assert (payloads["alert.acknowledged"]["acknowledged_by"], payloads["alert.acknowledged"]["comment"]) == (
        "duty@example.com", "extra staff sent",
    )  # fmt: skip


def test_a_rule_without_recipients_changes_alerts_and_writes_no_notification(engine, location):
    with engine.begin() as conn:
        rule = get_rule(conn, add_rule(conn, location_id=location, metric="negative", above=40, window="30m",
                                       created_by="ops"))  # fmt: skip
    assert _change(engine, _finding(rule, location)).kind == "opened"
    assert _outbox(engine) == []


@pytest.mark.parametrize("change", ["open", "acknowledge", "close"])
def test_a_change_rolled_back_leaves_neither_the_change_nor_a_notification(engine, location, rule, change):
    if change != "open":
        alert_id = _change(engine, _finding(rule, location)).alert_id
        _change(engine, _finding(rule, location, holds=False), NOW)
    before_alerts, before_outbox = _alerts(engine), _outbox(engine)

    with engine.connect() as conn, conn.begin() as transaction:
        if change == "open":
            assert apply(conn, _finding(rule, location), now=NOW).kind == "opened"
        elif change == "close":
            assert apply(conn, _finding(rule, location, holds=False), now=NOW + timedelta(hours=1)).kind == "closed"
        else:
            acknowledge(conn, alert_id, by="duty@example.com", comment=None, access=ADMIN)
        written = conn.execute(select(func.count()).select_from(notifications)).scalar_one()
        assert written == len(before_outbox) + 3  # written, in this transaction
        transaction.rollback()

    assert (_alerts(engine), _outbox(engine)) == (before_alerts, before_outbox)


# --- acknowledging -------------------------------------------------------------------------------------------------


def test_acknowledging_records_who_when_and_the_comment(engine, location, rule):
    alert_id = _change(engine, _finding(rule, location)).alert_id
    at = NOW + timedelta(minutes=3)
    with engine.begin() as conn:
        acknowledge(conn, alert_id, by="duty@example.com", comment="  queue opened  ", access=ADMIN, now=at)

    (alert,) = _alerts(engine)
    assert (alert.state, alert.acknowledged_by, alert.acknowledged_at, alert.ack_comment) == (
        "acknowledged", "duty@example.com", at, "queue opened",
    )  # fmt: skip
    assert _change(engine, _finding(rule, location, value=90.0)).kind == "updated"  # still judged...
    _change(engine, _finding(rule, location, holds=False), NOW + timedelta(minutes=5))
    assert _change(engine, _finding(rule, location, holds=False), NOW + timedelta(minutes=35)).kind == "closed"


@pytest.mark.parametrize(
    ("state", "error", "message"),
    [
        ("acknowledged", InvalidInput, "is acknowledged: only an open alert can be acknowledged"),
        ("closed", InvalidInput, "is closed: only an open alert"),
        ("unknown", NotFound, "alert 999 does not exist"),
    ],
)
def test_only_an_open_alert_can_be_acknowledged(engine, location, rule, state, error, message):
    alert_id = _change(engine, _finding(rule, location)).alert_id
    if state == "acknowledged":
        with engine.begin() as conn:
            acknowledge(conn, alert_id, by="first@example.com", comment="mine", access=ADMIN)
    elif state == "closed":
        with engine.begin() as conn:
            disable_rule(conn, rule.id)
    else:
        alert_id = 999
    before = _outbox(engine)

    with engine.begin() as conn, pytest.raises(error, match=message):
        acknowledge(conn, alert_id, by="second@example.com", comment="too late", access=ADMIN)
    assert _outbox(engine) == before


@pytest.mark.parametrize(
    ("by", "comment", "message"),
    [("", "ok", "by: expected who"), ("duty", "x" * 1001, "comment: at most 1000"), ("duty", "a\x00b", "without NUL")],
)
def test_an_acknowledgement_without_who_or_with_a_bad_comment_is_refused(engine, location, rule, by, comment, message):
    alert_id = _change(engine, _finding(rule, location)).alert_id
    with engine.begin() as conn, pytest.raises(InvalidInput, match=message):
        acknowledge(conn, alert_id, by=by, comment=comment, access=ADMIN)


@pytest.fixture
def managers(engine, location, make_location):
    """Access of a manager of the location's group, and of a manager of another location only."""
    elsewhere = make_location(name="Elsewhere")
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Gardermoen")
        server_groups.add_location(conn, group, location)
        mine = accounts.add_user(conn, email="m@example.com", password="p" * 12, role="manager", group_ids=[group])
        other = accounts.add_user(
            conn, email="o@example.com", password="p" * 12, role="manager", location_ids=[elsewhere]
        )
        return accounts.access_of(conn, mine), accounts.access_of(conn, other)


def test_a_manager_acts_on_alerts_of_their_own_locations_only(engine, location, rule, managers):
    mine, other = managers
    alert_id = _change(engine, _finding(rule, location)).alert_id

    with engine.begin() as conn:
        with pytest.raises(Forbidden, match=f"no access to location {location}"):
            acknowledge(conn, alert_id, by=other.email, comment="not mine", access=other)
        assert list_alerts(conn, other).total == 0
        with pytest.raises(Forbidden):
            list_alerts(conn, other, location_id=location)
        with pytest.raises(Forbidden):
            alert_detail(conn, alert_id, other)
    assert [a.state for a in _alerts(engine)] == ["open"]

    with engine.begin() as conn:
        acknowledge(conn, alert_id, by=mine.email, comment="on it", access=mine)
        assert [a.acknowledged_by for a in list_alerts(conn, mine).alerts] == ["m@example.com"]


# --- listing and detail --------------------------------------------------------------------------------------------


def test_alerts_are_listed_newest_first_filtered_and_paged(engine, location, make_location, rule):
    second = make_location(name="Second")
    with engine.begin() as conn:
        other_rule = get_rule(conn, add_rule(conn, location_id=second, metric="index", below=50, window="1h",
                                             created_by="ops"))  # fmt: skip
    first = _change(engine, _finding(rule, location), NOW).alert_id
    later = _change(engine, _finding(other_rule, second, value=30.0, threshold=50.0), NOW + timedelta(minutes=1))
    with engine.begin() as conn:
        disable_rule(conn, rule.id, now=NOW + timedelta(minutes=2))

        every = list_alerts(conn, ADMIN)
        assert (every.total, [a.id for a in every.alerts]) == (2, [later.alert_id, first])
        assert [(a.metric, a.direction, a.location_name, a.state) for a in every.alerts] == [
            ("index", "below", "Second", "open"), ("negative", "above", "Gardermoen Gate 12", "closed"),
        ]  # fmt: skip
        assert [a.id for a in list_alerts(conn, ADMIN, state="closed").alerts] == [first]
        assert [a.id for a in list_alerts(conn, ADMIN, location_id=second).alerts] == [later.alert_id]
        page = list_alerts(conn, ADMIN, limit=1, offset=1)
        assert (page.total, [a.id for a in page.alerts]) == (2, [first])
        for bad in ({"state": "sleeping"}, {"limit": 0}, {"limit": 501}, {"offset": -1}):
            with pytest.raises(InvalidInput):
                list_alerts(conn, ADMIN, **bad)


def test_an_alerts_detail_has_the_taps_reasons_and_comments_of_its_window(engine, location, rule, press, post):
    post(
        [press(1, 5, followup="queue_time", comment="twenty minutes in line"), press(2, 6, followup="queue_time"),
         press(1, 7, followup="staff"), press(5, 8, followup="staff", comment="kind staff"), press(4, 9),
         press(1, 10, flags=["repeat"]), press(1, 40, comment="before the window")]
    )  # fmt: skip
    alert_id = _change(engine, _finding(rule, location)).alert_id

    with engine.connect() as conn:
        detail = alert_detail(conn, alert_id, ADMIN)

    assert detail.alert.id == alert_id
    assert sorted(detail.rows) == [(5, 1, 2), (5, 2, 1), (5, 4, 1), (5, 5, 1)]
    assert detail.filtered == {"repeat": 1}
    assert [(t.score, t.side, t.counted) for t in detail.taps] == [
        (1, "negative", True), (2, "negative", True), (1, "negative", True), (5, "positive", True),
        (4, "positive", True), (1, "negative", False),
    ]  # fmt: skip
    assert [(r.side, r.reason, r.count) for r in detail.reasons] == [
        ("negative", "queue_time", 2), ("negative", "staff", 1), ("positive", "staff", 1),
    ]  # fmt: skip
    assert [c.comment for c in detail.comments] == ["twenty minutes in line", "kind staff"]


def test_disabling_a_rule_closes_its_alerts_with_a_notification(engine, location, rule, recipients):
    alert_id = _change(engine, _finding(rule, location)).alert_id
    with engine.begin() as conn:
        assert disable_rule(conn, rule.id, now=NOW + timedelta(minutes=1)) == [alert_id]

    assert [(a.state, a.closed_at) for a in _alerts(engine)] == [("closed", NOW + timedelta(minutes=1))]
    assert [e for e, _, _, _ in _outbox(engine)] == ["alert.opened"] * 3 + ["alert.closed"] * 3
    assert evaluate(engine, now=NOW + timedelta(minutes=2)).rules == 0
