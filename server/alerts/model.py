"""The stored rule as the other modules read it (:class:`Rule`), and reading one.

Raises :class:`server.NotFound` for an unknown rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from server import NotFound
from server.db import alert_rules


@dataclass(frozen=True)
class Rule:
    """One stored rule. ``threshold`` is in the figure's own unit (the p-value for ``baseline``; None for
    ``silence``, ``offline`` and ``target``); ``direction`` is ``"above"`` or ``"below"``; ``notify`` holds
    ``email:ADDR`` and ``webhook:ID``."""

    id: int
    location_id: int | None
    group_id: int | None
    metric: str
    direction: str
    threshold: float | None
    window_seconds: int
    min_responses: int
    notify: tuple[str, ...]
    created_at: datetime
    created_by: str
    disabled_at: datetime | None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_seconds)


def rule_of(row: Any) -> Rule:
    """A :class:`Rule` from an ``alert_rules`` row."""
    return Rule(
        id=row.id, location_id=row.location_id, group_id=row.group_id, metric=row.metric, direction=row.direction,
        threshold=row.threshold, window_seconds=row.window_seconds, min_responses=row.min_responses,
        notify=tuple(json.loads(row.notify)), created_at=row.created_at, created_by=row.created_by,
        disabled_at=row.disabled_at,
    )  # fmt: skip


def get_rule(conn: Connection, rule_id: int) -> Rule:
    """One rule. Raises NotFound for an unknown id."""
    row = conn.execute(select(alert_rules).where(alert_rules.c.id == rule_id)).first()
    if row is None:
        raise NotFound(f"alert rule {rule_id} does not exist")
    return rule_of(row)


def iso_utc(moment: datetime) -> str:
    """``2026-11-23T10:00:00Z``: RFC 3339 in UTC, as the wire protocol writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
