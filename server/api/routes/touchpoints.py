"""``POST /api/v1/touchpoints/{slug}/taps``: the customer page of a web touchpoint delivers its taps.

The same protocol-v1 batch a kiosk sends (the page's device id as ``boot_id``, a per-device ``seq``), through the
same ingest (:func:`server.ingest.ingest_web_batch`). No credentials: the slug names the touchpoint. Only the page
can post: the request must carry ``X-Smilepost-Client: web`` and an ``Origin`` of this server, which a form or a
script on another site cannot send (a custom header makes the browser ask first, and nothing here answers yes), and
which the page's script and its service worker send alike, also hours later from the offline outbox.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Request

from server import Forbidden, NotFound, RateLimited
from server.api.deps import EngineDep, SettingsDep
from server.api.routes.taps import TapBatchRoute
from server.auth.ratelimit import RateLimiter
from server.ingest import ingest_web_batch
from server.lifecycle import ARCHIVED
from server.settings import Settings
from server.touchpoints import find_active
from shared.protocol import BatchResult, Problem, TapBatch

CLIENT_HEADER = "X-Smilepost-Client"
CLIENT_VALUE = "web"
GONE = "no such touchpoint (it may have been revoked)"

router = APIRouter(prefix="/api/v1/touchpoints", tags=["web"], route_class=TapBatchRoute)


@router.post(
    "/{slug}/taps",
    response_model=BatchResult,
    responses={
        403: {"model": Problem},
        404: {"model": Problem},
        413: {"model": Problem},
        422: {"model": Problem},
        429: {"model": Problem},
    },
)
def post_web_taps(
    slug: str,
    batch: TapBatch,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    x_smilepost_client: Annotated[str | None, Header()] = None,
    origin: Annotated[str | None, Header()] = None,
) -> BatchResult:
    """Store a batch of taps from the customer page of touchpoint ``slug`` (idempotent by tap id, atomic per
    batch); repeats are the server's to decide. 403 when not sent by the page of this server, 404 for an unknown
    or revoked touchpoint, 429 over the per-address limit."""
    _check_sender(request, settings, x_smilepost_client, origin)
    limiter: RateLimiter | None = request.app.state.web_limiter
    client = request.client.host if request.client else "unknown"
    if limiter is not None and (retry_after := limiter.hit(client)) is not None:
        raise RateLimited(retry_after, "taps from this address")
    with engine.connect() as conn:
        target = find_active(conn, slug)
    if target is None:
        raise NotFound(GONE)
    if target.archived:
        raise Forbidden(ARCHIVED.format(id=target.location_id))
    result = ingest_web_batch(
        engine, target.source, batch, repeat_seconds=target.repeat_seconds, skew_seconds=settings.clock_skew_seconds
    )
    request.app.state.metrics.observe_batch(len(batch.taps), result)
    return result


def _check_sender(request: Request, settings: Settings, client: str | None, origin: str | None) -> None:
    """Raise Forbidden unless the request carries the page's header and an Origin of this server: the public
    URL's when one is set, else the one the request was addressed to (its Host)."""
    if client != CLIENT_VALUE:
        raise Forbidden(f"only the touchpoint's page may post here ({CLIENT_HEADER} missing)")
    if settings.public_url:
        expected = urlsplit(settings.public_url)
        allowed = origin is not None and urlsplit(origin)[:2] == expected[:2]
    else:
        allowed = origin is not None and urlsplit(origin).netloc == request.headers.get("host")
    if not allowed:
        raise Forbidden("only the touchpoint's page may post here (Origin is not this server)")
