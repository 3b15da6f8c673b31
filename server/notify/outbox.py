"""The notification outbox: :func:`enqueue` writes deliveries in the caller's transaction; :func:`claim_due`,
:func:`mark_sent`, :func:`mark_failed`, :func:`give_up` and :func:`release` are what a delivery worker
(:mod:`server.notify.worker`) does with them.

Claims are compare-and-set updates (a row is claimed only while it is pending, due and not claimed by a live claim),
so they are correct on SQLite and on PostgreSQL with any number of instances: two workers never hold the same row at
once. A worker that dies holding a claim leaves it to expire, and the row is delivered again (at least once, with the
same idempotency key). Raises :class:`server.InvalidInput` for a recipient that is neither ``email:ADDR`` nor
``webhook:ID``; database errors propagate.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from server import InvalidInput, audit
from server.db import notifications

CHANNELS = ("email", "webhook")
EVENTS = ("alert.opened", "alert.closed", "alert.acknowledged", "report")
MAX_ATTEMPTS = 8  # then the row is "failed": shown on the admin page, retried from there
CLAIM_SECONDS = 60.0  # a worker must finish (or renew) a claimed row within this


@dataclass(frozen=True)
class Delivery:
    """One claimed row: send ``payload`` on ``channel`` to ``target`` with ``idempotency_key``."""

    id: int
    event: str
    channel: str
    target: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int


def recipient(text: str) -> tuple[str, str]:
    """``("email", ADDR)`` or ``("webhook", ID)`` from ``email:ADDR`` / ``webhook:ID``.

    Raises InvalidInput for anything else.
    """
    channel, _, target = text.partition(":")
    if channel not in CHANNELS or not target.strip():
        raise InvalidInput(f"notify: expected email:ADDRESS or webhook:ID, got {text!r}")
    if channel == "webhook" and not target.isdigit():
        raise InvalidInput(f"notify: a webhook is named by its id (webhook:3), got {text!r}")
    if channel == "email" and ("@" not in target or any(c.isspace() for c in target)):
        raise InvalidInput(f"notify: {target!r} is not an e-mail address")
    return channel, target.strip()


def enqueue(
    conn: Connection,
    *,
    event: str,
    payload: dict[str, Any],
    recipients: Iterable[str],
    alert_id: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Write one delivery per recipient (``email:ADDR`` / ``webhook:ID``, duplicates dropped) in ``conn``'s
    transaction; their ids. Raises InvalidInput for an unknown event or recipient."""
    if event not in EVENTS:
        raise InvalidInput(f"event must be one of {', '.join(EVENTS)}, got {event!r}")
    now = now or datetime.now(UTC)
    body = json.dumps(payload, default=str, separators=(",", ":"))
    ids = []
    for channel, target in dict.fromkeys(recipient(r) for r in recipients):
        row = conn.execute(
            insert(notifications).values(
                alert_id=alert_id, event=event, channel=channel, target=target, payload=body,
                idempotency_key=secrets.token_hex(16), status="pending", attempts=0, next_attempt_at=now,
                created_at=now,
            )
        )  # fmt: skip
        ids.append(int(row.inserted_primary_key[0]))  # type: ignore[index]
    return ids


def claim_due(
    conn: Connection, worker: str, *, limit: int = 20, now: datetime | None = None, seconds: float = CLAIM_SECONDS
) -> list[Delivery]:
    """Claim up to ``limit`` due, pending rows for ``worker`` until ``now + seconds``; the rows won (each claim is a
    compare-and-set, so a row another worker claimed in between is skipped)."""
    now = now or datetime.now(UTC)
    n = notifications.c
    free = or_(n.claimed_until.is_(None), n.claimed_until < now)
    due = conn.execute(
        select(n.id).where(n.status == "pending", n.next_attempt_at <= now, free).order_by(n.id).limit(limit)
    ).scalars().all()  # fmt: skip
    won = []
    for row_id in due:
        claimed = conn.execute(
            update(notifications)
            .where(n.id == row_id, n.status == "pending", free)
            .values(claimed_by=worker, claimed_until=now + timedelta(seconds=seconds))
        )
        if claimed.rowcount == 1:
            won.append(row_id)
    if not won:
        return []
    rows = conn.execute(select(notifications).where(n.id.in_(won)).order_by(n.id)).all()
    return [
        Delivery(r.id, r.event, r.channel, r.target, json.loads(r.payload), r.idempotency_key, r.attempts) for r in rows
    ]


def mark_sent(conn: Connection, delivery_id: int, worker: str, *, now: datetime | None = None) -> bool:
    """Record a delivery as sent, if ``worker`` still holds its claim; whether it did."""
    n = notifications.c
    done = conn.execute(
        update(notifications)
        .where(n.id == delivery_id, n.claimed_by == worker, n.status == "pending")
        .values(status="sent", sent_at=now or datetime.now(UTC), attempts=n.attempts + 1, claimed_until=None,
                last_error=None)
    )  # fmt: skip
    return done.rowcount == 1


def mark_failed(
    conn: Connection, delivery_id: int, worker: str, error: str, *, now: datetime | None = None
) -> str | None:
    """Record a failed attempt: retried later with exponential backoff (30 s, 1 min, 2 min … 1 h), or ``failed``
    after MAX_ATTEMPTS; the new status, or None when ``worker`` no longer held the claim."""
    now = now or datetime.now(UTC)
    n = notifications.c
    row = conn.execute(select(n.attempts).where(n.id == delivery_id, n.claimed_by == worker)).first()
    if row is None:
        return None
    attempts = row.attempts + 1
    status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
    backoff = timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)))
    conn.execute(
        update(notifications)
        .where(n.id == delivery_id, n.claimed_by == worker)
        .values(status=status, attempts=attempts, next_attempt_at=now + backoff, claimed_until=None,
                last_error=error[:2000])
    )  # fmt: skip
    return status


def retry(conn: Connection, delivery_id: int, *, now: datetime | None = None) -> bool:
    """Put a failed delivery back in the queue, due now (the admin page's "retry"); whether it was failed."""
    n = notifications.c
    done = conn.execute(
        update(notifications)
        .where(n.id == delivery_id, n.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=now or datetime.now(UTC), claimed_until=None)
    )
    if done.rowcount == 1:
        audit.record(conn, "notification.retry", target=("notification", delivery_id),
                     summary=f"failed notification {delivery_id} queued again",
                     before={"status": "failed"}, after={"status": "pending"})  # fmt: skip
    return done.rowcount == 1


def give_up(conn: Connection, delivery_id: int, worker: str, error: str, *, now: datetime | None = None) -> bool:
    """Record an attempt that retrying cannot fix (a revoked webhook, a refusal seen PERMANENT_ATTEMPTS times):
    ``failed`` at once, still retried from the admin page; whether ``worker`` still held the claim."""
    n = notifications.c
    done = conn.execute(
        update(notifications)
        .where(n.id == delivery_id, n.claimed_by == worker, n.status == "pending")
        .values(status="failed", attempts=n.attempts + 1, next_attempt_at=now or datetime.now(UTC),
                claimed_until=None, last_error=error[:2000])
    )  # fmt: skip
    return done.rowcount == 1


def release(conn: Connection, delivery_id: int, worker: str) -> bool:
    """Hand back a claimed row unsent (it is due again at once, for any worker); whether ``worker`` held it."""
    n = notifications.c
    done = conn.execute(
        update(notifications)
        .where(n.id == delivery_id, n.claimed_by == worker, n.status == "pending")
        .values(claimed_until=None)
    )
    return done.rowcount == 1
