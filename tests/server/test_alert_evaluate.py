"""The evaluator (server.alerts.evaluate): each metric opens and closes alerts from taps sent through the real ingest,
over windows of effective tap time ending at a ``now`` the test chooses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from server import groups as server_groups
from server import lifecycle
from server.alerts.evaluate import evaluate, window_ends
from server.alerts.rules import add_rule
from server.alerts.targets import set_target
from server.auth import kiosk_tokens
from server.db import alerts, kiosks, notifications
from server.fleet import record_heartbeat
from server.locations import configure_location
from shared.protocol import Heartbeat, HeartbeatPing, LocationConfig

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Oslo
OSLO = ZoneInfo("Europe/Oslo")
OPS = "email:ops@example.com"


def iso(moment):
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def press(tap):
    """``press(score, minutes_before, **overrides)`` -> a tap ``minutes_before`` NOW (or ``at=``)."""

    def make(score, minutes_before=1.0, *, at=NOW, **overrides):
        return tap(score=score, tapped_at=iso(at - timedelta(minutes=minutes_before)), **overrides)

    return make


@pytest.fixture
def post(send):
    """``post(taps, token=None)``: send through the real ingest and check every tap was stored."""

    def deliver(taps, token=None):
        response = send(taps, token=token)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(taps)

    return deliver


@pytest.fixture
def rule(engine, location):
    """``rule(metric, **options)`` -> id of a rule on the default location (30 minutes, 10 responses)."""

    def add(metric, **options):
        values = {"location_id": location, "window": "30m", "notify": [OPS], "created_by": "ops@example.com"}
        with engine.begin() as conn:
            return add_rule(conn, metric=metric, **(values | options))

    return add


@pytest.fixture
def run(engine):
    """``run(now)`` -> the EvaluationReport, checked to have no errors."""

    def evaluate_at(now=NOW):
        report = evaluate(engine, now=now)
        assert report.errors == []
        return report

    return evaluate_at


@pytest.fixture
def stored(engine):
    """``stored()`` -> the alerts table, by id."""

    def read():
        with engine.connect() as conn:
            return conn.execute(select(alerts).order_by(alerts.c.id)).all()

    return read


@pytest.fixture
def events(engine):
    """``events()`` -> [(event, alert id, target)] of the notification outbox, in order."""

    def read():
        with engine.connect() as conn:
            n = notifications.c
            return [tuple(r) for r in conn.execute(select(n.event, n.alert_id, n.target).order_by(n.id))]

    return read


def _mixed(press, negative, positive, minutes_before=1.0, **overrides):
    """``negative`` presses of 1 and ``positive`` of 5, a few seconds apart, ending ``minutes_before`` NOW."""
    scores = [1] * negative + [5] * positive
    return [press(s, minutes_before + i / 10, **overrides) for i, s in enumerate(scores)]


# --- negative, min_responses, repeat presses ----------------------------------------------------------------------


def test_negative_share_above_the_threshold_opens_an_alert_with_its_figures(press, post, rule, run, stored, events):
    rule_id = rule("negative", above=40)
    post(_mixed(press, negative=5, positive=5))

    report = run()

    (alert,) = stored()
    assert report.opened == [alert.id]
    assert (alert.rule_id, alert.state, alert.kiosk_id, alert.value, alert.threshold, alert.responses) == (
        rule_id, "open", "", 50.0, 40.0, 10,
    )  # fmt: skip
    assert (alert.window_start, alert.window_end, alert.opened_at) == (NOW - timedelta(minutes=30), NOW, NOW)
    assert events() == [("alert.opened", alert.id, "ops@example.com")]


def test_no_alert_below_min_responses(press, post, rule, run, stored):
    rule("negative", above=40, min_responses=10)
    post(_mixed(press, negative=9, positive=0))
    assert run().opened == [] and stored() == []

    post([press(1, 0.5)])
    assert len(run().opened) == 1


def test_repeat_presses_are_not_counted(press, post, rule, run, stored):
    rule("negative", above=70, min_responses=10)
    counted = _mixed(press, negative=6, positive=4)  # 60 %
    repeats = _mixed(press, negative=10, positive=0, minutes_before=5, flags=["repeat"])  # would make it 80 % of 20
    post(counted + repeats)

    assert run().opened == [] and stored() == []


def test_a_held_condition_updates_the_one_open_alert(press, post, rule, run, stored, events):
    rule("negative", above=40)
    post(_mixed(press, negative=5, positive=5))
    first = run()
    post(_mixed(press, negative=10, positive=0, minutes_before=-0.5))  # half a minute after NOW

    second = run(NOW + timedelta(minutes=1))

    (alert,) = stored()
    assert (first.opened, second.opened, second.updated) == ([alert.id], [], [alert.id])
    assert (alert.value, alert.responses, alert.window_end) == (75.0, 20, NOW + timedelta(minutes=1))
    assert [e for e, _, _ in events()] == ["alert.opened"]


def test_an_alert_closes_once_clear_for_one_window(press, post, rule, run, stored, events):
    rule("negative", above=40)  # 30 minutes: windows ending within the last hour count too
    post(_mixed(press, negative=10, positive=0, minutes_before=10))
    (alert_id,) = run().opened

    # The taps (NOW-10.9 .. NOW-10) are all in the windows ending NOW-10 .. NOW+19.1, and a window ending within the
    # last hour is judged: so the condition holds until NOW+74 and is clear from NOW+75.
    assert run(NOW + timedelta(minutes=74)).updated == [alert_id]
    assert run(NOW + timedelta(minutes=75)).clearing == [alert_id]
    assert run(NOW + timedelta(minutes=104)).closed == []
    assert run(NOW + timedelta(minutes=105)).closed == [alert_id]

    (alert,) = stored()
    assert (alert.state, alert.clear_since, alert.closed_at) == (
        "closed", NOW + timedelta(minutes=75), NOW + timedelta(minutes=105),
    )  # fmt: skip
    assert [e for e, _, _ in events()] == ["alert.opened", "alert.closed"]
    assert run(NOW + timedelta(minutes=120)).opened == []


def test_a_condition_holding_again_while_clearing_keeps_the_alert_open(press, post, rule, run, stored):
    rule("negative", above=40, window="1h")
    post(_mixed(press, negative=10, positive=0, minutes_before=10))
    (alert_id,) = run().opened
    assert run(NOW + timedelta(minutes=51)).clearing == [alert_id]
    post(_mixed(press, negative=10, positive=0, minutes_before=-60))  # NOW+60

    assert run(NOW + timedelta(minutes=70)).updated == [alert_id]

    (alert,) = stored()
    assert (alert.state, alert.clear_since) == ("open", None)


def test_late_taps_count_toward_a_window_that_ended_within_the_hour(press, post, rule, run, stored):
    rule("negative", above=40, window="15m")
    post(_mixed(press, negative=10, positive=0, minutes_before=41))  # NOW-41.9 .. NOW-41, arriving now

    (alert_id,) = run().opened

    (alert,) = stored()
    assert (alert.window_start, alert.window_end) == (NOW - timedelta(minutes=45), NOW - timedelta(minutes=30))


@pytest.mark.parametrize(("window", "minutes_before"), [("15m", 70), ("30m", 100), ("1h", 65), ("2h", 130)])
def test_a_backlog_older_than_an_hour_never_opens_an_alert(press, post, rule, run, stored, window, minutes_before):
    rule("negative", above=40, window=window)
    post(_mixed(press, negative=30, positive=0, minutes_before=minutes_before))

    assert run().opened == [] and stored() == []


def test_windows_judged_are_the_one_ending_now_and_for_short_ones_every_5_minutes_within_the_hour():
    assert window_ends(timedelta(hours=1), NOW) == [NOW]
    short = window_ends(timedelta(minutes=15), NOW)
    assert short[0] == NOW and short[-1] == NOW - timedelta(minutes=55) and len(short) == 12


# --- index, responses, target -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "faces", "opens", "value"),
    [
        ({"below": 50}, [1, 2, 2, 3, 1] * 2, True, 20.0),  # trouble
        ({"below": 50}, [4, 5, 3, 4, 5] * 2, False, None),
        ({"above": 90}, [5] * 9 + [4], True, 97.5),  # a celebrate alert
        ({"above": 90}, [5] * 8 + [3, 3], False, None),
    ],
)
def test_index_below_is_trouble_and_above_is_celebration(press, post, rule, run, stored, options, faces, opens, value):
    rule("index", **options)
    post([press(score, 1 + i / 10) for i, score in enumerate(faces)])

    assert len(run().opened) == opens
    assert [a.value for a in stored()] == ([value] if opens else [])


def test_index_of_a_0_to_10_location_is_its_nps(engine, make_location, enroll, press, post, run, stored):
    lounge = make_location(name="Lounge", scale=11)
    token = enroll(lounge).token
    with engine.begin() as conn:
        add_rule(conn, location_id=lounge, metric="index", below=-20, window="30m", created_by="ops")
    post([press(s, 1 + i / 10, scale=11) for i, s in enumerate([0, 3, 6, 9, 10, 2, 5, 8, 1, 4])], token=token)

    run()

    (alert,) = stored()
    assert alert.value == pytest.approx(-50.0)  # 2 promoters, 7 detractors of 10


@pytest.mark.parametrize(
    ("options", "count", "opens"),
    [({"above": 5}, 6, True), ({"above": 5}, 5, False), ({"below": 3}, 2, True), ({"below": 3}, 3, False)],
)
def test_responses_above_or_below_a_count(press, post, rule, run, stored, options, count, opens):
    rule("responses", **options)
    post([press(4, 1 + i / 10) for i in range(count)] + [press(1, 2, flags=["repeat"]) for _ in range(3)])

    assert len(run().opened) == opens
    assert [a.value for a in stored()] == ([count] if opens else [])


def test_reaching_the_target_is_celebrated_and_falling_below_it_clears(
    engine, location, press, post, rule, run, stored
):
    with engine.begin() as conn:
        set_target(conn, location_id=location, index=80)
    rule("target", window="1h")
    post([press(5, 1 + i / 10) for i in range(9)] + [press(3, 2)])  # 95

    (alert_id,) = run().opened
    post([press(1, -30 - i / 10) for i in range(30)])  # NOW+30: the hour ending NOW+45 has 40 taps at 23.75
    assert run(NOW + timedelta(minutes=45)).clearing == [alert_id]

    (alert,) = stored()
    assert (alert.value, alert.threshold) == (95.0, 80.0)


# --- silence and offline ------------------------------------------------------------------------------------------


def _tomorrow_at(hour):
    """Tomorrow at ``hour``:00 in Oslo: after the test's kiosks were made (silence counts from the first kiosk)."""
    day = datetime.now(OSLO).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=OSLO).astimezone(UTC)


@pytest.fixture
def open_8_to_20(engine, location):
    everyday = {day: [("08:00", "20:00")] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    with engine.begin() as conn:
        configure_location(conn, location, config=LocationConfig.model_validate({"opening_hours": everyday}))


@pytest.mark.parametrize(
    ("hour", "minute", "last_press_before", "opens"),
    [
        (12, 0, 60, True),  # open, and nothing for an hour
        (12, 0, None, True),  # open, and never a tap
        (12, 0, 29, False),  # a press 29 minutes ago
        (3, 0, 60, False),  # closed at night
        (8, 20, 60, False),  # open only 20 of the 30 minutes
        (20, 10, 60, False),  # closed since 20:00
    ],
)
def test_silence_only_while_open_by_the_opening_hours(
    open_8_to_20, kiosk, press, post, rule, run, stored, hour, minute, last_press_before, opens
):
    now = _tomorrow_at(hour) + timedelta(minutes=minute)
    rule("silence", window="30m")
    if last_press_before is not None:
        post([press(4, last_press_before, at=now, flags=["repeat"])])  # any press breaks a silence

    assert len(run(now).opened) == opens
    if opens:
        (alert,) = stored()
        assert (alert.threshold, alert.value) == (30.0, None if last_press_before is None else 60.0)


def test_silence_without_opening_hours_is_judged_all_day_and_ends_with_a_press(kiosk, press, post, rule, run):
    now = _tomorrow_at(3)
    rule("silence", window="15m")
    (alert_id,) = run(now).opened

    post([press(4, -1, at=now)])
    assert run(now + timedelta(minutes=5)).clearing == [alert_id]
    post([press(4, -15, at=now)])
    assert run(now + timedelta(minutes=20)).closed == [alert_id]


def test_an_archived_location_opens_no_silence_or_offline_alert(engine, location, kiosk, rule, run):
    now = _tomorrow_at(3)
    rule("silence", window="15m")
    rule("offline", window="30m")
    _heard(engine, kiosk.kiosk_id, now - timedelta(hours=2))
    with engine.begin() as conn:
        lifecycle.archive_location(conn, location)

    assert run(now).opened == []
    with engine.begin() as conn:
        lifecycle.archive_location(conn, location, archived=False)
    assert len(run(now).opened) == 2  # the same rules judge it again once it is back


def test_offline_is_one_alert_per_kiosk_not_heard_from(engine, location, kiosk, enroll, rule, run, stored, events):
    now = _tomorrow_at(12)
    quiet, revoked = enroll(location), enroll(location)
    _heard(engine, kiosk.kiosk_id, now - timedelta(minutes=5))
    _heard(engine, quiet.kiosk_id, now - timedelta(minutes=45))
    with engine.begin() as conn:
        kiosk_tokens.revoke_kiosk(conn, revoked.kiosk_id)
    rule("offline", window="30m")

    (alert_id,) = run(now).opened
    assert run(now + timedelta(minutes=1)).opened == []

    (alert,) = stored()
    assert (alert.kiosk_id, alert.value, alert.threshold) == (quiet.kiosk_id, 46.0, 30.0)  # updated at now + 1
    with engine.connect() as conn:
        payload = json.loads(conn.execute(select(notifications.c.payload)).scalar_one())
    assert payload["kiosk_id"] == quiet.kiosk_id and payload["metric"] == "offline"
    _heard(engine, quiet.kiosk_id, now + timedelta(minutes=2))
    assert run(now + timedelta(minutes=3)).clearing == [alert_id]
    for contact in (quiet, kiosk):
        _heard(engine, contact.kiosk_id, now + timedelta(minutes=30))
    assert run(now + timedelta(minutes=33)).closed == [alert_id]
    assert [e for e, _, _ in events()] == ["alert.opened", "alert.closed"]


def test_a_silence_alert_stays_open_over_the_night_and_is_not_closed_by_closing_time(
    open_8_to_20, kiosk, press, post, rule, run, stored, events
):
    evening = _tomorrow_at(19) + timedelta(minutes=50)
    rule("silence", window="30m")
    post([press(4, 60, at=evening)])  # the last press at 18:50

    (alert_id,) = run(evening).opened
    night, morning = evening + timedelta(hours=3), _tomorrow_at(8) + timedelta(days=1, minutes=10)
    for moment in (night, night + timedelta(hours=6), morning):  # closed, closed, open for only 10 minutes
        report = run(moment)
        assert (report.opened, report.clearing, report.closed) == ([], [], [])
    assert run(morning + timedelta(minutes=25)).updated == [alert_id]  # still nothing, and open again all window

    (alert,) = stored()
    assert (alert.state, alert.clear_since) == ("open", None)
    assert [e for e, _, _ in events()] == ["alert.opened"]


def test_a_kiosk_switched_off_at_closing_time_alerts_only_if_still_off_one_window_after_opening(
    engine, open_8_to_20, kiosk, rule, run, stored
):
    closing = _tomorrow_at(20)
    _heard(engine, kiosk.kiosk_id, closing - timedelta(minutes=2))
    rule("offline", window="30m")
    opening = _tomorrow_at(8) + timedelta(days=1)

    for moment in (closing + timedelta(minutes=40), closing + timedelta(hours=8), opening + timedelta(minutes=29)):
        assert run(moment).opened == []
    (alert_id,) = run(opening + timedelta(minutes=30)).opened

    (alert,) = stored()
    assert (alert.kiosk_id, alert.value) == (kiosk.kiosk_id, 12 * 60 + 32)  # minutes since it was last heard from
    _heard(engine, kiosk.kiosk_id, opening + timedelta(minutes=31))
    assert run(opening + timedelta(minutes=32)).clearing == [alert_id]  # back: clear at once, even before a window


def test_a_kiosk_back_during_the_night_clears_its_offline_alert(engine, open_8_to_20, kiosk, rule, run):
    noon = _tomorrow_at(12)
    _heard(engine, kiosk.kiosk_id, noon - timedelta(minutes=40))
    rule("offline", window="30m")
    (alert_id,) = run(noon).opened

    _heard(engine, kiosk.kiosk_id, noon + timedelta(hours=10))  # 22:00, closed
    assert run(noon + timedelta(hours=10, minutes=1)).clearing == [alert_id]
    _heard(engine, kiosk.kiosk_id, noon + timedelta(hours=10, minutes=30))  # its heartbeats go on
    assert run(noon + timedelta(hours=10, minutes=31)).closed == [alert_id]


def test_a_kiosk_never_heard_from_counts_from_its_creation(engine, location, kiosk, rule, run, stored):
    with engine.begin() as conn:
        created = conn.execute(select(kiosks.c.created_at).where(kiosks.c.id == kiosk.kiosk_id)).scalar_one()
    rule("offline", window="15m")

    assert run(created + timedelta(minutes=14)).opened == []
    assert len(run(created + timedelta(minutes=15)).opened) == 1


def _heard(engine, kiosk_id, at):
    ping = HeartbeatPing(sent_at=at, boot_id="boot-a", mono_ns=1, heartbeat=Heartbeat(queue_depth=0, app_version="t"))
    record_heartbeat(engine, kiosk_id, ping, received_at=at)


# --- groups -------------------------------------------------------------------------------------------------------


def test_a_group_rule_applies_to_each_location_of_the_group_also_one_added_later(
    engine, location, make_location, enroll, press, post, run, stored
):
    second, later = make_location(name="Security lane 2"), make_location(name="Security lane 3")
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Oslo Airport")
        server_groups.add_location(conn, group, location)
        server_groups.add_location(conn, group, second)
        add_rule(conn, group_id=group, metric="negative", above=40, window="30m", created_by="ops")
    post(_mixed(press, negative=10, positive=0))
    post(_mixed(press, negative=10, positive=0), token=enroll(second).token)
    post(_mixed(press, negative=10, positive=0), token=enroll(later).token)

    assert len(run().opened) == 2
    with engine.begin() as conn:
        server_groups.add_location(conn, group, later)
    assert len(run().opened) == 1
    assert sorted(a.location_id for a in stored()) == [location, second, later]

    with engine.begin() as conn:  # a location that leaves the group is judged clear
        server_groups.set_location_groups(conn, second, [])
    report = run(NOW + timedelta(minutes=1))
    assert [a.location_id for a in stored() if a.id in report.clearing] == [second]


def test_a_location_whose_figures_fail_does_not_stop_the_others(engine, location, make_location, enroll, press, post):
    other = make_location(name="Other")
    with engine.begin() as conn:
        for place in (location, other):
            add_rule(conn, location_id=place, metric="negative", above=40, window="30m", created_by="ops")
    post(_mixed(press, negative=10, positive=0))
    post(_mixed(press, negative=10, positive=0), token=enroll(other).token)
    with engine.begin() as conn:  # a corrupt stored tap: a score outside its scale
        conn.exec_driver_sql(f"UPDATE taps SET score = 9 WHERE location_id = {location}")

    report = evaluate(engine, now=NOW)

    assert len(report.opened) == 1 and len(report.errors) == 1 and f"at location {location}" in report.errors[0]
