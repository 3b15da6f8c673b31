"""``POST /api/v1/taps``: kiosks deliver batches of taps."""

from __future__ import annotations

from fastapi import APIRouter, Request

from server.deps import CurrentKiosk, EngineDep, SettingsDep
from server.ingest import ingest_batch
from shared.protocol import BatchResult, Problem, TapBatch

router = APIRouter(prefix="/api/v1/taps", tags=["kiosk"])


@router.post(
    "",
    response_model=BatchResult,
    responses={401: {"model": Problem}, 413: {"model": Problem}, 422: {"model": Problem}, 429: {"model": Problem}},
)
def post_taps(
    batch: TapBatch, kiosk: CurrentKiosk, engine: EngineDep, settings: SettingsDep, request: Request
) -> BatchResult:
    """Store a batch of taps for the calling kiosk's location (idempotent by tap id, atomic per batch)."""
    result = ingest_batch(engine, kiosk, batch, skew_seconds=settings.clock_skew_seconds)
    request.app.state.metrics.observe_batch(len(batch.taps), result)
    return result
