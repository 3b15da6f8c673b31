"""``/api/v1/locations``: locations, their summaries (read API key) and their kiosk config (admin key to change)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from server import admin
from server.deps import AdminKey, ApiKey, EngineDep, LocationId
from server.schemas import LocationOut, LocationSummary
from server.summaries import list_locations, location_summary
from shared.protocol import LocationConfig, Problem

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
    location_id: LocationId,
    engine: EngineDep,
    start: Annotated[date, Query(description="first local date, YYYY-MM-DD")],
    end: Annotated[date, Query(description="local date after the last one (exclusive), YYYY-MM-DD")],
    question: Annotated[str, Query(max_length=64)] = "main",
) -> LocationSummary:
    """Happy Index, CSAT, negative share and NPS of a location over local dates [start, end)."""
    with engine.connect() as conn:
        return location_summary(conn, location_id, start, end, question)


@router.put(
    "/{location_id}/config",
    response_model=LocationConfig,
    dependencies=[AdminKey],
    responses={403: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)
def put_location_config(location_id: LocationId, config: LocationConfig, engine: EngineDep) -> LocationConfig:
    """Replace what the location's kiosks show (admin API key); ``admin_pin_hash: "set"`` keeps the PIN."""
    with engine.begin() as conn:
        return admin.configure_location(conn, location_id, config=config)


@router.get(
    "/{location_id}/config",
    response_model=LocationConfig,
    responses={404: {"model": Problem}},
)
def get_location_config(location_id: LocationId, engine: EngineDep) -> LocationConfig:
    """The location's kiosk config (defaults until set); a PIN hash shows as ``"set"``."""
    with engine.connect() as conn:
        return admin.location_config(conn, location_id)
