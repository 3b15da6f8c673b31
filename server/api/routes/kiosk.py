"""``/api/v1/kiosk``: what a kiosk shows (config, with ETag revalidation) and its idle heartbeat."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Response

from server.api.deps import CurrentKiosk, EngineDep, SettingsDep
from server.fleet import record_heartbeat
from server.locations import kiosk_config
from shared.protocol import V2_CONFIG_FIELDS, HeartbeatPing, KioskConfig, Problem

router = APIRouter(prefix="/api/v1/kiosk", tags=["kiosk"])


@router.get(
    "/config",
    response_model=KioskConfig,
    responses={
        304: {"description": "config unchanged since the given ETag"},
        401: {"model": Problem},
        429: {"model": Problem},
    },
)
def get_config(
    kiosk: CurrentKiosk,
    engine: EngineDep,
    if_none_match: Annotated[str | None, Header()] = None,
    smilepost_features: Annotated[str | None, Header()] = None,
) -> Response:
    """The calling kiosk's configuration; 304 when ``If-None-Match`` holds the current ETag.

    A v1 kiosk gets no field it does not know (its model refuses them): the questions besides the main one and
    their mode come only with ``Smilepost-Features: questions``."""
    features = {f.strip() for f in (smilepost_features or "").split(",")}
    exclude = None if "questions" in features else set(V2_CONFIG_FIELDS)
    with engine.connect() as conn:
        body = kiosk_config(conn, kiosk.kiosk_id).model_dump_json(exclude=exclude).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/json", headers={"ETag": etag})


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an ``If-None-Match`` list (or ``*``) against our ETag."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.post(
    "/heartbeat",
    status_code=204,
    response_class=Response,
    responses={401: {"model": Problem}, 422: {"model": Problem}, 429: {"model": Problem}},
)
def post_heartbeat(ping: HeartbeatPing, kiosk: CurrentKiosk, engine: EngineDep, settings: SettingsDep) -> Response:
    """An idle kiosk's health: last seen, queue depth, app version, highest seq recorded, quarantined taps, last
    tap, clock."""
    record_heartbeat(engine, kiosk.kiosk_id, ping, skew_seconds=settings.clock_skew_seconds)
    return Response(status_code=204)
