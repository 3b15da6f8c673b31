"""What a rule or a target is about: one location, or one group (and so each location in it).

Raises :class:`server.InvalidInput` (neither or both given) and :class:`server.NotFound` (an unknown one).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from server import InvalidInput, NotFound
from server.db import groups, locations
from server.groups import locations_under
from shared.scores import NPS_SCALE

INDEX_RANGE = (0.0, 100.0)  # a Happy Index
NPS_RANGE = (-100.0, 100.0)  # an NPS, on locations asking 0-10


@dataclass(frozen=True)
class Scope:
    """A location (``location_id``) or a group (``group_id``): exactly one is set."""

    location_id: int | None
    group_id: int | None

    def __str__(self) -> str:
        return f"location {self.location_id}" if self.location_id is not None else f"group {self.group_id}"


def check_scope(conn: Connection, location_id: int | None, group_id: int | None) -> Scope:
    """The scope named by exactly one of ``location_id`` and ``group_id``.

    Raises InvalidInput when neither or both are given, NotFound when it does not exist.
    """
    if (location_id is None) == (group_id is None):
        raise InvalidInput("give exactly one of --location or --group")
    table, key = (locations, location_id) if location_id is not None else (groups, group_id)
    if conn.execute(select(table.c.id).where(table.c.id == key)).first() is None:
        raise NotFound(f"{'location' if location_id is not None else 'group'} {key} does not exist")
    return Scope(location_id, group_id)


def scales(conn: Connection, scope: Scope) -> set[int]:
    """The scales the scope's location (or the group's locations) ask today."""
    query = select(locations.c.scale)
    if scope.location_id is not None:
        query = query.where(locations.c.id == scope.location_id)
    else:
        query = query.where(locations.c.id.in_(locations_under([scope.group_id or 0])))
    return {int(s) for s in conn.execute(query).scalars()}


def index_range(conn: Connection, scope: Scope) -> tuple[float, float]:
    """The range of the scope's headline: −100…100 when it (or a location of the group) asks 0–10, else 0–100."""
    return NPS_RANGE if NPS_SCALE in scales(conn, scope) else INDEX_RANGE


def describe_range(bounds: tuple[float, float]) -> str:
    """``"a Happy Index from 0 to 100"`` or ``"an index from -100 to 100 (NPS on 0-10)"``."""
    return "an index from -100 to 100 (NPS on 0-10)" if bounds == NPS_RANGE else "a Happy Index from 0 to 100"
