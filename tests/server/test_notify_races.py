"""Several workers on one database (SQLite and PostgreSQL): each notification is sent by one worker at a time, a
claim left by a killed worker is delivered again after it expires (same key), and a batch that runs out of claim
time hands the rest back."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

import server.notify.worker as worker_module
from server.db import make_engine, notifications
from server.notify.outbox import CLAIM_SECONDS, claim_due, enqueue
from server.notify.payloads import alert_payload
from server.notify.signing import verify
from server.notify.webhooks import add_webhook
from server.notify.worker import deliver_due
from tests.support.receivers import WebhookReceiver

KEY = "test-secret-key-0123456789abcdef-0123456789"
PAYLOAD = alert_payload(
    "alert.opened", alert_id=17, rule_id=4, location_id=2, location_name="Gate 12", metric="negative",
    direction="above", value=46.2, threshold=40.0, window_start=datetime(2026, 3, 14, 15, 50, tzinfo=UTC),
    window_end=datetime(2026, 3, 14, 16, 20, tzinfo=UTC), public_url="https://smile.example",
)  # fmt: skip


@pytest.fixture
def notify_settings(settings):
    return settings.model_copy(update={"secret_key": SecretStr(KEY)})


def setup_rows(engine: Engine, url: str, count: int, now: datetime | None = None) -> tuple[str, list[int]]:
    """A webhook at ``url`` and ``count`` notifications to it; its secret and the rows' ids."""
    with engine.begin() as conn:
        webhook_id, secret = add_webhook(conn, url, "json", key=KEY.encode())
        ids = [
            enqueue(conn, event="alert.opened", payload=PAYLOAD, recipients=[f"webhook:{webhook_id}"], now=now)[0]
            for _ in range(count)
        ]
    return secret, ids


def statuses(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(notifications.c.status, func.count()).group_by(notifications.c.status)).all()
    return Counter({status: count for status, count in rows})


def test_two_workers_racing_over_50_due_rows_deliver_each_exactly_once(engine, notify_settings):
    sent_by: dict[str, int] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(name: str) -> None:
        own = make_engine(notify_settings.resolved_database_url)  # a separate instance: its own connections
        try:
            with httpx.Client() as client:
                start.wait()
                total = 0
                while statuses(own)["pending"]:
                    total += deliver_due(own, notify_settings, worker_id=name, client=client)
                sent_by[name] = total
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            own.dispose()

    with WebhookReceiver(delay=0.01) as receiver:
        secret, ids = setup_rows(engine, receiver.url, 50)
        threads = [threading.Thread(target=work, args=(name,)) for name in ("worker-a", "worker-b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

    assert errors == []
    keys = Counter(request.headers["idempotency-key"] for request in receiver.requests)
    assert len(keys) == 50 and set(keys.values()) == {1}  # every notification, each exactly once
    assert sum(sent_by.values()) == 50 and min(sent_by.values()) > 0, sent_by  # both took part
    assert statuses(engine) == Counter({"sent": 50})
    now = datetime.now(UTC)
    assert all(verify(secret, r.headers["x-smilepost-signature"], r.body, now) for r in receiver.requests)


def test_claim_left_by_a_killed_worker_is_delivered_after_it_expires_with_the_same_key(engine, notify_settings):
    start = datetime.now(UTC)
    with WebhookReceiver() as receiver:
        secret, _ = setup_rows(engine, receiver.url, 1, now=start)
        with engine.begin() as conn:
            (claimed,) = claim_due(conn, "killed-worker", now=start)  # claimed, then the process died: never marked

        with httpx.Client() as client:

            def deliver(at: datetime) -> int:
                return deliver_due(engine, notify_settings, worker_id="survivor", client=client, now=at)

            assert deliver(start + timedelta(seconds=CLAIM_SECONDS - 1)) == 0  # the claim still holds
            assert receiver.requests == []
            later = start + timedelta(seconds=CLAIM_SECONDS + 1)
            assert deliver(later) == 1

    (request,) = receiver.requests
    assert request.headers["idempotency-key"] == claimed.idempotency_key  # receivers dedupe by it
    assert verify(secret, request.headers["x-smilepost-signature"], request.body, later)
    assert statuses(engine) == Counter({"sent": 1})


def test_a_batch_running_out_of_claim_time_hands_the_rest_back(engine, notify_settings, monkeypatch):
    # Fault injection: leave 0.3 s of each claim for sends, against a receiver taking 0.2 s per request.
    monkeypatch.setattr(worker_module, "CLAIM_MARGIN", CLAIM_SECONDS - 0.3)
    released: list[int] = []
    real_release = worker_module.release  # type: ignore[attr-defined]

    def spy(conn: Any, delivery_id: int, worker: str) -> bool:
        released.append(delivery_id)
        return real_release(conn, delivery_id, worker)

    monkeypatch.setattr(worker_module, "release", spy)
    with WebhookReceiver(delay=0.2) as receiver:
        _, ids = setup_rows(engine, receiver.url, 5)
        with httpx.Client() as client:
            assert deliver_due(engine, notify_settings, worker_id="slow", client=client) == 5

    assert released  # some rows went back instead of being sent on an expiring claim …
    keys = Counter(request.headers["idempotency-key"] for request in receiver.requests)
    assert len(keys) == 5 and set(keys.values()) == {1}  # … and were claimed again and sent once
    assert statuses(engine) == Counter({"sent": 5})
