"""One alert's life: opened when its rule's condition holds, updated while it holds, closed once the condition has
been clear for one window; acknowledged by a person in between. Every open, close and acknowledgement writes its
notifications to the outbox (:func:`server.notify.outbox.enqueue`) in the caller's transaction, so they are sent if
and only if the change commits.

::

                 condition holds                      clear for one window
    (none) ─────────────────────────▶ open ──────────────────────────────────▶ closed
                                        │  ▲ holds again: clear_since reset       ▲
                                        │  └───────────────                       │
                                        └── acknowledge ──▶ acknowledged ─────────┘

At most one alert per (rule, location, kiosk) is not closed: the partial unique index ``ux_alerts_one_active``
settles two evaluators racing to open one (the second insert fails; its transaction writes nothing). Every change
is a compare-and-set ``UPDATE`` whose ``WHERE`` says what it expects, and a transaction's first statement is a write
(on SQLite it takes the write lock at once, never upgrading a read), so concurrent evaluators and acknowledgements on
several instances never close, open or acknowledge twice.

Notification payloads carry the issue's webhook keys — ``event, alert_id, rule_id, location_id, location_name,
metric, value, threshold, window_start, window_end`` (ISO UTC) and ``url`` as the path ``/alerts/<id>``, which the
notifier joins to ``SMILEPOST_PUBLIC_URL`` — plus ``direction``, ``kiosk_id`` (offline alerts; else null),
``responses``, ``timezone`` (the location's, so e-mails show the window in local time), and ``acknowledged_by``
and ``comment`` (null until the alert is acknowledged).

Raises :class:`server.NotFound`, :class:`server.InvalidInput` and :class:`server.Forbidden` (see each function).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from server import InvalidInput, NotFound, audit
from server.alerts.model import Rule, get_rule, iso_utc
from server.auth.accounts import Access
from server.db import alert_rules, alerts, locations
from server.notify.outbox import enqueue

STATES = ("open", "acknowledged", "closed")
MAX_COMMENT_CHARS = 1000


@dataclass(frozen=True)
class Finding:
    """What the evaluator found for one rule at one location (and kiosk, for ``offline``; else ``""``): whether the
    condition ``holds`` (None: not judged now, e.g. ``silence`` while the location is closed — an alert stays as it
    is), over which window, with which figure, against which threshold, from how many responses."""

    rule: Rule
    location_id: int
    kiosk_id: str
    holds: bool | None
    window_start: datetime
    window_end: datetime
    value: float | None = None
    threshold: float | None = None
    responses: int = 0


@dataclass(frozen=True)
class Outcome:
    """What :func:`apply` did: ``opened``, ``updated`` (held), ``raced`` (another evaluator opened it first),
    ``clearing`` (clear since now), ``closed``, ``clear`` or ``paused`` (nothing to do); and the alert's id when
    known."""

    kind: str
    alert_id: int | None = None


def recipients_for(conn: Connection, rule: Rule, location_id: int) -> list[str]:
    """Who is told about an alert of ``rule`` at ``location_id``: the rule's ``notify`` list, then the users
    subscribed to the location's alerts (:func:`server.alerts.subscriptions.subscribers`), each once."""
    from server.alerts.subscriptions import subscribers

    return list(dict.fromkeys([*rule.notify, *subscribers(conn, location_id)]))


def _active(rule_id: int, location_id: int, kiosk_id: str) -> ColumnElement[bool]:
    """The one alert of (rule, location, kiosk) that is not closed."""
    return and_(
        alerts.c.rule_id == rule_id, alerts.c.location_id == location_id, alerts.c.kiosk_id == kiosk_id,
        alerts.c.closed_at.is_(None),
    )  # fmt: skip


def apply(conn: Connection, finding: Finding, *, now: datetime) -> Outcome:
    """Move the alert of ``finding``'s (rule, location, kiosk) on, in ``conn``'s transaction: open it (and enqueue
    ``alert.opened``) or update its figures while the condition holds; once it is clear, note since when, and close
    it (enqueueing ``alert.closed``) after one window of clear. A finding not judged (``holds`` None) changes
    nothing: a kiosk switched off at closing time neither opens an alert nor closes one while it is still off."""
    if finding.holds is None:
        return Outcome("paused")
    if finding.holds:
        return _hold(conn, finding, now)
    return _clear(conn, finding, now)


def _hold(conn: Connection, finding: Finding, now: datetime) -> Outcome:
    figures = {
        "window_start": finding.window_start, "window_end": finding.window_end, "value": finding.value,
        "threshold": finding.threshold, "responses": finding.responses,
    }  # fmt: skip
    key = _active(finding.rule.id, finding.location_id, finding.kiosk_id)
    held = conn.execute(update(alerts).where(key).values(clear_since=None, **figures).returning(alerts.c.id)).first()
    if held is not None:
        return Outcome("updated", held.id)
    try:
        with conn.begin_nested():
            row = conn.execute(
                insert(alerts).values(
                    rule_id=finding.rule.id, location_id=finding.location_id, kiosk_id=finding.kiosk_id,
                    state="open", opened_at=now, **figures,
                )
            )  # fmt: skip
    except IntegrityError:  # ux_alerts_one_active: another evaluator opened it since our update looked
        return Outcome("raced")
    alert_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    _notify(conn, "alert.opened", alert_id, finding.rule, finding.location_id, now)
    return Outcome("opened", alert_id)


def _clear(conn: Connection, finding: Finding, now: datetime) -> Outcome:
    key = _active(finding.rule.id, finding.location_id, finding.kiosk_id)
    started = conn.execute(
        update(alerts).where(key, alerts.c.clear_since.is_(None)).values(clear_since=now).returning(alerts.c.id)
    ).first()
    if started is not None:
        return Outcome("clearing", started.id)
    closed = _close(conn, and_(key, alerts.c.clear_since <= now - finding.rule.window), finding.rule, now)
    return Outcome("closed", closed[0]) if closed else Outcome("clear")


def _close(conn: Connection, where: ColumnElement[bool], rule: Rule, now: datetime) -> list[int]:
    """Close the alerts matching ``where`` that are not closed yet, enqueueing ``alert.closed`` for each."""
    rows = conn.execute(
        update(alerts)
        .where(where, alerts.c.closed_at.is_(None))
        .values(state="closed", closed_at=now)
        .returning(alerts.c.id, alerts.c.location_id)
    ).all()
    for row in sorted(rows):
        _notify(conn, "alert.closed", row.id, rule, row.location_id, now)
    return sorted(row.id for row in rows)


def close_all(conn: Connection, rule: Rule, now: datetime) -> list[int]:
    """Close every alert of ``rule`` that is not closed (its rule was disabled), enqueueing ``alert.closed``."""
    return _close(conn, alerts.c.rule_id == rule.id, rule, now)


def close_stale(conn: Connection, rule: Rule, location_id: int, kiosk_id: str, now: datetime) -> list[int]:
    """Close the alert of (rule, location, kiosk) at once, e.g. when the location left the rule's group."""
    return _close(conn, _active(rule.id, location_id, kiosk_id), rule, now)


def acknowledge(
    conn: Connection, alert_id: int, *, by: str, comment: str | None, access: Access, now: datetime | None = None
) -> None:
    """Acknowledge an open alert: record who, when and their comment, and enqueue ``alert.acknowledged``.

    Raises InvalidInput for an empty ``by``, a comment over MAX_COMMENT_CHARS or with NUL, or an alert that is not
    open (acknowledged or closed already); NotFound for an unknown alert; Forbidden for a manager whose locations do
    not include the alert's.
    """
    by, comment = _who(by), _comment(comment)
    now = now or datetime.now(UTC)
    where = [alerts.c.id == alert_id, alerts.c.state == "open"]
    if access.location_ids is not None:
        where.append(alerts.c.location_id.in_(sorted(access.location_ids)))
    done = conn.execute(
        update(alerts)
        .where(*where)
        .values(state="acknowledged", acknowledged_at=now, acknowledged_by=by, ack_comment=comment)
        .returning(alerts.c.rule_id, alerts.c.location_id)
    ).first()  # a write first: the compare-and-set says whether this acknowledgement is the one
    if done is None:
        _refuse(conn, alert_id, access)
        return
    audit.record(conn, "alert.acknowledge", target=("alert", alert_id),
                 summary=f"alert {alert_id} (rule {done.rule_id}) at {audit.location_label(conn, done.location_id)}"
                         f" acknowledged by {by}",
                 before={"state": "open"}, after={"state": "acknowledged", "comment": comment})  # fmt: skip
    extra = {"acknowledged_by": by, "comment": comment}
    _notify(conn, "alert.acknowledged", alert_id, get_rule(conn, done.rule_id), done.location_id, now, extra)


def _refuse(conn: Connection, alert_id: int, access: Access) -> None:
    """Why an acknowledgement changed nothing. Raises NotFound, Forbidden or InvalidInput."""
    row = conn.execute(select(alerts.c.location_id, alerts.c.state).where(alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist")
    access.check(row.location_id)
    raise InvalidInput(f"alert {alert_id} is {row.state}: only an open alert can be acknowledged")


def _who(by: str) -> str:
    if not isinstance(by, str) or not by.strip() or len(by.strip()) > 254:
        raise InvalidInput("by: expected who acknowledges (an e-mail address or a name, ≤ 254 characters)")
    return by.strip()


def _comment(comment: str | None) -> str | None:
    if comment is None or not comment.strip():
        return None
    if len(comment) > MAX_COMMENT_CHARS or "\x00" in comment:
        raise InvalidInput(f"comment: at most {MAX_COMMENT_CHARS} characters, without NUL")
    return comment.strip()


def alert_payload(conn: Connection, alert_id: int, event: str) -> dict[str, Any]:
    """The notification body of ``event`` about an alert (keys in the module docstring).

    Raises NotFound for an unknown alert.
    """
    row = conn.execute(
        select(
            alerts,
            alert_rules.c.metric,
            alert_rules.c.direction,
            locations.c.name.label("location_name"),
            locations.c.timezone,
        )
        .join(alert_rules, alert_rules.c.id == alerts.c.rule_id)
        .join(locations, locations.c.id == alerts.c.location_id)
        .where(alerts.c.id == alert_id)
    ).first()
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist")
    return {
        "event": event, "alert_id": row.id, "rule_id": row.rule_id, "location_id": row.location_id,
        "location_name": row.location_name, "kiosk_id": row.kiosk_id or None, "metric": row.metric,
        "direction": row.direction, "value": row.value, "threshold": row.threshold, "responses": row.responses,
        "window_start": iso_utc(row.window_start), "window_end": iso_utc(row.window_end), "timezone": row.timezone,
        "url": f"/alerts/{row.id}", "acknowledged_by": row.acknowledged_by, "comment": row.ack_comment,
    }  # fmt: skip


def _notify(
    conn: Connection,
    event: str,
    alert_id: int,
    rule: Rule,
    location_id: int,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    """Enqueue ``event`` about an alert to everyone :func:`recipients_for` names, in ``conn``'s transaction."""
    recipients = recipients_for(conn, rule, location_id)
    if not recipients:
        return
    payload = alert_payload(conn, alert_id, event) | (extra or {})
    enqueue(conn, event=event, payload=payload, recipients=recipients, alert_id=alert_id, now=now)
