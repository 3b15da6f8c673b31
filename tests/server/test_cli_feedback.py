"""``smilepost alert|webhook|target``: rules, receivers and targets from the command line, each with ``--json``."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import cli_runner


@pytest.fixture
def run(tmp_path, monkeypatch):
    """``run(*args)`` -> the command's result, on a fresh SQLite database in tmp_path."""
    return cli_runner(tmp_path, monkeypatch, "SMILEPOST_SECRET_KEY")


def test_alert_rules_are_added_listed_and_disabled(run):
    location = json.loads(run("location", "add", "Gate 7", "--timezone", "Europe/Oslo", "--json").output)["id"]
    webhook = json.loads(run("webhook", "add", "https://hooks.example.net/x", "--format", "slack", "--json").output)

    added = run("alert", "add", "--location", str(location), "--metric", "negative", "--above", "40", "--window", "2h",
                "--min-responses", "8", "--notify", "email:lead@example.com", "--notify", f"webhook:{webhook['id']}",
                "--json")  # fmt: skip
    rule = json.loads(added.output)["id"]
    listed = json.loads(run("alert", "list", "--json").output)
    disabled = run("alert", "disable", str(rule), "--json")

    assert added.exit_code == 0, added.output
    assert listed == [{"id": rule, "location_id": location, "group_id": None, "metric": "negative",
                       "direction": "above", "threshold": 40.0, "window_seconds": 7200, "min_responses": 8,
                       "notify": ["email:lead@example.com", f"webhook:{webhook['id']}"], "enabled": True}]  # fmt: skip
    assert json.loads(disabled.output) == {"id": rule, "closed_alerts": []}
    assert json.loads(run("alert", "list", "--json").output)[0]["enabled"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--metric", "negative", "--above", "140"], "--above"), (["--metric", "index", "--window", "5m"], "--window"),
     (["--metric", "negative", "--above", "40", "--notify", "sms:123"], "notify")],
)  # fmt: skip
def test_a_rule_that_cannot_be_used_exits_2_saying_what_was_expected(run, args, message):
    location = json.loads(run("location", "add", "Gate 7", "--timezone", "Europe/Oslo", "--json").output)["id"]

    result = run("alert", "add", "--location", str(location), *args)

    assert result.exit_code == 2 and message in result.output
    assert json.loads(run("alert", "list", "--json").output) == []


def test_a_webhook_shows_its_secret_once_and_lists_without_it(run):
    added = json.loads(run("webhook", "add", "https://hooks.example.net/x", "--json").output)
    listed = json.loads(run("webhook", "list", "--json").output)
    revoked = run("webhook", "revoke", str(added["id"]), "--json")

    assert added["secret"].startswith("whsec_") and len(added["secret"]) > 40
    assert listed == [{"id": added["id"], "url": "https://hooks.example.net/x", "format": "json"}]
    assert json.loads(revoked.output) == {"id": added["id"], "revoked": True}
    assert json.loads(run("webhook", "list", "--json").output) == []


def test_a_target_is_set_for_a_location(run):
    location = json.loads(run("location", "add", "Gate 7", "--timezone", "Europe/Oslo", "--json").output)["id"]

    result = run("target", "set", "--location", str(location), "--index", "80", "--json")
    too_high = run("target", "set", "--location", str(location), "--index", "180")

    assert json.loads(result.output) == {"location_id": location, "index": 80.0}
    assert too_high.exit_code == 2
