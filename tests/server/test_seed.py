"""The demo dataset (server.demo.seed): stored through ingest, realistic in time, reasons and fleet, deterministic."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from server import InvalidInput
from server.auth import accounts
from server.db import daily_rollups, group_locations, kiosks, make_engine, rollups, taps, upgrade, users
from server.demo.seed import SITES, SeedResult, seed
from server.locations import add_location, location_config

pytestmark = pytest.mark.slow  # in make test, not in the fast tier (make check)

TODAY = date(2026, 4, 5)  # the last 14 days cross Europe's switch to summer time (29 March)


def _seed(engine: Engine, **overrides: object) -> SeedResult:
    options: dict[str, object] = {"locations": 3, "days": 14, "today": TODAY, "rng_seed": 7}
    options.update(overrides)
    return seed(engine, **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Seeded:
    engine: Engine
    result: SeedResult


@pytest.fixture(scope="module")
def seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The default dataset (3 locations, 14 days), seeded once for the module's read-only tests (SQLite; the seed
    is checked on both databases by the tests that seed their own)."""
    path = tmp_path_factory.mktemp("seeded") / "smilepost.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield Seeded(engine, _seed(engine))
    engine.dispose()


def _scalar(engine: Engine, query: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one() or 0)  # type: ignore[call-overload]


def test_rollups_count_every_stored_tap_except_repeat_presses(engine: Engine) -> None:
    result = _seed(engine)
    stored = _scalar(engine, select(func.count()).select_from(taps))
    repeats = _scalar(engine, select(func.count()).select_from(taps).where(taps.c.flags.contains("repeat")))
    assert result.taps == stored > 3 * 14 * 50
    assert 0 < repeats < stored / 20
    assert _scalar(engine, select(func.sum(daily_rollups.c.count))) == stored - repeats
    assert _scalar(engine, select(func.sum(rollups.c.count))) == stored - repeats


def test_taps_fall_on_the_requested_local_days(seeded: Seeded) -> None:
    engine = seeded.engine
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(taps.c.local_date), func.max(taps.c.local_date))).one()
    assert (first, last) == (TODAY - timedelta(days=13), TODAY)


def test_locations_lie_in_several_time_zones_and_groups(engine: Engine) -> None:
    result = _seed(engine, locations=len(SITES), days=2)
    zones = {location.timezone for location in result.locations}
    assert {"Europe/Oslo", "America/New_York", "Asia/Kathmandu", "Australia/Adelaide", "America/St_Johns"} <= zones
    assert {location.scale for location in result.locations} == {3, 4, 5, 11}
    with engine.connect() as conn:
        grouped = conn.execute(select(func.count(group_locations.c.location_id.distinct()))).scalar_one()
    assert grouped == len(SITES) and len(result.groups) >= 3


def test_every_location_has_reasons_from_its_own_config(seeded: Seeded) -> None:
    engine = seeded.engine
    result = seeded.result
    with engine.connect() as conn:
        for location in result.locations:
            followup = location_config(conn, location.id).followup
            assert followup is not None
            offered = {*followup.negative_reasons, *followup.positive_reasons}
            given = Counter(
                row.followup
                for row in conn.execute(
                    select(taps.c.followup).where(taps.c.location_id == location.id, taps.c.followup.is_not(None))
                )
            )
            assert len(given) >= 3 and set(given) <= offered, (location.name, given)


def test_low_scores_get_negative_reasons_and_high_scores_positive_ones(seeded: Seeded) -> None:
    engine = seeded.engine
    result = seeded.result
    airport = result.locations[0]
    with engine.connect() as conn:
        rows = conn.execute(
            select(taps.c.score, taps.c.followup).where(taps.c.location_id == airport.id, taps.c.followup.is_not(None))
        ).all()
    assert {followup for score, followup in rows if score <= 2} <= set(SITES[0].profile.negative_reasons)
    assert {followup for score, followup in rows if score >= 4} <= set(SITES[0].profile.positive_reasons)


def test_the_airport_is_busy_in_the_morning_peak_and_closed_at_night(seeded: Seeded) -> None:
    engine = seeded.engine
    result = seeded.result
    with engine.connect() as conn:
        by_hour = dict(
            conn.execute(
                select(rollups.c.local_hour, func.sum(rollups.c.count))
                .where(rollups.c.location_id == result.locations[0].id)
                .group_by(rollups.c.local_hour)
            ).all()
        )
    night = sum(by_hour.get(hour, 0) for hour in range(0, 4))
    assert night == 0
    assert by_hour[7] > 4 * by_hour[4] and by_hour[7] > 2 * by_hour[22]


def test_scores_are_worse_in_the_airport_queue_peaks(seeded: Seeded) -> None:
    engine = seeded.engine
    result = seeded.result
    with engine.connect() as conn:
        rows = conn.execute(
            select(rollups.c.local_hour, rollups.c.score, rollups.c.count).where(
                rollups.c.location_id == result.locations[0].id
            )
        ).all()

    def mean(hours: set[int]) -> float:
        picked = [(score, count) for hour, score, count in rows if hour in hours]
        return sum(score * count for score, count in picked) / sum(count for _, count in picked)

    assert mean({7, 8}) < mean({10, 11, 12}) - 0.2


def test_the_declining_lane_scores_worse_in_its_last_week(engine: Engine) -> None:
    result = _seed(engine, locations=4, days=35)
    lane = next(location for location in result.locations if location.name == "Oslo Airport – Security B")
    week_ago = TODAY - timedelta(days=6)

    def mean(recent: bool) -> float:
        when = (
            daily_rollups.c.local_date >= week_ago
            if recent
            else daily_rollups.c.local_date < TODAY - timedelta(days=21)
        )
        query = select(func.sum(daily_rollups.c.score * daily_rollups.c.count) * 1.0 / func.sum(daily_rollups.c.count))
        with engine.connect() as conn:
            return float(conn.execute(query.where(daily_rollups.c.location_id == lane.id, when)).scalar_one())

    assert mean(recent=True) < mean(recent=False) - 0.3


def test_comments_are_in_several_languages(engine: Engine) -> None:
    result = _seed(engine, locations=len(SITES), days=7)
    with engine.connect() as conn:
        comments = {row.comment for row in conn.execute(select(taps.c.comment).where(taps.c.comment.is_not(None)))}
    assert len(comments) >= 10 and result.taps > 100 * len(comments)
    assert any("ø" in comment or "å" in comment for comment in comments)  # Norwegian
    assert any("\u3040" <= char <= "\u30ff" for comment in comments for char in comment)  # Japanese kana
    assert any(comment.isascii() for comment in comments)  # English


def test_some_kiosks_are_offline_with_taps_still_queued(engine: Engine) -> None:
    result = _seed(engine, today=None, days=3)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        fleet = conn.execute(select(kiosks)).all()
    offline = [k for k in fleet if k.last_seen_at < now - timedelta(hours=1)]
    assert len(offline) == result.offline_kiosks >= 1
    assert len(fleet) - len(offline) >= 1
    assert all(k.reported_seq == k.max_seq + k.queue_depth for k in fleet)  # nothing lost, only late
    assert sum(k.queue_depth for k in offline) == sum(location.queued for location in result.locations) > 0
    assert any(abs(k.clock_offset_seconds) > 120 for k in fleet)
    assert len({k.app_version for k in fleet}) == 2


def test_no_tap_is_later_than_now(engine: Engine) -> None:
    _seed(engine, today=None, days=2)
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(taps.c.tapped_at))).scalar_one()
    assert latest <= datetime.now(UTC)


def test_the_same_seed_gives_the_same_data(seeded: Seeded, tmp_path: Path) -> None:
    engine, first = seeded.engine, seeded.result
    other, changed_engine = _fresh(tmp_path / "again.db"), _fresh(tmp_path / "changed.db")
    second = _seed(other)
    changed = _seed(changed_engine, rng_seed=8)
    assert [loc.taps for loc in first.locations] == [loc.taps for loc in second.locations]
    assert [loc.taps for loc in first.locations] != [loc.taps for loc in changed.locations]
    content = select(taps.c.local_date, taps.c.local_hour, taps.c.tapped_at, taps.c.score, taps.c.followup)
    with engine.connect() as a, other.connect() as b:
        assert Counter(a.execute(content).all()) == Counter(b.execute(content).all())
    other.dispose()
    changed_engine.dispose()


def _fresh(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def test_demo_users_sign_in_and_see_what_they_were_granted(engine: Engine) -> None:
    result = _seed(engine)
    admin_user, group_manager, location_manager = result.users
    with engine.begin() as conn:
        seen = {}
        for user in result.users:
            user_id = accounts.authenticate(conn, user.email, user.password)
            assert user_id is not None, user.email
            seen[user.email] = accounts.access_of(conn, user_id).location_ids
        assert accounts.authenticate(conn, admin_user.email, "not-the-password") is None
        hashes = " ".join(row.password_hash for row in conn.execute(select(users.c.password_hash)))
    ids = [location.id for location in result.locations]
    assert seen[admin_user.email] is None
    assert seen[group_manager.email] == {ids[0]}  # the only Oslo Airport site among three
    assert seen[location_manager.email] == {ids[1]}
    assert all(user.password not in hashes and len(user.password) >= 10 for user in result.users)


def test_seeding_a_database_that_has_locations_is_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        add_location(conn, name="Real shop", timezone="Europe/Oslo")
    with pytest.raises(InvalidInput, match="already has 1 location"):
        _seed(engine)
    assert _scalar(engine, select(func.count()).select_from(kiosks)) == 0


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"locations": 0}, "locations must be 1..1000, got 0"),
        ({"days": 0}, "days must be 1..3660, got 0"),
        ({"taps_per_day": 0}, "taps per day must be at least 1, got 0"),
    ],
)
def test_counts_out_of_range_are_refused(engine: Engine, overrides: dict[str, int], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _seed(engine, **overrides)


def test_more_locations_than_hand_made_sites_become_coffee_shops(engine: Engine) -> None:
    result = _seed(engine, locations=len(SITES) + 3, days=1, taps_per_day=5)
    extra = result.locations[len(SITES) :]
    assert [location.name for location in extra] == [
        "Fika & Co. – Bergen #9",
        "Fika & Co. – Boston #10",
        "Fika & Co. – Osaka #11",
    ]
    assert len({location.name for location in result.locations}) == len(result.locations)


def test_progress_counts_every_location_day(engine: Engine) -> None:
    steps: list[int] = []
    _seed(engine, locations=2, days=5, progress=steps.append)
    assert sum(steps) == 10
