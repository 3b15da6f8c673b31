"""The customer page of a web touchpoint (``/s/<slug>``) and its service worker (``/s/sw.js``): no sign-in, no
cookies, nothing from anywhere but this server.

The page is one small HTML document (the question, the faces, every text in every language of the location as
JSON for its script) plus a script and a style sheet from ``/static/touch/``; the service worker keeps a copy of
both for offline use, and the script keeps every answer in an IndexedDB outbox until the server acknowledged it
(``POST /api/v1/touchpoints/<slug>/taps``). An unknown and a revoked touchpoint get the same 404 page. What the
page shows is worked out in :mod:`server.web.touch_view`.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, Response

from server.api.deps import EngineDep
from server.touchpoints import find_active
from server.web import touch_view
from server.web.render import STATIC_DIR, templates

router = APIRouter(tags=["web"], include_in_schema=False)

TOUCH_DIR = STATIC_DIR / "touch"
ASSETS = ("touch.js", "touch.css")
SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
WORKER_PATH = "/s/sw.js"  # under /s/, so its scope covers every page


@cache
def asset_version() -> str:
    """A hash of the page's files: in their URLs (``?v=``), so a changed file is fetched anew, and in the service
    worker, so a changed page replaces the worker and its cached copy."""
    digest = hashlib.sha256()
    for name in (*ASSETS, "sw.js"):
        digest.update((TOUCH_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


def asset_urls() -> dict[str, str]:
    """``touch.js`` -> ``/static/touch/touch.js?v=<version>``."""
    return {name: f"/static/touch/{name}?v={asset_version()}" for name in ASSETS}


@router.get(WORKER_PATH)
def service_worker() -> Response:
    """The service worker script, with this version's asset URLs filled in."""
    source = (TOUCH_DIR / "sw.js").read_text(encoding="utf-8")
    source = source.replace('"__VERSION__"', json.dumps(asset_version()))
    source = source.replace('["__ASSETS__"]', json.dumps(list(asset_urls().values())))
    return Response(source, media_type="text/javascript")


@router.get("/s/{slug}", response_class=HTMLResponse)
def touchpoint_page(
    slug: str, request: Request, engine: EngineDep, accept_language: Annotated[str | None, Header()] = None
) -> HTMLResponse:
    """The page of an active touchpoint, in the language ``Accept-Language`` prefers among the location's; the
    same 404 page for an unknown and a revoked one, and for one of an archived location."""
    target = None
    if SLUG.match(slug):
        with engine.connect() as conn:
            target = find_active(conn, slug)
    if target is None or target.archived:
        missing: dict[str, Any] = {"text": touch_view.WEB_TEXTS, "language": "en", "assets": asset_urls()}
        return templates.TemplateResponse(request, "touchpoint_missing.html", missing, status_code=404)
    page = target.page_config()
    config = touch_view.location_config(page)
    language = touch_view.pick_language(accept_language, touch_view.languages(config))
    data = touch_view.page_data(
        page, language=language, repeat_press_seconds=page.repeat_press_seconds,
        tap_url=f"/api/v1/touchpoints/{slug}/taps",
    )  # fmt: skip
    data["worker"] = WORKER_PATH
    text = data["texts"][language]
    pads = {scale: touch_view.pad(scale, text) for scale in touch_view.scales_of(page)}
    context: dict[str, Any] = {
        "page": page, "data": data, "text": text, "language": language, "pads": pads,
        "main": data["questions"][0], "smile": touch_view.face_svg(5, 5), "assets": asset_urls(),
    }  # fmt: skip
    return templates.TemplateResponse(request, "touchpoint.html", context)
