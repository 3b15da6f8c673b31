"""What a manager can check in ``GET /api/v1/locations/{id}/summary``: follow-up reasons by the side of the face
tapped, presses left out by why (``filtered``), the what-if replay of another repeat-press interval, and trends
per day, week or month compared with the period before or a year earlier.

Expected values are worked out in the comments from the taps each test sends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from server.locations import configure_location
from shared.protocol import FollowUp, LocationConfig

NOV = {"start": "2026-11-01", "end": "2026-12-01"}


def at(day: date, hour_utc: int = 10, second: float = 0) -> str:
    moment = datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC) + timedelta(seconds=second)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def summary(client, api_key, location):
    """``summary(**params)`` -> the location's summary body (200 asserted)."""

    def read(headers: dict[str, str] | None = None, **params: object):
        response = client.get(
            f"/api/v1/locations/{location}/summary", params={**NOV, **params},
            headers={"Authorization": f"Bearer {api_key}", **(headers or {})},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()

    return read


@pytest.fixture
def shared_reason_ids(engine, location):
    """Negative and positive lists that share ids, as at the demo's gate area; labels in Norwegian (the default)
    and English, one reason labelled only in German."""
    config = LocationConfig(
        default_language="nb",
        texts={"nb": {"question": "Hvordan var det?", "reason.food": "Mat", "reason.seating": "Sitteplasser"},
               "en": {"question": "How was it?", "reason.food": "Food", "reason.seating": "Seating"},
               "de": {"question": "Wie war es?", "reason.wifi": "WLAN"}},
        followup=FollowUp(negative_reasons=["seating", "food", "wifi"], positive_reasons=["seating", "food", "view"]),
    )  # fmt: skip
    with engine.begin() as conn:
        configure_location(conn, location, config=config)
    return config


# --- reasons: the side of the face tapped -------------------------------------------------------------------


def test_a_reason_is_on_the_side_of_the_face_tapped_not_of_the_list_it_is_in(summary, send, tap, shared_reason_ids):
    day = date(2026, 11, 10)
    send([tap(score=1, followup="food", tapped_at=at(day)) for _ in range(3)]  # negative side
         + [tap(score=2, followup="seating", tapped_at=at(day))]  # negative
         + [tap(score=5, followup="food", tapped_at=at(day)) for _ in range(2)]  # positive side, same id
         + [tap(score=4, followup="view", tapped_at=at(day))]  # positive
         + [tap(score=3, followup="wifi", tapped_at=at(day))])  # the middle face: neutral  # fmt: skip

    reasons = summary()["reasons"]

    assert [(r["id"], r["side"], r["count"], r["share"]["k"], r["share"]["n"]) for r in reasons] == [
        ("food", "negative", 3, 3, 4), ("seating", "negative", 1, 1, 4),
        ("wifi", "neutral", 1, 1, 1),
        ("food", "positive", 2, 2, 3), ("view", "positive", 1, 1, 3),
    ]  # fmt: skip
    food = reasons[0]["share"]
    assert food["value"] == pytest.approx(75.0) and food["small_sample"] is True
    assert food["low"] < 75.0 < food["high"]


def test_a_reason_taken_off_the_lists_keeps_its_history(summary, send, tap, engine, location, shared_reason_ids):
    send([tap(score=1, followup="wifi", tapped_at=at(date(2026, 11, 10)))])
    with engine.begin() as conn:
        configure_location(conn, location, config=shared_reason_ids.model_copy(update={"followup": None}))

    assert [(r["id"], r["side"], r["count"]) for r in summary()["reasons"]] == [("wifi", "negative", 1)]


@pytest.mark.parametrize(
    ("accept_language", "labels"),
    [
        ("en-GB,en;q=0.8", {"food": "Food", "seating": "Seating", "wifi": "WLAN", "view": "View"}),
        ("nb", {"food": "Mat", "seating": "Sitteplasser", "wifi": "WLAN", "view": "View"}),
        ("fr", {"food": "Mat", "seating": "Sitteplasser", "wifi": "WLAN", "view": "View"}),  # the default language
        ("de,en;q=0.5", {"food": "Mat", "seating": "Sitteplasser", "wifi": "WLAN", "view": "View"}),
    ],
)
def test_reason_labels_are_in_the_viewers_language_else_the_default_else_any_never_a_raw_id(
    summary, send, tap, shared_reason_ids, accept_language, labels
):
    day = date(2026, 11, 10)
    send([tap(score=1, followup=r, tapped_at=at(day)) for r in ("food", "seating", "wifi")]
         + [tap(score=5, followup="view", tapped_at=at(day))])  # fmt: skip

    reasons = summary(headers={"Accept-Language": accept_language})["reasons"]

    # "de" asks for German: the location has German texts, but no German food label, so the default (nb) wins;
    # "view" has no label in any language and shows as words.
    assert {r["id"]: r["label"] for r in reasons} == labels


# --- filtered presses --------------------------------------------------------------------------------------


def test_presses_left_out_of_the_figures_are_counted_by_why(summary, send, tap):
    day = date(2026, 11, 10)
    send([tap(score=5, tapped_at=at(day)) for _ in range(4)]
         + [tap(score=1, tapped_at=at(day), flags=["repeat"]) for _ in range(3)]
         + [tap(score=1, tapped_at=at(date(2026, 10, 31)), flags=["repeat"])])  # before the range  # fmt: skip

    body = summary()

    assert body["responses"] == 4 and body["counts"]["1"] == 0
    assert body["filtered"] == {"repeat": 3}


def test_filtered_has_every_reason_even_when_nothing_was_left_out(summary):
    assert summary()["filtered"] == {"repeat": 0}


# --- what if the repeat-press interval were different ------------------------------------------------------


@pytest.fixture
def bursts(send, tap):
    """One Oslo kiosk's presses (UTC+1), flagged as a kiosk with a 5 s interval flags them: 31 Oct 23:59:58 local
    3★ (before the range) and 1 Nov 00:00:01 1★ 3 s later (a repeat); on 10 Nov at 11:00:00 local 5★, 3 s later
    1★ (repeat), 1 s after that 1★ (repeat: a repeat's own time counts), 8 s later 4★, 8 s later 2★ with a reason."""
    day, eve = date(2026, 11, 10), date(2026, 10, 31)
    send([
        tap(score=3, tapped_at=at(eve, 22, 3598)),
        tap(score=1, tapped_at=at(eve, 23, 1), flags=["repeat"]),
        tap(score=5, tapped_at=at(day, 10, 0)),
        tap(score=1, tapped_at=at(day, 10, 3), flags=["repeat"]),
        tap(score=1, tapped_at=at(day, 10, 4), flags=["repeat"]),
        tap(score=4, tapped_at=at(day, 10, 12)),
        tap(score=2, tapped_at=at(day, 10, 20), followup="queue"),
    ])  # fmt: skip


def test_what_if_with_the_kiosks_own_interval_gives_the_stored_figures(summary, bursts):
    stored = summary()
    replayed = summary(what_if_repeat_seconds=5)

    assert (stored["responses"], stored["filtered"]) == (3, {"repeat": 3})
    assert replayed["what_if_repeat_seconds"] == 5 and stored["what_if_repeat_seconds"] is None
    for name in ("responses", "counts", "happy_index", "csat", "negative", "nps", "reasons", "filtered"):
        assert replayed[name] == stored[name], name


def test_what_if_with_no_interval_counts_every_press_and_the_repeats_reasons_stay_unknown(summary, bursts):
    body = summary(what_if_repeat_seconds=0)

    # every press in the range counts: 1, 5, 1, 1, 4, 2 -> index = 100 × (0 + 1 + 0 + 0 + 0.75 + 0.25) / 6
    assert body["responses"] == 6 and body["filtered"] == {"repeat": 0}
    assert body["counts"] == {"1": 3, "2": 1, "3": 0, "4": 1, "5": 1}
    assert body["happy_index"]["value"] == pytest.approx(100 * 2 / 6)
    assert [(r["id"], r["count"]) for r in body["reasons"]] == [("queue", 1)]


def test_what_if_with_a_longer_interval_filters_more_and_drops_their_reasons(summary, bursts):
    body = summary(what_if_repeat_seconds=10)

    # gaps: 3 s (1 Nov, after the press of 31 Oct), then 3, 1, 8, 8 s on 10 Nov: only the 5★ is not a repeat.
    assert body["responses"] == 1 and body["filtered"] == {"repeat": 5}
    assert body["counts"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert body["reasons"] == []


def test_what_if_reads_at_most_92_days_and_says_so(client, api_key, location):
    response = client.get(
        f"/api/v1/locations/{location}/summary",
        params={"start": "2026-01-01", "end": "2026-06-01", "what_if_repeat_seconds": 5},
        headers={"Authorization": f"Bearer {api_key}"},
    )

    assert response.status_code == 422 and "at most 92 days" in response.json()["message"]


@pytest.mark.parametrize("seconds", ["-1", "601", "soon"])
def test_what_if_outside_what_a_location_can_set_is_a_422_naming_it(client, api_key, location, seconds):
    response = client.get(
        f"/api/v1/locations/{location}/summary", params={**NOV, "what_if_repeat_seconds": seconds},
        headers={"Authorization": f"Bearer {api_key}"},
    )  # fmt: skip

    assert response.status_code == 422 and "what_if_repeat_seconds" in response.json()["message"]


# --- trends ------------------------------------------------------------------------------------------------


def test_no_trend_unless_asked(summary):
    body = summary()
    assert body["trend"] is None and body["granularity"] is None and body["compare"] is None


def test_a_daily_trend_pairs_each_day_with_the_same_day_of_the_period_before(summary, send, tap):
    send([tap(score=5, tapped_at=at(date(2026, 11, 3))), tap(score=1, tapped_at=at(date(2026, 11, 3))),
          tap(score=1, tapped_at=at(date(2026, 10, 4)))])  # 30 days before 3 Nov  # fmt: skip

    trend = summary(granularity="day")["trend"]

    assert len(trend) == 30 and trend[0]["start"] == "2026-11-01" and trend[-1]["end"] == "2026-12-01"
    third = trend[2]
    assert (third["start"], third["end"], third["responses"]) == ("2026-11-03", "2026-11-04", 2)
    assert third["happy_index"] == {**third["happy_index"], "value": 50.0, "n": 2, "small_sample": True}
    assert (third["compare"]["start"], third["compare"]["end"]) == ("2026-10-04", "2026-10-05")
    assert third["compare"]["responses"] == 1 and third["compare"]["happy_index"]["value"] == 0.0
    assert trend[0]["responses"] == 0 and trend[0]["happy_index"]["value"] is None


def test_a_weekly_trend_uses_iso_weeks_cut_to_the_range(summary, send, tap):
    send([tap(score=5, tapped_at=at(date(2026, 11, 1))), tap(score=4, tapped_at=at(date(2026, 11, 2)))])

    trend = summary(granularity="week")["trend"]

    # 1 Nov 2026 is a Sunday: the first week is that one day; then Mondays 2, 9, 16, 23, 30 Nov.
    assert [(p["start"], p["end"]) for p in trend] == [
        ("2026-11-01", "2026-11-02"), ("2026-11-02", "2026-11-09"), ("2026-11-09", "2026-11-16"),
        ("2026-11-16", "2026-11-23"), ("2026-11-23", "2026-11-30"), ("2026-11-30", "2026-12-01"),
    ]  # fmt: skip
    assert [p["responses"] for p in trend] == [1, 1, 0, 0, 0, 0]


def test_a_monthly_trend_compared_with_a_year_earlier_uses_the_same_calendar_dates(
    client, api_key, location, send, tap
):
    send([tap(score=5, tapped_at=at(date(2026, 2, 10))), tap(score=1, tapped_at=at(date(2025, 2, 10))),
          tap(score=2, tapped_at=at(date(2025, 3, 31)))])  # fmt: skip

    response = client.get(
        f"/api/v1/locations/{location}/summary",
        params={"start": "2026-01-15", "end": "2026-04-01", "granularity": "month", "compare": "year"},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    body = response.json()

    assert response.status_code == 200, response.text
    assert body["compare"] == "year"
    assert [(p["start"], p["end"], p["compare"]["start"], p["compare"]["end"]) for p in body["trend"]] == [
        ("2026-01-15", "2026-02-01", "2025-01-15", "2025-02-01"),
        ("2026-02-01", "2026-03-01", "2025-02-01", "2025-03-01"),
        ("2026-03-01", "2026-04-01", "2025-03-01", "2025-04-01"),
    ]
    assert [(p["responses"], p["compare"]["responses"]) for p in body["trend"]] == [(0, 0), (1, 1), (0, 1)]
    assert body["trend"][1]["compare"]["happy_index"]["value"] == 0.0


@pytest.mark.parametrize(("granularity", "compare"), [("hour", "previous"), ("day", "lastyear")])
def test_an_unknown_granularity_or_comparison_is_a_422_naming_it(client, api_key, location, granularity, compare):
    response = client.get(
        f"/api/v1/locations/{location}/summary", params={**NOV, "granularity": granularity, "compare": compare},
        headers={"Authorization": f"Bearer {api_key}"},
    )  # fmt: skip

    field = "granularity" if granularity == "hour" else "compare"
    assert response.status_code == 422 and field in response.json()["message"]
