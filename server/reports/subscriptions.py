"""Report subscriptions: a user asks for a daily, weekly or monthly report of a location or group they may see, at
a local time (``HH:MM``) in their own time zone (``users.timezone``; unset: the zone of their first location).

Raises :class:`server.InvalidInput` (bad period, time or zone; neither or both of location and group),
:class:`server.NotFound` (unknown user, location, group or subscription) and :class:`server.Forbidden` (a scope
the user may not see).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from server import Forbidden, NotFound, audit
from server.auth.accounts import Access, access_of
from server.db import locations, subscriptions, users, webhooks
from server.locations import check_timezone
from server.notify.webhooks import active_webhook
from server.reports.data import Scope, scope_of
from server.reports.periods import Kind, check_kind, parse_hhmm

DEFAULT_AT = "08:00"
FALLBACK_ZONE = "UTC"  # a user who sees no location at all


@dataclass(frozen=True)
class Subscription:
    """A report subscription and whom it goes to."""

    id: int
    user_id: int
    email: str
    location_id: int | None
    group_id: int | None
    every: Kind
    at: str
    created_at: datetime
    webhook_id: int | None = None  # delivered to this webhook instead of the user's inbox

    @property
    def recipient(self) -> str:
        """Where the report goes: ``webhook:ID``, else ``email:ADDR`` (the user's)."""
        return f"webhook:{self.webhook_id}" if self.webhook_id is not None else f"email:{self.email}"


def may_see(access: Access, scope: Scope) -> bool:
    """Whether a user may see the whole scope: the location, or every location of the group."""
    return all(access.may_see(location_id) for location_id in scope.location_ids)


def subscribe(
    conn: Connection,
    *,
    user_id: int,
    location_id: int | None = None,
    group_id: int | None = None,
    every: str,
    at: str = DEFAULT_AT,
    webhook_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Subscribe a user to reports of a location or group every day, week or month at ``at`` (HH:MM, their time
    zone), by e-mail or, for an admin, to webhook ``webhook_id``; the subscription's id. Subscribing again to the
    same scope, period and webhook (or inbox) changes the time only.

    Raises InvalidInput for a bad period or time, neither or both of location and group, or a revoked webhook;
    NotFound for an unknown user, location, group or webhook; Forbidden when the user may not see all of it, or
    names a webhook without being an admin (a webhook's readers are not the user's to choose).
    """
    kind, when = check_kind(every), parse_hhmm(at).strftime("%H:%M")
    scope = scope_of(conn, location_id=location_id, group_id=group_id)
    access = access_of(conn, user_id)
    if not may_see(access, scope):
        raise Forbidden(f"user {user_id} may not see {scope.name!r}, so cannot have its reports")
    if webhook_id is not None:
        if not access.is_admin:
            raise Forbidden(f"--webhook: only an admin's reports go to a webhook ({access.email} is a {access.role})")
        active_webhook(conn, webhook_id, "--webhook")
    s = subscriptions.c
    mine = (s.user_id == user_id, s.kind == "report", s.period == kind,
            s.location_id.is_(None) if location_id is None else s.location_id == location_id,
            s.group_id.is_(None) if group_id is None else s.group_id == group_id,
            s.webhook_id.is_(None) if webhook_id is None else s.webhook_id == webhook_id)  # fmt: skip
    existing = conn.execute(select(s.id, s.at_time).where(*mine)).first()
    if existing is not None:
        conn.execute(update(subscriptions).where(s.id == existing.id).values(at_time=when))
        if existing.at_time != when:
            audit.record(conn, "subscription.report_time", target=("subscription", existing.id),
                         summary=f"report subscription {existing.id} of {access.email}: {kind} reports of "
                                 f"{scope.name!r} now at {when}",
                         before={"at": existing.at_time}, after={"at": when})  # fmt: skip
        return int(existing.id)
    row = conn.execute(
        insert(subscriptions).values(
            user_id=user_id, kind="report", location_id=location_id, group_id=group_id, period=kind, at_time=when,
            webhook_id=webhook_id, created_at=now or datetime.now(UTC),
        )
    )  # fmt: skip
    subscription_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    to = f"webhook {webhook_id}" if webhook_id is not None else access.email
    audit.record(conn, "subscription.report_add", target=("subscription", subscription_id),
                 summary=f"report subscription {subscription_id}: {kind} reports of {scope.name!r} at {when} to {to}",
                 after={"user_id": user_id, "location_id": location_id, "group_id": group_id, "every": kind,
                        "at": when, "webhook_id": webhook_id})  # fmt: skip
    return subscription_id


def unsubscribe(conn: Connection, subscription_id: int, *, user_id: int | None = None) -> None:
    """Delete a report subscription (its run history goes with it); with ``user_id``, only if it is that user's.

    Raises NotFound for an unknown one, and for another user's (alike, so ids cannot be probed).
    """
    s = subscriptions.c
    where = [s.id == subscription_id, s.kind == "report"] + ([s.user_id == user_id] if user_id is not None else [])
    row = conn.execute(select(s.user_id, s.location_id, s.group_id, s.period, s.at_time).where(*where)).first()
    if row is None or conn.execute(delete(subscriptions).where(*where)).rowcount == 0:
        raise NotFound(f"report subscription {subscription_id} does not exist")
    audit.record(conn, "subscription.report_remove", target=("subscription", subscription_id),
                 summary=f"report subscription {subscription_id} of user {row.user_id} stopped",
                 before={"user_id": row.user_id, "location_id": row.location_id, "group_id": row.group_id,
                         "every": row.period, "at": row.at_time})  # fmt: skip


def report_subscriptions(conn: Connection, user_id: int | None = None) -> list[Subscription]:
    """Every report subscription of an enabled user (or of user ``user_id``) to be sent, by id: not those to a
    revoked webhook, nor a webhook's whose user is no longer an admin."""
    s = subscriptions.c
    query = (
        select(s.id, s.user_id, users.c.email, s.location_id, s.group_id, s.period, s.at_time, s.created_at,
               s.webhook_id)
        .join(users, users.c.id == s.user_id)
        .outerjoin(webhooks, webhooks.c.id == s.webhook_id)
        .where(s.kind == "report", users.c.disabled_at.is_(None),
               or_(s.webhook_id.is_(None), and_(webhooks.c.revoked_at.is_(None), users.c.role == "admin")))
        .order_by(s.id)
    )  # fmt: skip
    if user_id is not None:
        query = query.where(s.user_id == user_id)
    return [
        Subscription(r.id, r.user_id, r.email, r.location_id, r.group_id, check_kind(r.period), r.at_time or DEFAULT_AT,
                     r.created_at, r.webhook_id)
        for r in conn.execute(query)
    ]  # fmt: skip


def set_user_timezone(conn: Connection, user_id: int, timezone: str | None) -> None:
    """Set the time zone a user's reports arrive in (an IANA name); None: the zone of their first location.

    Raises InvalidInput for an unknown zone, NotFound for an unknown user.
    """
    if timezone is not None:
        check_timezone(timezone)
    row = conn.execute(select(users.c.email, users.c.timezone).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    conn.execute(update(users).where(users.c.id == user_id).values(timezone=timezone))
    if row.timezone != timezone:
        audit.record(conn, "user.timezone", target=("user", user_id),
                     summary=f"user {user_id} {row.email}: report time zone {timezone or 'of their first location'}",
                     before={"timezone": row.timezone}, after={"timezone": timezone})  # fmt: skip


def own_timezone(conn: Connection, user_id: int) -> str | None:
    """The time zone the user set for their reports; None when they set none (or there is no such user)."""
    zone: str | None = conn.execute(select(users.c.timezone).where(users.c.id == user_id)).scalar()
    return zone


def user_timezone(conn: Connection, user_id: int) -> str:
    """The zone a user's reports are timed in: their own, else their first location's (lowest id they may see),
    else UTC. Raises NotFound for an unknown or disabled user."""
    own = conn.execute(select(users.c.timezone).where(users.c.id == user_id)).scalar()
    if own:
        return str(own)
    access = access_of(conn, user_id)
    query = select(locations.c.timezone).order_by(locations.c.id).limit(1)
    if access.location_ids is not None:
        query = query.where(locations.c.id.in_(sorted(access.location_ids)))
    return str(conn.execute(query).scalar() or FALLBACK_ZONE)
