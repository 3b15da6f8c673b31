"""Alert subscriptions: a user asks to be told (by e-mail) about the alerts of a location, or of every location of a
group, that they may see. :func:`subscribers` is who :func:`server.alerts.lifecycle.recipients_for` adds to a rule's
own recipients; :func:`alert_subscriptions` lists one user's and :func:`visible_groups` the groups they may
subscribe to (the dashboard's ``/subscriptions`` page).

Raises :class:`server.InvalidInput` (neither or both of location and group), :class:`server.NotFound` (an unknown
user, location, group or subscription) and :class:`server.Forbidden` (a scope the user may not see).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, func, insert, or_, select

from server import Forbidden, NotFound, audit
from server.alerts.scope import check_scope
from server.auth.accounts import Access, access_of
from server.db import groups, locations, subscriptions, users
from server.groups import ancestry, locations_under


@dataclass(frozen=True)
class AlertSubscription:
    """One of a user's alert subscriptions: a location's (``location_id``) or a group's (``group_id``), by name."""

    id: int
    location_id: int | None
    group_id: int | None
    name: str  # the location's or the group's


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
    where = (locations.c.id == location_id if location_id is not None
             else locations.c.id.in_(locations_under([group_id or 0])))  # fmt: skip
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
    subscription_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, "subscription.alerts_add", target=("subscription", subscription_id),
                 summary=f"alert subscription {subscription_id}: {access.email} to the alerts of {scope}",
                 after={"user_id": user_id, "location_id": location_id, "group_id": group_id})  # fmt: skip
    return subscription_id


def unsubscribe_alerts(conn: Connection, subscription_id: int, *, user_id: int | None = None) -> None:
    """Stop an alert subscription; with ``user_id`` only if it is that user's.

    Raises NotFound for an unknown one, and for another user's (the same answer, so that ids cannot be probed).
    """
    s = subscriptions.c
    where = [s.id == subscription_id, s.kind == "alerts"] + ([s.user_id == user_id] if user_id is not None else [])
    row = conn.execute(select(s.user_id, s.location_id, s.group_id).where(*where)).first()
    if row is None or conn.execute(delete(subscriptions).where(*where)).rowcount == 0:
        raise NotFound(f"alert subscription {subscription_id} does not exist")
    audit.record(conn, "subscription.alerts_remove", target=("subscription", subscription_id),
                 summary=f"alert subscription {subscription_id} of user {row.user_id} stopped",
                 before={"user_id": row.user_id, "location_id": row.location_id, "group_id": row.group_id})  # fmt: skip


def alert_subscriptions(conn: Connection, user_id: int) -> list[AlertSubscription]:
    """A user's alert subscriptions with the name of their location or group, oldest first (none for an unknown
    user)."""
    s = subscriptions.c
    query = (
        select(s.id, s.location_id, s.group_id, func.coalesce(locations.c.name, groups.c.name).label("name"))
        .select_from(subscriptions.outerjoin(locations, locations.c.id == s.location_id)
                     .outerjoin(groups, groups.c.id == s.group_id))
        .where(s.user_id == user_id, s.kind == "alerts")
        .order_by(s.id)
    )  # fmt: skip
    return [AlertSubscription(r.id, r.location_id, r.group_id, r.name) for r in conn.execute(query)]


def visible_groups(conn: Connection, access: Access) -> list[tuple[int, str]]:
    """(id, name) of the groups with locations that the user may see every one of, by name: the groups whose alerts
    and reports they may have."""
    tree = ancestry()
    rows = conn.execute(
        select(groups.c.id, groups.c.name, tree.c.location_id)
        .join(tree, tree.c.group_id == groups.c.id)
        .order_by(groups.c.name, groups.c.id)
    ).all()
    hidden = {r.id for r in rows if not access.may_see(r.location_id)}
    return list(dict.fromkeys((r.id, r.name) for r in rows if r.id not in hidden))


def subscribers(conn: Connection, location_id: int) -> list[str]:
    """``email:ADDR`` of the enabled users subscribed to this location's alerts, directly or through one of its
    groups (or a group above one), who may (still) see it; by address."""
    s = subscriptions.c
    tree = ancestry([location_id])
    group_of = select(tree.c.group_id)
    rows = conn.execute(
        select(users.c.id, users.c.email)
        .join(subscriptions, s.user_id == users.c.id)
        .where(s.kind == "alerts", users.c.disabled_at.is_(None),
               or_(s.location_id == location_id, s.group_id.in_(group_of)))
        .distinct()
    ).all()  # fmt: skip
    return sorted(f"email:{email}" for user_id, email in rows if access_of(conn, user_id).may_see(location_id))
