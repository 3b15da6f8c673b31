"""What notifications say: plain JSON, Slack and Teams webhook bodies, titles and facts (server.notify.payloads)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from server import InvalidInput
from server.notify.payloads import (
    ADAPTIVE_CARD,
    alert_payload,
    facts,
    report_payload,
    slack_message,
    teams_message,
    title,
    webhook_body,
    with_links,
)

START = datetime(2026, 3, 14, 15, 50, tzinfo=UTC)
END = datetime(2026, 3, 14, 16, 20, tzinfo=UTC)


def alert(event: str = "alert.opened", **overrides):
    values: dict[str, Any] = dict(
        alert_id=17, rule_id=4, location_id=2, location_name="Gate 12", metric="negative", direction="above",
        value=46.2, threshold=40.0, responses=52, window_start=START, window_end=END,
        public_url="https://smile.example/", timezone="Europe/Oslo",
    )  # fmt: skip
    values.update(overrides)
    return alert_payload(event, **values)


def report(**overrides):
    values: dict[str, Any] = dict(
        period="week", period_start=date(2026, 3, 9), period_end=date(2026, 3, 16), name="Gate 12", location_id=2,
        figures={"happy_index": {"value": 72.4, "low": 69.1, "high": 75.6, "n": 340}, "nps": {"value": None, "n": 0}},
        public_url="https://smile.example",
    )  # fmt: skip
    values.update(overrides)
    return report_payload(**values)


def test_alert_json_has_the_documented_fields_and_a_dashboard_link():
    payload = alert()

    assert payload == {
        "event": "alert.opened", "alert_id": 17, "rule_id": 4, "location_id": 2, "location_name": "Gate 12",
        "kiosk_id": None, "metric": "negative", "direction": "above", "value": 46.2, "threshold": 40.0,
        "responses": 52, "window_start": "2026-03-14T15:50:00Z", "window_end": "2026-03-14T16:20:00Z",
        "timezone": "Europe/Oslo", "url": "https://smile.example/alerts/17", "acknowledged_by": None, "comment": None,
    }  # fmt: skip
    assert json.loads(webhook_body("json", payload)) == payload


def test_alert_without_public_url_has_no_link():
    assert alert(public_url=None)["url"] is None
    assert "actions" not in teams_message(alert(public_url=None))["attachments"][0]["content"]
    assert [b["type"] for b in slack_message(alert(public_url=None))["blocks"]] == ["header", "section"]


def test_alert_payload_refuses_report_events_and_naive_times():
    with pytest.raises(InvalidInput):
        alert("report")
    with pytest.raises(ValueError, match="naive"):
        alert(window_start=datetime(2026, 3, 14, 15, 50))


@pytest.mark.parametrize(
    ("event", "extra", "expected"),
    [
        ("alert.opened", {}, "Alert at Gate 12: negative share 46.2 % (above 40 %)"),
        ("alert.closed", {}, "Alert closed at Gate 12: negative share no longer above 40 %"),
        ("alert.acknowledged", {"acknowledged_by": "ann@example.com"},
         "Alert acknowledged at Gate 12 by ann@example.com: negative share above 40 %"),
        ("alert.opened", {"metric": "offline", "kiosk_id": "k1", "value": 45, "threshold": 30},
         "Alert at Gate 12, kiosk k1: minutes without contact 45 min (above 30 min)"),
        ("alert.opened", {"metric": "index", "direction": "below", "value": 55.0, "threshold": 60},
         "Alert at Gate 12: Happy Index 55 (below 60)"),
    ],
)  # fmt: skip
def test_alert_titles(event, extra, expected):
    assert title(alert(event, **extra)) == expected


def test_alert_facts_show_the_window_in_the_locations_time_zone():
    shown = dict(facts(alert("alert.acknowledged", acknowledged_by="ann@example.com", comment="queue opened")))

    assert shown == {
        "Location": "Gate 12", "Metric": "negative share", "Value": "46.2 %", "Threshold": "above 40 %",
        "Responses": "52", "Window": "2026-03-14 16:50–17:20 Europe/Oslo", "Acknowledged by": "ann@example.com",
        "Comment": "queue opened",
    }  # fmt: skip
    assert dict(facts(alert(timezone=None)))["Window"] == "2026-03-14 15:50–16:20 UTC"


def test_report_json_carries_period_and_headline_figures():
    payload = report()

    assert payload["event"] == "report"
    assert (payload["period"], payload["period_start"], payload["period_end"]) == ("week", "2026-03-09", "2026-03-16")
    assert payload["figures"]["happy_index"] == {"value": 72.4, "low": 69.1, "high": 75.6, "n": 340}
    assert payload["url"] == "https://smile.example/locations/2"
    assert title(payload) == "Weekly report for Gate 12: 2026-03-09 – 2026-03-15"
    assert dict(facts(payload)) == {
        "Period": "2026-03-09 – 2026-03-15", "Happy Index": "72.4 (69.1–75.6, n = 340)", "NPS": "– (n = 0)"
    }  # fmt: skip


def test_report_is_about_one_location_or_one_group():
    with pytest.raises(InvalidInput):
        report(group_id=3)
    with pytest.raises(InvalidInput):
        report(location_id=None)
    assert report(location_id=None, group_id=3)["group_id"] == 3


def test_slack_message_is_text_with_blocks_for_an_incoming_webhook():
    message = json.loads(webhook_body("slack", alert()))

    assert message["text"] == "Alert at Gate 12: negative share 46.2 % (above 40 %)"
    header, section, actions = message["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": message["text"], "emoji": False}}
    assert {"type": "mrkdwn", "text": "*Location*\nGate 12"} in section["fields"]
    assert actions["elements"][0]["url"] == "https://smile.example/alerts/17"


def test_slack_message_escapes_names_so_they_cannot_ping_or_link():
    message = slack_message(alert(location_name="<!channel> & <https://evil.example|click>"))

    mrkdwn = [message["text"], *(field["text"] for field in message["blocks"][1]["fields"])]
    assert not any("<" in text for text in mrkdwn)  # the header is plain_text: Slack parses nothing there
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in message["text"]


def test_teams_message_carries_an_adaptive_card():
    message = json.loads(webhook_body("teams", alert()))

    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    heading, fact_set = card["body"]
    assert heading["text"] == title(alert()) and heading["wrap"] is True
    assert {"title": "Value", "value": "46.2 %"} in fact_set["facts"]
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Smilepost", "url": alert()["url"]}]


def test_report_renders_in_every_format():
    for format in ("json", "slack", "teams"):
        assert "Gate 12" in webhook_body(format, report()).decode()


def test_unknown_webhook_format_is_refused():
    with pytest.raises(InvalidInput, match="json, slack, teams"):
        webhook_body("discord", alert())


@pytest.mark.parametrize(
    ("url", "public_url", "expected"),
    [
        ("/alerts/17", "https://smile.example/", "https://smile.example/alerts/17"),
        ("/alerts/17", "https://example.com/smilepost", "https://example.com/smilepost/alerts/17"),
        ("/alerts/17", None, None),
        ("https://other.example/alerts/17", "https://smile.example", "https://other.example/alerts/17"),
        (None, "https://smile.example", None),
    ],
)
def test_relative_links_are_made_absolute_under_public_url(url, public_url, expected):
    assert with_links({**alert(), "url": url}, public_url)["url"] == expected
