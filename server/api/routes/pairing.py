"""Kiosk pairing: one-time codes made with an admin API key, redeemed by a kiosk for its token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict

from server.api.deps import AdminKey, EngineDep, LocationId
from server.auth import pairing
from shared.protocol import KioskName, PairRequest, PairResult, Problem

router = APIRouter(prefix="/api/v1", tags=["pairing"])


class PairCodeRequest(BaseModel):
    """Body of ``POST /api/v1/locations/{id}/pair-codes`` (optional)."""

    model_config = ConfigDict(extra="forbid")

    kiosk_name: KioskName | None = None


class PairCodeOut(BaseModel):
    """A one-time pairing code (shown once) and when it expires."""

    code: str
    expires_at: datetime


@router.post(
    "/pair",
    response_model=PairResult,
    responses={403: {"model": Problem}, 422: {"model": Problem}, 429: {"model": Problem}},
)
def pair(body: PairRequest, request: Request, engine: EngineDep) -> PairResult:
    """Trade a one-time pairing code for a kiosk token (no credentials; failed attempts are rate-limited)."""
    client = request.client.host if request.client else "unknown"
    enrolment = pairing.redeem_pair_code(engine, code=body.code, client=client, kiosk_name=body.name)
    return PairResult(kiosk_id=enrolment.kiosk_id, token=enrolment.token, server_time=datetime.now(UTC))


@router.post(
    "/locations/{location_id}/pair-codes",
    status_code=201,
    response_model=PairCodeOut,
    dependencies=[AdminKey],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}},
)
def create_pair_code(
    location_id: LocationId, engine: EngineDep, body: Annotated[PairCodeRequest | None, Body()] = None
) -> PairCodeOut:
    """A single-use code, valid 15 minutes, that pairs one kiosk with this location (admin API key)."""
    with engine.begin() as conn:
        code = pairing.create_pair_code(conn, location_id=location_id, kiosk_name=body.kiosk_name if body else None)
    return PairCodeOut(code=code.code, expires_at=code.expires_at)
