"""Alert rules and service targets (server.alerts.rules, server.alerts.targets): windows, what each metric takes, the
rules of a location (its own and its group's), targets of a location or its group."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from server import InvalidInput, NotFound
from server import groups as server_groups
from server.alerts.rules import (
    MAX_TARGET_WINDOW,
    add_rule,
    disable_rule,
    list_rules,
    parse_window,
    rules_for_location,
)
from server.alerts.targets import set_target, target_for
from server.db import webhooks

OPS = "ops@example.com"


# --- windows -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("30m", 1800), ("90m", 5400), ("2h", 7200), ("24h", 86400), ("1d", 86400), (" 45m ", 2700)],
)
def test_window_is_read_as_seconds(text, seconds):
    assert parse_window(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("14m", "shorter than the shortest window, 15m"),
        ("5m", "shorter"),
        ("0h", "shorter"),
        ("25h", "longer than the longest window, 1d"),
        ("2d", "longer"),
        ("30", "expected minutes, hours or days"),
        ("30s", "expected"),
        ("1.5h", "expected"),
        ("-30m", "expected"),
        ("", "expected"),
        ("h", "expected"),
        ("1w", "expected"),
    ],
)
def test_window_outside_15m_to_24h_or_malformed_is_refused_naming_the_option(text, message):
    with pytest.raises(InvalidInput, match="^--window: ") as refused:
        parse_window(text)
    assert message in str(refused.value)


def test_a_target_rule_may_look_back_a_week():
    assert parse_window("7d", longest=MAX_TARGET_WINDOW) == 7 * 86400
    with pytest.raises(InvalidInput, match="--window: 8d is longer than the longest window, 7d"):
        parse_window("8d", longest=MAX_TARGET_WINDOW)


# --- what each metric takes --------------------------------------------------------------------------------------


@pytest.fixture
def places(engine, make_location):
    """A 5-face location in a group, a 0-10 location, an empty group without a target, a webhook and a revoked one."""
    faces = make_location(name="Security lane 1")
    nps = make_location(name="Lounge", scale=11)
    alone = make_location(name="Kiosk without a target")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Oslo Airport")
        empty = server_groups.add_group(conn, name="Empty")
        server_groups.add_location(conn, group, faces)
        hook = conn.execute(insert(webhooks).values(url="https://example.com/h", format="json", created_at=now))
        gone = conn.execute(
            insert(webhooks).values(url="https://example.com/g", format="json", created_at=now, revoked_at=now)
        )
        set_target(conn, group_id=group, index=80)
    return {
        "faces": faces, "nps": nps, "alone": alone, "group": group, "empty": empty,
        "webhook": hook.inserted_primary_key[0], "revoked": gone.inserted_primary_key[0],
    }  # fmt: skip


def _add(engine, places, **given):
    """add_rule with defaults (the 5-face location, 30 minutes, by OPS); names in ``given`` refer to ``places``."""
    values = {"location_id": places["faces"], "window": "30m", "created_by": OPS} | given
    for key in ("location_id", "group_id"):
        if isinstance(values.get(key), str):
            values[key] = places[values[key]]
    if isinstance(values.get("notify"), list):
        values["notify"] = [n.format(**places) for n in values["notify"]]
    with engine.begin() as conn:
        return add_rule(conn, **values)


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"location_id": None, "metric": "negative", "above": 40}, InvalidInput, "give exactly one of --location or"),
        (
            {"group_id": "group", "metric": "negative", "above": 40},
            InvalidInput,
            "exactly one of --location or --group",
        ),
        ({"location_id": 999, "metric": "negative", "above": 40}, NotFound, "location 999 does not exist"),
        ({"location_id": None, "group_id": 999, "metric": "index", "below": 5}, NotFound, "group 999 does not exist"),
        ({"metric": "sadness", "above": 40}, InvalidInput, "--metric must be one of negative, index, responses"),
        ({"metric": "negative", "below": 40}, InvalidInput, "--below: a negative rule fires when"),
        ({"metric": "negative"}, InvalidInput, "--above: a negative rule needs --above X"),
        ({"metric": "negative", "above": 140}, InvalidInput, "--above: expected a percentage from 0 to 100"),
        ({"metric": "negative", "above": float("nan")}, InvalidInput, "--above: expected a number"),
        ({"metric": "negative", "above": "40"}, InvalidInput, "--above: expected a number"),
        ({"metric": "negative", "above": 40, "below": 10}, InvalidInput, "give --above or --below, not both"),
        ({"location_id": "nps", "metric": "negative", "above": 40}, InvalidInput, "--metric negative: location"),
        ({"metric": "index"}, InvalidInput, "--above/--below: an index rule needs --below X"),
        ({"metric": "index", "below": 120}, InvalidInput, "--below: expected a Happy Index from 0 to 100, got 120"),
        ({"metric": "index", "below": -20}, InvalidInput, "--below: expected a Happy Index from 0 to 100"),
        ({"location_id": "nps", "metric": "index", "below": -120}, InvalidInput, "from -100 to 100 (NPS on 0-10)"),
        ({"metric": "responses"}, InvalidInput, "--above/--below: a responses rule needs"),
        ({"metric": "responses", "above": 2.5}, InvalidInput, "--above: expected a whole number of responses"),
        ({"metric": "responses", "below": 0}, InvalidInput, "--below: expected a whole number of responses, 1 or more"),
        ({"metric": "silence", "above": 3}, InvalidInput, "--above: a silence rule takes no threshold"),
        ({"metric": "offline", "below": 1}, InvalidInput, "--below: an offline rule takes no threshold"),
        ({"metric": "silence", "min_responses": 5}, InvalidInput, "--min-responses: does not apply to a silence"),
        ({"metric": "baseline", "above": 1}, InvalidInput, "--above: a baseline rule takes no threshold"),
        ({"metric": "baseline", "below": 0.5}, InvalidInput, "--below: a baseline rule's p-value must be above 0"),
        ({"location_id": "nps", "metric": "baseline"}, InvalidInput, "--metric baseline: location"),
        ({"location_id": "alone", "metric": "target"}, InvalidInput, "--metric target: location"),
        ({"location_id": None, "group_id": "empty", "metric": "target"}, InvalidInput, "--metric target: group"),
        ({"metric": "target", "above": 80}, InvalidInput, "--above: a target rule takes no threshold"),
        ({"metric": "negative", "above": 40, "window": "5m"}, InvalidInput, "--window: 5m is shorter"),
        ({"metric": "negative", "above": 40, "window": "7d"}, InvalidInput, "--window: 7d is longer"),
        ({"metric": "negative", "above": 40, "window": 1000}, InvalidInput, "--window: expected 30m, 2h, 1d or whole"),
        ({"metric": "negative", "above": 40, "min_responses": 0}, InvalidInput, "--min-responses: expected a whole"),
        ({"metric": "index", "below": 40, "min_responses": "10"}, InvalidInput, "--min-responses: expected a whole"),
        ({"metric": "negative", "above": 40, "notify": ["sms:123"]}, InvalidInput, "notify: expected email:ADDRESS"),
        ({"metric": "negative", "above": 40, "notify": ["email:nobody"]}, InvalidInput, "is not an e-mail address"),
        ({"metric": "negative", "above": 40, "notify": ["webhook:999"]}, NotFound, "--notify: webhook 999 does not"),
        ({"metric": "negative", "above": 40, "notify": ["webhook:{revoked}"]}, InvalidInput, "is revoked"),
        ({"metric": "negative", "above": 40, "notify": "email:a@example.com"}, InvalidInput, "--notify: expected a"),
        ({"metric": "negative", "above": 40, "created_by": " "}, InvalidInput, "created_by: expected who"),
    ],
)
def test_a_rule_the_metric_cannot_take_is_refused_naming_the_option(engine, places, given, error, message):
    with pytest.raises(error) as refused:
        _add(engine, places, **given)
    assert message in str(refused.value)
    with engine.connect() as conn:
        assert list_rules(conn) == []


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"metric": "negative", "above": 40}, ("above", 40.0, 1800, 10)),
        ({"metric": "index", "below": 60, "min_responses": 25}, ("below", 60.0, 1800, 25)),
        ({"metric": "index", "above": 90, "window": "2h"}, ("above", 90.0, 7200, 10)),  # celebrate
        ({"location_id": "nps", "metric": "index", "below": -20}, ("below", -20.0, 1800, 10)),
        ({"metric": "responses", "below": 5, "window": "1d"}, ("below", 5.0, 86400, 0)),
        ({"metric": "responses", "above": 200, "min_responses": 0}, ("above", 200.0, 1800, 0)),
        ({"metric": "silence", "window": "45m"}, ("above", None, 2700, 0)),
        ({"metric": "offline", "window": "15m", "min_responses": 0}, ("above", None, 900, 0)),
        ({"metric": "baseline", "window": "1h"}, ("above", 0.01, 3600, 10)),
        ({"metric": "baseline", "below": 0.001}, ("above", 0.001, 1800, 10)),
        ({"metric": "target", "window": "7d"}, ("above", None, 7 * 86400, 10)),  # the group's target applies
        ({"location_id": None, "group_id": "group", "metric": "target"}, ("above", None, 1800, 10)),
        ({"location_id": None, "group_id": "group", "metric": "negative", "above": 0}, ("above", 0.0, 1800, 10)),
        ({"metric": "negative", "above": 40, "window": 3600}, ("above", 40.0, 3600, 10)),
    ],
)
def test_a_valid_rule_is_stored_in_the_figures_own_unit(engine, places, given, stored):
    rule_id = _add(engine, places, **given)
    with engine.connect() as conn:
        (rule,) = list_rules(conn)
    assert rule.id == rule_id
    assert (rule.direction, rule.threshold, rule.window_seconds, rule.min_responses) == stored
    assert rule.metric == given["metric"] and rule.created_by == OPS and rule.enabled


def test_recipients_are_stored_canonical_once_each(engine, places):
    _add(engine, places, metric="negative", above=40,
         notify=["email:boss@example.com", "webhook:{webhook}", "email:boss@example.com"])  # fmt: skip
    with engine.connect() as conn:
        (rule,) = list_rules(conn)
    assert rule.notify == ("email:boss@example.com", f"webhook:{places['webhook']}")


def test_a_location_has_its_own_rules_and_its_groups_also_when_it_joins_later(engine, places, make_location):
    own = _add(engine, places, metric="negative", above=40)
    of_group = _add(engine, places, location_id=None, group_id="group", metric="index", below=50)
    elsewhere = _add(engine, places, location_id="nps", metric="index", below=0)
    later = make_location(name="Security lane 2")
    with engine.begin() as conn:
        assert [r.id for r in rules_for_location(conn, places["faces"])] == [own, of_group]
        assert [r.id for r in rules_for_location(conn, places["nps"])] == [elsewhere]
        assert rules_for_location(conn, later) == []
        server_groups.add_location(conn, places["group"], later)
        assert [r.id for r in rules_for_location(conn, later)] == [of_group]
        assert [r.id for r in list_rules(conn, group_id=places["group"])] == [of_group]
        assert [r.id for r in list_rules(conn, location_id=places["faces"])] == [own]
        with pytest.raises(NotFound, match="location 999 does not exist"):
            rules_for_location(conn, 999)


def test_a_disabled_rule_is_kept_but_no_longer_applies(engine, places):
    rule_id = _add(engine, places, metric="negative", above=40)
    with engine.begin() as conn:
        assert disable_rule(conn, rule_id) == []
        assert disable_rule(conn, rule_id) == []  # again: nothing changes
        assert rules_for_location(conn, places["faces"]) == []
        assert [r.enabled for r in list_rules(conn)] == [False]
        assert list_rules(conn, enabled_only=True) == []
        assert [r.id for r in rules_for_location(conn, places["faces"], enabled_only=False)] == [rule_id]
        with pytest.raises(NotFound, match="alert rule 999 does not exist"):
            disable_rule(conn, 999)


# --- targets -----------------------------------------------------------------------------------------------------


def test_a_location_has_its_own_target_else_its_groups(engine, places):
    with engine.begin() as conn:
        assert target_for(conn, places["faces"]) == 80.0  # the group's
        assert target_for(conn, places["alone"]) is None
        set_target(conn, location_id=places["faces"], index=72.5)
        assert target_for(conn, places["faces"]) == 72.5
        set_target(conn, location_id=places["faces"], index=75)  # replaced, not added
        set_target(conn, group_id=places["group"], index=85)
        assert target_for(conn, places["faces"]) == 75.0
        set_target(conn, location_id=places["nps"], index=-30)  # an NPS target
        assert target_for(conn, places["nps"]) == -30.0
        with pytest.raises(NotFound, match="location 999 does not exist"):
            target_for(conn, 999)


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        (
            {"location_id": "faces", "index": 120},
            InvalidInput,
            "--index: expected a Happy Index from 0 to 100, got 120",
        ),
        ({"location_id": "faces", "index": -10}, InvalidInput, "--index: expected a Happy Index from 0 to 100"),
        ({"location_id": "nps", "index": -101}, InvalidInput, "--index: expected an index from -100 to 100"),
        ({"location_id": "faces", "index": float("inf")}, InvalidInput, "--index: expected a number"),
        ({"index": 50}, InvalidInput, "give exactly one of --location or --group"),
        ({"location_id": "faces", "group_id": "group", "index": 50}, InvalidInput, "exactly one"),
        ({"location_id": 999, "index": 50}, NotFound, "location 999 does not exist"),
        ({"group_id": 999, "index": 50}, NotFound, "group 999 does not exist"),
    ],
)
def test_a_target_out_of_range_is_refused(engine, places, given, error, message):
    values = {k: places[v] if isinstance(v, str) else v for k, v in given.items()}
    with engine.begin() as conn, pytest.raises(error) as refused:
        set_target(conn, **values)
    assert message in str(refused.value)
