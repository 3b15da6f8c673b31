"""Nested location groups: region → city → site without cycles, a location in several groups, a manager of a group
seeing its whole subtree, and rules, targets and reports of a group covering its subtree."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from server import InvalidInput, NotFound, groups
from server.alerts.rules import add_rule, rules_for_location
from server.alerts.targets import set_target, target_for
from server.auth import accounts
from server.reports.data import group_scope
from shared import scores
from tests.support.sessions import PASSWORD, sign_in


@pytest.fixture
def chain(engine, make_location):
    """Norway → Oslo → {Gate A, Gate B}, Norway → Bergen → {Flesland}; Gate A also in "Security, all airports"."""
    places = {name: make_location(name=name) for name in ("Gate A", "Gate B", "Flesland", "Lounge")}
    with engine.begin() as conn:
        norway = groups.add_group(conn, name="Norway")
        oslo = groups.add_group(conn, name="Oslo", parent_id=norway)
        bergen = groups.add_group(conn, name="Bergen")
        groups.set_parent(conn, bergen, norway)
        security = groups.add_group(conn, name="Security, all airports")
        for group, name in ((oslo, "Gate A"), (oslo, "Gate B"), (bergen, "Flesland"), (security, "Gate A")):
            groups.add_location(conn, group, places[name])
    return {"norway": norway, "oslo": oslo, "bergen": bergen, "security": security, **places}


def test_a_group_contains_the_locations_of_every_group_below_it(engine, chain):
    with engine.connect() as conn:
        assert groups.subtree_location_ids(conn, chain["norway"]) == sorted(
            [chain["Gate A"], chain["Gate B"], chain["Flesland"]]
        )
        assert groups.subtree_location_ids(conn, chain["oslo"]) == sorted([chain["Gate A"], chain["Gate B"]])
        assert groups.subtree_location_ids(conn, chain["security"]) == [chain["Gate A"]]


def test_a_location_can_be_in_several_groups_and_lists_them_nearest_first(engine, chain):
    with engine.connect() as conn:
        assert groups.direct_group_ids(conn, chain["Gate A"]) == sorted([chain["oslo"], chain["security"]])
        assert groups.location_group_ids(conn, chain["Gate A"]) == [
            *sorted([chain["oslo"], chain["security"]]), chain["norway"]
        ]  # fmt: skip
        assert groups.location_group_ids(conn, chain["Lounge"]) == []


@pytest.mark.parametrize(("child", "parent"), [("norway", "norway"), ("norway", "oslo"), ("oslo", "oslo")])
def test_a_group_cannot_be_put_inside_itself_or_below_itself(engine, chain, child, parent):
    with engine.begin() as conn, pytest.raises(InvalidInput, match="cannot be put inside itself"):
        groups.set_parent(conn, chain[child], chain[parent])
    with engine.connect() as conn:  # nothing changed
        assert groups.get_group(conn, chain["norway"]).parent_id is None
        assert groups.get_group(conn, chain["oslo"]).parent_id == chain["norway"]


def test_nesting_deeper_than_the_limit_is_refused(engine):
    with engine.begin() as conn:
        parent = None
        for level in range(groups.MAX_DEPTH):
            parent = groups.add_group(conn, name=f"level {level}", parent_id=parent)
        with pytest.raises(InvalidInput, match="at most"):
            groups.add_group(conn, name="too deep", parent_id=parent)


def test_unknown_groups_and_locations_are_not_found(engine, chain):
    with engine.begin() as conn:
        for call in (
            lambda: groups.add_group(conn, name="Orphan", parent_id=999),
            lambda: groups.set_parent(conn, 999, None),
            lambda: groups.add_location(conn, chain["oslo"], 999),
            lambda: groups.add_location(conn, 999, chain["Lounge"]),
        ):
            with pytest.raises(NotFound):
                call()


def test_a_manager_of_a_group_sees_its_whole_subtree_also_locations_added_later(engine, chain, make_location):
    with engine.begin() as conn:
        regional = accounts.add_user(conn, email="region@example.com", password=PASSWORD, role="manager",
                                     group_ids=[chain["norway"]])  # fmt: skip
        assert accounts.access_of(conn, regional).location_ids == {chain["Gate A"], chain["Gate B"], chain["Flesland"]}
    later = make_location(name="Gate C")
    with engine.begin() as conn:
        groups.add_location(conn, chain["oslo"], later)
        assert later in accounts.access_of(conn, regional).location_ids  # type: ignore[operator]
        groups.remove_location(conn, chain["oslo"], later)
        assert later not in accounts.access_of(conn, regional).location_ids  # type: ignore[operator]


def test_rules_and_targets_of_a_group_reach_the_locations_below_it(engine, chain):
    with engine.begin() as conn:
        rule = add_rule(conn, group_id=chain["norway"], metric="negative", above=30, window="1h", created_by="t")
        set_target(conn, group_id=chain["norway"], index=70)
        set_target(conn, group_id=chain["oslo"], index=80)

        assert [r.id for r in rules_for_location(conn, chain["Flesland"])] == [rule]
        assert target_for(conn, chain["Gate B"]) == 80  # the nearest group's target
        assert target_for(conn, chain["Flesland"]) == 70
        assert target_for(conn, chain["Lounge"]) is None


def test_a_report_of_a_group_pools_every_location_of_its_subtree(engine, chain):
    with engine.connect() as conn:
        scope = group_scope(conn, chain["norway"])
    assert sorted(place.id for place in scope.places) == sorted([chain["Gate A"], chain["Gate B"], chain["Flesland"]])


def test_the_overview_rolls_up_by_group_pooling_the_taps_of_its_locations(
    client, engine, location, send, tap, enroll, make_location
):
    second = make_location(name="Gate B")
    second_kiosk = enroll(second)
    with engine.begin() as conn:
        region = groups.add_group(conn, name="Region")
        city = groups.add_group(conn, name="City", parent_id=region)
        groups.add_location(conn, city, location)
        groups.add_location(conn, region, second)
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    today = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    first_scores, second_scores = [5, 4, 1], [2, 5]
    assert send([tap(score=s, tapped_at=today) for s in first_scores]).status_code == 200
    assert send([tap(score=s, tapped_at=today) for s in second_scores], token=second_kiosk.token).status_code == 200
    sign_in(client, "admin@example.com")

    page = client.get("/?range=7d").text

    def cell(group: int, name: str) -> str:
        row = re.search(rf'<tr data-group="{group}">(.*?)</tr>', page, re.S)
        assert row is not None, page
        found = re.search(rf'class="num {name}">\s*(?:<span[^>]*>\s*<strong>)?([^<]*?)\s*<', row.group(1))
        assert found is not None, row.group(1)
        return found.group(1)

    pooled = scores.happy_index([(5, s, 1) for s in first_scores + second_scores]).value
    assert (cell(region, "responses"), cell(region, "locations")) == ("5", "2")
    assert (cell(city, "responses"), cell(city, "locations")) == ("3", "1")
    assert pooled is not None and cell(region, "index").startswith(f"{pooled:.1f}")
