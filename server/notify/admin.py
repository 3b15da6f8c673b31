"""What the admin pages read about notifications: the deliveries that failed (:func:`failed_deliveries`), to be
retried from there with :func:`server.notify.outbox.retry`.

Raises nothing of its own; database errors propagate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from server.db import notifications

MAX_LIMIT = 1000


@dataclass(frozen=True)
class FailedDelivery:
    """One outbox row whose delivery gave up: ``target`` is an e-mail address or a webhook id (as text);
    ``last_error`` what the last attempt said."""

    id: int
    alert_id: int | None
    event: str
    channel: str
    target: str
    attempts: int
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True)
class FailedPage:
    """``total`` deliveries have failed; ``deliveries`` are the newest of them."""

    total: int
    deliveries: list[FailedDelivery]


def failed_deliveries(conn: Connection, *, limit: int = 100) -> FailedPage:
    """The failed deliveries, newest first (at most ``limit``, 1..MAX_LIMIT; out-of-range values are clamped),
    and how many there are in all."""
    n = notifications.c
    limit = max(1, min(MAX_LIMIT, limit))
    total = conn.execute(select(func.count()).select_from(notifications).where(n.status == "failed")).scalar_one()
    rows = conn.execute(
        select(n.id, n.alert_id, n.event, n.channel, n.target, n.attempts, n.last_error, n.created_at)
        .where(n.status == "failed")
        .order_by(n.id.desc())
        .limit(limit)
    )  # fmt: skip
    return FailedPage(
        total=int(total),
        deliveries=[
            FailedDelivery(r.id, r.alert_id, r.event, r.channel, r.target, r.attempts, r.last_error, r.created_at)
            for r in rows
        ],
    )
