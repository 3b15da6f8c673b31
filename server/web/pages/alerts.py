"""``/alerts``: the alerts a user may see, by state (open, acknowledged, closed), one location or all, in pages; and
``/alerts/{id}``: one alert with the taps, reasons and comments of its window, and the form to acknowledge it.

A manager sees and acknowledges only the alerts of their own locations (403 elsewhere). The library is
:mod:`server.alerts` (:mod:`~server.alerts.listing`, :func:`~server.alerts.lifecycle.acknowledge`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from server import InvalidInput, fleet, locations
from server.alerts import listing
from server.alerts.lifecycle import MAX_COMMENT_CHARS, STATES, acknowledge
from server.analytics import summaries
from server.analytics.summaries import Scores
from server.api.deps import SESSION_COOKIE, CsrfForm, EngineDep, Languages, PageSession
from server.auth.accounts import Session
from server.web.alert_views import STATE_NAMES, alert_view
from server.web.flash import set_flash
from server.web.i18n import N_
from server.web.render import render
from shared.protocol import INT32_MAX
from shared.texts import reason_label

router = APIRouter(tags=["dashboard"], include_in_schema=False)

PAGE_SIZE = 25
TABS = (*STATES, "all")
AlertId = Annotated[int, Path(ge=1, le=INT32_MAX, description="alert id")]
ACKNOWLEDGED = N_("Acknowledged")


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    engine: EngineDep,
    session: PageSession,
    state: Annotated[Literal["open", "acknowledged", "closed", "all"], Query()] = "open",
    location_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> HTMLResponse:
    """One page of alerts of a state (newest first), of one location or all the user may see, with each state's
    count. Raises Forbidden (403) for a location the user may not see."""
    access = session.access
    with engine.connect() as conn:
        page = listing.list_alerts(
            conn, access, state=None if state == "all" else state, location_id=location_id, limit=PAGE_SIZE,
            offset=offset,
        )  # fmt: skip
        counts = {tab: listing.list_alerts(conn, access, state=tab, location_id=location_id, limit=1).total
                  for tab in STATES}  # fmt: skip
        places = {place.id: place for place in summaries.visible_locations(conn, access.location_ids)}
    counts["all"] = sum(counts.values())
    rows = [alert_view(a, places[a.location_id].timezone, places[a.location_id].scale) for a in page.alerts]
    return render(
        request, "alerts.html", session, rows=rows, total=page.total, state=state, tabs=TABS,
        state_names=STATE_NAMES | {"all": N_("All")}, counts=counts, location_id=location_id,
        place=places.get(location_id) if location_id else None, places=list(places.values()), offset=offset,
        page_size=PAGE_SIZE,
    )  # fmt: skip


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    request: Request, alert_id: AlertId, engine: EngineDep, session: PageSession, languages: Languages
) -> HTMLResponse:
    """One alert and its window. Raises NotFound (404), Forbidden (403) for another location's alert."""
    return _alert_view(request, alert_id, engine, session, languages)


def _alert_view(
    request: Request,
    alert_id: int,
    engine: Engine,
    session: Session,
    languages: list[str],
    *,
    error: str | None = None,
    comment: str = "",
) -> HTMLResponse:
    """The alert page; ``error`` and ``comment`` re-show a refused acknowledgement (never taken from the URL)."""
    with engine.connect() as conn:
        detail = listing.alert_detail(conn, alert_id, session.access)  # NotFound, Forbidden first
        place = summaries.find_location(conn, detail.alert.location_id)
        config = locations.location_config(conn, place.id)
        kiosk_names = {k.kiosk_id: k.name for k in fleet.list_kiosks(conn, location_id=place.id)}
    language = languages[0] if languages else None
    reasons = {r.reason: reason_label(config, r.reason, language) for r in detail.reasons}
    reasons |= {t.followup: reason_label(config, t.followup, language) for t in detail.taps if t.followup}
    return render(
        request, "alert.html", session, v=alert_view(detail.alert, place.timezone, place.scale), d=detail,
        place=place, window=Scores.of(detail.rows, place.scale), reason_labels=reasons, kiosk_names=kiosk_names,
        state_names=STATE_NAMES, error=error, comment=comment, max_comment=MAX_COMMENT_CHARS,
        taps_limit=listing.DETAIL_TAPS, status_code=422 if error else 200,
    )  # fmt: skip


@router.post("/alerts/{alert_id}/ack")
def acknowledge_alert(
    request: Request,
    alert_id: AlertId,
    engine: EngineDep,
    session: CsrfForm,
    languages: Languages,
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Acknowledge an open alert as the signed-in user, with a comment, and go back to it. A comment that cannot be
    used, or an alert that is no longer open, is shown on the alert's page (422). Raises Forbidden (403) for a bad
    CSRF token or another location's alert, NotFound (404)."""
    try:
        with engine.begin() as conn:
            acknowledge(conn, alert_id, by=session.access.email, comment=comment, access=session.access)
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), ACKNOWLEDGED)
    except InvalidInput as exc:
        return _alert_view(request, alert_id, engine, session, languages, error=str(exc), comment=comment)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
