"""The small chain most server tests sign in to: two Oslo Airport locations in one group and a New York shop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine

from server import groups as server_groups


class MakeLocation(Protocol):
    def __call__(self, *, name: str, timezone: str = ...) -> int: ...


@dataclass(frozen=True)
class Airport:
    a: int  # Security A, Europe/Oslo, in the group
    b: int  # Security B, Europe/Oslo, in the group
    shop: int  # Shop, America/New_York, in no group
    group: int  # "Oslo Airport"


def airport(engine: Engine, make_location: MakeLocation) -> Airport:
    """Create the three locations and the group; their ids."""
    a, b = make_location(name="Security A"), make_location(name="Security B")
    shop = make_location(name="Shop", timezone="America/New_York")
    with engine.begin() as conn:
        group = server_groups.add_group(conn, name="Oslo Airport")
        for location_id in (a, b):
            server_groups.add_location(conn, group, location_id)
    return Airport(a, b, shop, group)
