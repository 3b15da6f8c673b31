"""``/fleet``: every kiosk the user may see — last seen, last sync, queue, version, clock — offline ones first."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from server import fleet
from server.analytics import summaries
from server.api.deps import EngineDep, PageSession
from server.web.i18n import gettext, gettext_format
from server.web.render import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.get("/fleet", response_class=HTMLResponse)
def fleet_page(request: Request, engine: EngineDep, session: PageSession) -> HTMLResponse:
    """The kiosks of the user's locations, those not heard from within ``fleet.OFFLINE_AFTER`` first."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
        places = {place.id: place for place in summaries.visible_locations(conn, session.access.location_ids)}
        kiosks = [k for k in fleet.list_kiosks(conn) if k.location_id in places and not k.revoked]
    rows = sorted(
        ((kiosk, fleet.is_offline(kiosk, now)) for kiosk in kiosks),
        key=lambda item: (not item[1], places[item[0].location_id].name, item[0].name),
    )
    return render(
        request, "fleet.html", session, rows=rows, places=places, now=now,
        offline_after=fleet.OFFLINE_AFTER, offline=sum(1 for _, off in rows if off), ago=_ago,
    )  # fmt: skip


def _ago(then: datetime | None, now: datetime) -> str:
    """ "3 min ago", "5 h ago", "2 d ago"; "never" for None (in the page's language)."""
    if then is None:
        return gettext("never")
    seconds = max(0.0, (now - then).total_seconds())
    for unit, size in ((gettext("d"), 86400), (gettext("h"), 3600), (gettext("min"), 60)):
        if seconds >= size:
            return gettext_format("{count} {unit} ago", count=int(seconds // size), unit=unit)
    return gettext_format("{count} {unit} ago", count=int(seconds), unit=gettext("s"))
