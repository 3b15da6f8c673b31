"""The ``baseline`` metric (server.alerts.baseline): the one-sided exact binomial test against the same location's
usual share at the same hour of the week, its maths, and a synthetic weekly pattern where it stays quiet on normal
weeks (a busy Monday morning included) and fires on an injected bad hour."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from math import comb
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server.alerts.baseline import binomial_sf, historical_probability, history_hours, verdict
from server.alerts.evaluate import evaluate
from server.alerts.rules import add_rule
from server.auth.kiosk_tokens import KioskIdentity
from server.db import alert_rules, alerts
from server.ingest import ingest_batch
from shared.protocol import TapBatch

OSLO = ZoneInfo("Europe/Oslo")

# --- the test's maths ----------------------------------------------------------------------------------------------


def _exact_tail(k, n, p):
    """P(X >= k) for X ~ Binomial(n, p) in exact rational arithmetic."""
    p = Fraction(p)
    return float(sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1)))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (3, 30, 0.1), (12, 30, 0.4), (18, 40, 0.1016597510373444), (1, 1, 0.5), (5, 10, 0.5), (10, 10, 0.3),
        (0, 7, 0.2), (1, 60, 0.001), (30, 60, 0.5), (45, 60, 0.5), (2, 20, 0.016), (9, 12, 0.75), (60, 60, 0.99),
    ],
)  # fmt: skip
def test_binomial_tail_equals_the_exact_sum(k, n, p):
    assert binomial_sf(k, n, p) == pytest.approx(_exact_tail(k, n, p), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("k", "n"), [(750, 1500), (800, 1500), (900, 1500), (1200, 1500), (700, 1500)])
def test_binomial_tail_is_exact_where_the_terms_would_overflow_a_float(k, n):
    exact = Fraction(sum(comb(n, i) for i in range(k, n + 1)), 2**n)  # p = 1/2: integers only
    assert binomial_sf(k, n, 0.5) == pytest.approx(float(exact), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"),
    [(0, 0, 0.3, 1.0), (0, 5, 0.0, 1.0), (1, 5, 0.0, 0.0), (6, 5, 0.3, 0.0), (5, 5, 1.0, 1.0)],
)
def test_binomial_tail_edges(k, n, p, expected):
    assert binomial_sf(k, n, p) == expected


@pytest.mark.parametrize(("k", "n", "p"), [(-1, 5, 0.5), (1, -5, 0.5), (1, 5, 1.5), (1, 5, -0.1)])
def test_binomial_tail_refuses_impossible_arguments(k, n, p):
    with pytest.raises(ValueError):
        binomial_sf(k, n, p)


def test_the_usual_share_has_half_a_pseudo_count_each_way():
    assert historical_probability(24, 240) == pytest.approx(24.5 / 241)
    assert historical_probability(0, 30) == pytest.approx(0.5 / 31)  # one sad tap is never "impossible"


@pytest.mark.parametrize(
    ("window", "history", "min_responses", "fires"),
    [
        ((18, 40), (24, 240), 20, True),  # 45 % where 10 % is usual: p ≈ 1.7e-8
        ((12, 30), (96, 240), 20, False),  # 40 % on a Monday morning, as usual: p ≈ 0.57
        ((8, 30), (24, 240), 20, True),  # 27 % where 10 % is usual: p ≈ 0.006
        ((6, 30), (24, 240), 20, False),  # 20 %: p ≈ 0.08, not unusual enough
        ((18, 19), (24, 240), 20, False),  # too few responses in the window
        ((18, 40), (2, 29), 20, False),  # too little history
        ((0, 40), (0, 240), 20, False),  # no negative face at all
    ],
)
def test_the_verdict_needs_enough_responses_history_and_a_small_p_value(window, history, min_responses, fires):
    assert verdict(*window, *history, p_level=0.01, min_responses=min_responses).fires is fires


def _at(day, hour, minute=0, zone=OSLO):
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Tuesday 14-15: Tuesdays 14-15 of the 8 weeks before (across the end of summer time on 25 October).
        (_at(date(2026, 11, 24), 14), _at(date(2026, 11, 24), 15), {date(2026, 11, 24) - timedelta(weeks=w): {14}
                                                                    for w in range(1, 9)}),
        # 15 minutes across an hour: both hours.
        (_at(date(2026, 11, 24), 13, 55), _at(date(2026, 11, 24), 14, 10),
         {date(2026, 11, 24) - timedelta(weeks=w): {13, 14} for w in range(1, 9)}),
        # across midnight: Tuesday 23 and Wednesday 0.
        (_at(date(2026, 11, 24), 23, 30), _at(date(2026, 11, 25), 0, 30),
         {d - timedelta(weeks=w): {h} for w in range(1, 9) for d, h in ((date(2026, 11, 24), 23),
                                                                         (date(2026, 11, 25), 0))}),
    ],
)  # fmt: skip
def test_history_is_the_same_local_hours_of_the_week_in_the_8_weeks_before(start, end, expected):
    assert history_hours(start, end, OSLO) == expected


def test_history_hours_follow_the_locations_own_clock_also_with_a_half_hour_offset():
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+5:30
    start = _at(date(2026, 11, 24), 14, zone=kolkata)
    assert history_hours(start, start + timedelta(hours=1), kolkata, weeks=1) == {date(2026, 11, 17): {14}}


# --- a synthetic weekly pattern -----------------------------------------------------------------------------------

HISTORY_MONDAYS = [date(2026, 11, 16) - timedelta(weeks=w) for w in range(8, -1, -1)]  # 8 weeks, then a normal one
NORMAL_WEEK = HISTORY_MONDAYS[-1]  # 16 November 2026
BAD_TUESDAY = date(2026, 11, 24)
OPEN_HOURS = range(8, 18)
PER_HOUR = 30


def _negatives(day, hour, week):
    """Monday 08-09 is always busy (~40 % negative: 11, 12 or 13 of 30), every other hour ~10 % (2, 3 or 4)."""
    usual = 12 if (day.weekday(), hour) == (0, 8) else 3
    return usual + (week + hour + day.weekday()) % 3 - 1


def _hour_of_taps(day, hour, negatives, total, seqs):
    """``total`` taps spread over ``hour`` local, the first ``negatives`` on a negative face."""
    return [
        {"id": str(uuid.uuid4()), "seq": next(seqs), "question_id": "main", "scale": 5,
         "score": (1, 2)[i % 2] if i < negatives else (3, 4, 5)[i % 3],
         "tapped_at": _at(day, hour) + timedelta(seconds=1 + 3599 * i // total), "mono_ns": i, "boot_id": "history",
         "followup": None, "comment": None, "flags": []}
        for i in range(total)
    ]  # fmt: skip


def _ingest(engine, kiosk, location, taps):
    """Through the real ingest (local dates and hours in Oslo), 1000 taps a batch."""
    identity = KioskIdentity(kiosk_id=kiosk.kiosk_id, location_id=location, timezone=OSLO)
    for first in range(0, len(taps), 1000):
        body = {
            "sent_at": datetime.now(UTC),
            "boot_id": "history",
            "mono_ns": 10**12,
            "taps": taps[first : first + 1000],
        }
        assert ingest_batch(engine, identity, TapBatch.model_validate(body)).accepted == len(body["taps"])


@pytest.fixture
def weekly_pattern(engine, location, kiosk):
    """Nine weeks of a weekly pattern (eight of history and a normal one), 30 taps an hour, 08-18 every day."""
    seqs = itertools.count(1)
    taps = [
        tap
        for week, monday in enumerate(HISTORY_MONDAYS)
        for day in (monday + timedelta(days=d) for d in range(7))
        for hour in OPEN_HOURS
        for tap in _hour_of_taps(day, hour, _negatives(day, hour, week), PER_HOUR, seqs)
    ]
    _ingest(engine, kiosk, location, taps)
    return seqs


def _opened(engine, now):
    report = evaluate(engine, now=now)
    assert report.errors == []
    with engine.connect() as conn:
        query = (
            select(alert_rules.c.metric, alerts.c.window_end).join(alert_rules).where(alerts.c.id.in_(report.opened))
        )
        return {(metric, end.astimezone(OSLO).strftime("%a %H")) for metric, end in conn.execute(query)}


def test_baseline_stays_quiet_on_a_normal_week_and_fires_on_an_injected_bad_hour(
    engine, location, kiosk, weekly_pattern
):
    with engine.begin() as conn:
        for metric, above in (("baseline", None), ("negative", 30)):  # a plain share rule beside it, for contrast
            add_rule(conn, location_id=location, metric=metric, above=above, window="1h", min_responses=20,
                     created_by="ops")  # fmt: skip

    normal = set()  # every open hour of the normal week, judged as it ends
    for day in (NORMAL_WEEK + timedelta(days=d) for d in range(7)):
        for hour in OPEN_HOURS:
            normal |= _opened(engine, _at(day, hour + 1))
    assert normal == {("negative", "Mon 09")}  # the busy Monday morning pages a plain rule, never the baseline

    _ingest(engine, kiosk, location, _hour_of_taps(BAD_TUESDAY, 14, 18, 40, weekly_pattern))  # 45 % negative
    assert _opened(engine, _at(BAD_TUESDAY, 15)) == {("baseline", "Tue 15"), ("negative", "Tue 15")}

    with engine.connect() as conn:
        value, usual = conn.execute(
            select(alerts.c.value, alerts.c.threshold).join(alert_rules).where(alert_rules.c.metric == "baseline")
        ).one()
    tuesdays = [(BAD_TUESDAY - timedelta(weeks=w), len(HISTORY_MONDAYS) - w) for w in range(1, 9)]
    assert value == 45.0 and usual == pytest.approx(100 * sum(_negatives(d, 14, w) for d, w in tuesdays) / 240)
