"""Scheduled reports (server.reports.delivery, .subscriptions) on SQLite and PostgreSQL: a weekly report goes out
once at the subscribed local hour — not before, not twice, not twice from two instances at once — a report missed
while every instance was down is sent once after restart (only the latest), and the e-mail arrives at a real SMTP
server (aiosmtpd on 127.0.0.1) through the outbox's delivery worker with the HTML body and the PDF attached."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import delete, func, select, update

from server import Forbidden, InvalidInput, NotFound
from server import groups as server_groups
from server.auth.accounts import add_user
from server.db import notifications, report_runs, user_locations, users
from server.notify.payloads import webhook_body
from server.notify.signing import verify, webhook_secret
from server.notify.webhooks import add_webhook, revoke_webhook
from server.notify.worker import deliver_due
from server.reports import delivery
from server.reports.delivery import due_reports
from server.reports.subscriptions import (
    own_timezone,
    report_subscriptions,
    set_user_timezone,
    subscribe,
    unsubscribe,
    user_timezone,
)
from server.scheduler import Background
from tests.support import pdfs
from tests.support.receivers import SmtpReceiver, WebhookReceiver

PASSWORD = "correct horse battery"
SUBSCRIBED = datetime(2026, 3, 13, 12, tzinfo=UTC)  # Friday 13 March
MONDAY_0800_OSLO = datetime(2026, 3, 16, 7, tzinfo=UTC)  # week 11 (9–15 March) ends the night before
ONE_MINUTE = timedelta(minutes=1)


@pytest.fixture
def lead(engine, location, send, tap) -> int:
    """A manager of the Oslo location, whose week 11 has a few taps."""
    taps_ = [tap(score=s, tapped_at=f"2026-03-1{i % 5 + 0}T09:{i:02d}:00Z") for i, s in enumerate([5, 4, 4, 2, 1, 5])]
    assert send(taps_).status_code == 200
    with engine.begin() as conn:
        return add_user(conn, email="lead@example.com", password=PASSWORD, role="manager", location_ids=[location])


@pytest.fixture
def weekly(engine, lead, location) -> int:
    """The lead's weekly report of the location at 08:00 (their zone: the location's), made on a Friday."""
    with engine.begin() as conn:
        return subscribe(conn, user_id=lead, location_id=location, every="week", at="08:00", now=SUBSCRIBED)


def count(engine, table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def events(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(notifications.c.target, notifications.c.payload).order_by(notifications.c.id))
        return [{"to": target, **json.loads(payload)} for target, payload in rows]


def body(message, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())


def test_weekly_report_goes_out_once_at_the_subscribed_local_hour(engine, weekly):
    assert due_reports(engine, MONDAY_0800_OSLO - ONE_MINUTE) == 0  # 07:59 in Oslo
    assert due_reports(engine, MONDAY_0800_OSLO) == 1
    assert due_reports(engine, MONDAY_0800_OSLO + ONE_MINUTE) == 0
    assert due_reports(engine, MONDAY_0800_OSLO + timedelta(days=3)) == 0

    (event,) = events(engine)
    assert (event["to"], event["event"], event["period"]) == ("lead@example.com", "report", "week")
    assert (event["period_start"], event["period_end"], event["responses"]) == ("2026-03-09", "2026-03-16", 6)
    assert count(engine, report_runs) == 1
    assert due_reports(engine, MONDAY_0800_OSLO + timedelta(days=7)) == 1  # and the week after, its own report
    assert [e["period_start"] for e in events(engine)] == ["2026-03-09", "2026-03-16"]


def test_two_instances_at_once_send_it_once(engine, weekly):
    start, results = threading.Barrier(2), []

    def instance() -> None:
        start.wait()
        results.append(due_reports(engine, MONDAY_0800_OSLO + ONE_MINUTE))

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(results) == [0, 1]
    assert count(engine, notifications) == count(engine, report_runs) == 1


def test_the_primary_key_refuses_a_send_that_slipped_past_the_check(engine, weekly, monkeypatch):
    """Another instance commits the run row between this one's check and its insert: nothing is sent twice."""
    with engine.begin() as conn:
        conn.execute(report_runs.insert().values(subscription_id=weekly, period_start=date(2026, 3, 9),
                                                 created_at=MONDAY_0800_OSLO))  # fmt: skip
    monkeypatch.setattr(delivery, "_sent", lambda *_: False)

    assert due_reports(engine, MONDAY_0800_OSLO) == 0
    assert count(engine, notifications) == 0 and count(engine, report_runs) == 1


def test_report_missed_while_every_instance_was_down_is_sent_once_after_restart(engine, weekly):
    back_on_wednesday = MONDAY_0800_OSLO + timedelta(days=2, hours=3)

    assert due_reports(engine, back_on_wednesday) == 1
    assert due_reports(engine, back_on_wednesday + ONE_MINUTE) == 0
    assert [e["period_start"] for e in events(engine)] == ["2026-03-09"]


def test_after_weeks_down_only_the_latest_report_is_sent(engine, weekly):
    assert due_reports(engine, MONDAY_0800_OSLO + timedelta(days=23)) == 1  # Wednesday 8 April

    assert [e["period_start"] for e in events(engine)] == ["2026-03-30"]


def test_no_report_of_a_week_that_was_due_before_the_subscription(engine, lead, location):
    with engine.begin() as conn:
        subscribe(conn, user_id=lead, location_id=location, every="week", now=MONDAY_0800_OSLO + timedelta(hours=2))

    assert due_reports(engine, MONDAY_0800_OSLO + timedelta(hours=3)) == 0


def test_reports_come_at_the_hour_of_the_users_own_time_zone(engine, weekly, lead):
    with engine.begin() as conn:
        assert user_timezone(conn, lead) == "Europe/Oslo"  # unset: the zone of their first location
        set_user_timezone(conn, lead, "Asia/Tokyo")
        assert user_timezone(conn, lead) == "Asia/Tokyo"
    monday_0800_tokyo = datetime(2026, 3, 15, 23, tzinfo=UTC)  # the moment Oslo's week ends

    assert due_reports(engine, monday_0800_tokyo - ONE_MINUTE) == 0
    assert due_reports(engine, monday_0800_tokyo) == 1


def test_the_scheduler_leader_sends_due_reports(engine, settings, lead, location):
    with engine.begin() as conn:
        subscribe(conn, user_id=lead, location_id=location, every="day", at="00:00",
                  now=datetime.now(UTC) - timedelta(days=3))  # fmt: skip
    background = Background(engine, settings)

    assert background.tick()  # it leads: alert rules, then reports
    assert background.tick()

    assert [e["period"] for e in events(engine)] == ["day"]


def test_report_email_arrives_with_the_html_body_and_the_pdf_attached(engine, settings, weekly):
    assert due_reports(engine, MONDAY_0800_OSLO, public_url="https://smile.example") == 1
    with SmtpReceiver() as smtp:
        mail = settings.model_copy(update={"smtp_url": SecretStr(smtp.url()), "mail_from": "reports@smile.example",
                                           "public_url": "https://smile.example"})  # fmt: skip
        with httpx.Client() as client:
            assert deliver_due(engine, mail, worker_id="worker-1", client=client) == 1

    (message,) = smtp.messages
    assert message["Subject"] == "Weekly report for Gardermoen Gate 12: 2026-03-09 – 2026-03-15"
    assert smtp.collector.envelopes == [("reports@smile.example", ["lead@example.com"])]
    assert message.get_content_type() == "multipart/mixed"
    html = body(message, "html")
    assert "Gardermoen Gate 12" in html and "Week 11, 9–15 March 2026" in html and "<svg" in html
    assert '<a href="https://smile.example/locations/' in html
    assert "Open in Smilepost: https://smile.example/locations/" in body(message, "plain")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "smilepost-week-gardermoen-gate-12-2026-03-09.pdf"
    pdf = attachment.get_content()
    assert pdfs.pages(pdf) == [pytest.approx(pdfs.A4_POINTS, abs=0.1)]
    assert "Gardermoen Gate 12" in pdfs.text(pdf) and "RESPONSES 6" in pdfs.text(pdf)


def test_a_user_who_may_no_longer_see_the_location_gets_no_report(engine, weekly, lead):
    with engine.begin() as conn:
        conn.execute(delete(user_locations).where(user_locations.c.user_id == lead))

    assert due_reports(engine, MONDAY_0800_OSLO) == 0
    assert count(engine, report_runs) == 0


def test_at_most_limit_reports_per_call_the_rest_at_the_next(engine, lead, location, make_location):
    with engine.begin() as conn:
        for every in ("day", "week", "month"):
            subscribe(conn, user_id=lead, location_id=location, every=every, now=SUBSCRIBED - timedelta(days=30))
    first_of_april = datetime(2026, 4, 1, 6, tzinfo=UTC)  # 08:00 in Oslo: a day, a week and a month are due

    assert due_reports(engine, first_of_april, limit=2) == 2
    assert due_reports(engine, first_of_april, limit=2) == 1
    assert sorted(e["period"] for e in events(engine)) == ["day", "month", "week"]


@pytest.mark.parametrize("scope", ["location", "group"])
def test_a_user_may_subscribe_only_to_what_they_may_see(engine, lead, location, make_location, scope):
    other = make_location(name="Not theirs")
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Both")
        server_groups.add_location(conn, group, location)
        server_groups.add_location(conn, group, other)
        target = {"location_id": other} if scope == "location" else {"group_id": group}
        with pytest.raises(Forbidden):
            subscribe(conn, user_id=lead, every="week", **target)


def test_subscribing_again_changes_the_time_only(engine, lead, location):
    with engine.begin() as conn:
        first = subscribe(conn, user_id=lead, location_id=location, every="week")
        again = subscribe(conn, user_id=lead, location_id=location, every="week", at="9:30")
        monthly = subscribe(conn, user_id=lead, location_id=location, every="month")
        unsubscribe(conn, monthly)
        with pytest.raises(NotFound):
            unsubscribe(conn, monthly)

    assert first == again != monthly


def test_a_user_may_stop_only_their_own_subscription(engine, weekly, admin):
    with engine.begin() as conn, pytest.raises(NotFound, match=f"report subscription {weekly} does not exist"):
        unsubscribe(conn, weekly, user_id=admin)
    with engine.connect() as conn:
        assert [s.id for s in report_subscriptions(conn)] == [weekly]
    with engine.begin() as conn:
        unsubscribe(conn, weekly, user_id=weekly_user(conn, weekly))
        assert report_subscriptions(conn) == []


def weekly_user(conn, subscription_id: int) -> int:
    return next(s.user_id for s in report_subscriptions(conn) if s.id == subscription_id)


def test_own_timezone_is_only_what_the_user_set(engine, lead):
    with engine.begin() as conn:
        assert (own_timezone(conn, lead), user_timezone(conn, lead)) == (None, "Europe/Oslo")
        set_user_timezone(conn, lead, "Asia/Tokyo")
        assert own_timezone(conn, lead) == user_timezone(conn, lead) == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ({"every": "year"}, "period must be one of day, week, month"),
        ({"every": "week", "at": "25:00"}, "HH:MM"),
        ({"every": "week", "location_id": None}, "one location (--location) or one group (--group)"),
    ],
)
def test_bad_subscriptions_say_what_was_expected(engine, lead, location, given, error):
    with engine.begin() as conn, pytest.raises(InvalidInput, match=re.escape(error)):
        subscribe(conn, user_id=lead, **{"location_id": location, **given})


def test_unknown_time_zone_refused(engine, lead):
    with engine.begin() as conn, pytest.raises(InvalidInput, match="Europe/Oslo"):
        set_user_timezone(conn, lead, "Europe/Olso")


KEY = "test-secret-key-0123456789abcdef-0123456789"


@pytest.fixture
def admin(engine, lead) -> int:
    """An admin (who sees every location), besides the lead."""
    with engine.begin() as conn:
        return add_user(conn, email="ops@example.com", password=PASSWORD, role="admin")


def add_hook(engine, url: str = "https://hooks.example.net/smile") -> int:
    with engine.begin() as conn:
        return add_webhook(conn, url, "json", key=KEY.encode())[0]


def test_an_admins_report_to_a_webhook_arrives_signed_with_the_period_and_figures_only(
    engine, settings, admin, location
):
    with WebhookReceiver() as receiver:
        hook = add_hook(engine, receiver.url)
        with engine.begin() as conn:
            subscribe(conn, user_id=admin, location_id=location, every="week", webhook_id=hook, now=SUBSCRIBED)
        assert due_reports(engine, MONDAY_0800_OSLO) == 1
        hooks = settings.model_copy(update={"secret_key": SecretStr(KEY), "public_url": "https://smile.example"})
        with httpx.Client() as client:
            assert deliver_due(engine, hooks, worker_id="worker-1", client=client) == 1

    (request,) = receiver.requests
    assert verify(webhook_secret(KEY.encode(), hook), request.headers["x-smilepost-signature"], request.body,
                  datetime.now(UTC))  # fmt: skip
    sent = json.loads(request.body)
    assert (sent["event"], sent["period"], sent["period_start"], sent["period_end"]) == (
        "report", "week", "2026-03-09", "2026-03-16")  # fmt: skip
    lead_scores = [5, 4, 4, 2, 1, 5]  # the lead fixture's taps, all in week 11
    assert sent["responses"] == len(lead_scores)
    assert sent["figures"]["happy_index"]["value"] == pytest.approx(sum(25 * (s - 1) for s in lead_scores) / 6)
    assert sent["figures"]["negative"]["value"] == pytest.approx(100 * 2 / 6)
    assert sent["url"] == f"https://smile.example/locations/{location}"
    assert "email" not in sent and b"%PDF" not in request.body and b"<html" not in request.body


def test_only_an_admin_may_have_reports_sent_to_an_active_webhook(engine, admin, lead, location):
    hook, revoked = add_hook(engine), add_hook(engine)
    with engine.begin() as conn:
        revoke_webhook(conn, revoked)
        with pytest.raises(Forbidden, match="only an admin"):
            subscribe(conn, user_id=lead, location_id=location, every="week", webhook_id=hook)
        with pytest.raises(InvalidInput, match=f"--webhook: webhook {revoked} is revoked"):
            subscribe(conn, user_id=admin, location_id=location, every="week", webhook_id=revoked)
        with pytest.raises(NotFound, match="--webhook: webhook 999 does not exist"):
            subscribe(conn, user_id=admin, location_id=location, every="week", webhook_id=999)
        by_mail = subscribe(conn, user_id=admin, location_id=location, every="week")
        to_hook = subscribe(conn, user_id=admin, location_id=location, every="week", webhook_id=hook)

    assert by_mail != to_hook  # the inbox and the webhook are two subscriptions of the same report


def test_a_webhook_revoked_or_a_user_no_longer_admin_gets_no_more_reports(engine, admin, location):
    hook, other = add_hook(engine), add_hook(engine)
    with engine.begin() as conn:
        subscribe(conn, user_id=admin, location_id=location, every="week", webhook_id=hook, now=SUBSCRIBED)
        subscribe(conn, user_id=admin, location_id=location, every="month", webhook_id=other, now=SUBSCRIBED)
        revoke_webhook(conn, hook)
        assert [s.recipient for s in report_subscriptions(conn)] == [f"webhook:{other}"]
        conn.execute(update(users).where(users.c.id == admin).values(role="manager"))
        assert report_subscriptions(conn) == []

    assert due_reports(engine, MONDAY_0800_OSLO) == 0


def test_report_send_now_goes_to_a_webhook_without_its_email_part(engine, lead, location):
    hook = add_hook(engine)
    with engine.begin() as conn:
        sent = delivery.send_report_now(conn, location_id=location, period="week", to=f"webhook:{hook}",
                                        now=MONDAY_0800_OSLO)  # fmt: skip

    (event,) = events(engine)
    assert (event["to"], event["period_start"], sent.report.now.responses) == (str(hook), "2026-03-09", 6)
    assert webhook_body("json", event).find(b'"email"') == -1


@pytest.mark.parametrize(
    ("to", "error", "message"),
    [
        ("nobody", InvalidInput, "--to: expected an e-mail address or webhook:ID, got 'nobody'"),
        ("webhook:slack", InvalidInput, "--to: expected an e-mail address or webhook:ID"),
        ("webhook:999", NotFound, "--to: webhook 999 does not exist"),
    ],
)
def test_report_send_says_what_to_expected(engine, location, to, error, message):
    with engine.begin() as conn, pytest.raises(error, match=re.escape(message)):
        delivery.send_report_now(conn, location_id=location, period="week", to=to, now=MONDAY_0800_OSLO)
    assert count(engine, notifications) == 0
