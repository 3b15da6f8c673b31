"""Location summaries, computed from the hourly rollups only (never by scanning taps).

The cost of a summary grows with the number of local hours asked for, not with the number of
taps. Raises :class:`server.NotFound` and :class:`server.InvalidInput`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from server import InvalidInput, NotFound
from server.db import locations, rollups
from server.schemas import EstimateOut, LocationOut, LocationSummary, ShareOut
from shared import scores

MAX_RANGE_DAYS = 3700


def list_locations(conn: Connection) -> list[LocationOut]:
    """Every location, by id."""
    rows = conn.execute(select(locations).order_by(locations.c.id)).all()
    return [LocationOut(id=r.id, name=r.name, timezone=r.timezone, scale=r.scale) for r in rows]


def rollup_rows(
    conn: Connection, location_id: int, start: date, end: date, question_id: str = "main"
) -> list[tuple[int, int, int]]:
    """(scale, score, count) totals of a location's rollups over local dates [start, end)."""
    query = (
        select(rollups.c.scale, rollups.c.score, func.sum(rollups.c.count))
        .where(
            rollups.c.location_id == location_id,
            rollups.c.question_id == question_id,
            rollups.c.local_date >= start,
            rollups.c.local_date < end,
        )
        .group_by(rollups.c.scale, rollups.c.score)
    )
    return [(int(scale), int(score), int(count)) for scale, score, count in conn.execute(query)]


def location_summary(
    conn: Connection, location_id: int, start: date, end: date, question_id: str = "main"
) -> LocationSummary:
    """The summary of one location over local dates [start, end).

    Raises NotFound for an unknown location and InvalidInput when end is not after start or the
    range is longer than MAX_RANGE_DAYS.
    """
    if end <= start:
        raise InvalidInput(f"end ({end}) must be after start ({start}); end is exclusive")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidInput(f"date range is longer than {MAX_RANGE_DAYS} days")
    location = conn.execute(select(locations).where(locations.c.id == location_id)).first()
    if location is None:
        raise NotFound(f"location {location_id} does not exist")
    rows = rollup_rows(conn, location_id, start, end, question_id)
    return LocationSummary(
        location_id=location.id,
        location_name=location.name,
        timezone=location.timezone,
        question_id=question_id,
        start=start,
        end=end,
        scale=location.scale,
        responses=sum(count for _, _, count in rows),
        counts=scores.counts_by_score(rows, location.scale),
        happy_index=EstimateOut.of(scores.happy_index(rows)),
        csat=ShareOut.of(scores.csat(rows)),
        negative=ShareOut.of(scores.negative(rows)),
        nps=EstimateOut.of(scores.nps(rows)),
    )
