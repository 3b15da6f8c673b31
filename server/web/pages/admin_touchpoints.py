"""Web touchpoints for operators (issue #13): ``/admin/touchpoints`` lists them per location with their QR codes and
has the forms to create and revoke one (admins only; form posts carry the session's CSRF token, then redirect with
a one-shot message); ``/admin/touchpoints/{id}/table-tent.pdf`` is the printable table tent; and, public as the
customer page itself, ``/s/<slug>/qr.svg`` and ``/s/<slug>/qr.png`` are the page's QR code (404 for an unknown or
revoked slug, as the page).

A QR code holds the page's absolute address: under ``SMILEPOST_PUBLIC_URL`` when it is set, else under the address
the request came to. The library is :mod:`server.touchpoints`, :mod:`server.qrcodes` and
:mod:`server.reports.table_tent`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from server import InvalidInput, NotFound
from server.analytics import summaries
from server.api.deps import SESSION_COOKIE, AdminForm, AdminPageSession, EngineDep, SettingsDep
from server.api.routes.touchpoints import GONE
from server.auth.accounts import Session
from server.qrcodes import qr_png, qr_svg
from server.reports.table_tent import table_tent_data, table_tent_pdf
from server.settings import Settings
from server.touchpoints import (
    MAX_NAME,
    Touchpoint,
    add_touchpoint,
    find_active,
    get_touchpoint,
    list_touchpoints,
    revoke_touchpoint,
)
from server.web.flash import set_flash
from server.web.forms import whole_number
from server.web.i18n import N_, gettext, gettext_format
from server.web.render import render
from shared.protocol import INT32_MAX

router = APIRouter(tags=["dashboard"], include_in_schema=False)

TouchpointId = Annotated[int, Path(ge=1, le=INT32_MAX, description="touchpoint id")]
PAGE = "/admin/touchpoints"
GONE_NOW = N_("its link and QR code lead nowhere now.")


def base_url(request: Request, settings: Settings) -> str:
    """The server's address as customers reach it: the public URL when set, else the one this request came to."""
    return settings.public_url or str(request.base_url)


# --- the QR code of a customer page (public) ---------------------------------------------------------------------


@router.get("/s/{slug}/qr.svg")
def qr_code_svg(slug: str, request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    """The QR code of touchpoint ``slug``'s page as SVG. Raises NotFound (404) for an unknown or revoked one."""
    url = _page_url(slug, request, engine, settings)
    return Response(qr_svg(url, title=url), media_type="image/svg+xml")


@router.get("/s/{slug}/qr.png")
def qr_code_png(slug: str, request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    """The QR code of touchpoint ``slug``'s page as PNG. Raises NotFound (404) for an unknown or revoked one."""
    return Response(qr_png(_page_url(slug, request, engine, settings)), media_type="image/png")


def _page_url(slug: str, request: Request, engine: Engine, settings: Settings) -> str:
    """The absolute address of an active touchpoint's page. Raises NotFound for an unknown or revoked one."""
    with engine.connect() as conn:
        target = find_active(conn, slug)
        if target is None:
            raise NotFound(GONE)
        touchpoint = get_touchpoint(conn, target.touchpoint_id)
    return touchpoint.url(base_url(request, settings))


# --- admin pages --------------------------------------------------------------------------------------------------


@router.get(PAGE, response_class=HTMLResponse)
def touchpoints_page(request: Request, engine: EngineDep, settings: SettingsDep, session: AdminPageSession) -> Response:
    """Every touchpoint by location (QR code, address, created, revoked, last tap, taps) and the form to add one."""
    return _touchpoints_view(request, engine, settings, session)


def _touchpoints_view(
    request: Request, engine: Engine, settings: Settings, session: Session, *, error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    """The page; ``error`` and ``form`` re-show a rejected post (from the server's state, never the URL)."""
    with engine.connect() as conn:
        places = summaries.visible_locations(conn, None)
        listed = list_touchpoints(conn)
    places.sort(key=lambda p: (p.group is None, p.group or "", p.name, p.id))  # groups first, on every database
    by_location: dict[int, list[Touchpoint]] = {}
    for touchpoint in listed:
        by_location.setdefault(touchpoint.location_id, []).append(touchpoint)
    return render(
        request, "admin_touchpoints.html", session, places=places, by_location=by_location,
        base=base_url(request, settings).rstrip("/"), form=form or {"location_id": "", "name": ""}, max_name=MAX_NAME,
        error=error, status_code=422 if error else 200,
    )  # fmt: skip


@router.post(PAGE)
def create_touchpoint(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    session: AdminForm,
    location_id: Annotated[str, Form(max_length=12)],
    name: Annotated[str, Form(max_length=MAX_NAME)] = "",
) -> Response:
    """Create a touchpoint at a location (named "Web <n>" without a name); a location or name that cannot be used
    re-shows the form with the message (422) and creates nothing."""
    try:
        with engine.begin() as conn:
            made = add_touchpoint(conn, location_id=whole_number(location_id, "location"), name=name.strip() or None)
            message = gettext_format(
                "Touchpoint {name} created at {location}: {url}",
                name=made.name, location=made.location_name, url=made.url(base_url(request, settings)),
            )  # fmt: skip
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    except (InvalidInput, NotFound) as exc:
        form = {"location_id": location_id, "name": name}
        return _touchpoints_view(request, engine, settings, session, error=str(exc), form=form)
    return RedirectResponse(f"{PAGE}#touchpoint-{made.id}", status_code=303)


@router.post(PAGE + "/{touchpoint_id}/revoke")
def revoke(request: Request, touchpoint_id: TouchpointId, engine: EngineDep, session: AdminForm) -> Response:
    """Revoke a touchpoint: its page, tap endpoint and QR code answer 404 from now on; its taps stay. Raises NotFound
    (404) for an unknown one."""
    with engine.begin() as conn:
        revoked = revoke_touchpoint(conn, touchpoint_id)
        message = gettext_format("Touchpoint {name} at {location} revoked: {gone}", name=revoked.name,
                                 location=revoked.location_name, gone=gettext(GONE_NOW))  # fmt: skip
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    return RedirectResponse(PAGE, status_code=303)


@router.get(PAGE + "/{touchpoint_id}/table-tent.pdf")
def table_tent(
    request: Request, touchpoint_id: TouchpointId, engine: EngineDep, settings: SettingsDep, session: AdminPageSession
) -> Response:
    """The touchpoint's table tent: one A4 page to fold, the QR code on both sides. Raises NotFound (404) for an
    unknown or revoked touchpoint."""
    with engine.connect() as conn:
        tent = table_tent_data(conn, touchpoint_id, base_url=base_url(request, settings))
    headers = {"Content-Disposition": f'inline; filename="smilepost-table-tent-{touchpoint_id}.pdf"'}
    return Response(table_tent_pdf(tent), media_type="application/pdf", headers=headers)
