"""``GET /api/v1/kiosk/config``: what a kiosk shows, with ETag revalidation."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Response

from server.admin import kiosk_config
from server.deps import CurrentKiosk, EngineDep
from shared.protocol import KioskConfig, Problem

router = APIRouter(prefix="/api/v1/kiosk", tags=["kiosk"])


@router.get(
    "/config",
    response_model=KioskConfig,
    responses={304: {"description": "config unchanged since the given ETag"}, 401: {"model": Problem}},
)
def get_config(
    kiosk: CurrentKiosk, engine: EngineDep, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The calling kiosk's configuration; 304 when ``If-None-Match`` holds the current ETag."""
    with engine.connect() as conn:
        body = kiosk_config(conn, kiosk.kiosk_id).model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/json", headers={"ETag": etag})


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an ``If-None-Match`` list (or ``*``) against our ETag."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags
