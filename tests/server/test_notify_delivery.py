"""The outbox delivered (server.notify.worker) to a real webhook receiver and a real SMTP server on 127.0.0.1, on
SQLite and PostgreSQL: one signed POST per notification, e-mails with the key in their Message-ID, retries with
backoff, failed rows and retry, revoked webhooks, and no transaction open while a send is under way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select, text, update

from server.db import make_engine, notifications
from server.notify.outbox import MAX_ATTEMPTS, enqueue, retry
from server.notify.payloads import alert_payload
from server.notify.signing import verify
from server.notify.webhooks import add_webhook, revoke_webhook
from server.notify.worker import PERMANENT_ATTEMPTS, DeliveryWorker, deliver_due
from tests.support.receivers import Received, SmtpReceiver, WebhookReceiver, wait_until

KEY = "test-secret-key-0123456789abcdef-0123456789"
PAYLOAD = alert_payload(
    "alert.opened", alert_id=17, rule_id=4, location_id=2, location_name="Gate 12", metric="negative",
    direction="above", value=46.2, threshold=40.0, responses=52, window_start=datetime(2026, 3, 14, 15, 50, tzinfo=UTC),
    window_end=datetime(2026, 3, 14, 16, 20, tzinfo=UTC), public_url="https://smile.example", timezone="Europe/Oslo",
)  # fmt: skip


@pytest.fixture
def notify_settings(settings):
    update = {"secret_key": SecretStr(KEY), "public_url": "https://smile.example", "mail_from": "alerts@smile.example"}
    return settings.model_copy(update=update)


def add_hook(engine: Engine, url: str, format: str = "json") -> tuple[int, str]:
    with engine.begin() as conn:
        return add_webhook(conn, url, format, key=KEY.encode())


def enqueue_one(engine: Engine, recipient: str, *, now: datetime | None = None, payload: Any = PAYLOAD) -> int:
    with engine.begin() as conn:
        (row_id,) = enqueue(conn, event=payload["event"], payload=payload, recipients=[recipient], now=now)
    return row_id


def row(engine: Engine, row_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(notifications).where(notifications.c.id == row_id)).one()


def deliver(engine: Engine, settings: Any, now: datetime | None = None, **kwargs: Any) -> int:
    with httpx.Client() as client:
        return deliver_due(engine, settings, worker_id="worker-1", client=client, now=now, **kwargs)


# --- webhooks ------------------------------------------------------------------------------------------------


def test_enqueued_webhook_is_posted_once_signed_with_its_idempotency_key(engine, notify_settings):
    with WebhookReceiver() as receiver:
        webhook_id, secret = add_hook(engine, receiver.url)
        row_id = enqueue_one(engine, f"webhook:{webhook_id}")

        assert deliver(engine, notify_settings) == 1
        assert deliver(engine, notify_settings) == 0  # nothing due any more

    (request,) = receiver.requests
    stored = row(engine, row_id)
    assert request.headers["idempotency-key"] == stored.idempotency_key
    assert request.headers["x-smilepost-event"] == "alert.opened"
    assert verify(secret, request.headers["x-smilepost-signature"], request.body, datetime.now(UTC))
    assert json.loads(request.body) == PAYLOAD
    assert (stored.status, stored.attempts, stored.last_error) == ("sent", 1, None)
    assert stored.sent_at is not None


@pytest.mark.parametrize(("format", "key"), [("slack", "blocks"), ("teams", "attachments")])
def test_slack_and_teams_webhooks_get_their_own_format(engine, notify_settings, format, key):
    with WebhookReceiver() as receiver:
        webhook_id, secret = add_hook(engine, receiver.url, format)
        enqueue_one(engine, f"webhook:{webhook_id}")
        assert deliver(engine, notify_settings) == 1

    (request,) = receiver.requests
    assert key in json.loads(request.body)
    assert verify(secret, request.headers["x-smilepost-signature"], request.body, datetime.now(UTC))


def test_relative_link_in_a_payload_is_sent_under_public_url(engine, notify_settings):
    with WebhookReceiver() as receiver:
        webhook_id, _ = add_hook(engine, receiver.url, "slack")
        enqueue_one(engine, f"webhook:{webhook_id}", payload={**PAYLOAD, "url": "/alerts/17"})
        assert deliver(engine, notify_settings) == 1

    button = json.loads(receiver.requests[0].body)["blocks"][-1]["elements"][0]
    assert button["url"] == "https://smile.example/alerts/17"


def test_retries_with_backoff_after_500s_then_one_delivery(engine, notify_settings):
    start = datetime.now(UTC)
    with WebhookReceiver([500, 503]) as receiver:
        webhook_id, _ = add_hook(engine, receiver.url)
        row_id = enqueue_one(engine, f"webhook:{webhook_id}", now=start)

        assert deliver(engine, notify_settings, start) == 0
        first = row(engine, row_id)
        assert (first.status, first.attempts, first.next_attempt_at) == ("pending", 1, start + timedelta(seconds=30))
        assert "answered 500" in first.last_error
        assert deliver(engine, notify_settings, start + timedelta(seconds=29)) == 0  # backing off: not due yet
        assert len(receiver.requests) == 1
        assert deliver(engine, notify_settings, start + timedelta(seconds=30)) == 0  # 503
        assert row(engine, row_id).next_attempt_at == start + timedelta(seconds=90)  # then 60 s
        assert deliver(engine, notify_settings, start + timedelta(seconds=90)) == 1

    assert [r.status for r in receiver.requests] == [500, 503, 200]
    assert len({r.headers["idempotency-key"] for r in receiver.requests}) == 1
    assert (row(engine, row_id).status, row(engine, row_id).attempts) == ("sent", 3)


def test_after_max_attempts_the_row_is_failed_and_retry_requeues_it(engine, notify_settings):
    moment = datetime.now(UTC)
    with WebhookReceiver([502] * MAX_ATTEMPTS) as receiver:
        webhook_id, _ = add_hook(engine, receiver.url)
        row_id = enqueue_one(engine, f"webhook:{webhook_id}", now=moment)
        for _ in range(MAX_ATTEMPTS):
            assert deliver(engine, notify_settings, moment) == 0
            moment += timedelta(hours=2)

        failed = row(engine, row_id)
        assert (failed.status, failed.attempts) == ("failed", MAX_ATTEMPTS)
        assert "answered 502" in failed.last_error
        assert deliver(engine, notify_settings, moment + timedelta(days=1)) == 0  # failed rows are left alone

        with engine.begin() as conn:
            assert retry(conn, row_id, now=moment)
        assert deliver(engine, notify_settings, moment) == 1

    assert len(receiver.requests) == MAX_ATTEMPTS + 1
    assert row(engine, row_id).status == "sent"


def test_a_refusal_fails_the_row_after_permanent_attempts(engine, notify_settings):
    moment = datetime.now(UTC)
    with WebhookReceiver(then=404) as receiver:
        webhook_id, _ = add_hook(engine, receiver.url)
        row_id = enqueue_one(engine, f"webhook:{webhook_id}", now=moment)
        statuses = []
        for _ in range(PERMANENT_ATTEMPTS):
            deliver(engine, notify_settings, moment)
            statuses.append(row(engine, row_id).status)
            moment += timedelta(hours=2)

    assert statuses == ["pending"] * (PERMANENT_ATTEMPTS - 1) + ["failed"]
    assert len(receiver.requests) == PERMANENT_ATTEMPTS
    assert "answered 404" in row(engine, row_id).last_error


@pytest.mark.parametrize("case", ["revoked", "unknown"])
def test_revoked_or_unknown_webhook_fails_at_once_without_a_request(engine, notify_settings, case):
    with WebhookReceiver() as receiver:
        webhook_id, _ = add_hook(engine, receiver.url)
        if case == "revoked":
            with engine.begin() as conn:
                revoke_webhook(conn, webhook_id)
        row_id = enqueue_one(engine, f"webhook:{webhook_id if case == 'revoked' else 999}")

        assert deliver(engine, notify_settings) == 0

    assert receiver.requests == []
    failed = row(engine, row_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert case in failed.last_error


def test_one_bad_row_does_not_stop_the_others(engine, notify_settings, caplog):
    with WebhookReceiver() as receiver:
        webhook_id, _ = add_hook(engine, receiver.url, "slack")
        broken = enqueue_one(engine, f"webhook:{webhook_id}", payload={"event": "alert.opened"})  # no fields
        good = enqueue_one(engine, f"webhook:{webhook_id}")

        assert deliver(engine, notify_settings) == 1

    assert (row(engine, broken).status, row(engine, good).status) == ("pending", "sent")
    assert "KeyError" in row(engine, broken).last_error
    assert len(receiver.requests) == 1


def test_no_transaction_is_open_while_sending(engine, notify_settings):
    """The receiver writes the very row being delivered, with a 1 s lock timeout, while the POST is under way: a
    worker holding its claim's transaction (a row lock on PostgreSQL, the write lock on SQLite) would make it fail."""
    probe = make_engine(notify_settings.resolved_database_url)
    outcomes: list[str] = []
    short_wait = "PRAGMA busy_timeout = 1000" if probe.dialect.name == "sqlite" else "SET lock_timeout = 1000"

    def write_during_send(received: Received) -> None:
        try:
            with probe.begin() as conn:
                conn.execute(text(short_wait))
                conn.execute(update(notifications).values(created_at=datetime.now(UTC)))
            outcomes.append("written")
        except Exception as exc:
            outcomes.append(repr(exc))

    try:
        with WebhookReceiver(on_request=write_during_send) as receiver:
            webhook_id, _ = add_hook(engine, receiver.url)
            enqueue_one(engine, f"webhook:{webhook_id}")
            assert deliver(engine, notify_settings) == 1
    finally:
        probe.dispose()

    assert outcomes == ["written"]


# --- e-mail --------------------------------------------------------------------------------------------------


def test_enqueued_email_arrives_with_from_subject_message_id_and_both_parts(engine, notify_settings):
    with SmtpReceiver() as server:
        settings = notify_settings.model_copy(update={"smtp_url": SecretStr(server.url())})
        row_id = enqueue_one(engine, "email:boss@example.com")
        assert deliver(engine, settings) == 1

    (message,) = server.messages
    assert message["From"] == "alerts@smile.example"
    assert message["To"] == "boss@example.com"
    assert message["Subject"] == "Alert at Gate 12: negative share 46.2 % (above 40 %)"
    assert message["Message-ID"] == f"<{row(engine, row_id).idempotency_key}@smilepost>"
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert "https://smile.example/alerts/17" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert row(engine, row_id).status == "sent"


def test_email_over_starttls_uses_the_ssl_context_given(engine, notify_settings):
    with SmtpReceiver(tls="starttls", login=("ann", "pw")) as server:
        url = server.url(user="ann", password="pw", query="starttls=require")
        settings = notify_settings.model_copy(update={"smtp_url": SecretStr(url)})
        enqueue_one(engine, "email:boss@example.com")
        assert deliver(engine, settings, ssl_context=server.certificates.client) == 1  # type: ignore[union-attr]

    assert server.collector.tls == [True]


def test_email_without_smtp_url_fails_with_a_clear_error(engine, notify_settings):
    row_id = enqueue_one(engine, "email:boss@example.com")

    assert deliver(engine, notify_settings) == 0

    assert row(engine, row_id).status == "pending"
    assert "set SMILEPOST_SMTP_URL" in row(engine, row_id).last_error


# --- the worker thread ---------------------------------------------------------------------------------------


def test_delivery_worker_delivers_at_once_when_woken_and_stops(engine, notify_settings):
    settings = notify_settings.model_copy(update={"deliver_seconds": 60.0})  # only wake() can make it deliver soon
    with WebhookReceiver() as receiver:
        webhook_id, _ = add_hook(engine, receiver.url)
        first = enqueue_one(engine, f"webhook:{webhook_id}")
        worker = DeliveryWorker(engine, settings, worker_id="thread-1")
        worker.start()
        try:
            wait_until(lambda: row(engine, first).status == "sent", what="the round at start")
            second = enqueue_one(engine, f"webhook:{webhook_id}")
            worker.wake()
            wait_until(lambda: row(engine, second).status == "sent", timeout=20, what="a round after wake()")
        finally:
            worker.stop()

    assert len(receiver.requests) == 2
    assert not worker._thread.is_alive() and worker.client.is_closed  # its own client, closed at stop
