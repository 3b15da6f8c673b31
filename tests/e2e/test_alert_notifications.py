"""Issue 12's notifications end to end, with real components: `smilepost server` processes (uvicorn, the scheduler and
the delivery worker inside), a real SMTP server (aiosmtpd) and a real webhook receiver on 127.0.0.1, SQLite and
PostgreSQL.

- Negative taps open an alert whose signed webhook and e-mail arrive within 60 s; acknowledging it through the API
  sends ``alert.acknowledged``; clearing the condition closes it (``alert.closed``). Each notification arrives once.
- Two instances on one PostgreSQL database deliver each of 60 notifications (20 alerts opened, acknowledged,
  closed) exactly once; one instance leads the scheduler.
- A server killed after committing notifications but before sending them: a new server delivers them, with the
  keys they were committed with.
- An alert e-mail gives its window in the location's time zone.

Closing needs the condition clear for one window (15 minutes at least). Rather than wait, the tests let the server
see the condition clear (it sets ``clear_since``), then move ``clear_since`` back by a window in the database; the
server's own evaluator then closes the alert and its worker sends ``alert.closed``. (Calling
``evaluate(engine, now=now + 16 min)`` from the test would close it too, but its notifications would then be due at
that future ``now`` and no worker would send them for 16 minutes.)
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select, update

from server.alerts.evaluate import evaluate
from server.alerts.rules import add_rule
from server.auth import keys, kiosk_tokens
from server.db import alerts, leases, make_engine, notifications
from server.locations import add_location
from server.notify.signing import verify
from server.notify.webhooks import add_webhook
from server.notify.worker import deliver_due
from server.scheduler import SCHEDULER_LEASE
from server.settings import Settings
from tests.support.live import Cli, LiveServer, free_port, launch_server
from tests.support.receivers import Received, SmtpReceiver, WebhookReceiver, wait_until

KEY = "e2e-alert-notifications-key-0123456789abcdef"
LEAD = "lead@example.com"
WITHIN = 60.0  # the issue: a rule is evaluated within 60 s of the taps that trigger it
BOOT = "5e2f0c6a9d1b4f3e8a7c6b5d4e3f2a1b"
MONO_NS = 86_400_000_000_000
EVENTS = ("alert.opened", "alert.acknowledged", "alert.closed")
SENT_LINE = re.compile(r"notification (\d+) \((alert\.\w+)\) sent by (\w+)")


# --- running Smilepost -----------------------------------------------------------------------------------------


def smilepost_env(database_url: str, data_dir: Path, **settings: str | float) -> dict[str, str]:
    """The environment of a `smilepost` process on ``database_url`` (already at head), signing with KEY, evaluating
    and delivering every second unless ``settings`` (SMILEPOST_<NAME> lower-cased) say otherwise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMILEPOST_")}
    values: dict[str, str | float] = {
        "database_url": database_url, "data_dir": str(data_dir), "secret_key": KEY, "auto_migrate": "false",
        "evaluate_seconds": 1, "deliver_seconds": 1, "mail_from": "alerts@smilepost.test", **settings,
    }  # fmt: skip
    return {**env, **{f"SMILEPOST_{name.upper()}": str(value) for name, value in values.items()}}


@dataclass
class DatabaseCli(Cli):
    """`smilepost` on a database named by URL (SQLite file or PostgreSQL), with the servers' secret key."""

    database_url: str = ""

    @property
    def env(self) -> dict[str, str]:
        return smilepost_env(self.database_url, self.data_dir)


class Servers:
    """`smilepost server` processes started by a test; those still running are terminated at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[tuple[LiveServer, Path]] = []

    def start(self, env: dict[str, str], name: str, port: int | None = None) -> LiveServer:
        log_path = self.tmp_path / f"{name}.log"
        server = launch_server(env, log_path, port=port)
        self.started.append((server, log_path))
        return server

    def stop_all(self) -> None:
        for server, _ in self.started:
            if server.process.poll() is None:
                server.stop(timeout=30)

    def logs(self) -> dict[int, str]:
        """Each started server's output, by its process id."""
        return {server.process.pid: log_path.read_text() for server, log_path in self.started}


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    running = Servers(tmp_path)
    yield running
    running.stop_all()


def kill(server: LiveServer) -> None:
    """SIGKILL: no shutdown, no lease released, nothing flushed."""
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)


# --- taps, alerts and the outbox -------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Kiosk:
    """An enrolled kiosk posting batches the way the kiosk app does, tapped a few seconds ago."""

    token: str
    seqs: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def post(self, url: str, scores: list[int]) -> None:
        """POST one batch of five-face taps with ``scores``. Raises AssertionError unless all are accepted."""
        now = datetime.now(UTC)
        taps = [
            {"id": str(uuid.uuid4()), "seq": next(self.seqs), "question_id": "main", "scale": 5, "score": score,
             "tapped_at": iso(now - timedelta(seconds=5)), "mono_ns": MONO_NS - 5_000_000_000, "boot_id": BOOT,
             "followup": None, "comment": None, "flags": []}
            for score in scores
        ]  # fmt: skip
        body = {"sent_at": iso(now), "boot_id": BOOT, "mono_ns": MONO_NS, "taps": taps}
        response = httpx.post(f"{url}/api/v1/taps", json=body, headers=bearer(self.token), timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(scores), response.text


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def acknowledge(url: str, key: str, alert_id: int, comment: str) -> dict[str, Any]:
    response = httpx.post(f"{url}/api/v1/alerts/{alert_id}/ack", json={"comment": comment}, headers=bearer(key),
                          timeout=30)  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def api_alerts(url: str, key: str, **params: str | int) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v1/alerts", params={"limit": 200, **params}, headers=bearer(key), timeout=30)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def outbox(engine: Engine) -> list[Any]:
    """Every notification row, oldest first."""
    with engine.connect() as conn:
        return list(conn.execute(select(notifications).order_by(notifications.c.id)))


def all_sent(engine: Engine, count: int) -> bool:
    rows = outbox(engine)
    return len(rows) == count and all(row.status == "sent" for row in rows)


def scheduler_lease(engine: Engine) -> tuple[str, datetime]:
    """(holder, expires_at) of the scheduler lease. Raises AssertionError when nobody holds it."""
    with engine.connect() as conn:
        row = conn.execute(select(leases.c.holder, leases.c.expires_at).where(leases.c.name == SCHEDULER_LEASE)).first()
    assert row is not None, "no scheduler lease"
    return row.holder, row.expires_at


def clear_since(engine: Engine, alert_id: int) -> datetime | None:
    with engine.connect() as conn:
        value: datetime | None = conn.execute(select(alerts.c.clear_since).where(alerts.c.id == alert_id)).scalar()
        return value


def clear_for_a_window(engine: Engine, alert_ids: list[int], window: timedelta) -> None:
    """Move ``clear_since`` of alerts that are clearing back by one window and a minute, as if that much time had
    passed since the server saw their condition clear."""
    with engine.begin() as conn:
        for alert_id in alert_ids:
            since = conn.execute(select(alerts.c.clear_since).where(alerts.c.id == alert_id)).scalar_one()
            assert since is not None, f"alert {alert_id} is not clearing"
            earlier = since - window - timedelta(minutes=1)
            conn.execute(update(alerts).where(alerts.c.id == alert_id).values(clear_since=earlier))


# --- what the receivers got ------------------------------------------------------------------------------------


def hooks(receiver: WebhookReceiver, event: str) -> list[Received]:
    return [r for r in list(receiver.requests) if r.headers.get("x-smilepost-event") == event]


def mails(smtp: SmtpReceiver, event: str) -> list[Any]:
    return [m for m in list(smtp.messages) if m["X-Smilepost-Event"] == event]


def arrives(what: str, found: Any, count: int = 1, timeout: float = WITHIN) -> float:
    """Wait until ``found()`` lists ``count`` items; seconds it took. Raises AssertionError after ``timeout``."""
    started = time.monotonic()
    wait_until(lambda: len(found()) >= count, timeout=timeout, what=what)
    return time.monotonic() - started


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


def assert_webhook_deliveries_once(receiver: WebhookReceiver, rows: list[Any], secret: str) -> None:
    """Every webhook row arrived exactly once (by Idempotency-Key, and by (alert, event)), signed with ``secret``
    and as sent (the body's event is its header's, its key the row's)."""
    webhook_rows = [row for row in rows if row.channel == "webhook"]
    requests = list(receiver.requests)
    by_key = Counter(r.headers["idempotency-key"] for r in requests)
    assert by_key == Counter(row.idempotency_key for row in webhook_rows), "each webhook row arrives exactly once"
    pairs = Counter((json.loads(r.body)["alert_id"], r.headers["x-smilepost-event"]) for r in requests)
    assert set(pairs.values()) == {1}, pairs
    assert pairs == Counter((row.alert_id, row.event) for row in webhook_rows)
    now = datetime.now(UTC)
    for request in requests:
        assert verify(secret, request.headers["x-smilepost-signature"], request.body, now), request.headers
        assert json.loads(request.body)["event"] == request.headers["x-smilepost-event"]


def assert_mails_once(smtp: SmtpReceiver, rows: list[Any]) -> None:
    """Every e-mail row arrived exactly once, as the message with its idempotency key in the Message-ID."""
    email_rows = [row for row in rows if row.channel == "email"]
    got = Counter(str(m["Message-ID"]) for m in list(smtp.messages))
    assert got == Counter(f"<{row.idempotency_key}@smilepost>" for row in email_rows), got
    assert [to for _, to in smtp.collector.envelopes] == [[row.target] for row in email_rows]


def assert_clean_logs(servers: Servers) -> None:
    for pid, text in servers.logs().items():
        assert "Traceback" not in text and " failed" not in text, f"server {pid}:\n{text[-4000:]}"


# --- 1. one server: open, acknowledge, close -------------------------------------------------------------------


def test_negative_taps_alert_by_webhook_and_email_then_acknowledge_and_close(
    database_url: str, engine: Engine, tmp_path: Path, servers: Servers
) -> None:
    with SmtpReceiver() as smtp, WebhookReceiver() as receiver:
        port = free_port()
        public_url = f"http://127.0.0.1:{port}"
        cli = DatabaseCli(tmp_path / "data", database_url=database_url)
        location = cli.json("location", "add", "Gate 12", "--timezone", "Europe/Oslo", "--json")["id"]
        kiosk = Kiosk(str(cli.json("kiosk", "enroll", "--location", str(location), "--name", "g1", "--json")["token"]))
        webhook = cli.json("webhook", "add", receiver.url, "--format", "json", "--json")
        secret = str(webhook["secret"])
        rule_id = cli.json(
            "alert", "add", "--location", str(location), "--metric", "negative", "--above", "40", "--window", "15m",
            "--min-responses", "5", "--notify", f"email:{LEAD}", "--notify", f"webhook:{webhook['id']}", "--json",
        )["id"]  # fmt: skip
        admin = str(cli.json("apikey", "create", "--name", "ops", "--admin", "--json")["key"])
        env = smilepost_env(database_url, tmp_path / "data", smtp_url=smtp.url(), public_url=public_url)
        server = servers.start(env, "server", port=port)

        # open: 8 of 10 taps negative (80 % > 40 %, 10 ≥ 5 responses)
        tapped = time.monotonic()
        kiosk.post(server.url, [1] * 6 + [2] * 2 + [5, 4])
        arrives("alert.opened webhook", lambda: hooks(receiver, "alert.opened"))
        took = time.monotonic() - tapped
        opened = only(hooks(receiver, "alert.opened"))
        payload = json.loads(opened.body)
        alert = only(api_alerts(server.url, admin))
        assert alert["state"] == "open" and alert["rule_id"] == rule_id and alert["value"] == 80.0
        assert verify(secret, opened.headers["x-smilepost-signature"], opened.body, datetime.now(UTC))
        assert not verify(secret, opened.headers["x-smilepost-signature"], opened.body + b" ", datetime.now(UTC))
        assert opened.headers["content-type"] == "application/json"
        assert re.fullmatch(r"[0-9a-f]{32}", opened.headers["idempotency-key"])
        assert {k: payload[k] for k in ("event", "alert_id", "rule_id", "location_id", "location_name", "metric")} == {
            "event": "alert.opened", "alert_id": alert["id"], "rule_id": rule_id, "location_id": location,
            "location_name": "Gate 12", "metric": "negative",
        }  # fmt: skip
        assert (payload["value"], payload["threshold"], payload["responses"]) == (80.0, 40.0, 10)
        start, end = (datetime.fromisoformat(payload[k]) for k in ("window_start", "window_end"))
        assert end - start == timedelta(minutes=15) and abs(datetime.now(UTC) - end) < timedelta(minutes=1)
        assert payload["url"] == f"{public_url}/alerts/{alert['id']}"
        print(f"\nalert.opened webhook arrived {took:.1f} s after the taps were posted")

        arrives("alert.opened e-mail", lambda: mails(smtp, "alert.opened"))
        mail = only(mails(smtp, "alert.opened"))
        mail_row = only([r for r in outbox(engine) if r.channel == "email" and r.event == "alert.opened"])
        assert mail["To"] == LEAD and mail["From"] == "alerts@smilepost.test"
        assert mail["Subject"] == "Alert at Gate 12: negative share 80 % (above 40 %)"
        assert mail["Message-ID"] == f"<{mail_row.idempotency_key}@smilepost>"
        assert mail_row.idempotency_key != opened.headers["idempotency-key"]  # one key per delivery
        text = mail.get_body(preferencelist=("plain",)).get_content()
        assert f"{public_url}/alerts/{alert['id']}" in text and "Gate 12" in text

        # acknowledge through the API, with a comment
        acked = acknowledge(server.url, admin, alert["id"], "Opened a second lane")
        assert (acked["state"], acked["acknowledged_by"], acked["ack_comment"]) == (
            "acknowledged", "API key", "Opened a second lane",
        )  # fmt: skip
        arrives("alert.acknowledged webhook", lambda: hooks(receiver, "alert.acknowledged"))
        arrives("alert.acknowledged e-mail", lambda: mails(smtp, "alert.acknowledged"))
        ack_payload = json.loads(only(hooks(receiver, "alert.acknowledged")).body)
        assert (ack_payload["alert_id"], ack_payload["acknowledged_by"], ack_payload["comment"]) == (
            alert["id"], "API key", "Opened a second lane",
        )  # fmt: skip
        assert only(mails(smtp, "alert.acknowledged"))["Subject"].startswith("Alert acknowledged at Gate 12 by API key")

        # clear: 8 of 40 negative (20 %); the server notes since when, the alert stays acknowledged
        kiosk.post(server.url, [5] * 30)
        wait_until(lambda: clear_since(engine, alert["id"]) is not None, timeout=WITHIN, what="clear_since set")
        assert only(api_alerts(server.url, admin))["state"] == "acknowledged"
        assert not hooks(receiver, "alert.closed")

        # one window later the server closes it by itself
        clear_for_a_window(engine, [alert["id"]], timedelta(minutes=15))
        arrives("alert.closed webhook", lambda: hooks(receiver, "alert.closed"))
        arrives("alert.closed e-mail", lambda: mails(smtp, "alert.closed"))
        closed = only(api_alerts(server.url, admin, state="closed"))
        assert closed["id"] == alert["id"] and closed["closed_at"] is not None
        assert json.loads(only(hooks(receiver, "alert.closed")).body)["url"] == f"{public_url}/alerts/{alert['id']}"
        assert (
            only(mails(smtp, "alert.closed"))["Subject"]
            == "Alert closed at Gate 12: negative share no longer above 40 %"
        )

        wait_until(lambda: all_sent(engine, 6), timeout=WITHIN, what="all six notifications sent")
        rows = outbox(engine)
        assert Counter((row.event, row.channel) for row in rows) == Counter(
            (event, channel) for event in EVENTS for channel in ("email", "webhook")
        )
        assert_webhook_deliveries_once(receiver, rows, secret)
        assert_mails_once(smtp, rows)
    assert_clean_logs(servers)


# --- 2. two instances on PostgreSQL ----------------------------------------------------------------------------

LOCATIONS = 10  # two rules each: 20 alerts


@pytest.mark.postgresql
def test_two_instances_on_postgresql_deliver_each_notification_exactly_once(
    postgres_url: str, tmp_path: Path, servers: Servers
) -> None:
    engine = make_engine(postgres_url)
    try:
        with WebhookReceiver(delay=0.1) as receiver:  # a batch of 10 takes 1 s: the other instance claims meanwhile
            with engine.begin() as conn:
                webhook_id, secret = add_webhook(conn, receiver.url, "json", key=KEY.encode())
                admin = keys.create_api_key(conn, name="ops", scope="admin")
                kiosks = []
                for n in range(LOCATIONS):
                    location = add_location(conn, name=f"Gate {n + 1}", timezone="Europe/Oslo")
                    kiosks.append(Kiosk(kiosk_tokens.enroll_kiosk(conn, location_id=location).token))
                    for metric, above, below in (("negative", 40.0, None), ("index", None, 50.0)):
                        add_rule(
                            conn, location_id=location, metric=metric, above=above, below=below, window="15m",
                            min_responses=5, notify=[f"webhook:{webhook_id}"], created_by="e2e",
                        )  # fmt: skip
            env = smilepost_env(postgres_url, tmp_path / "data", public_url="https://smile.example")
            first, second = servers.start(env, "server-a"), servers.start(env, "server-b")

            for kiosk in kiosks:  # all negative: 100 % negative, Happy Index 0
                kiosk.post(first.url, [1] * 10)
            alerts_total = 2 * LOCATIONS
            arrives("20 alert.opened", lambda: hooks(receiver, "alert.opened"), alerts_total)
            opened = api_alerts(first.url, admin, state="open")
            assert len(opened) == alerts_total

            for n, alert in enumerate(opened):  # half through each instance
                acknowledge((first, second)[n % 2].url, admin, alert["id"], f"on it ({n})")
            arrives("20 alert.acknowledged", lambda: hooks(receiver, "alert.acknowledged"), alerts_total)

            for kiosk in kiosks:  # 10 of 40 negative (25 %), Happy Index 75: both rules clear
                kiosk.post(second.url, [5] * 30)
            ids = [alert["id"] for alert in opened]
            wait_until(lambda: all(clear_since(engine, i) is not None for i in ids), timeout=WITHIN, what="clearing")
            clear_for_a_window(engine, ids, timedelta(minutes=15))
            arrives("20 alert.closed", lambda: hooks(receiver, "alert.closed"), alerts_total)

            wait_until(lambda: all_sent(engine, 3 * alerts_total), timeout=WITHIN, what="all sent")
            rows = outbox(engine)
            assert_webhook_deliveries_once(receiver, rows, secret)
            assert len(receiver.requests) == 3 * alerts_total
            assert Counter(row.event for row in rows) == {event: alerts_total for event in EVENTS}
            with engine.connect() as conn:
                holders = conn.execute(select(leases.c.holder).where(leases.c.name == SCHEDULER_LEASE)).all()

        # one instance led the scheduler: only its log reports the alerts it opened and closed
        logs = servers.logs()
        leaders = [pid for pid, text in logs.items() if "alerts: " in text]
        assert len(holders) == 1 and len(leaders) == 1, (holders, leaders)
        # every row was sent once, by one of the two processes, and both took part (claimed_by is host-pid-random)
        senders = Counter(int(row.claimed_by.split("-")[-2]) for row in rows)
        assert set(senders) == set(logs), f"both instances deliver: {senders}"
        sent_lines = Counter(int(m[1]) for text in logs.values() for m in SENT_LINE.finditer(text))
        assert sent_lines == Counter(row.id for row in rows)
        print(f"\nscheduler led by {leaders[0]}; notifications sent per process: {dict(senders)}")
        assert_clean_logs(servers)
    finally:
        engine.dispose()


# --- 3. killed between the commit and the send -----------------------------------------------------------------


def test_notifications_committed_by_a_server_killed_before_sending_are_delivered_after_restart(
    database_url: str, engine: Engine, tmp_path: Path, servers: Servers
) -> None:
    """Variant "killed after the commit, before the send": the second server commits the acknowledgement and its
    notifications, but its delivery worker is not due for a minute (and the scheduler lease, left behind by the
    SIGKILLed first server, is not its to take, so no scheduler round wakes the worker); it is SIGKILLed then."""
    with SmtpReceiver() as smtp, WebhookReceiver() as receiver:
        with engine.begin() as conn:
            webhook_id, secret = add_webhook(conn, receiver.url, "json", key=KEY.encode())
            admin = keys.create_api_key(conn, name="ops", scope="admin")
            location = add_location(conn, name="Gate 7", timezone="Europe/Oslo")
            kiosk = Kiosk(kiosk_tokens.enroll_kiosk(conn, location_id=location).token)
            add_rule(
                conn, location_id=location, metric="negative", above=40.0, window="15m", min_responses=5,
                notify=[f"email:{LEAD}", f"webhook:{webhook_id}"], created_by="e2e",
            )  # fmt: skip
        env = smilepost_env(database_url, tmp_path / "data", smtp_url=smtp.url())

        first = servers.start(env, "server-1")
        kiosk.post(first.url, [1] * 10)
        arrives("alert.opened webhook", lambda: hooks(receiver, "alert.opened"))
        arrives("alert.opened e-mail", lambda: mails(smtp, "alert.opened"))
        wait_until(lambda: all_sent(engine, 2), timeout=WITHIN, what="alert.opened recorded as sent")
        kill(first)
        leader = scheduler_lease(engine)  # read after the kill: a live server renews it every second

        idle = smilepost_env(database_url, tmp_path / "data", smtp_url=smtp.url(), evaluate_seconds=60,
                             deliver_seconds=60)  # fmt: skip
        second = servers.start(idle, "server-2")
        alert = only(api_alerts(second.url, admin))
        acknowledge(second.url, admin, alert["id"], "handled")
        committed = [row for row in outbox(engine) if row.event == "alert.acknowledged"]
        assert [(r.channel, r.status, r.claimed_by, r.attempts) for r in committed] == [
            ("email", "pending", None, 0), ("webhook", "pending", None, 0),
        ], "the acknowledgement's notifications are committed and not yet sent"  # fmt: skip
        assert scheduler_lease(engine) == leader, "the killed server's lease still stands: no scheduler round ran"
        kill(second)
        assert not hooks(receiver, "alert.acknowledged") and not mails(smtp, "alert.acknowledged")

        restarted = time.monotonic()
        servers.start(env, "server-3")
        arrives("alert.acknowledged webhook", lambda: hooks(receiver, "alert.acknowledged"))
        arrives("alert.acknowledged e-mail", lambda: mails(smtp, "alert.acknowledged"))
        wait_until(lambda: all_sent(engine, 4), timeout=WITHIN, what="all four notifications sent")
        rows = outbox(engine)
        keys_before = {row.channel: row.idempotency_key for row in committed}
        assert only(hooks(receiver, "alert.acknowledged")).headers["idempotency-key"] == keys_before["webhook"]
        assert only(mails(smtp, "alert.acknowledged"))["Message-ID"] == f"<{keys_before['email']}@smilepost>"
        assert_webhook_deliveries_once(receiver, rows, secret)
        assert_mails_once(smtp, rows)
        print(f"\nalert.acknowledged arrived {time.monotonic() - restarted:.1f} s after the restart began")
    assert_clean_logs(servers)


# --- what a manager reads --------------------------------------------------------------------------------------


def test_alert_email_shows_the_window_in_the_location_time_zone(
    engine: Engine, database_url: str, tmp_path: Path, location: int, send: Any, tap: Any
) -> None:
    """In process (the real ingest, evaluator and delivery worker, a real SMTP server): an Oslo location's alert
    e-mail gives its window in Oslo time, as ``payloads.facts`` does when the payload names the zone."""
    with engine.begin() as conn:
        add_rule(conn, location_id=location, metric="negative", above=40.0, window="15m", min_responses=5,
                 notify=[f"email:{LEAD}"], created_by="e2e")  # fmt: skip
    tapped = iso(datetime.now(UTC) - timedelta(seconds=5))
    assert send([tap(score=1, tapped_at=tapped) for _ in range(10)]).status_code == 200
    assert len(evaluate(engine).opened) == 1
    with SmtpReceiver() as smtp, httpx.Client() as client:
        settings = Settings(data_dir=tmp_path, database_url=database_url, smtp_url=SecretStr(smtp.url()),
                            secret_key=SecretStr(KEY), background=False)  # fmt: skip
        assert deliver_due(engine, settings, worker_id="e2e", client=client) == 1
        text = only(smtp.messages).get_body(preferencelist=("plain",)).get_content()
    window = only([line for line in text.splitlines() if line.startswith("Window: ")])
    assert window.endswith(" Europe/Oslo"), window
