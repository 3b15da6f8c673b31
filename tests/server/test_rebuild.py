"""``smilepost db rebuild-rollups`` (#14): after a time zone change every tap's local date and hour, and every rollup,
are recounted in the new zone (checked against counts the test makes itself from the taps it sent); a location whose
zone did not change is left byte-identical; with retention on only the kept days are recounted, and it says so."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, Table, select

from server import lifecycle
from server.db import daily_rollups, filtered_rollups, rollups, score_rollups, score_sums, taps
from server.rebuild import rebuild_rollups
from server.settings import Settings
from tests.support.rollups import score_rollups_of, score_sums_of, stored_score_rollups, stored_score_sums

# Times either side of midnight in Oslo and New York, so a zone change moves taps to other dates and hours.
TIMES = ["2026-11-21T23:30:00Z", "2026-11-22T04:10:00Z", "2026-11-22T12:00:00Z", "2026-11-22T23:59:00Z"]
NEW_YORK = "America/New_York"


def _dump(
    engine: Engine,
    location_id: int,
    tables: tuple[Table, ...] = (rollups, daily_rollups, filtered_rollups, score_rollups, score_sums),
) -> list[tuple[Any, ...]]:
    """Every rollup row of a location, of every rollup table, in key order: what 'byte-identical' compares."""
    out: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        for table in tables:
            key = [column for column in table.primary_key.columns]
            rows = conn.execute(select(table).where(table.c.location_id == location_id).order_by(*key)).all()
            out.extend((table.name, *row) for row in rows)
    return out


@pytest.fixture
def sent(send, tap, enroll, make_location, client) -> dict[str, Any]:
    """Taps at TIMES (scores 1-4, one with a reason) at the Oslo location, and the same at a second location."""
    other = make_location(name="Bergen", timezone="Europe/Oslo")
    other_kiosk = enroll(other)
    bodies = [tap(tapped_at=at, score=score, followup="queue" if score == 1 else None)
              for score, at in enumerate(TIMES, start=1)]  # fmt: skip
    assert send(bodies).status_code == 200
    assert send([tap(tapped_at=at) for at in TIMES], token=other_kiosk.token).status_code == 200
    return {"taps": bodies, "other": other}


def test_a_new_time_zone_recounts_every_tap_on_its_local_date_and_hour_there(engine, location, sent, settings):
    with engine.begin() as conn:
        lifecycle.set_timezone(conn, location, NEW_YORK)
    zone = ZoneInfo(NEW_YORK)
    local = [datetime.fromisoformat(body["tapped_at"]).astimezone(zone) for body in sent["taps"]]
    hourly = Counter(
        (location, "main", t.date(), t.hour, 5, b["score"]) for t, b in zip(local, sent["taps"], strict=True)
    )
    daily = Counter((t.date(), b["score"], b["followup"] or "") for t, b in zip(local, sent["taps"], strict=True))

    done = rebuild_rollups(engine, settings, datetime.now(UTC), location_ids=[location])

    with engine.connect() as conn:
        hourly_rows = conn.execute(select(rollups).where(rollups.c.location_id == location))
        stored_hourly = {
            (r.location_id, r.question_id, r.local_date, r.local_hour, r.scale, r.score): r._mapping["count"]
            for r in hourly_rows
        }
        stored_daily = {
            (r.local_date, r.score, r.followup): r._mapping["count"]
            for r in conn.execute(select(daily_rollups).where(daily_rollups.c.location_id == location))
        }
        dates = sorted(conn.execute(select(taps.c.local_date).where(taps.c.location_id == location)).scalars())
    assert stored_hourly == dict(hourly)
    assert stored_daily == dict(daily)
    assert _score_rows(engine, location) == dict(score_rollups_of(_taps_of(engine, location)))
    assert _sums_of(engine, location) == score_sums_of(_taps_of(engine, location))
    assert dates == sorted(t.date() for t in local)
    assert [(d.location_id, d.taps_moved > 0, d.rows_written > 0, d.from_date) for d in done] == [
        (location, True, True, None)
    ]


def test_a_location_whose_zone_did_not_change_is_left_byte_identical(engine, location, sent, settings):
    other = sent["other"]
    before = _dump(engine, other)
    with engine.begin() as conn:
        lifecycle.set_timezone(conn, location, NEW_YORK)

    done = {d.location_id: d for d in rebuild_rollups(engine, settings, datetime.now(UTC))}

    assert _dump(engine, other) == before
    assert (done[other].taps_moved, done[other].rows_written) == (0, 0)
    assert done[location].rows_written > 0


def test_with_retention_only_the_kept_days_are_recounted_and_older_ones_keep_their_figures(
    engine, location, sent, settings: Settings
):
    keep = settings.model_copy(update={"retain_taps_days": 3})
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)  # Oslo's first kept date: 2026-11-22
    with engine.begin() as conn:
        lifecycle.set_timezone(conn, location, NEW_YORK)
    dated = (rollups, daily_rollups, filtered_rollups)
    older = [row for row in _dump(engine, location, dated) if row[3] < datetime(2026, 11, 22).date()]
    older_days = {k: n for k, n in _score_rows(engine, location).items() if k[2] == "day" and k[3] < date(2026, 11, 22)}

    done = rebuild_rollups(engine, keep, now, location_ids=[location])

    assert done[0].from_date == datetime(2026, 11, 22).date()
    assert [row for row in _dump(engine, location, dated) if row[3] < done[0].from_date] == older
    # Days before the first kept date keep their counts; every week and month is still the sum of its days.
    scored = _score_rows(engine, location)
    days = {k: n for k, n in scored.items() if k[2] == "day"}
    assert {k: n for k, n in days.items() if k[3] < done[0].from_date} == older_days
    day_rows = [{"location_id": k[0], "question_id": k[1], "local_date": k[3], "scale": k[4], "score": k[5],
                 "channel": k[6]} for k, n in days.items() for _ in range(n)]  # fmt: skip
    assert scored == dict(score_rollups_of(day_rows))
    assert _sums_of(engine, location) == score_sums_of(day_rows)
    with engine.connect() as conn:
        recounted = conn.execute(
            select(daily_rollups.c.local_date, daily_rollups.c.count)
            .where(daily_rollups.c.location_id == location, daily_rollups.c.local_date >= done[0].from_date)
        ).all()  # fmt: skip
    # New York dates of the taps from 2026-11-22 on: 04:10Z -> 21st (left out), 12:00Z and 23:59Z -> 22nd
    assert sorted((day.isoformat(), n) for day, n in recounted) == [("2026-11-22", 1), ("2026-11-22", 1)]


def _score_rows(engine: Engine, location_id: int) -> dict[tuple[Any, ...], int]:
    return {k: n for k, n in stored_score_rollups(engine).items() if k[0] == location_id}


def _sums_of(engine: Engine, location_id: int) -> dict[tuple[Any, ...], tuple[int, int, int, int]]:
    return {k: sums for k, sums in stored_score_sums(engine).items() if k[0] == location_id}


def _taps_of(engine: Engine, location_id: int) -> list[Any]:
    with engine.connect() as conn:
        return [row._mapping for row in conn.execute(select(taps).where(taps.c.location_id == location_id))]
