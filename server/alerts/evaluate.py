"""The evaluator: every enabled rule, at every location it applies to (its own, or each location of its group,
including ones added later), judged now; alerts opened, updated and closed (:mod:`server.alerts.lifecycle`).

**Windows** are spans ``[end − w, end)`` of effective (clock-corrected) tap time, counted in SQL from ``taps``
(:mod:`server.alerts.figures`) and scored with :mod:`shared.scores`; only counted presses (not ``repeat``) make a
figure. Alerts are about now: the window ending now is judged, and for windows shorter than :data:`LOOKBACK` (an hour)
also the windows ending every :data:`STEP` (5 minutes) before it within the last hour, so taps that arrive late
still count toward windows that ended within the last hour. A condition holds when any of these windows meets it
(the latest such window is the alert's); a backlog older than that (a kiosk that was offline for a day) never opens
an alert. ``responses --below`` judges only the window ending now: late taps only add responses, so an earlier
window that had too few was already too few when it ended. A figure rule holds only with at least
``min_responses`` counted responses in the window.

- ``negative``: the share of negative faces (%) is above the threshold;
- ``index``: the headline (Happy Index; NPS where only 0–10 was answered) is below / above the threshold;
- ``responses``: the count of counted presses is above / below the threshold;
- ``target``: the headline is at or above the location's target (its own, else its group's);
- ``baseline``: the negative share is unusually high for this hour of the week (:mod:`server.alerts.baseline`);
- ``silence``: no press at all (counted or not) for the whole window, while the location was open all of it by its
  opening hours (always, without hours); judged from its first kiosk's creation on, never at a location without
  kiosks;
- ``offline``: per kiosk not revoked: not heard from (``last_seen_at``, else its creation) for the window, while the
  location was open all of it.

A quiet window that was not open throughout is not judged (``holds`` None): an open ``silence`` or ``offline`` alert
stays open over the night, and a kiosk switched off at closing time alerts only if it is still off one window after
opening.

Values are in the figure's own unit; ``silence`` and ``offline`` report minutes without taps / contact against the
window's minutes, ``baseline`` the window's negative share against the usual one.

**Lifecycle.** Holding: open the alert (``alert.opened``) or update its figures and reset ``clear_since``. Clear:
set ``clear_since`` once, and close the alert (``alert.closed``) once it has been clear for one window. With windows
shorter than an hour the condition is clear only when no window ending within the last hour holds. An alert whose
rule no longer applies to its location (it left the group) or whose kiosk was revoked is judged clear.

**Transactions.** The figures are read on one connection; each change is then its own short transaction with its
notifications (one per (rule, location, kiosk)), so a failure at one location never holds back the others, and
several evaluators (one per instance) may run at once: the database keeps one alert per (rule, location, kiosk).

Raises nothing of its own: a failure judging or changing one alert is logged and listed in the report's ``errors``,
and the others go on.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from server.alerts import baseline
from server.alerts.figures import (
    Presses,
    Rows,
    active_kiosks,
    counted_in,
    counted_presses,
    hour_rows,
    last_press,
    rows_between,
    window_rows,
)
from server.alerts.lifecycle import Finding, Outcome, apply
from server.alerts.model import Rule
from server.alerts.rules import FIGURES, list_rules
from server.alerts.targets import target_for
from server.analytics.summaries import Scores
from server.db import alerts, locations
from server.groups import groups_of_locations
from shared import scores
from shared.hours import OpeningHours, open_at
from shared.protocol import LocationConfig

log = logging.getLogger(__name__)

LOOKBACK = timedelta(hours=1)  # late taps count toward windows that ended this long ago
STEP = timedelta(minutes=5)  # between the ends of the earlier windows judged
AlertKey = tuple[int, int, str]  # rule, location, kiosk ('' but for offline)


@dataclass(frozen=True)
class Place:
    """A location as the evaluator needs it."""

    id: int
    timezone: str
    scale: int
    config: str | None  # LocationConfig JSON, None: the defaults
    group_ids: frozenset[int]  # every group it is in, directly or through nesting
    # The counted presses of the last two hours, read once per evaluation for every short window judged there.
    recent: dict[datetime, Presses] = field(default_factory=dict, compare=False, hash=False)

    def opening_hours(self) -> OpeningHours | None:
        return LocationConfig.model_validate_json(self.config).opening_hours if self.config else None


@dataclass
class EvaluationReport:
    """What one :func:`evaluate` did: rules and findings judged, alerts opened, updated, clearing and closed (ids),
    opens another evaluator won (``raced``), and failures (logged too)."""

    now: datetime
    rules: int = 0
    findings: int = 0
    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    clearing: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    raced: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        """Add one :func:`~server.alerts.lifecycle.apply` outcome."""
        if outcome.kind == "raced":
            self.raced += 1
        elif outcome.alert_id is not None and outcome.kind in ("opened", "updated", "clearing", "closed"):
            getattr(self, outcome.kind).append(outcome.alert_id)


def evaluate(engine: Engine, *, now: datetime | None = None) -> EvaluationReport:
    """Judge every enabled rule at every location it applies to, as of ``now`` (default: the current time), and
    open, update and close alerts with their notifications (module docstring).

    Raises ValueError for a naive ``now``, and database errors while reading the rules and locations; a failure
    judging or changing one alert is logged and listed in ``errors`` instead.
    """
    now = _aware(now)
    report = EvaluationReport(now=now)
    with engine.connect() as conn:
        rules = list_rules(conn, enabled_only=True)
        active = _active_alerts(conn)
        findings, failed = _judge_all(conn, rules, _places(conn), now, report)
    findings += _no_longer_judged(rules, active, findings, failed, now)
    report.rules, report.findings = len(rules), len(findings)
    for finding in findings:
        if finding.holds or _key(finding) in active:
            _apply(engine, finding, now, report)
    return report


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _key(finding: Finding) -> AlertKey:
    return finding.rule.id, finding.location_id, finding.kiosk_id


def _judge_all(
    conn: Connection, rules: list[Rule], places: list[Place], now: datetime, report: EvaluationReport
) -> tuple[list[Finding], set[tuple[int, int]]]:
    """The findings of every rule at every place it applies to, and the (rule, location) pairs that failed."""
    findings, failed = [], set()
    for rule in rules:
        for place in places:
            if not applies(rule, place):
                continue
            try:
                findings += judge(conn, rule, place, now)
            except Exception as exc:  # one broken location must not stop every other alert
                log.exception("judging alert rule %s at location %s failed", rule.id, place.id)
                report.errors.append(f"rule {rule.id} at location {place.id}: {exc!r}")
                failed.add((rule.id, place.id))
    return findings, failed


def _no_longer_judged(
    rules: list[Rule], active: set[AlertKey], findings: list[Finding], failed: set[tuple[int, int]], now: datetime
) -> list[Finding]:
    """Clear findings for alerts not closed that nothing judged: the location left the rule's group, the kiosk was
    revoked (not those whose judging failed)."""
    judged = {_key(f) for f in findings}
    by_id = {rule.id: rule for rule in rules}
    return [
        _clear(by_id[rule_id], location_id, kiosk_id, now)
        for rule_id, location_id, kiosk_id in sorted(active - judged)
        if rule_id in by_id and (rule_id, location_id) not in failed
    ]


def _apply(engine: Engine, finding: Finding, now: datetime, report: EvaluationReport) -> None:
    try:
        with engine.begin() as conn:
            report.count(apply(conn, finding, now=now))
    except Exception as exc:  # e.g. a lost connection: the next evaluation tries again
        log.exception("updating the alert of rule %s at location %s failed", finding.rule.id, finding.location_id)
        report.errors.append(f"rule {finding.rule.id} at location {finding.location_id}: {exc!r}")


def _places(conn: Connection) -> list[Place]:
    """The locations rules watch: every one but the archived (a closed site is silent and its kiosks are refused, so
    watching it would only cry wolf; its open alerts stay as they were, for someone to acknowledge)."""
    c = locations.c
    query = select(c.id, c.timezone, c.scale, c.config).where(c.archived_at.is_(None)).order_by(c.id)
    memberships = groups_of_locations(conn)
    return [Place(r.id, r.timezone, r.scale, r.config, memberships.get(r.id, frozenset())) for r in conn.execute(query)]


def _active_alerts(conn: Connection) -> set[AlertKey]:
    query = select(alerts.c.rule_id, alerts.c.location_id, alerts.c.kiosk_id).where(alerts.c.closed_at.is_(None))
    return {(r.rule_id, r.location_id, r.kiosk_id) for r in conn.execute(query)}


def applies(rule: Rule, place: Place) -> bool:
    """Whether ``rule`` watches ``place``: set on it, or on one of its groups (or a group above one)."""
    return rule.location_id == place.id or (rule.group_id is not None and rule.group_id in place.group_ids)


def judge(conn: Connection, rule: Rule, place: Place, now: datetime) -> list[Finding]:
    """What ``rule`` finds at ``place`` now: one finding, or one per kiosk for ``offline``.

    Raises ValueError for a corrupt stored tap (a score outside its scale).
    """
    if rule.metric == "offline":
        return _offline(conn, rule, place, now)
    if rule.metric == "silence":
        return [_silence(conn, rule, place, now)]
    if rule.metric in FIGURES:
        return [_figures(conn, rule, place, now)]
    raise ValueError(f"rule {rule.id} has an unknown metric {rule.metric!r}")


def window_ends(window: timedelta, now: datetime, *, late_taps_matter: bool = True) -> list[datetime]:
    """The ends of the windows judged, latest first: ``now``, and for a window shorter than LOOKBACK every STEP
    back while the end is within LOOKBACK — unless late taps cannot make the condition true (too few responses),
    when only the window ending now is judged."""
    if window >= LOOKBACK or not late_taps_matter:
        return [now]
    return [now - STEP * i for i in range(math.ceil(LOOKBACK / STEP))]


def _clear(rule: Rule, location_id: int, kiosk_id: str, now: datetime) -> Finding:
    return Finding(rule, location_id, kiosk_id, holds=False, window_start=now - rule.window, window_end=now)


def _figures(conn: Connection, rule: Rule, place: Place, now: datetime) -> Finding:
    """The latest window that meets the rule, else the window ending now (clear)."""
    ends = window_ends(rule.window, now, late_taps_matter=(rule.metric, rule.direction) != ("responses", "below"))
    if rule.min_responses and counted_in(conn, place.id, ends[-1] - rule.window, now) < rule.min_responses:
        return _clear(rule, place.id, "", now)  # no window can have enough responses: nothing to count
    target = target_for(conn, place.id) if rule.metric == "target" else None
    latest: Finding | None = None
    for end in ends:
        finding = _measure(conn, rule, place, end - rule.window, end, target, now)
        if finding.holds:
            return finding
        latest = latest or finding
    assert latest is not None
    return latest


def _measure(
    conn: Connection, rule: Rule, place: Place, start: datetime, end: datetime, target: float | None, now: datetime
) -> Finding:
    """One window's figure and whether it meets the rule (with at least min_responses behind it)."""
    rows = _window_rows(conn, place, start, end, now)
    threshold = rule.threshold
    if rule.metric in ("negative", "baseline"):
        share = scores.negative(rows)
        value, n = share.value, share.n
        if rule.metric == "baseline":
            meets, threshold = _unusual(conn, rule, place, start, end, share)
        else:
            meets = value is not None and threshold is not None and value > threshold
    elif rule.metric == "responses":
        value = n = sum(count for _, _, count in rows)
        meets = threshold is not None and (n > threshold if rule.direction == "above" else n < threshold)
    else:  # index, target: the headline
        headline = Scores.of(rows, place.scale).headline
        value, n = headline.value, headline.n
        threshold = target if rule.metric == "target" else threshold
        meets = value is not None and threshold is not None and _passes(rule, value, threshold)
    holds = meets and n >= rule.min_responses
    return Finding(rule, place.id, "", holds, start, end, value=value, threshold=threshold, responses=n)


def _window_rows(conn: Connection, place: Place, start: datetime, end: datetime, now: datetime) -> Rows:
    """The window's (scale, score, count). A window inside the two hours before ``now`` is counted from the place's
    presses of those hours, read once per evaluation (a short window is judged at up to 12 ends); others in SQL."""
    if start < now - 2 * LOOKBACK or end > now:
        return window_rows(conn, place.id, start, end)
    if now not in place.recent:
        place.recent.clear()
        place.recent[now] = counted_presses(conn, place.id, now - 2 * LOOKBACK, now)
    return rows_between(place.recent[now], start, end)


def _passes(rule: Rule, value: float, threshold: float) -> bool:
    """index: below or above the threshold; target: at or above it."""
    if rule.metric == "target":
        return value >= threshold
    return value < threshold if rule.direction == "below" else value > threshold


def _unusual(
    conn: Connection, rule: Rule, place: Place, start: datetime, end: datetime, share: scores.Share
) -> tuple[bool, float | None]:
    """The baseline test of a window: whether it fires, and the usual negative share (%) it was compared with."""
    if share.n < max(1, rule.min_responses):
        return False, None
    hours = baseline.history_hours(start, end, ZoneInfo(place.timezone))
    usual = scores.negative(hour_rows(conn, place.id, hours))
    p_level = rule.threshold if rule.threshold is not None else baseline.DEFAULT_P_VALUE
    verdict = baseline.verdict(share.k, share.n, usual.k, usual.n, p_level=p_level, min_responses=rule.min_responses)
    return verdict.fires, usual.value


def _silence(conn: Connection, rule: Rule, place: Place, now: datetime) -> Finding:
    """No press for the whole window while the location was open all of it (and has a kiosk); not judged (None)
    when it was silent but not open all the window, so closing time neither opens nor closes an alert."""
    start, minutes = now - rule.window, rule.window_seconds / 60
    contacts = active_kiosks(conn, place.id)
    latest = last_press(conn, place.id, now)
    quiet = (now - latest).total_seconds() / 60 if latest else None
    if not contacts:
        return Finding(rule, place.id, "", False, start, now, value=quiet, threshold=minutes)
    first = min(c.created_at for c in contacts)
    since = max(latest, first) if latest else first
    holds = _while_open(since < start, place, start, now)
    return Finding(rule, place.id, "", holds, start, now, value=quiet, threshold=minutes)


def _while_open(quiet: bool, place: Place, start: datetime, end: datetime) -> bool | None:
    """A ``silence`` or ``offline`` verdict: clear when not ``quiet``; when quiet, it holds if the location was open
    all of ``[start, end]`` by its opening hours, else it is not judged (None)."""
    if not quiet:
        return False
    return True if open_throughout(place.opening_hours(), ZoneInfo(place.timezone), start, end) else None


def open_throughout(hours: OpeningHours | None, zone: ZoneInfo, start: datetime, end: datetime) -> bool:
    """Whether a location with opening ``hours`` is open at every moment of ``[start, end]`` (hours change only on
    whole local minutes, which are whole UTC minutes in every zone)."""
    if hours is None:
        return True
    moment = start
    while moment <= end:
        if not open_at(hours, moment.astimezone(zone)):
            return False
        moment = (moment + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return open_at(hours, end.astimezone(zone))


def _offline(conn: Connection, rule: Rule, place: Place, now: datetime) -> list[Finding]:
    """One finding per kiosk not revoked: not heard from for the window, while the location was open all of it
    (a kiosk switched off for the night is not judged until the location has been open for one window)."""
    start, minutes = now - rule.window, rule.window_seconds / 60
    return [
        Finding(rule, place.id, contact.kiosk_id, _while_open(contact.heard <= start, place, start, now), start, now,
                value=max(0.0, (now - contact.heard).total_seconds() / 60), threshold=minutes)
        for contact in active_kiosks(conn, place.id)
    ]  # fmt: skip
