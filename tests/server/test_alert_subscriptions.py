"""Users subscribed to a location's (or its group's) alerts are told by e-mail, as long as they may see it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from server import Forbidden, NotFound
from server import groups as server_groups
from server.alerts.lifecycle import Finding, apply
from server.alerts.model import get_rule
from server.alerts.rules import add_rule
from server.alerts.subscriptions import (
    AlertSubscription,
    alert_subscriptions,
    subscribe_alerts,
    subscribers,
    unsubscribe_alerts,
    visible_groups,
)
from server.auth import accounts
from server.db import notifications, subscriptions, users
from tests.support.sessions import PASSWORD

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def people(engine, make_location):
    """A group with two locations; a lead of the group, a lead of one location, an admin."""
    gate, shop = make_location(name="Gate"), make_location(name="Shop")
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Airport")
        server_groups.add_location(conn, group, gate)
        ids = {
            "group_lead": accounts.add_user(conn, email="group@example.com", password=PASSWORD, role="manager",
                                            group_ids=[group]),
            "shop_lead": accounts.add_user(conn, email="shop@example.com", password=PASSWORD, role="manager",
                                           location_ids=[shop]),
            "admin": accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin"),
        }  # fmt: skip
    return {"gate": gate, "shop": shop, "group": group, **ids}


def test_subscribers_of_a_location_and_of_its_group_are_told(engine, people):
    with engine.begin() as conn:
        subscribe_alerts(conn, user_id=people["group_lead"], group_id=people["group"])
        subscribe_alerts(conn, user_id=people["admin"], location_id=people["gate"])
        subscribe_alerts(conn, user_id=people["shop_lead"], location_id=people["shop"])
        again = subscribe_alerts(conn, user_id=people["shop_lead"], location_id=people["shop"])

        assert subscribers(conn, people["gate"]) == ["email:admin@example.com", "email:group@example.com"]
        assert subscribers(conn, people["shop"]) == ["email:shop@example.com"]
        unsubscribe_alerts(conn, again)
        assert subscribers(conn, people["shop"]) == []


def test_a_user_may_not_subscribe_to_what_they_may_not_see(engine, people):
    with engine.begin() as conn, pytest.raises(Forbidden):
        subscribe_alerts(conn, user_id=people["shop_lead"], location_id=people["gate"])


def test_a_users_alert_subscriptions_are_listed_with_their_scopes_names(engine, people):
    with engine.begin() as conn:
        group = subscribe_alerts(conn, user_id=people["group_lead"], group_id=people["group"])
        gate = subscribe_alerts(conn, user_id=people["group_lead"], location_id=people["gate"])
        subscribe_alerts(conn, user_id=people["admin"], location_id=people["shop"])

        assert alert_subscriptions(conn, people["group_lead"]) == [
            AlertSubscription(group, None, people["group"], "Airport"),
            AlertSubscription(gate, people["gate"], None, "Gate"),
        ]
        assert [a.name for a in alert_subscriptions(conn, people["admin"])] == ["Shop"]
        assert alert_subscriptions(conn, people["shop_lead"]) == []


def test_unsubscribing_with_a_user_stops_only_that_users_subscription(engine, people):
    with engine.begin() as conn:
        theirs = subscribe_alerts(conn, user_id=people["admin"], location_id=people["shop"])
        mine = subscribe_alerts(conn, user_id=people["shop_lead"], location_id=people["shop"])

        with pytest.raises(NotFound):  # as for an unknown id, so ids are not probed
            unsubscribe_alerts(conn, theirs, user_id=people["shop_lead"])
        unsubscribe_alerts(conn, mine, user_id=people["shop_lead"])

        assert conn.execute(select(subscriptions.c.id)).scalars().all() == [theirs]


def test_the_groups_a_user_may_subscribe_to_are_those_they_see_whole(engine, people, make_location):
    lounge = make_location(name="Lounge")
    with engine.begin() as conn:
        server_groups.add_location(conn, server_groups.add_group(conn, name="Mall"), people["shop"])
        server_groups.add_group(conn, name="Empty")
        lead = accounts.add_user(conn, email="gate@example.com", password=PASSWORD, role="manager",
                                 location_ids=[people["gate"]])  # fmt: skip
        server_groups.add_location(conn, people["group"], lounge)  # after the lead was given the gate

        assert [name for _, name in visible_groups(conn, accounts.access_of(conn, people["admin"]))] == [
            "Airport", "Mall"]  # fmt: skip
        assert visible_groups(conn, accounts.access_of(conn, people["group_lead"])) == [(people["group"], "Airport")]
        assert [name for _, name in visible_groups(conn, accounts.access_of(conn, people["shop_lead"]))] == ["Mall"]
        assert visible_groups(conn, accounts.access_of(conn, lead)) == []  # sees the gate, not the new lounge


def test_an_opened_alert_reaches_the_rules_recipients_and_the_subscribers_once_each(engine, people):
    with engine.begin() as conn:
        subscribe_alerts(conn, user_id=people["group_lead"], group_id=people["group"])
        rule_id = add_rule(conn, location_id=people["gate"], metric="negative", above=40, window="30m",
                           notify=["email:group@example.com", "email:duty@example.com"], created_by="test")  # fmt: skip
        rule = get_rule(conn, rule_id)
        apply(conn, Finding(rule, people["gate"], "", True, NOW.replace(minute=0, hour=9), NOW, 80.0, 40.0, 12),
              now=NOW)  # fmt: skip
        sent = conn.execute(select(notifications.c.event, notifications.c.target)).all()

    assert sorted(sent) == [("alert.opened", "duty@example.com"), ("alert.opened", "group@example.com")]


def test_a_disabled_user_hears_nothing(engine, people):
    with engine.begin() as conn:
        subscribe_alerts(conn, user_id=people["admin"], location_id=people["gate"])
        conn.execute(users.update().where(users.c.id == people["admin"]).values(disabled_at=NOW))

        assert subscribers(conn, people["gate"]) == []


def test_the_cli_subscribes_a_user_by_email(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from server import cli

    monkeypatch.setenv("SMILEPOST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SMILEPOST_DATABASE_URL", raising=False)
    runner = CliRunner()
    location = json.loads(runner.invoke(cli.app, ["location", "add", "Gate", "--timezone", "UTC", "--json"]).output)
    runner.invoke(cli.app, ["user", "add", "lead@example.com", "--role", "manager", "--location", str(location["id"]),
                            "--password-stdin"], input=PASSWORD + "\n")  # fmt: skip

    made = runner.invoke(
        cli.app, ["alert", "subscribe", "lead@example.com", "--location", str(location["id"]), "--json"]
    )
    stopped = runner.invoke(cli.app, ["alert", "unsubscribe", str(json.loads(made.output)["id"]), "--json"])

    assert made.exit_code == 0, made.output
    assert json.loads(stopped.output)["unsubscribed"] is True
