"""``/api/v1/locations``: locations and their summaries (read API key)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from server.deps import ApiKey, EngineDep
from server.schemas import LocationOut, LocationSummary
from server.summaries import list_locations, location_summary
from shared.protocol import Problem

router = APIRouter(
    prefix="/api/v1/locations", tags=["locations"], dependencies=[ApiKey],
    responses={401: {"model": Problem}},
)  # fmt: skip


@router.get("", response_model=list[LocationOut])
def get_locations(engine: EngineDep) -> list[LocationOut]:
    """Every location."""
    with engine.connect() as conn:
        return list_locations(conn)


@router.get("/{location_id}/summary", response_model=LocationSummary, responses={404: {"model": Problem}})
def get_summary(
    location_id: int,
    engine: EngineDep,
    start: Annotated[date, Query(description="first local date, YYYY-MM-DD")],
    end: Annotated[date, Query(description="local date after the last one (exclusive), YYYY-MM-DD")],
    question: Annotated[str, Query(max_length=64)] = "main",
) -> LocationSummary:
    """Happy Index, CSAT, negative share and NPS of a location over local dates [start, end)."""
    with engine.connect() as conn:
        return location_summary(conn, location_id, start, end, question)
