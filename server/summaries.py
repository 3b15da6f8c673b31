"""Location summaries, computed from the rollups only (never by scanning taps).

Whole-day figures read the daily rollups, so the cost of a summary grows with the number of local days
asked for, not with the number of taps. Raises :class:`server.NotFound` and :class:`server.InvalidInput`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from server import InvalidInput, NotFound
from server.db import daily_rollups, locations
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
    """(scale, score, count) totals of a location's daily rollups over local dates [start, end)."""
    query = (
        select(daily_rollups.c.scale, daily_rollups.c.score, func.sum(daily_rollups.c.count))
        .where(
            daily_rollups.c.location_id == location_id,
            daily_rollups.c.question_id == question_id,
            daily_rollups.c.local_date >= start,
            daily_rollups.c.local_date < end,
        )
        .group_by(daily_rollups.c.scale, daily_rollups.c.score)
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
