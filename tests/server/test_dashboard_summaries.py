"""The dashboard's numbers (server.analytics): periods, the overview with ranking, one location in depth.

Expected values are worked out by hand in the comments from the taps each test sends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from server import InvalidInput, NotFound
from server import groups as server_groups
from server.analytics import dashboard, summaries
from server.analytics.summaries import Period, period_for
from server.locations import configure_location
from shared.protocol import FollowUp, LocationConfig

# A fixed "now": 2026-11-23 10:00 UTC is 11:00 in Oslo and 15:45 in Kathmandu, the same local date in both.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)


def at(day: date, hour_utc: int = 10, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour_utc, minute, tzinfo=UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("range_name", "start", "last", "expected"),
    [
        ("today", None, None, Period(TODAY, TODAY + timedelta(days=1))),
        ("7d", None, None, Period(date(2026, 11, 17), date(2026, 11, 24))),
        ("30d", None, None, Period(date(2026, 10, 25), date(2026, 11, 24))),
        ("custom", date(2026, 1, 1), date(2026, 1, 31), Period(date(2026, 1, 1), date(2026, 2, 1))),
        ("custom", date(2026, 1, 1), date(2026, 1, 1), Period(date(2026, 1, 1), date(2026, 1, 2))),
    ],
)
def test_period_for_names_local_dates_ending_today_or_the_custom_range_inclusive(range_name, start, last, expected):
    period = period_for(range_name, TODAY, start, last)

    assert period == expected
    assert period.previous() == Period(expected.start - timedelta(days=expected.days), expected.start)


@pytest.mark.parametrize(
    ("range_name", "start", "last", "message"),
    [
        ("week", None, None, "range must be one of today, 7d, 30d, 365d, custom"),
        ("custom", None, date(2026, 1, 1), "needs both a start and a last date"),
        ("custom", date(2026, 2, 1), date(2026, 1, 1), "before the start"),
        ("custom", date(2000, 1, 1), date(2026, 1, 1), "longer than"),
    ],
)
def test_period_for_rejects_what_a_picker_cannot_mean(range_name, start, last, message):
    with pytest.raises(InvalidInput, match=message):
        period_for(range_name, TODAY, start, last)


def test_local_today_follows_the_location_zone():
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert summaries.local_today("Europe/Oslo", late) == date(2026, 11, 24)
    assert summaries.local_today("America/New_York", late) == date(2026, 11, 23)


def _send_scores(send, tap, day: date, scores: dict[int, int], token=None, scale: int = 5, **extra) -> None:
    taps = [tap(score=s, scale=scale, tapped_at=at(day), **extra) for s, n in scores.items() for _ in range(n)]
    assert send(taps, token=token).json()["accepted"] == len(taps)


def test_overview_gives_scores_now_and_before_change_and_trend_per_location(engine, send, tap, location):
    # Today: 5,5,5,4,1 -> index = 100*(4+4+4+3+0)/4/5 = 75.0, CSAT 4/5 = 80 %, negative 1/5 = 20 %.
    _send_scores(send, tap, TODAY, {5: 3, 4: 1, 1: 1})
    # Five days ago: 3,3 -> 50.0. Ten days ago (the 7 days before): 1,2 -> 12.5.
    _send_scores(send, tap, TODAY - timedelta(days=5), {3: 2})
    _send_scores(send, tap, TODAY - timedelta(days=10), {1: 1, 2: 1})

    with engine.connect() as conn:
        [today] = dashboard.overview(conn, None, "today", now=NOW)
        [week] = dashboard.overview(conn, None, "7d", now=NOW)

    assert (today.now.responses, today.now.happy_index.value) == (5, 75.0)
    assert (today.now.csat.value, today.now.negative.value) == (80.0, 20.0)
    assert today.before.responses == 0 and today.change is None
    # 7 days: (1 + 1 + 1 + 0.75 + 0 + 0.5 + 0.5) / 7 * 100 = 67.86; before: (0 + 0.25) / 2 = 12.5.
    assert week.now.responses == 7
    assert week.now.happy_index.value == pytest.approx(475 / 7)
    assert week.before.happy_index.value == pytest.approx(12.5)
    assert week.change == pytest.approx(475 / 7 - 12.5)
    assert week.trend == [None, 50.0, None, None, None, None, 75.0]  # one point per local day, oldest first
    assert week.rank == 1 and week.ranking == pytest.approx(475 / 7)  # alone: shrunk toward itself


def test_overview_ranking_shrinks_a_small_sample_toward_the_overall_index(engine, client, make_location, enroll, tap):
    names = ("Good", "Poor", "Tiny")
    tokens = {name: enroll(make_location(name=name)).token for name in names}

    def send_to(token, scores):
        taps = [tap(score=s, tapped_at=at(TODAY)) for s, n in scores.items() for _ in range(n)]
        body = {"sent_at": datetime.now(UTC).isoformat(), "boot_id": "x", "mono_ns": 1, "taps": taps}
        assert client.post("/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    send_to(tokens["Good"], {5: 20, 4: 80})  # index (20*1 + 80*0.75)/100 = 80.0, n = 100
    send_to(tokens["Poor"], {4: 40, 3: 60})  # index (40*0.75 + 60*0.5)/100 = 60.0, n = 100
    send_to(tokens["Tiny"], {5: 2})  # index 100.0, but n = 2
    with engine.connect() as conn:
        rows = {row.name: row for row in dashboard.overview(conn, None, "today", now=NOW)}

    overall = (80.0 * 100 + 60.0 * 100 + 100.0 * 2) / 202  # 70.30
    assert rows["Tiny"].ranking == pytest.approx((overall * 20 + 100.0 * 2) / 22)  # 72.99
    assert rows["Good"].ranking == pytest.approx((overall * 20 + 80.0 * 100) / 120)  # 78.38
    assert rows["Poor"].ranking == pytest.approx((overall * 20 + 60.0 * 100) / 120)  # 61.72
    # By raw index Tiny would be first; shrunk, it ranks between the two well-measured sites.
    assert [rows[name].rank for name in names] == [1, 3, 2]


def test_overview_shows_only_the_locations_it_is_given(engine, make_location):
    a, b = make_location(name="A"), make_location(name="B")
    with engine.connect() as conn:
        assert [r.location_id for r in dashboard.overview(conn, frozenset({b}), "7d", now=NOW)] == [b]
        assert {r.location_id for r in dashboard.overview(conn, None, "7d", now=NOW)} == {a, b}
        assert dashboard.overview(conn, frozenset(), "7d", now=NOW) == []


def test_overview_periods_are_each_locations_own_local_dates(engine, client, make_location, enroll, tap):
    # 23:30 UTC on the 23rd is already the 24th in Oslo but still the 23rd in New York.
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    oslo, new_york = make_location(name="Oslo"), make_location(name="NYC", timezone="America/New_York")
    for location_id in (oslo, new_york):
        body = {"sent_at": datetime.now(UTC).isoformat(), "boot_id": "x", "mono_ns": 1,
                "taps": [tap(score=5, tapped_at=late.isoformat())]}  # fmt: skip
        token = enroll(location_id).token
        assert client.post("/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with engine.connect() as conn:
        rows = {r.name: r for r in dashboard.overview(conn, None, "today", now=late)}

    assert rows["Oslo"].period.start == date(2026, 11, 24) and rows["Oslo"].now.responses == 1
    assert rows["NYC"].period.start == date(2026, 11, 23) and rows["NYC"].now.responses == 1


def test_location_detail_splits_by_kiosk_reasons_and_hour_in_local_time(engine, client, make_location, enroll, tap):
    # Kathmandu is UTC+05:45: a tap at 10:00 UTC is at 15:45 local, hour 15.
    place = make_location(name="KTM", timezone="Asia/Kathmandu")
    with engine.begin() as conn:
        config = LocationConfig(
            followup=FollowUp(negative_reasons=["queue", "staff"], positive_reasons=["fast"]),
            texts={"en": {"question": "How was it?", "reason.queue": "Waiting time"}},
        )
        configure_location(conn, place, config=config)
    lane1, lane2 = enroll(place), enroll(place)

    def send_to(token, taps):
        body = {"sent_at": datetime.now(UTC).isoformat(), "boot_id": "x", "mono_ns": 1, "taps": taps}
        assert client.post("/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    send_to(lane1.token, [tap(score=1, tapped_at=at(TODAY), followup="queue") for _ in range(3)]
            + [tap(score=2, tapped_at=at(TODAY), followup="staff", comment="<b>rude</b>")]
            + [tap(score=5, tapped_at=at(TODAY), followup="fast") for _ in range(2)])  # fmt: skip
    send_to(lane2.token, [tap(score=4, tapped_at=at(TODAY, 3)) for _ in range(4)]
            + [tap(score=4, tapped_at=at(TODAY, 3), flags=["repeat"])])  # repeat: stored, not counted  # fmt: skip
    with engine.connect() as conn:
        detail = dashboard.location_detail(conn, place, "today", now=NOW)

    assert detail.now.responses == 10 and detail.now.counts == {"1": 3, "2": 1, "3": 0, "4": 4, "5": 2}
    split = {k.kiosk_id: k.scores for k in detail.kiosks}
    assert split[lane1.kiosk_id].responses == 6 and split[lane2.kiosk_id].responses == 4
    assert split[lane2.kiosk_id].happy_index.value == 75.0
    reasons = {r.reason_id: (r.label, r.side, r.share.k, r.share.n) for r in detail.reasons}
    assert reasons == {
        "queue": ("Waiting time", "negative", 3, 4),
        "staff": ("Staff", "negative", 1, 4),
        "fast": ("Fast", "positive", 2, 2),
    }  # no label: the id made readable, as the kiosk shows it
    monday = TODAY.weekday()
    assert detail.heatmap[monday][15].responses == 6  # 10:00 UTC -> 15:45 Kathmandu
    assert detail.heatmap[monday][8].responses == 4  # 03:00 UTC -> 08:45
    assert sum(cell.responses for row in detail.heatmap for cell in row) == 10
    assert [c.text for c in detail.comments] == ["<b>rude</b>"]
    assert detail.comments[0].at.utcoffset() == timedelta(hours=5, minutes=45)


def test_location_detail_trend_pairs_each_day_with_the_same_day_of_the_period_before(engine, send, tap, location):
    _send_scores(send, tap, TODAY, {5: 1})  # 100
    _send_scores(send, tap, TODAY - timedelta(days=7), {1: 1})  # 0, same position a week earlier
    with engine.connect() as conn:
        detail = dashboard.location_detail(conn, location, "7d", now=NOW)

    assert [p.start for p in detail.trend] == [TODAY - timedelta(days=6 - i) for i in range(7)]
    assert detail.trend[-1].now.headline.value == 100.0 and detail.trend[-1].before.headline.value == 0.0
    assert not detail.weekly


def test_location_detail_over_a_year_draws_weekly_points(engine, location):
    with engine.connect() as conn:
        detail = dashboard.location_detail(conn, location, "365d", now=NOW)
    assert detail.weekly
    assert 52 <= len(detail.trend) <= 54
    assert all(p.start.weekday() == 0 for p in detail.trend[1:])  # weeks start on Monday


def test_location_detail_of_an_unknown_location_is_not_found(engine):
    with engine.connect() as conn, pytest.raises(NotFound):
        dashboard.location_detail(conn, 999, "7d", now=NOW)


def test_visible_locations_carry_their_group_name(engine, make_location):
    a = make_location(name="Security A")
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Oslo Airport")
        server_groups.add_location(conn, group, a)
        [place] = summaries.visible_locations(conn, None)
    assert (place.name, place.group, place.question_id) == ("Security A", "Oslo Airport", "main")


def test_a_years_overview_read_from_months_weeks_and_days_equals_the_taps(engine, send, tap, location, stored_taps):
    """Two years of taps, every 2 to 3 days at 10:00 UTC (11:00 or 12:00 in Oslo, the same local date), scores
    cycling: the 365-day figures, the year before and the weekly trend equal what the test counts from the taps."""
    sent, day, i = [], TODAY - timedelta(days=729), 0
    while day <= TODAY:
        sent.append(tap(score=1 + (i * 7 + day.day) % 5, tapped_at=at(day), flags=["repeat"] if i % 17 == 0 else []))
        day, i = day + timedelta(days=2 + i % 2), i + 1
    for batch in range(0, len(sent), 200):
        assert send(sent[batch : batch + 200]).status_code == 200
    counted = [(date.fromisoformat(t["tapped_at"][:10]), t["score"]) for t in sent if not t["flags"]]

    with engine.connect() as conn:
        [year] = dashboard.overview(conn, None, "365d", now=NOW)

    def index(span: Period) -> tuple[int, float | None]:
        picked = [score for day, score in counted if span.start <= day < span.end]
        return len(picked), (100 * sum(s - 1 for s in picked) / 4 / len(picked) if picked else None)

    period = Period(TODAY - timedelta(days=364), TODAY + timedelta(days=1))
    assert year.period == period
    assert (year.now.responses, year.now.happy_index.value) == pytest.approx(index(period))
    assert (year.before.responses, year.before.happy_index.value) == pytest.approx(index(period.previous()))
    weeks = summaries.buckets(period, "week")  # ISO weeks, the first and last cut to the period
    assert (weeks[0].start, weeks[0].end, weeks[-1].start) == (
        date(2025, 11, 24),
        date(2025, 11, 24) + timedelta(7),
        TODAY,
    )
    assert year.trend == pytest.approx([index(week)[1] for week in weeks])
    assert len(stored_taps()) == len(sent)


def test_a_0_to_10_locations_trend_is_its_nps_per_day(engine, send, tap, make_location, enroll):
    """Each day's point is the NPS of that day's taps, counted here: promoters (9-10) minus detractors (0-6)."""
    lounge = make_location(name="Lounge", scale=11)
    token = enroll(lounge).token
    days = {TODAY - timedelta(days=d): [(d * 3 + k) % 11 for k in range(4 + d % 3)] for d in range(0, 30, 2)}
    for day, picked in days.items():
        _send_scores(send, tap, day, {s: picked.count(s) for s in set(picked)}, token=token, scale=11)

    with engine.connect() as conn:
        [row] = [r for r in dashboard.overview(conn, None, "30d", now=NOW) if r.location_id == lounge]

    def nps(picked: list[int]) -> float | None:
        return 100 * (sum(s >= 9 for s in picked) - sum(s <= 6 for s in picked)) / len(picked) if picked else None

    assert row.trend == pytest.approx([nps(days.get(span.start, [])) for span in summaries.buckets(row.period, "day")])
    assert row.now.headline.value == pytest.approx(nps([s for picked in days.values() for s in picked]))
