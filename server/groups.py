"""Location groups: named, nested (region → city → site) without cycles, and many-to-many with locations.

A group contains the locations put in it directly and, through its child groups, every location below it: its
*subtree*. A manager granted a group sees its subtree; an alert rule, a target, a subscription or a report of a group
covers its subtree, also locations added later. A location can be in several groups (an airport's security lane in
"Oslo Airport" and in "Security, all airports"); its *groups* are those it is in directly and all their ancestors,
nearest first.

Subtrees and ancestors are recursive CTEs (SQLite and PostgreSQL alike), so every query stays one statement.
Every change is recorded in the audit trail (:mod:`server.audit`).

Raises :class:`server.InvalidInput` and :class:`server.NotFound`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CTE, Connection, Select, delete, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from server import InvalidInput, NotFound, audit
from server.db import group_locations, groups, locations

# Deeper nesting than this is refused: a chain is region → country → city → site, not a linked list.
MAX_DEPTH = 8


@dataclass(frozen=True)
class Group:
    """A group: its parent (None at the top), the locations in it directly, and its child groups' ids."""

    id: int
    name: str
    parent_id: int | None
    location_ids: tuple[int, ...]
    child_ids: tuple[int, ...]


def add_group(conn: Connection, *, name: str, parent_id: int | None = None) -> int:
    """Create a group (under ``parent_id``, or at the top) and return its id.

    Raises InvalidInput for an empty or taken name or nesting deeper than :data:`MAX_DEPTH`, NotFound for an
    unknown parent.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("group name must not be empty")
    if parent_id is not None:
        _check_depth(conn, parent_id, below=1)
    try:
        with conn.begin_nested():
            row = conn.execute(insert(groups).values(name=name, parent_id=parent_id, created_at=datetime.now(UTC)))
    except IntegrityError as exc:
        raise InvalidInput(f"a group named {name!r} already exists") from exc
    group_id = int(row.inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, "group.add", target=("group", group_id), summary=f"group {group_id} {name!r} added",
                 after={"name": name, "parent_id": parent_id})  # fmt: skip
    return group_id


def set_parent(conn: Connection, group_id: int, parent_id: int | None) -> None:
    """Nest a group under ``parent_id`` (None: make it a top-level group), with its whole subtree.

    Raises NotFound for an unknown group or parent, InvalidInput when the parent is the group itself or below it
    (a cycle) or the nesting would get deeper than :data:`MAX_DEPTH`.
    """
    before = _group_row(conn, group_id)
    if parent_id is not None:
        if parent_id in subtree_group_ids(conn, group_id):
            where = "the group itself" if parent_id == group_id else f"inside group {group_id}"
            raise InvalidInput(f"group {parent_id} is {where}; a group cannot be put inside itself")
        _check_depth(conn, parent_id, below=_height(conn, group_id))
    if before.parent_id == parent_id:
        return
    conn.execute(update(groups).where(groups.c.id == group_id).values(parent_id=parent_id))
    where = f"under group {parent_id}" if parent_id is not None else "to the top level"
    audit.record(conn, "group.move", target=("group", group_id),
                 summary=f"group {group_id} {before.name!r} moved {where}",
                 before={"parent_id": before.parent_id}, after={"parent_id": parent_id})  # fmt: skip


def add_location(conn: Connection, group_id: int, location_id: int) -> bool:
    """Put a location in a group (it may be in others too). Returns False when it already was.

    Raises NotFound for an unknown group or location.
    """
    group = _group_row(conn, group_id)
    _check_location(conn, location_id)
    where = (group_locations.c.group_id == group_id) & (group_locations.c.location_id == location_id)
    if conn.execute(select(group_locations.c.group_id).where(where)).first() is not None:
        return False
    conn.execute(insert(group_locations).values(group_id=group_id, location_id=location_id))
    audit.record(conn, "group.add_location", target=("group", group_id),
                 summary=f"location {location_id} put in group {group_id} {group.name!r}",
                 after={"location_id": location_id})  # fmt: skip
    return True


def remove_location(conn: Connection, group_id: int, location_id: int) -> bool:
    """Take a location out of a group (not out of its other groups). Returns False when it was not in it.

    Raises NotFound for an unknown group.
    """
    group = _group_row(conn, group_id)
    where = (group_locations.c.group_id == group_id) & (group_locations.c.location_id == location_id)
    if conn.execute(delete(group_locations).where(where)).rowcount == 0:
        return False
    audit.record(conn, "group.remove_location", target=("group", group_id),
                 summary=f"location {location_id} taken out of group {group_id} {group.name!r}",
                 before={"location_id": location_id})  # fmt: skip
    return True


def set_location_groups(conn: Connection, location_id: int, group_ids: Iterable[int]) -> None:
    """Make ``group_ids`` exactly the groups a location is in directly (the admin page's checkboxes).

    Raises NotFound for an unknown location or group.
    """
    _check_location(conn, location_id)
    wanted = set(group_ids)
    current = set(direct_group_ids(conn, location_id))
    for group_id in sorted(wanted - current):
        add_location(conn, group_id, location_id)
    for group_id in sorted(current - wanted):
        remove_location(conn, group_id, location_id)


def list_groups(conn: Connection) -> list[Group]:
    """Every group, by name, with its parent, its locations and its children."""
    members: dict[int, list[int]] = {}
    for row in conn.execute(select(group_locations).order_by(group_locations.c.location_id)):
        members.setdefault(row.group_id, []).append(row.location_id)
    rows = conn.execute(select(groups.c.id, groups.c.name, groups.c.parent_id).order_by(groups.c.name)).all()
    children: dict[int, list[int]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row.id)
    return [
        Group(row.id, row.name, row.parent_id, tuple(members.get(row.id, ())), tuple(children.get(row.id, ())))
        for row in rows
    ]


def group_names(conn: Connection) -> list[tuple[int, str]]:
    """(id, name) of every group, by name (for pickers)."""
    return [(r.id, r.name) for r in conn.execute(select(groups.c.id, groups.c.name).order_by(groups.c.name))]


def get_group(conn: Connection, group_id: int) -> Group:
    """One group. Raises NotFound for an unknown id."""
    for group in list_groups(conn):
        if group.id == group_id:
            return group
    raise NotFound(f"group {group_id} does not exist")


def subtree(group_ids: Select[Any] | Iterable[int]) -> CTE:
    """A CTE (one column, ``id``) of the given groups and every group below them."""
    seed = group_ids if isinstance(group_ids, Select) else list(group_ids)
    tree = select(groups.c.id).where(groups.c.id.in_(seed)).cte("subtree", recursive=True)
    return tree.union(select(groups.c.id).where(groups.c.parent_id == tree.c.id))


def locations_under(group_ids: Select[Any] | Iterable[int]) -> Select[Any]:
    """A query of the ids of every location in the given groups' subtrees."""
    tree = subtree(group_ids)
    return select(group_locations.c.location_id).where(group_locations.c.group_id.in_(select(tree.c.id))).distinct()


def subtree_group_ids(conn: Connection, group_id: int) -> set[int]:
    """The group and every group below it."""
    tree = subtree([group_id])
    return set(conn.execute(select(tree.c.id)).scalars())


def subtree_location_ids(conn: Connection, group_id: int) -> list[int]:
    """Every location in the group's subtree, by id. Raises NotFound for an unknown group."""
    _group_row(conn, group_id)
    return sorted(conn.execute(locations_under([group_id])).scalars())


def direct_group_ids(conn: Connection, location_id: int) -> list[int]:
    """The groups a location is in directly, by id."""
    query = select(group_locations.c.group_id).where(group_locations.c.location_id == location_id)
    return sorted(conn.execute(query).scalars())


def ancestry(location_ids: Select[Any] | Iterable[int] | None = None) -> CTE:
    """A CTE of (``location_id``, ``group_id``, ``depth``): every group each location is in, directly (depth 0) or
    through nesting (1 for the parent of a direct group, ...). ``location_ids`` None: every location."""
    base = select(group_locations.c.location_id, group_locations.c.group_id, literal(0).label("depth"))
    if location_ids is not None:
        seed = location_ids if isinstance(location_ids, Select) else list(location_ids)
        base = base.where(group_locations.c.location_id.in_(seed))
    tree = base.cte("ancestry", recursive=True)
    up = (
        select(tree.c.location_id, groups.c.parent_id, (tree.c.depth + 1).label("depth"))
        .join(groups, groups.c.id == tree.c.group_id)
        .where(groups.c.parent_id.is_not(None), tree.c.depth < MAX_DEPTH)
    )
    return tree.union_all(up)


def location_group_ids(conn: Connection, location_id: int) -> list[int]:
    """Every group a location is in, directly or through nesting, nearest first (then by id)."""
    tree = ancestry([location_id])
    query = select(tree.c.group_id, tree.c.depth).order_by(tree.c.depth, tree.c.group_id)
    seen: list[int] = []
    for group_id, _ in conn.execute(query):
        if group_id not in seen:
            seen.append(group_id)
    return seen


def groups_of_locations(conn: Connection) -> dict[int, frozenset[int]]:
    """Every location's groups (directly or through nesting), for code that looks at many locations at once."""
    tree = ancestry()
    out: dict[int, set[int]] = {}
    for location_id, group_id in conn.execute(select(tree.c.location_id, tree.c.group_id)):
        out.setdefault(location_id, set()).add(group_id)
    return {location_id: frozenset(ids) for location_id, ids in out.items()}


def _group_row(conn: Connection, group_id: int) -> Group:
    row = conn.execute(select(groups.c.id, groups.c.name, groups.c.parent_id).where(groups.c.id == group_id)).first()
    if row is None:
        raise NotFound(f"group {group_id} does not exist")
    return Group(row.id, row.name, row.parent_id, (), ())


def _check_location(conn: Connection, location_id: int) -> None:
    if conn.execute(select(locations.c.id).where(locations.c.id == location_id)).first() is None:
        raise NotFound(f"location {location_id} does not exist")


def _depth(conn: Connection, group_id: int) -> int:
    """How many groups are above this one (0 at the top). Raises NotFound for an unknown group."""
    depth, current = 0, _group_row(conn, group_id).parent_id
    while current is not None and depth <= MAX_DEPTH:
        depth += 1
        current = conn.execute(select(groups.c.parent_id).where(groups.c.id == current)).scalar()
    return depth


def _height(conn: Connection, group_id: int) -> int:
    """Levels in the group's subtree: 1 for a group without children."""
    level, height = {group_id}, 0
    while level and height <= MAX_DEPTH:
        height += 1
        level = set(conn.execute(select(groups.c.id).where(groups.c.parent_id.in_(level))).scalars())
    return height


def _check_depth(conn: Connection, parent_id: int, *, below: int) -> None:
    """Refuse ``below`` more levels under ``parent_id`` when that nests deeper than MAX_DEPTH. Raises NotFound for an
    unknown parent, InvalidInput when too deep."""
    if _depth(conn, parent_id) + 1 + below - 1 >= MAX_DEPTH:
        raise InvalidInput(f"groups nest at most {MAX_DEPTH} levels deep")
