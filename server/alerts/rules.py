"""Alert rules: what to watch (a metric of a location, or of each location of a group), over which window, from how
many responses on, and whom to tell.

- ``negative --above X``: the share of negative faces is above X % (a percentage, 0–100);
- ``index --below X`` (trouble) or ``--above X`` (celebrate): the headline (Happy Index 0–100; NPS −100…100 where
  only 0–10 is asked) is below / above X;
- ``responses --above N`` or ``--below N``: the number of counted responses is above / below N;
- ``silence``: no press at all for the window while the location is open by its opening hours (no threshold: the
  window is the N minutes);
- ``offline``: a kiosk not heard from for the window, one alert per kiosk (no threshold);
- ``baseline``: the negative share is unusually high for this location at this hour of the week
  (:mod:`server.alerts.baseline`); no threshold, or ``--below P``, the p-value it fires under (default 0.01);
- ``target``: the headline reached the location's (else its group's) target (celebrate); no threshold.

A figure fires only with at least ``min_responses`` counted responses in its window (default 10; 0 for
``responses``; ``silence`` and ``offline`` count none). A window is 15 minutes to 24 hours (``15m``, ``2h``, ``1d``);
a ``target`` rule may look back up to 7 days (the issue's ``--window 7d``).

Raises :class:`server.InvalidInput` (the message names the option: ``--window``, ``--above`` …) and
:class:`server.NotFound` (an unknown location, group, rule or webhook).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, or_, select, update

from server import InvalidInput, NotFound, audit
from server.alerts.baseline import DEFAULT_P_VALUE
from server.alerts.lifecycle import close_all
from server.alerts.model import Rule, get_rule, rule_of
from server.alerts.scope import Scope, check_scope, describe_range, index_range, scales
from server.alerts.targets import target_for
from server.db import alert_rules, locations, targets
from server.groups import ancestry
from server.notify.outbox import recipient
from server.notify.webhooks import active_webhook
from shared.scores import FACE_SCALES

METRICS = ("negative", "index", "responses", "silence", "offline", "baseline", "target")
FIGURES = ("negative", "index", "responses", "baseline", "target")  # computed from the window's counted taps
MIN_WINDOW = 15 * 60
MAX_WINDOW = 24 * 3600
MAX_TARGET_WINDOW = 7 * 24 * 3600
DEFAULT_MIN_RESPONSES = 10  # negative, index, baseline, target: so that 2 sad taps do not wake anyone
MAX_MIN_RESPONSES = 1_000_000
MAX_P_VALUE = 0.05
MAX_RECIPIENTS = 20

_WINDOW = re.compile(r"^\s*(\d{1,5})\s*([mhd])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def parse_window(text: str, *, longest: int = MAX_WINDOW) -> int:
    """Seconds of a window written ``15m``, ``90m``, ``2h`` or ``1d``: 15 minutes to ``longest`` (24 hours).

    Raises InvalidInput for anything else.
    """
    match = _WINDOW.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(f"--window: expected minutes, hours or days such as 30m, 2h or 1d, got {text!r}")
    seconds = int(match[1]) * _UNIT_SECONDS[match[2]]
    return _check_window(seconds, longest, text.strip())


def _check_window(seconds: int, longest: int, shown: str) -> int:
    """``seconds`` if it is 15 minutes to ``longest``. Raises InvalidInput otherwise."""
    if seconds < MIN_WINDOW:
        raise InvalidInput(f"--window: {shown} is shorter than the shortest window, 15m")
    if seconds > longest:
        raise InvalidInput(f"--window: {shown} is longer than the longest window, {_written(longest)}")
    return seconds


def _written(seconds: int) -> str:
    """``86400`` -> ``"1d"``, ``7200`` -> ``"2h"``, ``900`` -> ``"15m"``."""
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def window_seconds(window: str | int, metric: str) -> int:
    """The window of a rule: text for :func:`parse_window`, or whole minutes in seconds. Raises InvalidInput."""
    longest = MAX_TARGET_WINDOW if metric == "target" else MAX_WINDOW
    if isinstance(window, str):
        return parse_window(window, longest=longest)
    if isinstance(window, bool) or not isinstance(window, int) or window % 60:
        raise InvalidInput(f"--window: expected 30m, 2h, 1d or whole minutes in seconds, got {window!r}")
    return _check_window(window, longest, _written(window))


def add_rule(
    conn: Connection,
    *,
    location_id: int | None = None,
    group_id: int | None = None,
    metric: str,
    above: float | None = None,
    below: float | None = None,
    window: str | int,
    min_responses: int | None = None,
    notify: list[str] | tuple[str, ...] = (),
    created_by: str,
    now: datetime | None = None,
) -> int:
    """Store a rule and return its id (see the module docstring for what each metric takes).

    ``min_responses`` None means the metric's default (10; 0 for ``responses``). Raises InvalidInput for neither
    or both of location and group, an unknown metric, a threshold the metric does not take or out of its range,
    a window outside 15m-24h, a bad ``min_responses``, a recipient that is not ``email:ADDR`` / ``webhook:ID`` or
    an empty ``created_by``; NotFound for an unknown location, group or webhook.
    """
    scope = check_scope(conn, location_id, group_id)
    if metric not in METRICS:
        raise InvalidInput(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
    seconds = window_seconds(window, metric)
    direction, threshold = _threshold(conn, scope, metric, _number("--above", above), _number("--below", below))
    responses = _min_responses(metric, min_responses)
    recipients = _recipients(conn, notify)
    if not isinstance(created_by, str) or not created_by.strip() or len(created_by) > 254:
        raise InvalidInput("created_by: expected who makes the rule (an e-mail address or a name, ≤ 254 characters)")
    row = conn.execute(
        insert(alert_rules).values(
            location_id=scope.location_id, group_id=scope.group_id, metric=metric, direction=direction,
            threshold=threshold, window_seconds=seconds, min_responses=responses, notify=json.dumps(recipients),
            created_at=now or datetime.now(UTC), created_by=created_by.strip(),
        )
    )  # fmt: skip
    rule_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    where = audit.location_label(conn, scope.location_id) if scope.location_id is not None else str(scope)
    audit.record(conn, "alert_rule.add", target=("alert_rule", rule_id),
                 summary=f"alert rule {rule_id} added: {metric} {direction} {threshold} on {where}",
                 after={"location_id": scope.location_id, "group_id": scope.group_id, "metric": metric,
                        "direction": direction, "threshold": threshold, "window_seconds": seconds,
                        "min_responses": responses, "notify": recipients})  # fmt: skip
    return rule_id


def _number(option: str, value: float | None) -> float | None:
    """``value`` as a float (None stays None). Raises InvalidInput for a non-number, NaN or infinity."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{option}: expected a number, got {value!r}")
    return float(value)


def _threshold(
    conn: Connection, scope: Scope, metric: str, above: float | None, below: float | None
) -> tuple[str, float | None]:
    """(direction, threshold) of a rule. Raises InvalidInput (naming the option) when the metric does not take
    what was given."""
    if above is not None and below is not None:
        raise InvalidInput("give --above or --below, not both")
    if metric == "negative":
        return "above", _negative(conn, scope, above, below)
    if metric == "index":
        return _index(conn, scope, above, below)
    if metric == "responses":
        return _responses(above, below)
    if metric in ("silence", "offline"):
        if above is not None or below is not None:
            what = "taps" if metric == "silence" else "contact from a kiosk"
            raise InvalidInput(
                f"--{'above' if above is not None else 'below'}: {_a_rule(metric)} takes no threshold; "
                f"its --window is the minutes without {what}"
            )
        return "above", None
    if metric == "baseline":
        return "above", _baseline(conn, scope, above, below)
    return _target(conn, scope, above, below)


def _a_rule(metric: str) -> str:
    """``"a silence rule"``, ``"an offline rule"``."""
    return f"{'an' if metric[0] in 'aeiou' else 'a'} {metric} rule"


def _negative(conn: Connection, scope: Scope, above: float | None, below: float | None) -> float:
    if below is not None:
        raise InvalidInput("--below: a negative rule fires when the share of negative faces is --above X %")
    if above is None:
        raise InvalidInput("--above: a negative rule needs --above X, a percentage of negative faces (0-100)")
    if not 0 <= above < 100:
        raise InvalidInput(f"--above: expected a percentage from 0 to 100 (40 means 40 %), got {above:g}")
    _faces_only(conn, scope, "negative")
    return above


def _faces_only(conn: Connection, scope: Scope, metric: str) -> None:
    """Raises InvalidInput when a location asks 0–10 only: negative shares are of face taps."""
    if scope.location_id is not None and not scales(conn, scope) & set(FACE_SCALES):
        raise InvalidInput(
            f"--metric {metric}: {scope} asks 0-10, and negative shares are of face taps; use --metric index"
        )


def _index(conn: Connection, scope: Scope, above: float | None, below: float | None) -> tuple[str, float]:
    if above is None and below is None:
        raise InvalidInput("--above/--below: an index rule needs --below X (trouble) or --above X (celebrate)")
    option, value = ("--above", above) if above is not None else ("--below", below)
    assert value is not None
    bounds = index_range(conn, scope)
    if not bounds[0] <= value <= bounds[1]:
        raise InvalidInput(f"{option}: expected {describe_range(bounds)}, got {value:g}")
    return option[2:], value


def _responses(above: float | None, below: float | None) -> tuple[str, float]:
    if above is None and below is None:
        raise InvalidInput("--above/--below: a responses rule needs --above N or --below N, a number of responses")
    option, value = ("--above", above) if above is not None else ("--below", below)
    assert value is not None
    least = 1 if option == "--below" else 0
    if value != int(value) or value < least:
        raise InvalidInput(f"{option}: expected a whole number of responses, {least} or more, got {value:g}")
    return option[2:], value


def _baseline(conn: Connection, scope: Scope, above: float | None, below: float | None) -> float:
    if above is not None:
        raise InvalidInput(
            "--above: a baseline rule takes no threshold; it compares the window with this location's usual "
            f"share at this hour of the week (optionally --below P, the p-value it fires under, default "
            f"{DEFAULT_P_VALUE})"
        )
    if below is not None and not 0 < below <= MAX_P_VALUE:
        raise InvalidInput(
            f"--below: a baseline rule's p-value must be above 0 and at most {MAX_P_VALUE}, got {below:g}"
        )
    _faces_only(conn, scope, "baseline")
    return DEFAULT_P_VALUE if below is None else below


def _target(conn: Connection, scope: Scope, above: float | None, below: float | None) -> tuple[str, None]:
    if above is not None or below is not None:
        raise InvalidInput(
            f"--{'above' if above is not None else 'below'}: a target rule takes no threshold; it uses the target "
            "of the location or group (smilepost target set)"
        )
    if not _has_target(conn, scope):
        option = "--location" if scope.location_id is not None else "--group"
        key = scope.location_id if scope.location_id is not None else scope.group_id
        raise InvalidInput(
            f"--metric target: {scope} has no target; set one first (smilepost target set {option} {key} --index N)"
        )
    return "above", None


def _has_target(conn: Connection, scope: Scope) -> bool:
    """Whether a target applies: the location's own or its group's; for a group, its own."""
    if scope.location_id is not None:
        return target_for(conn, scope.location_id) is not None
    return conn.execute(select(targets.c.id).where(targets.c.group_id == scope.group_id)).first() is not None


def _min_responses(metric: str, value: int | None) -> int:
    """The stored minimum. Raises InvalidInput for a non-integer, one out of range, or one given to a metric
    it does not apply to."""
    if metric in ("silence", "offline"):
        if value:
            raise InvalidInput(f"--min-responses: does not apply to {_a_rule(metric)}, which counts no responses")
        return 0
    if value is None:
        return 0 if metric == "responses" else DEFAULT_MIN_RESPONSES
    least = 0 if metric == "responses" else 1
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_MIN_RESPONSES:
        raise InvalidInput(
            f"--min-responses: expected a whole number from {least} to {MAX_MIN_RESPONSES}, got {value!r}"
        )
    return value


def _recipients(conn: Connection, notify: list[str] | tuple[str, ...]) -> list[str]:
    """``email:ADDR`` / ``webhook:ID`` in canonical form, duplicates dropped.

    Raises InvalidInput for a malformed one, a revoked webhook or too many; NotFound for an unknown webhook.
    """
    if isinstance(notify, str):
        raise InvalidInput("--notify: expected a list of email:ADDRESS and webhook:ID")
    found = list(dict.fromkeys(recipient(text) for text in notify))
    if len(found) > MAX_RECIPIENTS:
        raise InvalidInput(f"--notify: at most {MAX_RECIPIENTS} recipients per rule, got {len(found)}")
    for channel, target in found:
        if channel == "webhook":
            active_webhook(conn, int(target))
    return [f"{channel}:{target}" for channel, target in found]


def list_rules(
    conn: Connection, *, location_id: int | None = None, group_id: int | None = None, enabled_only: bool = False
) -> list[Rule]:
    """Rules by id: all, or those set on one location or one group (not the group's rules of a location: see
    :func:`rules_for_location`), optionally only the enabled ones."""
    query = select(alert_rules).order_by(alert_rules.c.id)
    if location_id is not None:
        query = query.where(alert_rules.c.location_id == location_id)
    if group_id is not None:
        query = query.where(alert_rules.c.group_id == group_id)
    if enabled_only:
        query = query.where(alert_rules.c.disabled_at.is_(None))
    return [rule_of(row) for row in conn.execute(query)]


def rules_for_location(conn: Connection, location_id: int, *, enabled_only: bool = True) -> list[Rule]:
    """The rules that apply to a location: its own and those of its groups (and the groups above them), by id.

    Raises NotFound for an unknown location.
    """
    if conn.execute(select(locations.c.id).where(locations.c.id == location_id)).first() is None:
        raise NotFound(f"location {location_id} does not exist")
    tree = ancestry([location_id])
    where = or_(alert_rules.c.location_id == location_id, alert_rules.c.group_id.in_(select(tree.c.group_id)))
    query = select(alert_rules).where(where).order_by(alert_rules.c.id)
    if enabled_only:
        query = query.where(alert_rules.c.disabled_at.is_(None))
    return [rule_of(r) for r in conn.execute(query)]


def disable_rule(conn: Connection, rule_id: int, *, now: datetime | None = None) -> list[int]:
    """Disable a rule (kept, with its alerts, for the record) and close its alerts that are not closed, each with
    an ``alert.closed`` notification in this transaction; the ids of the alerts closed. Disabling a disabled rule
    changes nothing.

    Raises NotFound for an unknown rule.
    """
    now = now or datetime.now(UTC)
    # A write first: on SQLite the transaction takes the write lock now, never upgrading a read.
    disabled = conn.execute(
        update(alert_rules)
        .where(alert_rules.c.id == rule_id, alert_rules.c.disabled_at.is_(None))
        .values(disabled_at=now)
    ).rowcount
    closed = close_all(conn, get_rule(conn, rule_id), now)
    if disabled:
        audit.record(conn, "alert_rule.disable", target=("alert_rule", rule_id),
                     summary=f"alert rule {rule_id} disabled; {len(closed)} open alerts closed",
                     before={"disabled_at": None}, after={"disabled_at": now, "closed_alerts": closed})  # fmt: skip
    return closed
