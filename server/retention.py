"""Retention (#14): comment texts cleared and raw taps deleted once older than the settings say, the rollups kept, so
every summary over any period stays exactly what it was.

**Age is the tap's local date** (its effective time in the location's zone, as stored by ingest), the key of the
rollups and of every summary range: with ``retain_taps_days = N`` a location keeps the taps of its local dates from
``local today − N`` on (:func:`kept_from`) and loses the older ones, whole local days at a time, so the raw taps
left always cover whole days that the rollups cover too. ``retain_comments_days`` does the same for comment texts
(set NULL; the tap and its figures stay). 0 keeps them for ever (the default).

A tap received within :data:`RESEND_GRACE` is never touched: a kiosk resending a batch whose answer it lost must find
its taps stored (a duplicate), or they would be stored, and counted in the rollups, a second time.

:func:`purge` deletes in batches of :data:`BATCH_ROWS` rows, each its own short transaction, so a large purge never
holds SQLite's write lock (or PostgreSQL row locks) for long and ingest goes on between batches. It runs on the
scheduler's leader once a day (:class:`server.scheduler.Background`) and as ``smilepost db purge``.

Raises nothing of its own; database errors propagate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, delete, func, select, update

from server import audit
from server.db import locations, taps
from server.settings import Settings

BATCH_ROWS = 10_000  # rows changed per transaction
RESEND_GRACE = timedelta(hours=1)  # taps received this recently are kept whatever their date


def kept_from(timezone: str, days: int, now: datetime) -> date | None:
    """The first local date (in ``timezone``) whose data is kept when data is kept ``days`` days; None for 0 (kept
    for ever). Raises ZoneInfoNotFoundError for an unknown zone (locations are checked when created)."""
    if days <= 0:
        return None
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=days)


@dataclass(frozen=True)
class LocationPurge:
    """What a purge removed (or, dry, would remove) at one location: comment texts cleared on taps that stay (a
    deleted tap's comment goes with it), taps deleted, and the local dates before which each went (None: kept)."""

    location_id: int
    name: str
    comments_before: date | None
    taps_before: date | None
    comments_cleared: int = 0
    taps_deleted: int = 0


@dataclass(frozen=True)
class PurgeReport:
    """A purge's counts per location; ``dry_run``: nothing was changed, the counts are what it would remove."""

    now: datetime
    dry_run: bool
    locations: tuple[LocationPurge, ...]

    @property
    def comments_cleared(self) -> int:
        return sum(place.comments_cleared for place in self.locations)

    @property
    def taps_deleted(self) -> int:
        return sum(place.taps_deleted for place in self.locations)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready values (dates ISO 8601)."""
        places = [
            {**asdict(place), "comments_before": _iso(place.comments_before), "taps_before": _iso(place.taps_before)}
            for place in self.locations
        ]
        return {"now": self.now.isoformat(), "dry_run": self.dry_run, "comments_cleared": self.comments_cleared,
                "taps_deleted": self.taps_deleted, "locations": places}  # fmt: skip


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def purge(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
) -> PurgeReport:
    """Delete every location's taps older than ``settings.retain_taps_days`` and clear the comments of the rest
    older than ``settings.retain_comments_days``, as of ``now``, ``batch_rows`` rows per transaction; the rollups
    are left as they are. ``progress`` is called with the rows of each batch done. With ``dry_run`` only count.

    A second purge at the same ``now`` removes nothing. Database errors propagate (batches already committed
    stay; the next purge goes on from there).
    """
    places = []
    with engine.connect() as conn:
        rows = conn.execute(select(locations.c.id, locations.c.name, locations.c.timezone).order_by(locations.c.id))
        for location_id, name, timezone in rows.all():
            comments = kept_from(timezone, settings.retain_comments_days, now)
            taps_ = kept_from(timezone, settings.retain_taps_days, now)
            places.append(LocationPurge(location_id, name, comments, taps_))
    done = tuple(_purge_location(engine, place, now, dry_run, batch_rows, progress) for place in places)
    if not dry_run:
        _record(engine, done)
    return PurgeReport(now=now, dry_run=dry_run, locations=done)


def _record(engine: Engine, done: tuple[LocationPurge, ...]) -> None:
    """Note in the audit trail, per location, what the purge removed (locations where it removed nothing: no row).
    After the batches, which commit one by one: the counts are what was removed."""
    with engine.begin() as conn:
        for place in done:
            if not (place.taps_deleted or place.comments_cleared):
                continue
            audit.record(conn, "retention.purge", target=("location", place.location_id),
                         summary=f"purge at location {place.location_id} {place.name!r}: {place.taps_deleted} taps "
                                 f"before {place.taps_before} deleted, {place.comments_cleared} comments before "
                                 f"{place.comments_before} cleared",
                         after={"taps_deleted": place.taps_deleted, "taps_before": place.taps_before,
                                "comments_cleared": place.comments_cleared,
                                "comments_before": place.comments_before})  # fmt: skip


def _purge_location(
    engine: Engine,
    place: LocationPurge,
    now: datetime,
    dry_run: bool,
    batch_rows: int,
    progress: Callable[[int], None] | None,
) -> LocationPurge:
    """One location's purge: its old taps first (their comments go with them), then the comments left."""
    deleted = cleared = 0
    if place.taps_before is not None:
        where = _older(place.location_id, place.taps_before, now)
        deleted = _apply(engine, where, None, dry_run, batch_rows, progress)
    if place.comments_before is not None:
        where = [*_older(place.location_id, place.comments_before, now), taps.c.comment.is_not(None)]
        if place.taps_before is not None and dry_run:  # those taps would be deleted, comment and all
            where.append(taps.c.local_date >= place.taps_before)
        cleared = _apply(engine, where, {"comment": None}, dry_run, batch_rows, progress)
    return LocationPurge(place.location_id, place.name, place.comments_before, place.taps_before, cleared, deleted)


def _older(location_id: int, before: date, now: datetime) -> list[ColumnElement[bool]]:
    """A location's taps on local dates before ``before``, received before the resend grace."""
    t = taps.c
    return [t.location_id == location_id, t.local_date < before, t.received_at < now - RESEND_GRACE]


def _apply(
    engine: Engine,
    where: list[ColumnElement[bool]],
    values: dict[str, Any] | None,
    dry_run: bool,
    batch_rows: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Delete the taps ``where`` picks (``values`` None) or set ``values`` on them, ``batch_rows`` per transaction
    until none is left; how many. With ``dry_run`` only count them."""
    if dry_run:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(taps).where(*where)).scalar_one())
    total = 0
    while True:
        batch = taps.c.id.in_(select(taps.c.id).where(*where).limit(batch_rows))
        statement = delete(taps).where(batch) if values is None else update(taps).where(batch).values(**values)
        with engine.begin() as conn:
            changed = conn.execute(statement).rowcount
        total += changed
        if progress is not None and changed:
            progress(changed)
        if changed < batch_rows:
            return total
