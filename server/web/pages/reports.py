"""``/locations/{id}/poster.pdf`` and ``/locations/{id}/poster``: the results poster of a location (the last 7
complete days, a thank-you to customers) as a printable A4 PDF or as the same page in the browser. Signed-in users
who may see the location; 403 for others, 404 for an unknown location, as the location page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from server.api.deps import EngineDep, LocationId, PageSession
from server.reports.poster import poster_data
from server.reports.render import html_to_pdf, poster_html

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.get("/locations/{location_id}/poster.pdf")
def poster_pdf(location_id: LocationId, engine: EngineDep, session: PageSession) -> Response:
    """The poster as a one-page A4 PDF. Raises Forbidden (403) outside the user's locations, NotFound (404)."""
    session.access.check(location_id)
    with engine.connect() as conn:
        poster = poster_data(conn, location_id)
    headers = {"Content-Disposition": f'inline; filename="smilepost-poster-{location_id}.pdf"'}
    return Response(html_to_pdf(poster_html(poster)), media_type="application/pdf", headers=headers)


@router.get("/locations/{location_id}/poster", response_class=HTMLResponse)
def poster_page(location_id: LocationId, engine: EngineDep, session: PageSession) -> HTMLResponse:
    """The poster as a page (print it from the browser: it has its print stylesheet). Raises Forbidden (403)
    outside the user's locations, NotFound (404)."""
    session.access.check(location_id)
    with engine.connect() as conn:
        poster = poster_data(conn, location_id)
    return HTMLResponse(poster_html(poster))
