"""Retention (server.retention, ``smilepost db purge``): old taps deleted and old comments cleared by local date,
the rollups kept so every summary stays equal; the what-if replay refuses dates whose taps are gone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from server.auth import accounts
from server.db import daily_rollups, filtered_rollups, locations, rollups, taps
from server.demo.seed import SeedResult, seed
from server.retention import RESEND_GRACE, kept_from, purge
from server.scheduler import Background
from server.settings import Settings
from tests.support.cli import cli_runner
from tests.support.sessions import PASSWORD, sign_in

TAPS_DAYS = 120
COMMENTS_DAYS = 30
NOW = datetime.now(UTC)
TODAY = NOW.date()


@pytest.fixture
def settings(tmp_path: Any, database_url: str) -> Settings:
    """The suite's settings with taps kept 120 days and comments 30."""
    return Settings(data_dir=tmp_path, database_url=database_url, kiosk_rate_limit=0, background=False,
                    retain_taps_days=TAPS_DAYS, retain_comments_days=COMMENTS_DAYS)  # fmt: skip


@pytest.fixture
def seeded(engine: Engine) -> SeedResult:
    """Two locations (Oslo, New York) with 400 local days of taps, all received two days ago."""
    result = seed(engine, locations=2, days=400, taps_per_day=5, rng_seed=3)
    with engine.begin() as conn:
        conn.execute(update(taps).values(received_at=NOW - timedelta(days=2)))
    return result


def _taps(engine: Engine) -> dict[str, tuple[int, date, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(taps.c.id, taps.c.location_id, taps.c.local_date, taps.c.comment))
        return {str(row.id): (row.location_id, row.local_date, row.comment) for row in rows}


def _zones(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {row.id: row.timezone for row in conn.execute(select(locations.c.id, locations.c.timezone))}


def _kept_from(zone: str, days: int) -> date:
    kept = kept_from(zone, days, NOW)
    assert kept is not None
    return kept


def _rollup_totals(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(conn.execute(select(func.sum(table.c["count"]))).scalar_one() or 0)
                for table in (rollups, daily_rollups, filtered_rollups)]  # fmt: skip


SUMMARIES = [
    (-400, 1, ""),
    (-400, 1, "&granularity=month"),
    (-400, 1, "&granularity=week&channel=kiosk"),
    (-200, -100, "&granularity=week&compare=year"),
    (-130, -110, "&granularity=day"),  # across the taps' horizon
    (-45, -20, "&granularity=day"),  # across the comments' horizon
    (-30, 1, ""),
]


def test_summaries_over_any_range_are_equal_after_the_purge(client, engine, seeded, settings, api_key):
    def summaries() -> list[Any]:
        answers = []
        for location in (1, 2):
            for first, end, extra in SUMMARIES:
                query = f"start={TODAY + timedelta(days=first)}&end={TODAY + timedelta(days=end)}{extra}"
                response = client.get(f"/api/v1/locations/{location}/summary?{query}",
                                      headers={"Authorization": f"Bearer {api_key}"})  # fmt: skip
                assert response.status_code == 200, response.text
                answers.append(response.json())
        return answers

    before, totals = summaries(), _rollup_totals(engine)
    report = purge(engine, settings, NOW)

    assert report.taps_deleted > 2000 and report.comments_cleared > 0
    assert summaries() == before
    assert _rollup_totals(engine) == totals


def test_taps_before_the_horizon_are_deleted_and_comments_cleared_the_rest_stay(engine, seeded, settings):
    before, zones = _taps(engine), _zones(engine)
    advanced: list[int] = []

    report = purge(engine, settings, NOW, batch_rows=1000, progress=advanced.append)

    after = _taps(engine)
    taps_from = {place: _kept_from(zone, TAPS_DAYS) for place, zone in zones.items()}
    comments_from = {place: _kept_from(zone, COMMENTS_DAYS) for place, zone in zones.items()}
    gone = {tap for tap, (place, day, _) in before.items() if day < taps_from[place]}
    cleared = {tap for tap, (place, day, comment) in before.items()
               if comment is not None and taps_from[place] <= day < comments_from[place]}  # fmt: skip
    assert gone and cleared
    assert set(after) == set(before) - gone
    for tap, (_, _, comment) in after.items():
        assert comment == (None if tap in cleared else before[tap][2])
    by_place = {place.location_id: place for place in report.locations}
    for place in (1, 2):
        assert by_place[place].taps_deleted == sum(before[tap][0] == place for tap in gone)
        assert by_place[place].comments_cleared == sum(before[tap][0] == place for tap in cleared)
        assert by_place[place].taps_before == taps_from[place]
        assert by_place[place].comments_before == comments_from[place]
    assert (report.taps_deleted, report.comments_cleared) == (len(gone), len(cleared))
    assert sum(advanced) == len(gone) + len(cleared) and max(advanced) <= 1000


def test_a_dry_run_counts_exactly_what_the_purge_removes_and_a_second_purge_removes_nothing(engine, seeded, settings):
    stored = _taps(engine)

    dry = purge(engine, settings, NOW, dry_run=True)
    unchanged = _taps(engine)
    real = purge(engine, settings, NOW)
    again = purge(engine, settings, NOW)

    assert unchanged == stored
    assert dry.dry_run and not real.dry_run
    assert {**dry.to_json(), "dry_run": False} == real.to_json()
    assert real.taps_deleted > 0
    assert (again.taps_deleted, again.comments_cleared) == (0, 0)


def test_retention_off_keeps_everything(engine, seeded, settings):
    report = purge(engine, settings.model_copy(update={"retain_taps_days": 0, "retain_comments_days": 0}), NOW)

    assert (report.taps_deleted, report.comments_cleared) == (0, 0)
    assert all(place.taps_before is None for place in report.locations)


def test_taps_received_within_the_resend_grace_are_kept_however_old(engine, seeded, settings):
    with engine.begin() as conn:
        resent = set(conn.execute(select(taps.c.id).order_by(taps.c.local_date).limit(5)).scalars())
        conn.execute(update(taps).where(taps.c.id.in_(resent)).values(received_at=NOW - RESEND_GRACE / 2))

    purge(engine, settings, NOW)

    with engine.connect() as conn:
        assert set(conn.execute(select(taps.c.id).where(taps.c.local_date < TODAY - timedelta(days=200))).scalars()) \
            == resent  # fmt: skip


def test_the_leader_purges_once_a_day_and_other_instances_never(engine, seeded, settings):
    leader, other = Background(engine, settings), Background(engine, settings)

    assert leader.purge_tick(NOW)
    assert not other.purge_tick(NOW)  # the scheduler lease is the leader's
    assert not leader.purge_tick(NOW + timedelta(hours=23))
    assert leader.purge_tick(NOW + timedelta(days=1))
    assert not Background(engine, settings.model_copy(update={"retain_taps_days": 0, "retain_comments_days": 0})
                          ).purge_tick(NOW)  # fmt: skip


def _summary(client, api_key, first: int, end: int, extra: str = "") -> Any:
    query = f"start={TODAY + timedelta(days=first)}&end={TODAY + timedelta(days=end)}&what_if_repeat_seconds=10{extra}"
    return client.get(f"/api/v1/locations/1/summary?{query}", headers={"Authorization": f"Bearer {api_key}"})


def test_a_what_if_reaching_past_the_kept_taps_is_a_422_naming_the_parameter(client, api_key, location):
    refused = _summary(client, api_key, -TAPS_DAYS, -TAPS_DAYS + 30)
    compared = _summary(client, api_key, -TAPS_DAYS + 40, -TAPS_DAYS + 80, "&granularity=week")  # before: -120..-80
    allowed = _summary(client, api_key, -TAPS_DAYS + 41, -TAPS_DAYS + 81)

    assert refused.status_code == 422 and compared.status_code == 422
    assert refused.json()["message"].startswith("what_if_repeat_seconds: raw taps are kept 120 days")
    assert allowed.status_code == 200, allowed.text


def test_the_location_page_says_a_what_if_cannot_reach_past_the_kept_taps(client, engine, location):
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    sign_in(client, "admin@example.com")

    page = client.get(f"/locations/{location}?range=30d&what_if=10")  # compared with the 30 days before: kept
    old = client.get(f"/locations/{location}?range=custom&start={TODAY - timedelta(days=150)}"
                     f"&last={TODAY - timedelta(days=100)}&what_if=10")  # fmt: skip

    assert page.status_code == old.status_code == 200
    assert 'id="what-if"' in page.text and 'role="alert"' not in page.text
    assert 'role="alert"' in old.text and "raw taps are kept 120 days (retention)" in old.text
    assert 'id="what-if"' not in old.text


# --- smilepost db purge ---------------------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path, monkeypatch, database_url):
    """``run(*args)`` -> the CLI's result on the test database, taps kept 120 days and comments 30."""
    invoke = cli_runner(tmp_path, monkeypatch)
    monkeypatch.setenv("SMILEPOST_DATABASE_URL", database_url)
    monkeypatch.setenv("SMILEPOST_RETAIN_TAPS_DAYS", str(TAPS_DAYS))
    monkeypatch.setenv("SMILEPOST_RETAIN_COMMENTS_DAYS", str(COMMENTS_DAYS))
    return invoke


def test_db_purge_dry_run_reports_and_deletes_nothing_then_purge_prints_what_it_removed(run, engine, seeded):
    stored = _taps(engine)

    dry = run("db", "purge", "--dry-run", "--json")
    dry_human = run("db", "purge", "--dry-run")
    unchanged = _taps(engine)
    human = run("db", "purge")
    again = run("db", "purge", "--json")

    assert dry.exit_code == 0, dry.output
    counted = json.loads(dry.output)
    assert counted["dry_run"] is True and counted["taps_deleted"] > 2000 and counted["comments_cleared"] > 0
    assert [place["location_id"] for place in counted["locations"]] == [1, 2]
    assert unchanged == stored
    assert f"{counted['taps_deleted']:,} taps would be deleted" in dry_human.output
    assert "dry run: nothing changed" in dry_human.output
    assert human.exit_code == 0, human.output
    assert (f"{counted['taps_deleted']:,} taps deleted (kept 120 days), {counted['comments_cleared']:,} comments "
            "cleared (kept 30 days); rollups and summaries unchanged") in human.output  # fmt: skip
    assert "location 1 Oslo Airport" in human.output
    assert len(_taps(engine)) == len(stored) - counted["taps_deleted"]
    assert json.loads(again.output)["taps_deleted"] == json.loads(again.output)["comments_cleared"] == 0


def test_db_purge_without_retention_says_it_is_off(run, monkeypatch, location):
    monkeypatch.setenv("SMILEPOST_RETAIN_TAPS_DAYS", "0")
    monkeypatch.setenv("SMILEPOST_RETAIN_COMMENTS_DAYS", "0")

    result = run("db", "purge")

    assert result.exit_code == 0, result.output
    assert "retention is off" in result.output
