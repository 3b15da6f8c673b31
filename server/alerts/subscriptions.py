"""Alert subscriptions: a user asks to be told (by e-mail) about the alerts of a location, or of every location of a
group, that they may see. :func:`subscribers` is who :func:`server.alerts.lifecycle.recipients_for` adds to a rule's
own recipients.

Raises :class:`server.InvalidInput` (neither or both of location and group), :class:`server.NotFound` (an unknown
user, location, group or subscription) and :class:`server.Forbidden` (a scope the user may not see).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, or_, select

from server import Forbidden, NotFound
from server.alerts.scope import check_scope
from server.auth.accounts import access_of
from server.db import locations, subscriptions, users


def subscribe_alerts(
    conn: Connection, *, user_id: int, location_id: int | None = None, group_id: int | None = None,
    now: datetime | None = None,
) -> int:  # fmt: skip
    """Subscribe a user to the alerts of a location or a group; the subscription's id (the same one when asked
    again).

    Raises InvalidInput for neither or both of location and group, NotFound for an unknown user, location or group,
    Forbidden when the user may not see the location (or every location of the group).
    """
    scope = check_scope(conn, location_id, group_id)
    access = access_of(conn, user_id)
    where = locations.c.id == location_id if location_id is not None else locations.c.group_id == group_id
    if not all(access.may_see(i) for i in conn.execute(select(locations.c.id).where(where)).scalars()):
        raise Forbidden(f"user {user_id} may not see {scope}, so cannot have its alerts")
    s = subscriptions.c
    same = (s.user_id == user_id, s.kind == "alerts",
            s.location_id.is_(None) if location_id is None else s.location_id == location_id,
            s.group_id.is_(None) if group_id is None else s.group_id == group_id)  # fmt: skip
    if (existing := conn.execute(select(s.id).where(*same)).scalar()) is not None:
        return int(existing)
    values = {"user_id": user_id, "kind": "alerts", "location_id": location_id, "group_id": group_id,
              "created_at": now or datetime.now(UTC)}  # fmt: skip
    row = conn.execute(insert(subscriptions).values(**values))
    return int(row.inserted_primary_key[0])  # type: ignore[index]


def unsubscribe_alerts(conn: Connection, subscription_id: int) -> None:
    """Stop an alert subscription. Raises NotFound for an unknown one."""
    s = subscriptions.c
    if conn.execute(delete(subscriptions).where(s.id == subscription_id, s.kind == "alerts")).rowcount == 0:
        raise NotFound(f"alert subscription {subscription_id} does not exist")


def subscribers(conn: Connection, location_id: int) -> list[str]:
    """``email:ADDR`` of the enabled users subscribed to this location's alerts, directly or through its group,
    who may (still) see it; by address."""
    s = subscriptions.c
    group_of = select(locations.c.group_id).where(locations.c.id == location_id).scalar_subquery()
    rows = conn.execute(
        select(users.c.id, users.c.email)
        .join(subscriptions, s.user_id == users.c.id)
        .where(s.kind == "alerts", users.c.disabled_at.is_(None),
               or_(s.location_id == location_id, s.group_id == group_of))
        .distinct()
    ).all()  # fmt: skip
    return sorted(f"email:{email}" for user_id, email in rows if access_of(conn, user_id).may_see(location_id))
