"""Delivery workers as separate OS processes on one database (SQLite file and PostgreSQL): two of them deliver each
notification exactly once, and one SIGKILLed mid-send leaves its notification to be delivered by another once the
claim expires, with the same Idempotency-Key.

The processes run :class:`server.notify.worker.DeliveryWorker` the way ``smilepost worker`` does, with the claim
shortened to a few seconds so the test does not wait a minute (the one knob set from outside).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from server.db import notifications
from server.notify.outbox import enqueue
from server.notify.payloads import alert_payload
from server.notify.signing import verify
from server.notify.webhooks import add_webhook
from tests.support.receivers import Received, WebhookReceiver, wait_until

KEY = "e2e-secret-key-0123456789abcdef-0123456789"
PAYLOAD = alert_payload(
    "alert.opened", alert_id=17, rule_id=4, location_id=2, location_name="Gate 12", metric="negative",
    direction="above", value=46.2, threshold=40.0, window_start=datetime(2026, 3, 14, 15, 50, tzinfo=UTC),
    window_end=datetime(2026, 3, 14, 16, 20, tzinfo=UTC), public_url="https://smile.example",
)  # fmt: skip
WORKER = """
import signal, sys, threading
import server.notify.worker as worker
from server.db import make_engine
from server.settings import Settings

worker.CLAIM_SECONDS, worker.CLAIM_MARGIN = float(sys.argv[1]), float(sys.argv[2])
settings = Settings()
delivery = worker.DeliveryWorker(make_engine(settings.resolved_database_url), settings, worker_id=sys.argv[3])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
delivery.start()
print("started", flush=True)
stop.wait()
delivery.stop()
"""


class Workers:
    """Starts worker processes on one database; terminates those still running at the end."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMILEPOST_")}
        self.env = {**env, "SMILEPOST_DATABASE_URL": database_url, "SMILEPOST_DATA_DIR": str(data_dir),
                    "SMILEPOST_SECRET_KEY": KEY, "SMILEPOST_DELIVER_SECONDS": "0.2"}  # fmt: skip
        self.processes: list[subprocess.Popen[str]] = []

    def start(self, name: str, claim_seconds: float = 60, margin: float = 30) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(claim_seconds), str(margin), name],
            env=self.env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.processes.append(process)
        assert process.stdout is not None and process.stdout.readline().strip() == "started"
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(database_url, tmp_path / "worker-data")
    yield running
    running.stop_all()


def enqueue_rows(engine: Engine, url: str, count: int) -> str:
    """A webhook at ``url`` and ``count`` notifications to it, in one transaction; the webhook's secret."""
    with engine.begin() as conn:
        webhook_id, secret = add_webhook(conn, url, "json", key=KEY.encode())
        for _ in range(count):
            enqueue(conn, event="alert.opened", payload=PAYLOAD, recipients=[f"webhook:{webhook_id}"])
    return secret


def rows(engine: Engine) -> list[tuple[str, str | None, int]]:
    with engine.connect() as conn:
        query = select(notifications.c.status, notifications.c.claimed_by, notifications.c.attempts)
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def test_two_worker_processes_deliver_each_notification_exactly_once(engine, workers):
    with WebhookReceiver(delay=0.005) as receiver:
        workers.start("process-a")
        workers.start("process-b")
        secret = enqueue_rows(engine, receiver.url, 100)
        wait_until(lambda: all(status == "sent" for status, _, _ in rows(engine)), timeout=60, what="all sent")

    keys = Counter(request.headers["idempotency-key"] for request in receiver.requests)
    assert len(keys) == 100 and set(keys.values()) == {1}
    by_worker = Counter(claimed_by for _, claimed_by, _ in rows(engine))
    assert set(by_worker) == {"process-a", "process-b"}, by_worker  # both instances took part
    now = datetime.now(UTC)
    assert all(verify(secret, r.headers["x-smilepost-signature"], r.body, now) for r in receiver.requests)


def test_worker_killed_mid_send_leaves_the_notification_to_another_after_the_claim_expires(engine, workers):
    arrived = threading.Event()
    hold = threading.Event()

    def first_request_hangs(received: Received) -> None:
        if not arrived.is_set():
            arrived.set()
            hold.wait(30)

    with WebhookReceiver(on_request=first_request_hangs) as receiver:
        killed = workers.start("killed", claim_seconds=3, margin=1)
        enqueue_rows(engine, receiver.url, 1)
        assert arrived.wait(30), "the first worker never sent"
        killed.send_signal(signal.SIGKILL)  # between the send and marking it sent
        killed.wait(10)
        hold.set()
        assert rows(engine) == [("pending", "killed", 0)]  # never lost: still in the outbox

        workers.start("survivor", claim_seconds=3, margin=1)
        wait_until(lambda: rows(engine)[0][0] == "sent", timeout=30, what="delivery by the survivor")

    first, second = receiver.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]  # receivers dedupe by it
    assert rows(engine) == [("sent", "survivor", 1)]
