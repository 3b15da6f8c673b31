"""What a notification says, in each form: the plain JSON event (what the outbox stores and a ``json`` webhook
receives), a Slack message, a Teams message with an Adaptive Card, and the title and facts e-mails are made of.
Pure: no I/O.

An alert event (``alert.opened``, ``alert.closed``, ``alert.acknowledged``)::

    {"event": "alert.opened", "alert_id": 17, "rule_id": 4, "location_id": 2, "location_name": "Gate 12",
     "kiosk_id": null, "metric": "negative", "direction": "above", "value": 46.2, "threshold": 40.0,
     "responses": 52, "window_start": "2026-03-14T15:50:00Z", "window_end": "2026-03-14T16:20:00Z",
     "timezone": "Europe/Oslo", "url": "https://smilepost.example/alerts/17",
     "acknowledged_by": null, "comment": null}

A ``report`` event: ``event``, ``period`` (day, week, month), ``period_start`` and ``period_end`` (local dates,
end exclusive), ``location_id`` or ``group_id``, ``name``, ``figures`` (name → ``{"value", "low", "high", "n"}``,
e.g. ``happy_index``, ``nps``) and ``url``. Figures are in their own unit (percent for shares), as rules are.

Slack gets ``{"text": title, "blocks": [header, section of fields, button]}`` (an incoming webhook's format); Teams
gets ``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content":
<Adaptive Card 1.4: title, FactSet, Action.OpenUrl>}]}`` (what a Teams workflow's "post card" step takes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server import InvalidInput

FORMATS = ("json", "slack", "teams")
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
OPEN_LABEL = "Open in Smilepost"
EMAIL_PART = "email"  # a report row's rendered e-mail (HTML, PDF): for its e-mail only (server.reports.mail)

# metric -> (what it is called in a sentence, unit appended to its values)
METRICS: dict[str, tuple[str, str]] = {
    "negative": ("negative share", " %"),
    "index": ("Happy Index", ""),
    "responses": ("responses", ""),
    "silence": ("minutes without taps", " min"),
    "offline": ("minutes without contact", " min"),
    "baseline": ("negative share for this hour of the week", " %"),
    "target": ("Happy Index against the target", ""),
}
FIGURES = {"happy_index": "Happy Index", "csat": "CSAT %", "negative": "Negative %", "nps": "NPS"}
PERIODS = {"day": "Daily", "week": "Weekly", "month": "Monthly"}


def page_url(public_url: str | None, path: str) -> str | None:
    """``public_url`` + ``path`` (one slash between), or None when the server's public address is not set."""
    return None if not public_url else public_url.rstrip("/") + "/" + path.lstrip("/")


def with_links(payload: Mapping[str, Any], public_url: str | None) -> dict[str, Any]:
    """``payload`` with a relative ``url`` (``/alerts/17``) made absolute under ``public_url``, or None without one:
    chat buttons and e-mail links need absolute URLs. An absolute ``url`` is kept."""
    url = payload.get("url")
    if not url or urlsplit(str(url)).scheme:
        return dict(payload)
    return {**payload, "url": page_url(public_url, str(url))}


def alert_payload(
    event: str,
    *,
    alert_id: int,
    rule_id: int,
    location_id: int,
    location_name: str,
    metric: str,
    direction: str,
    value: float | None,
    threshold: float | None,
    window_start: datetime,
    window_end: datetime,
    public_url: str | None,
    responses: int | None = None,
    kiosk_id: str | None = None,
    timezone: str | None = None,
    acknowledged_by: str | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """The plain JSON of an alert event, with ``url`` = ``<public_url>/alerts/<alert_id>`` (None without a public
    URL). Raises InvalidInput for an event that is not an alert event."""
    if not event.startswith("alert."):
        raise InvalidInput(f"not an alert event: {event!r}")
    return {
        "event": event, "alert_id": alert_id, "rule_id": rule_id, "location_id": location_id,
        "location_name": location_name, "kiosk_id": kiosk_id or None, "metric": metric, "direction": direction,
        "value": value, "threshold": threshold, "responses": responses, "window_start": _iso(window_start),
        "window_end": _iso(window_end), "timezone": timezone, "url": page_url(public_url, f"alerts/{alert_id}"),
        "acknowledged_by": acknowledged_by, "comment": comment,
    }  # fmt: skip


def report_payload(
    *,
    period: str,
    period_start: date,
    period_end: date,
    name: str,
    figures: Mapping[str, Mapping[str, float | int | None]],
    public_url: str | None,
    location_id: int | None = None,
    group_id: int | None = None,
) -> dict[str, Any]:
    """The plain JSON of a ``report`` event for a location or a group; ``url`` is the location's page (None for a
    group or without a public URL). Raises InvalidInput unless exactly one of location_id and group_id is given."""
    if (location_id is None) == (group_id is None):
        raise InvalidInput("a report is about one location or one group")
    url = page_url(public_url, f"locations/{location_id}") if location_id is not None else page_url(public_url, "")
    return {
        "event": "report", "period": period, "period_start": period_start.isoformat(),
        "period_end": period_end.isoformat(), "location_id": location_id, "group_id": group_id, "name": name,
        "figures": {key: dict(figure) for key, figure in figures.items()}, "url": url,
    }  # fmt: skip


def title(payload: Mapping[str, Any]) -> str:
    """One line saying what happened (an e-mail's subject, a chat message's headline)."""
    if payload["event"] == "report":
        kind = PERIODS.get(payload["period"], str(payload["period"]).capitalize())
        return f"{kind} report for {payload['name']}: {_period(payload)}"
    label, unit = METRICS.get(payload["metric"], (payload["metric"], ""))
    where = payload["location_name"] + (f", kiosk {payload['kiosk_id']}" if payload.get("kiosk_id") else "")
    rule = f"{payload['direction']} {_number(payload['threshold'], unit)}"
    if payload["event"] == "alert.closed":
        return f"Alert closed at {where}: {label} no longer {rule}"
    if payload["event"] == "alert.acknowledged":
        return f"Alert acknowledged at {where} by {payload.get('acknowledged_by') or 'someone'}: {label} {rule}"
    return f"Alert at {where}: {label} {_number(payload['value'], unit)} ({rule})"


def facts(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) pairs to show under the title: location, metric, value, threshold, window… or the figures of a
    report. Empty values are left out."""
    if payload["event"] == "report":
        rows = [("Period", _period(payload))]
        rows += [(FIGURES.get(key, key), _figure(figure)) for key, figure in payload["figures"].items()]
        return rows
    label, unit = METRICS.get(payload["metric"], (payload["metric"], ""))
    rows = [
        ("Location", payload["location_name"]), ("Kiosk", payload.get("kiosk_id") or ""), ("Metric", label),
        ("Value", _number(payload["value"], unit)),
        ("Threshold", f"{payload['direction']} {_number(payload['threshold'], unit)}"),
        ("Responses", "" if payload.get("responses") is None else str(payload["responses"])),
        ("Window", _window(payload["window_start"], payload["window_end"], payload.get("timezone"))),
        ("Acknowledged by", payload.get("acknowledged_by") or ""), ("Comment", payload.get("comment") or ""),
    ]  # fmt: skip
    return [(name, text) for name, text in rows if text]


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the notification's fallback) and Block Kit blocks."""
    heading = title(payload)
    fields = [{"type": "mrkdwn", "text": f"*{_slack(name)}*\n{_slack(text)}"} for name, text in facts(payload)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(heading, 150), "emoji": False}},
        {"type": "section", "fields": fields[:10]},
    ]
    if payload.get("url"):
        button = {"type": "button", "text": {"type": "plain_text", "text": OPEN_LABEL}, "url": payload["url"]}
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": _slack(heading), "blocks": blocks}


def teams_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Teams message carrying one Adaptive Card (version 1.4): the title, a FactSet and an "open" button."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": title(payload), "weight": "Bolder", "size": "Medium", "wrap": True},
            {"type": "FactSet", "facts": [{"title": name, "value": text} for name, text in facts(payload)]},
        ],
    }  # fmt: skip
    if payload.get("url"):
        card["actions"] = [{"type": "Action.OpenUrl", "title": OPEN_LABEL, "url": payload["url"]}]
    return {"type": "message", "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}]}


def webhook_body(format: str, payload: Mapping[str, Any]) -> bytes:
    """The bytes a webhook of ``format`` (json, slack, teams) receives: compact UTF-8 JSON. A report's e-mail part
    (its HTML and PDF, ``email``) stays in the outbox: a webhook gets the period and the figures.

    Raises InvalidInput for an unknown format.
    """
    payload = {key: value for key, value in payload.items() if key != EMAIL_PART}
    if format == "json":
        message: Mapping[str, Any] = payload
    elif format == "slack":
        message = slack_message(payload)
    elif format == "teams":
        message = teams_message(payload)
    else:
        raise InvalidInput(f"webhook format must be one of {', '.join(FORMATS)}, got {format!r}")
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(moment: datetime) -> str:
    """RFC 3339 UTC with a Z. Raises ValueError for a naive datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; notifications carry aware UTC times only")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _number(value: float | int | None, unit: str) -> str:
    if value is None:
        return "–"
    text = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return text + unit


def _figure(figure: Mapping[str, float | int | None]) -> str:
    """``72.4 (69.1–75.6, n = 340)``, or ``– (n = 0)`` for a figure without taps."""
    value, low, high = figure.get("value"), figure.get("low"), figure.get("high")
    interval = f"{_number(low, '')}–{_number(high, '')}, " if low is not None and high is not None else ""
    return f"{_number(value, '')} ({interval}n = {figure.get('n', 0)})"


def _window(start: str, end: str, zone_name: str | None) -> str:
    """``2026-03-14 16:50–17:20 Europe/Oslo``: the window in the location's zone (UTC when unknown)."""
    try:
        zone: ZoneInfo | Any = ZoneInfo(zone_name) if zone_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone, zone_name = UTC, None
    first = datetime.fromisoformat(start).astimezone(zone)
    last = datetime.fromisoformat(end).astimezone(zone)
    tail = f"{last:%H:%M}" if first.date() == last.date() else f"{last:%Y-%m-%d %H:%M}"
    return f"{first:%Y-%m-%d %H:%M}–{tail} {zone_name or 'UTC'}"


def _period(payload: Mapping[str, Any]) -> str:
    """``2026-03-09 – 2026-03-15`` (the last day included), or one date for a day."""
    first, end = date.fromisoformat(payload["period_start"]), date.fromisoformat(payload["period_end"])
    last = date.fromordinal(end.toordinal() - 1)
    return first.isoformat() if last <= first else f"{first.isoformat()} – {last.isoformat()}"


def _slack(text: str) -> str:
    """Escape Slack's control characters, so a name cannot mention ``<!channel>`` or make a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
