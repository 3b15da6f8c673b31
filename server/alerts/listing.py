"""Alerts as the API and the dashboard show them: a filtered, paged list (a manager sees the alerts of their own
locations only) and one alert with the taps, reasons and comments of its window.

Raises :class:`server.InvalidInput` (a bad filter), :class:`server.NotFound` and :class:`server.Forbidden`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, not_, select

from server import InvalidInput, NotFound
from server.alerts.figures import Rows, counted, window_rows
from server.alerts.lifecycle import STATES
from server.auth.accounts import Access
from server.db import alert_rules, alerts, locations, taps
from server.locations import profanity_masked
from server.privacy.profanity import mask
from shared import scores

MAX_PAGE = 500
DETAIL_TAPS = 200  # newest taps of the window shown with an alert
DETAIL_COMMENTS = 50


@dataclass(frozen=True)
class AlertOut:
    """One alert with its rule's metric and direction and its location's name; ``kiosk_id`` only for offline."""

    id: int
    rule_id: int
    location_id: int
    location_name: str
    kiosk_id: str | None
    metric: str
    direction: str
    state: str
    opened_at: datetime
    window_start: datetime
    window_end: datetime
    value: float | None
    threshold: float | None
    responses: int
    clear_since: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    closed_at: datetime | None


@dataclass(frozen=True)
class AlertPage:
    """``total`` alerts match the filters; ``alerts`` is the page asked for, newest first."""

    total: int
    alerts: list[AlertOut]


@dataclass(frozen=True)
class WindowTap:
    """A tap of an alert's window: its effective time, face, side, reason, comment, and whether it counts."""

    id: str
    kiosk_id: str
    effective_at: datetime
    scale: int
    score: int
    side: str
    followup: str | None
    comment: str | None
    counted: bool


@dataclass(frozen=True)
class ReasonCount:
    """How many counted presses of the window chose ``reason`` after a face on ``side``."""

    side: str
    reason: str
    count: int


@dataclass(frozen=True)
class AlertDetail:
    """An alert and its window ``[window_start, window_end)`` at its location: the counted presses as
    (scale, score, count) rows, the presses left out (``filtered``, by why), the newest taps (at most DETAIL_TAPS),
    the reasons picked and the newest comments."""

    alert: AlertOut
    rows: Rows
    filtered: dict[str, int]
    taps: list[WindowTap]
    reasons: list[ReasonCount]
    comments: list[WindowTap]


def _query() -> Select[Any]:
    return (
        select(alerts, alert_rules.c.metric, alert_rules.c.direction, locations.c.name.label("location_name"))
        .join(alert_rules, alert_rules.c.id == alerts.c.rule_id)
        .join(locations, locations.c.id == alerts.c.location_id)
    )


def _alert_out(row: Any) -> AlertOut:
    return AlertOut(
        id=row.id, rule_id=row.rule_id, location_id=row.location_id, location_name=row.location_name,
        kiosk_id=row.kiosk_id or None, metric=row.metric, direction=row.direction, state=row.state,
        opened_at=row.opened_at, window_start=row.window_start, window_end=row.window_end, value=row.value,
        threshold=row.threshold, responses=row.responses, clear_since=row.clear_since,
        acknowledged_at=row.acknowledged_at, acknowledged_by=row.acknowledged_by, ack_comment=row.ack_comment,
        closed_at=row.closed_at,
    )  # fmt: skip


def list_alerts(
    conn: Connection,
    access: Access,
    *,
    state: str | None = None,
    location_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AlertPage:
    """The alerts ``access`` may see, newest first, optionally of one state and one location.

    Raises InvalidInput for an unknown state, a limit outside 1..MAX_PAGE or a negative offset; Forbidden when a
    manager names a location not granted to them.
    """
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}, got {state!r}")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset 0 or more, got {limit} and {offset}")
    where = []
    if location_id is not None:
        access.check(location_id)
        where.append(alerts.c.location_id == location_id)
    if access.location_ids is not None:
        where.append(alerts.c.location_id.in_(sorted(access.location_ids)))
    if state is not None:
        where.append(alerts.c.state == state)
    total = conn.execute(select(func.count()).select_from(alerts).where(*where)).scalar_one()
    page = _query().where(*where).order_by(alerts.c.opened_at.desc(), alerts.c.id.desc()).limit(limit).offset(offset)
    return AlertPage(total=int(total), alerts=[_alert_out(row) for row in conn.execute(page)])


def get_alert(conn: Connection, alert_id: int, access: Access) -> AlertOut:
    """One alert. Raises NotFound for an unknown one, Forbidden when ``access`` may not see its location."""
    row = conn.execute(_query().where(alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist")
    access.check(row.location_id)
    return _alert_out(row)


def alert_detail(conn: Connection, alert_id: int, access: Access) -> AlertDetail:
    """An alert with the taps, reasons and comments of its window (see :class:`AlertDetail`), comments shown with
    swear words masked when the location asks for it.

    Raises NotFound for an unknown alert, Forbidden when ``access`` may not see its location.
    """
    alert = get_alert(conn, alert_id, access)
    in_window = and_(
        taps.c.location_id == alert.location_id,
        taps.c.effective_at >= alert.window_start,
        taps.c.effective_at < alert.window_end,
    )
    newest = select(taps).where(in_window).order_by(taps.c.effective_at.desc(), taps.c.id)
    commented = newest.where(taps.c.comment.is_not(None)).limit(DETAIL_COMMENTS)
    if not access.is_admin:  # comments an admin hid are for admins only (server.comments)
        commented = commented.where(taps.c.comment_hidden.is_(False))
    masked = bool(profanity_masked(conn, [alert.location_id]))
    return AlertDetail(
        alert=alert,
        rows=window_rows(conn, alert.location_id, alert.window_start, alert.window_end),
        filtered=_filtered(conn, in_window),
        taps=[_window_tap(row, masked, access.is_admin) for row in conn.execute(newest.limit(DETAIL_TAPS))],
        reasons=_reasons(conn, in_window),
        comments=[_window_tap(row, masked) for row in conn.execute(commented)],
    )


def _window_tap(row: Any, masked: bool = False, show_hidden: bool = True) -> WindowTap:
    present = row.flags.split(",")
    comment = mask(row.comment) if masked and row.comment is not None else row.comment
    comment = None if row.comment_hidden and not show_hidden else comment
    return WindowTap(
        id=str(row.id), kiosk_id=row.kiosk_id, effective_at=row.effective_at, scale=row.scale, score=row.score,
        side=scores.side(row.scale, row.score), followup=row.followup, comment=comment,
        counted=not any(why in present for why in scores.FILTERED),
    )  # fmt: skip


def _filtered(conn: Connection, in_window: Any) -> dict[str, int]:
    """Presses of the window left out of the figures, by why (every why of shared.scores.FILTERED present)."""
    query = select(taps.c.flags, func.count()).where(in_window, not_(counted())).group_by(taps.c.flags)
    found: Counter[str] = Counter()
    for flags, n in conn.execute(query):
        found[next(why for why in scores.FILTERED if why in flags.split(","))] += n
    return {why: found[why] for why in scores.FILTERED}


def _reasons(conn: Connection, in_window: Any) -> list[ReasonCount]:
    """Reasons picked with counted presses of the window, by side of the face pressed, most picked first."""
    query = (
        select(taps.c.scale, taps.c.score, taps.c.followup, func.count())
        .where(in_window, counted(), taps.c.followup.is_not(None))
        .group_by(taps.c.scale, taps.c.score, taps.c.followup)
    )
    picks: Counter[tuple[str, str]] = Counter()
    for scale, score, reason, n in conn.execute(query):
        picks[scores.side(scale, score), reason] += n
    return [ReasonCount(side, reason, n) for (side, reason), n in sorted(picks.items(), key=lambda p: (-p[1], p[0]))]
