"""``GET /api/v1/kiosks``: the fleet — each kiosk's health, clock and missing taps (read API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.deps import ApiKey, EngineDep
from server.fleet import list_kiosks
from server.schemas import KioskOut
from shared.protocol import INT32_MAX, Problem

router = APIRouter(prefix="/api/v1/kiosks", tags=["kiosks"], dependencies=[ApiKey], responses={401: {"model": Problem}})


@router.get("", response_model=list[KioskOut])
def get_kiosks(
    engine: EngineDep,
    location_id: Annotated[int | None, Query(ge=1, le=INT32_MAX, description="only this location's kiosks")] = None,
) -> list[KioskOut]:
    """Every kiosk (revoked ones too), by location: last seen, queue, clock offset, taps received and missing."""
    with engine.connect() as conn:
        return list_kiosks(conn, location_id=location_id)
