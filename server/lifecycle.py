"""The life of a location and its kiosks: rename, change the time zone, archive, delete; rename and move a kiosk.

- **Rename** changes the name shown everywhere; ids, taps and figures stay.
- **Time zone.** Taps are stored with their local date and hour, and the rollups are keyed by them, as of ingest.
  A new zone applies to taps received from then on; history keeps the dates it was counted on until
  ``smilepost db rebuild-rollups --location ID`` (:mod:`server.rebuild`) recounts it in the new zone.
- **Archive**: the location is left off the overview (unless asked for), its data are kept, and its kiosks and web
  touchpoints are refused with a 403 that says why; a kiosk keeps its taps queued and sends them if the location
  is brought back (:func:`unarchive_location`).
- **Delete** removes the location and all its data (taps, rollups, kiosks, touchpoints, alerts, rules, targets,
  subscriptions, grants) and only when the caller repeats its name. The audit trail keeps its rows.
- **Move a kiosk** is a re-enrollment: the kiosk is retired (its token still delivers taps, which land at the old
  location, where they were recorded), and a pairing code for the new location is made. The device types it in
  and gets a new kiosk id there; its completeness counts carry over, since its sequence numbers go on.

Every change is recorded in the audit trail (:mod:`server.audit`). Raises :class:`server.InvalidInput` and
:class:`server.NotFound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select, update

from server import InvalidInput, NotFound, audit
from server.auth import kiosk_tokens
from server.auth.pairing import PairCode, create_pair_code
from server.db import (
    alert_rules,
    alerts,
    daily_rollups,
    filtered_rollups,
    group_locations,
    kiosks,
    locations,
    notifications,
    pair_codes,
    report_runs,
    rollups,
    score_rollups,
    score_sums,
    subscriptions,
    taps,
    targets,
    touchpoints,
    user_locations,
)
from server.locations import check_timezone

ARCHIVED = "location {id} is archived; the kiosk keeps its taps until the location is brought back"


@dataclass(frozen=True)
class Location:
    """A location as the lifecycle commands print it."""

    id: int
    name: str
    timezone: str
    archived_at: datetime | None


_LOCATION = (locations.c.id, locations.c.name, locations.c.timezone, locations.c.archived_at)


def get_location(conn: Connection, location_id: int) -> Location:
    """One location's name, zone and archive time. Raises NotFound for an unknown id."""
    row = conn.execute(select(*_LOCATION).where(locations.c.id == location_id)).first()
    if row is None:
        raise NotFound(f"location {location_id} does not exist")
    return Location(*row)


def list_locations(conn: Connection) -> list[Location]:
    """Every location, archived ones too, by id (one query)."""
    return [Location(*row) for row in conn.execute(select(*_LOCATION).order_by(locations.c.id))]


def rename_location(conn: Connection, location_id: int, name: str) -> Location:
    """Give a location a new name. Raises InvalidInput for an empty or over-long name, NotFound for an unknown id."""
    name = _check_name(name, "location")
    old = get_location(conn, location_id)
    if name != old.name:
        conn.execute(update(locations).where(locations.c.id == location_id).values(name=name))
        audit.record(conn, "location.rename", target=("location", location_id),
                     summary=f"location {location_id} renamed from {old.name!r} to {name!r}",
                     before={"name": old.name}, after={"name": name})  # fmt: skip
    return get_location(conn, location_id)


def set_timezone(conn: Connection, location_id: int, timezone: str) -> Location:
    """Change a location's time zone, for taps received from now on; stored taps and rollups keep their local
    dates until :func:`server.rebuild.rebuild_rollups` recounts them.

    Raises InvalidInput for a name that is not an IANA time zone, NotFound for an unknown id.
    """
    check_timezone(timezone)
    old = get_location(conn, location_id)
    if timezone != old.timezone:
        conn.execute(update(locations).where(locations.c.id == location_id).values(timezone=timezone))
        kiosk_tokens.forget_cached(location_id=location_id)  # its kiosks' next taps are dated in the new zone
        audit.record(conn, "location.timezone", target=("location", location_id),
                     summary=f"time zone of location {location_id} {old.name!r} changed from {old.timezone} to "
                             f"{timezone}",
                     before={"timezone": old.timezone}, after={"timezone": timezone})  # fmt: skip
    return get_location(conn, location_id)


def archive_location(conn: Connection, location_id: int, *, archived: bool = True) -> Location:
    """Archive a location (or, ``archived`` False, bring it back). Archiving an archived location changes nothing.

    Raises NotFound for an unknown id.
    """
    old = get_location(conn, location_id)
    if (old.archived_at is not None) != archived:
        when = datetime.now(UTC) if archived else None
        conn.execute(update(locations).where(locations.c.id == location_id).values(archived_at=when))
        kiosk_tokens.forget_cached(location_id=location_id)  # its kiosks are refused (or let back in) at once
        verb = "archive" if archived else "unarchive"
        audit.record(conn, f"location.{verb}", target=("location", location_id),
                     summary=f"location {location_id} {old.name!r} {verb}d",
                     before={"archived": old.archived_at is not None}, after={"archived": archived})  # fmt: skip
    return get_location(conn, location_id)


def archived_refusal(conn: Connection, location_id: int) -> str | None:
    """Why a kiosk or touchpoint of this location is refused (it is archived), or None when it is not."""
    archived = conn.execute(select(locations.c.archived_at).where(locations.c.id == location_id)).scalar()
    return ARCHIVED.format(id=location_id) if archived is not None else None


@dataclass(frozen=True)
class Deleted:
    """What deleting a location removed."""

    location_id: int
    name: str
    taps: int
    kiosks: int
    touchpoints: int


def delete_location(conn: Connection, location_id: int, *, confirm: str) -> Deleted:
    """Delete a location and all its data, when ``confirm`` is its name exactly (the explicit confirmation).

    Raises NotFound for an unknown id, InvalidInput when ``confirm`` is not the location's name.
    """
    place = get_location(conn, location_id)
    if confirm != place.name:
        raise InvalidInput(f"confirm: to delete location {location_id} and all its data, type its name {place.name!r}")
    mine = alerts.c.location_id == location_id
    conn.execute(update(notifications).where(notifications.c.alert_id.in_(select(alerts.c.id).where(mine)))
                 .values(alert_id=None))  # fmt: skip
    conn.execute(delete(alerts).where(mine))
    rules = select(alert_rules.c.id).where(alert_rules.c.location_id == location_id)
    conn.execute(delete(alerts).where(alerts.c.rule_id.in_(rules)))
    conn.execute(delete(alert_rules).where(alert_rules.c.location_id == location_id))
    subs = select(subscriptions.c.id).where(subscriptions.c.location_id == location_id)
    conn.execute(delete(report_runs).where(report_runs.c.subscription_id.in_(subs)))
    conn.execute(delete(subscriptions).where(subscriptions.c.location_id == location_id))
    counted = (rollups, daily_rollups, score_rollups, score_sums, filtered_rollups)
    for table in (targets, user_locations, group_locations, *counted):
        conn.execute(delete(table).where(table.c.location_id == location_id))
    tap_count = conn.execute(delete(taps).where(taps.c.location_id == location_id)).rowcount
    conn.execute(delete(pair_codes).where(pair_codes.c.location_id == location_id))
    points = conn.execute(delete(touchpoints).where(touchpoints.c.location_id == location_id)).rowcount
    kiosk_count = conn.execute(delete(kiosks).where(kiosks.c.location_id == location_id)).rowcount
    kiosk_tokens.forget_cached(location_id=location_id)
    conn.execute(delete(locations).where(locations.c.id == location_id))
    done = Deleted(location_id, place.name, tap_count, kiosk_count, points)
    audit.record(conn, "location.delete", target=("location", location_id),
                 summary=f"location {location_id} {place.name!r} deleted with its {tap_count} taps, {kiosk_count} "
                         f"kiosks and {points} web touchpoints",
                 before={"name": place.name, "timezone": place.timezone, "taps": tap_count, "kiosks": kiosk_count,
                         "touchpoints": points})  # fmt: skip
    return done


@dataclass(frozen=True)
class Kiosk:
    """A kiosk as the lifecycle commands print it."""

    id: str
    name: str
    location_id: int
    retired_at: datetime | None
    successor_id: str | None


_KIOSK = (kiosks.c.id, kiosks.c.name, kiosks.c.location_id, kiosks.c.retired_at, kiosks.c.successor_id)


def get_kiosk(conn: Connection, kiosk_id: str) -> Kiosk:
    """One kiosk. Raises NotFound for an unknown id."""
    row = conn.execute(select(*_KIOSK).where(kiosks.c.id == kiosk_id)).first()
    if row is None:
        raise NotFound(f"kiosk {kiosk_id} does not exist")
    return Kiosk(*row)


def list_kiosks(conn: Connection, *, location_id: int | None = None) -> list[Kiosk]:
    """Every kiosk (or those of one location), revoked and moved ones too, by location then id (one query)."""
    query = select(*_KIOSK).order_by(kiosks.c.location_id, kiosks.c.id)
    if location_id is not None:
        query = query.where(kiosks.c.location_id == location_id)
    return [Kiosk(*row) for row in conn.execute(query)]


def rename_kiosk(conn: Connection, kiosk_id: str, name: str) -> Kiosk:
    """Give a kiosk a new name. Raises InvalidInput for an empty or over-long name, NotFound for an unknown id."""
    name = _check_name(name, "kiosk")
    old = get_kiosk(conn, kiosk_id)
    if name != old.name:
        conn.execute(update(kiosks).where(kiosks.c.id == kiosk_id).values(name=name))
        audit.record(conn, "kiosk.rename", target=("kiosk", kiosk_id),
                     summary=f"kiosk {kiosk_id} renamed from {old.name!r} to {name!r}",
                     before={"name": old.name}, after={"name": name})  # fmt: skip
    return get_kiosk(conn, kiosk_id)


@dataclass(frozen=True)
class Move:
    """A kiosk being moved: the retired kiosk and the pairing code the device types in at its new location."""

    kiosk: Kiosk
    to_location_id: int
    code: PairCode


def move_kiosk(conn: Connection, kiosk_id: str, to_location_id: int) -> Move:
    """Retire a kiosk and make a pairing code (as :func:`server.auth.pairing.create_pair_code`) that gives the
    device a new kiosk id at ``to_location_id``, named as before; taps it still sends with its old token land at
    the old location.

    Raises NotFound for an unknown kiosk or location, InvalidInput for a revoked kiosk, one already moved, or a move
    to the location it is at.
    """
    kiosk = get_kiosk(conn, kiosk_id)
    revoked = conn.execute(select(kiosks.c.revoked_at).where(kiosks.c.id == kiosk_id)).scalar()
    if revoked is not None:
        raise InvalidInput(f"kiosk {kiosk_id} is revoked; pair the device anew at the new location")
    if kiosk.retired_at is not None:
        raise InvalidInput(f"kiosk {kiosk_id} was already moved; move the kiosk it became instead")
    if kiosk.location_id == to_location_id:
        raise InvalidInput(f"kiosk {kiosk_id} is already at location {to_location_id}")
    get_location(conn, to_location_id)
    code = create_pair_code(conn, location_id=to_location_id, kiosk_name=kiosk.name, predecessor_id=kiosk_id)
    conn.execute(update(kiosks).where(kiosks.c.id == kiosk_id).values(retired_at=datetime.now(UTC)))
    audit.record(conn, "kiosk.move", target=("kiosk", kiosk_id),
                 summary=f"kiosk {kiosk_id} {kiosk.name!r} retired to move from location {kiosk.location_id} to "
                         f"location {to_location_id}; a pairing code gives the device its new id",
                 before={"location_id": kiosk.location_id}, after={"location_id": to_location_id})  # fmt: skip
    return Move(get_kiosk(conn, kiosk_id), to_location_id, code)


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(f"name: a {what} name must not be empty")
    if len(name) > 200:
        raise InvalidInput(f"name: a {what} name has at most 200 characters, got {len(name)}")
    return name
