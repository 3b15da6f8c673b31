"""``GET /api/v1/kiosks``: the fleet — each kiosk's health, clock and missing taps (API key or dashboard session;
a manager sees the kiosks of their locations only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.deps import EngineDep, Viewer
from server.fleet import list_kiosks
from server.schemas import KioskOut
from shared.protocol import INT32_MAX, Problem

router = APIRouter(prefix="/api/v1/kiosks", tags=["kiosks"], responses={401: {"model": Problem}})


@router.get("", response_model=list[KioskOut])
def get_kiosks(
    engine: EngineDep,
    access: Viewer,
    location_id: Annotated[int | None, Query(ge=1, le=INT32_MAX, description="only this location's kiosks")] = None,
) -> list[KioskOut]:
    """Every kiosk (revoked ones too), by location: last seen, queue, clock offset, taps received and missing."""
    with engine.connect() as conn:
        return [k for k in list_kiosks(conn, location_id=location_id) if access.may_see(k.location_id)]
