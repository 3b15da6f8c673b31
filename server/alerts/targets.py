"""Service targets: the Happy Index (or NPS) a location or a group aims for. A location without its own target has
its group's. ``target`` alert rules (:mod:`server.alerts.evaluate`) celebrate when a location reaches it.

Raises :class:`server.InvalidInput` and :class:`server.NotFound`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from server import InvalidInput, NotFound, audit
from server.alerts.scope import check_scope, describe_range, index_range
from server.db import locations, targets
from server.groups import ancestry


def set_target(
    conn: Connection,
    *,
    location_id: int | None = None,
    group_id: int | None = None,
    index: float,
    now: datetime | None = None,
) -> None:
    """Set (or replace) the target of a location or a group: 0–100, or −100…100 where 0–10 is asked (NPS).

    Raises InvalidInput for neither or both of location and group, or an index out of range; NotFound for an
    unknown location or group.
    """
    scope = check_scope(conn, location_id, group_id)
    low, high = index_range(conn, scope)
    if isinstance(index, bool) or not isinstance(index, int | float) or not math.isfinite(index):
        raise InvalidInput(f"--index: expected a number, got {index!r}")
    if not low <= index <= high:
        raise InvalidInput(f"--index: expected {describe_range((low, high))}, got {index:g}")
    column = targets.c.location_id if scope.location_id is not None else targets.c.group_id
    key = scope.location_id if scope.location_id is not None else scope.group_id
    values = {"value": float(index), "created_at": now or datetime.now(UTC)}
    old = conn.execute(select(targets.c.value).where(column == key)).scalar()
    where = audit.location_label(conn, scope.location_id) if scope.location_id is not None else str(scope)
    audit.record(conn, "target.set", target=("location" if scope.location_id is not None else "group", key),
                 summary=f"target of {where} set to {index:g}", before={"target": old},
                 after={"target": float(index)})  # fmt: skip
    if conn.execute(update(targets).where(column == key).values(**values)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(targets).values(location_id=scope.location_id, group_id=scope.group_id, **values))
    except IntegrityError:  # another transaction set it first: ours is the later word
        conn.execute(update(targets).where(column == key).values(**values))


def target_for(conn: Connection, location_id: int) -> float | None:
    """A location's target: its own, else that of the nearest of its groups that has one (the lowest group id
    among equally near ones), else None.

    Raises NotFound for an unknown location.
    """
    if conn.execute(select(locations.c.id).where(locations.c.id == location_id)).first() is None:
        raise NotFound(f"location {location_id} does not exist")
    return targets_for(conn, [location_id]).get(location_id)


def targets_for(conn: Connection, location_ids: list[int]) -> dict[int, float]:
    """The targets of many locations at once (their own, else that of their nearest group with one, as
    :func:`target_for`), for the overview: two queries."""
    if not location_ids:
        return {}
    ids = sorted(set(location_ids))
    own = dict(conn.execute(select(targets.c.location_id, targets.c.value)
                            .where(targets.c.location_id.in_(ids))).all())  # fmt: skip
    tree = ancestry(ids)
    by_group: dict[int, float] = {}
    rows = conn.execute(
        select(tree.c.location_id, targets.c.value).join(targets, targets.c.group_id == tree.c.group_id)
        .order_by(tree.c.location_id, tree.c.depth, tree.c.group_id)
    )  # fmt: skip
    for location_id, value in rows:
        by_group.setdefault(location_id, value)  # the nearest group's
    merged = {**by_group, **own}  # a location's own target wins over its groups'
    return {i: float(merged[i]) for i in location_ids if i in merged}
