"""How the alert pages word an alert and a rule: the metric's name, the value and threshold in the figure's own unit
("%" for negative shares, an index, a count, minutes), and every time in the location's local time.

Pure: no I/O; the pages read the alerts (:mod:`server.alerts.listing`) and hand them here. Texts are in the
request's language (:mod:`server.web.i18n`; English outside a request). Raises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from server.alerts.listing import AlertOut
from server.alerts.model import Rule
from server.web.i18n import N_, day, decimal_mark, gettext, gettext_format, number
from shared.scores import NPS_SCALE

METRIC_NAMES = {
    "negative": N_("Negative share"),
    "index": N_("Happy Index"),
    "responses": N_("Responses"),
    "silence": N_("Silence"),
    "offline": N_("Kiosk offline"),
    "baseline": N_("Unusually negative"),
    "target": N_("Target reached"),
}
METRIC_HELP = {
    "negative": N_("negative share above X %"),
    "index": N_("Happy Index (NPS) below or above X"),
    "responses": N_("responses above or below N"),
    "silence": N_("no taps for the window while open"),
    "offline": N_("a kiosk not heard from for the window while open"),
    "baseline": N_("unusually negative for the hour of the week"),
    "target": N_("the location's target reached"),
}
STATE_NAMES = {"open": N_("Open"), "acknowledged": N_("Acknowledged"), "closed": N_("Closed")}
DIRECTIONS = {"above": N_("above {value}"), "below": N_("below {value}")}


@dataclass(frozen=True)
class AlertView:
    """One alert as a page shows it: ``alert`` itself, plus its texts (times in the location's zone)."""

    alert: AlertOut
    timezone: str
    what: str
    value: str
    threshold: str
    window: str
    opened: str
    closed: str | None
    acknowledged: str | None  # "2026-11-23 14:40 CET"


def metric_name(metric: str, scale: int) -> str:
    """``"Negative share"``, ``"Happy Index"`` (``"NPS"`` on a 0–10 question) …; an unknown metric as it is."""
    if metric == "index" and scale == NPS_SCALE:
        return gettext("NPS")
    return gettext(METRIC_NAMES[metric]) if metric in METRIC_NAMES else metric


def _number(value: float) -> str:
    return number(value, 1)


def _minutes(value: float) -> str:
    return gettext_format("{minutes} min", minutes=number(value, 0))


def _short(value: float) -> str:
    """``40``, ``2.5`` / ``2,5``: a threshold as people write it."""
    return f"{value:g}".replace(".", decimal_mark())


def figure(metric: str, value: float | None) -> str:
    """A window's figure in its unit: ``"75.0 %"`` (negative, baseline), ``"35.2"`` (index, target),
    ``"12"`` (responses), ``"45 min"`` without taps / contact (silence, offline); ``"–"`` when there is none."""
    if value is None:
        return "–"
    if metric in ("negative", "baseline"):
        return f"{_number(value)} %"
    if metric == "responses":
        return number(value, 0)
    if metric in ("silence", "offline"):
        return _minutes(value)
    return _number(value)


def threshold(metric: str, direction: str, value: float | None) -> str:
    """What the figure was held against, in its unit: ``"above 40 %"``, ``"below 50"``, ``"usually 12.0 %"``
    (baseline: the usual share at this hour of the week), ``"target 80"``, ``"30 min"``; ``"–"`` when none."""
    if value is None:
        return "–"
    if metric == "negative":
        return gettext_format("above {value} %", value=_short(value))
    if metric == "baseline":
        return gettext_format("usually {value} %", value=_number(value))
    if metric == "target":
        return gettext_format("target {value}", value=_short(value))
    if metric in ("silence", "offline"):
        return _minutes(value)
    if direction in DIRECTIONS:
        return gettext_format(DIRECTIONS[direction], value=_short(value))
    return f"{direction} {value:g}"


def rule_threshold(rule: Rule) -> str:
    """A rule's condition in the figure's unit: ``"above 40 %"``, ``"below 50"``, ``"p < 0.01"`` (baseline),
    ``"its target"`` (target), ``"–"`` for silence and offline (the window is the minutes)."""
    if rule.metric == "baseline":
        return f"p < {_short(rule.threshold)}" if rule.threshold is not None else "–"
    if rule.metric == "target":
        return gettext("its target")
    return threshold(rule.metric, rule.direction, rule.threshold)


def duration(seconds: int) -> str:
    """``"30 min"``, ``"2 h"``, ``"1 d"``, ``"90 min"``."""
    if seconds % 86400 == 0:
        return f"{seconds // 86400} {gettext('d')}"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} {gettext('h')}"
    return f"{seconds // 60} {gettext('min')}"


LOCAL = "%Y-%m-%d %H:%M %Z"


def local(moment: datetime | None, timezone: str, fmt: str = LOCAL) -> str:
    """``"2026-11-23 14:05 CET"``: a moment in a location's local time (also the templates' ``local`` filter), its
    date as the request's language writes it (``"23.11.2026 14:05 CET"``); ``"–"`` for None."""
    if moment is None:
        return "–"
    there = moment.astimezone(ZoneInfo(timezone))
    return f"{day(there.date())} {there:%H:%M %Z}" if fmt == LOCAL else there.strftime(fmt)


def span(start: datetime, end: datetime, timezone: str) -> str:
    """``"2026-11-23 14:05–14:35 CET"``, or both dates when the window crosses a local midnight."""
    zone = ZoneInfo(timezone)
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.date() == last.date():
        return f"{day(first.date())} {first:%H:%M}–{last:%H:%M %Z}"
    return f"{day(first.date())} {first:%H:%M} – {day(last.date())} {last:%H:%M %Z}"


def alert_view(alert: AlertOut, timezone: str, scale: int) -> AlertView:
    """An alert of a location in ``timezone`` asking ``scale`` as the pages word it."""
    return AlertView(
        alert=alert, timezone=timezone, what=metric_name(alert.metric, scale), value=figure(alert.metric, alert.value),
        threshold=threshold(alert.metric, alert.direction, alert.threshold),
        window=span(alert.window_start, alert.window_end, timezone), opened=local(alert.opened_at, timezone),
        closed=local(alert.closed_at, timezone) if alert.closed_at else None,
        acknowledged=local(alert.acknowledged_at, timezone) if alert.acknowledged_at else None,
    )  # fmt: skip
