"""Rebuilding the rollups from the stored taps (``smilepost db rebuild-rollups``), e.g. after a location's time zone
changed (:func:`server.lifecycle.set_timezone`).

For each location, each stored tap's local date and hour are computed again from its effective time in the
location's zone *now*, and every rollup (hourly, daily, per score and span, the sums per span, filtered) is
counted again from the taps (:func:`server.ingest.rollup_counts`, the same counting as ingest). Where the counts come
out the same as stored, nothing is written, so a location whose zone did not change is left byte-identical.

**Retention.** Once raw taps are deleted after ``retain_taps_days`` (:mod:`server.retention`), the rollups are the
only record of the days before: a rebuild recounts only the local dates from the first kept one
(:func:`server.retention.kept_from`), keeps the older rows as they are, and says from which date it recounted. A
tap whose new local date falls before that date (a zone change at the edge of the kept days) is left out of the
recount.

Each location is one transaction. Raises NotFound for an unknown location id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, and_, bindparam, delete, insert, select, update

from server import NotFound, audit
from server.db import locations, score_rollups, score_sums, taps
from server.ingest import (
    SCORE_KEY,
    SUMS_KEY,
    Counts,
    rollup_counts,
    rollup_rows,
    score_sums_of,
    spread_days,
    value_columns,
)
from server.retention import kept_from
from server.settings import Settings

# Columns a rollup is counted from (see server.ingest.tap_row).
_TAP_COLUMNS = ("id", "kiosk_id", "location_id", "question_id", "scale", "score", "effective_at", "local_date",
                "local_hour", "followup", "flags", "channel")  # fmt: skip
# A zone change moves a tap's local date by at most a day and some hours: taps this far before the first recounted
# date are read too, in case they move into it.
_SHIFT = timedelta(days=2)


@dataclass(frozen=True)
class LocationRebuild:
    """What a rebuild did at one location: taps whose local date or hour changed, rollup rows written (0: the
    stored ones were right), and the first local date recounted (None: all of them)."""

    location_id: int
    name: str
    timezone: str
    from_date: date | None
    taps_moved: int
    rows_written: int


def rebuild_rollups(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    location_ids: Iterable[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[LocationRebuild]:
    """Recount the rollups of the given locations (None: every location) from their taps, as of ``now`` for
    retention; ``progress`` is called with 1 after each location. Raises NotFound for an unknown location id."""
    with engine.connect() as conn:
        query = select(locations.c.id, locations.c.name, locations.c.timezone).order_by(locations.c.id)
        rows = conn.execute(query).all()
    wanted = None if location_ids is None else set(location_ids)
    if wanted is not None and (unknown := wanted - {row.id for row in rows}):
        raise NotFound(f"location {min(unknown)} does not exist")
    done = []
    for row in rows:
        if wanted is not None and row.id not in wanted:
            continue
        with engine.begin() as conn:
            first = kept_from(row.timezone, settings.retain_taps_days, now)
            done.append(_rebuild_location(conn, row.id, row.name, row.timezone, first))
        if progress is not None:
            progress(1)
    return done


def _rebuild_location(
    conn: Connection, location_id: int, name: str, timezone: str, first: date | None
) -> LocationRebuild:
    zone = ZoneInfo(timezone)
    query = select(*(taps.c[column] for column in _TAP_COLUMNS)).where(taps.c.location_id == location_id)
    if first is not None:
        query = query.where(taps.c.local_date >= first - _SHIFT)
    moved: list[dict[str, Any]] = []
    counted: list[dict[str, Any]] = []
    for tap in conn.execute(query).mappings():
        local = tap["effective_at"].astimezone(zone)
        row = dict(tap)
        if (local.date(), local.hour) != (tap["local_date"], tap["local_hour"]):
            row.update(local_date=local.date(), local_hour=local.hour)
            moved.append({"tap_id": tap["id"], "new_date": local.date(), "new_hour": local.hour})
        if first is None or row["local_date"] >= first:
            counted.append(row)
    if moved:
        conn.execute(
            update(taps).where(taps.c.id == bindparam("tap_id")).values(
                local_date=bindparam("new_date"), local_hour=bindparam("new_hour")),
            moved,
        )  # fmt: skip
    recounted = {table: (key, counts) for table, key, counts in rollup_counts(counted)}
    if first is not None:  # weeks and months also hold days before ``first``: every span is summed again from days
        scored = _with_days_before(
            conn, location_id, first, cast(Counter[tuple[Any, ...]], recounted[score_rollups][1])
        )
        recounted[score_rollups] = (SCORE_KEY, scored)
        recounted[score_sums] = (SUMS_KEY, score_sums_of(scored))
    written = 0
    for table, (key, counts) in recounted.items():
        recounted_from = None if table is score_rollups or table is score_sums else first
        written += _replace(conn, table, key, counts, location_id, recounted_from)
    if moved or written:
        since = f" from {first.isoformat()}" if first is not None else ""
        audit.record(conn, "location.rebuild_rollups", target=("location", location_id),
                     summary=f"rollups of location {location_id} {name!r} recounted{since} in {timezone}: "
                             f"{len(moved)} taps moved to another local date or hour, {written} rollup rows written",
                     after={"timezone": timezone, "from_date": first, "taps_moved": len(moved),
                            "rows_written": written})  # fmt: skip
    return LocationRebuild(location_id, name, timezone, first, len(moved), written)


def _with_days_before(
    conn: Connection, location_id: int, first: date, counts: Counter[tuple[Any, ...]]
) -> Counter[tuple[Any, ...]]:
    """Every ``score_rollups`` count of the location: its stored days before ``first`` (whose taps retention deleted),
    the days from ``first`` as recounted, and each week and month summed again from those days."""
    s = score_rollups.c
    kept = select(s.location_id, s.question_id, s.local_date, s.channel, s.scale, s.score, s.count).where(
        s.location_id == location_id, s.grain == "day", s.local_date < first
    )
    days: Counter[tuple[Any, ...]] = Counter({tuple(row[:-1]): row[-1] for row in conn.execute(kept)})
    for (loc, question_id, grain, day, scale, score, channel), n in counts.items():
        if grain == "day":
            days[loc, question_id, day, channel, scale, score] += n
    return spread_days(days)


def _replace(
    conn: Connection, table: Table, key: tuple[str, ...], counts: Counts, location_id: int, first: date | None
) -> int:
    """Make ``table``'s rows of the location (from ``first`` on) exactly ``counts``; rows written (0 when they
    already were)."""
    where = and_(table.c.location_id == location_id, *([table.c.local_date >= first] if first is not None else []))
    columns = value_columns(table, key)
    stored = {
        tuple(row[: len(key)]): row[-1] if len(columns) == 1 else tuple(row[len(key) :])
        for row in conn.execute(select(*(table.c[name] for name in (*key, *columns))).where(where))
    }
    if stored == dict(counts):
        return 0
    conn.execute(delete(table).where(where))
    values = rollup_rows(table, key, counts)
    if values:
        conn.execute(insert(table), values)
    return len(values)
