"""``/subscriptions``: the signed-in user's own e-mails (admins and managers alike): the alerts of locations and
groups they may see, and daily, weekly or monthly reports of them at a local time, each with a *Stop* button; the
forms to subscribe; and the time zone their reports arrive in.

Each user sees and stops only their own subscriptions: another user's id is 404, as an unknown one, so ids cannot
be probed. Every change is a form post with the session's CSRF token, answered by a redirect back here with a
one-shot message; a value that cannot be used (a period, a time, a zone, a location or group the user may not see)
re-shows the page with what was wrong and the values typed, its status from :func:`server.api.errors.answer_for`, and
stores nothing (as the admin forms do). Reports to a webhook are listed but made only on the command line. The
library is :mod:`server.alerts.subscriptions` and :mod:`server.reports.subscriptions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, Engine

from server import Forbidden, InvalidInput, NotFound, SmilepostError
from server.alerts.subscriptions import alert_subscriptions, subscribe_alerts, unsubscribe_alerts, visible_groups
from server.analytics import summaries
from server.api.deps import SESSION_COOKIE, CsrfForm, EngineDep, PageSession
from server.api.errors import answer_for
from server.auth.accounts import Session
from server.groups import group_names
from server.reports import subscriptions as reports
from server.reports.data import scope_of
from server.reports.periods import parse_hhmm
from server.web.flash import set_flash
from server.web.i18n import N_, gettext, gettext_format
from server.web.render import render
from shared.protocol import INT32_MAX

router = APIRouter(prefix="/subscriptions", tags=["dashboard"], include_in_schema=False)

SubscriptionId = Annotated[int, Path(ge=1, le=INT32_MAX, description="subscription id")]
ADJECTIVES = {"day": N_("daily"), "week": N_("weekly"), "month": N_("monthly")}
SUBSCRIBED = {
    "day": N_("Subscribed to daily reports of {name} at {when} {zone}."),
    "week": N_("Subscribed to weekly reports of {name} at {when} {zone}."),
    "month": N_("Subscribed to monthly reports of {name} at {when} {zone}."),
}
STOPPED = {
    "daily": N_("Stopped daily reports of {name}."),
    "weekly": N_("Stopped weekly reports of {name}."),
    "monthly": N_("Stopped monthly reports of {name}."),
}
REFUSED = (InvalidInput, Forbidden, NotFound)  # said on this page (not the error page), with what was typed
FormText = Annotated[str, Form(max_length=64)]


@dataclass(frozen=True)
class ReportRow:
    """A report subscription as the page lists it."""

    id: int
    name: str  # the location's or the group's
    is_group: bool
    every: str  # "daily", "weekly", "monthly"
    at: str
    webhook_id: int | None


@router.get("", response_class=HTMLResponse)
def subscriptions_page(request: Request, engine: EngineDep, session: PageSession) -> HTMLResponse:
    """The user's alert and report subscriptions, the forms to add them and their reports' time zone."""
    return _view(request, engine, session)


def _view(
    request: Request, engine: Engine, session: Session, *, error: SmilepostError | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    """The page; ``error`` and ``form`` re-show a refused post (from the server's own state, never the URL)."""
    access, user_id = session.access, _user_id(session)
    with engine.connect() as conn:
        alert_rows = alert_subscriptions(conn, user_id)
        report_rows = _report_rows(conn, reports.report_subscriptions(conn, user_id))
        places = summaries.visible_locations(conn, access.location_ids)
        groups = visible_groups(conn, access)
        own_zone = reports.own_timezone(conn, user_id)
        zone = reports.user_timezone(conn, user_id)
    status = answer_for(error).status if error else 200
    return render(
        request, "subscriptions.html", session, alert_rows=alert_rows, report_rows=report_rows, places=places,
        groups=groups, own_zone=own_zone or "", zone=zone, error=str(error) if error else None,
        form={"every": "week", "at": reports.DEFAULT_AT} | (form or {}), status_code=status,
    )  # fmt: skip


def _report_rows(conn: Connection, subscriptions: list[reports.Subscription]) -> list[ReportRow]:
    """The subscriptions with the names of their locations and groups."""
    location_ids = frozenset(s.location_id for s in subscriptions if s.location_id is not None)
    names: dict[tuple[int | None, int | None], str] = {(None, group_id): name for group_id, name in group_names(conn)}
    names |= {(p.id, None): p.name for p in summaries.visible_locations(conn, location_ids)} if location_ids else {}
    return [
        ReportRow(s.id, names[s.location_id, s.group_id], s.group_id is not None, ADJECTIVES[s.every], s.at,
                  s.webhook_id)
        for s in subscriptions
    ]  # fmt: skip


@router.post("/alerts")
def subscribe_to_alerts(request: Request, engine: EngineDep, session: CsrfForm, scope: FormText = "") -> Response:
    """Subscribe the user to the alerts of a location or group (``location:ID`` or ``group:ID``) they may see."""
    user_id = _user_id(session)
    try:
        with engine.begin() as conn:
            location_id, group_id = _scope(scope)
            subscription_id = subscribe_alerts(conn, user_id=user_id, location_id=location_id, group_id=group_id)
            name = next(a.name for a in alert_subscriptions(conn, user_id) if a.id == subscription_id)
            _flash(request, conn, gettext_format("Subscribed to alerts of {name}.", name=name))
    except REFUSED as exc:
        return _view(request, engine, session, error=exc, form={"alert_scope": scope})
    return _back()


@router.post("/alerts/{subscription_id}/stop")
def stop_alerts(request: Request, subscription_id: SubscriptionId, engine: EngineDep, session: CsrfForm) -> Response:
    """Stop one of the user's alert subscriptions. Raises NotFound (404) for an unknown one or another user's."""
    user_id = _user_id(session)
    with engine.begin() as conn:
        name = next((a.name for a in alert_subscriptions(conn, user_id) if a.id == subscription_id), "")
        unsubscribe_alerts(conn, subscription_id, user_id=user_id)
        _flash(request, conn, gettext_format("Stopped alerts of {name}.", name=name))
    return _back()


@router.post("/reports")
def subscribe_to_reports(
    request: Request, engine: EngineDep, session: CsrfForm, scope: FormText = "", every: FormText = "",
    at: FormText = "",
) -> Response:  # fmt: skip
    """Subscribe the user, by e-mail, to reports of a location or group they may see every day, week or month at
    ``at`` (HH:MM) in their time zone."""
    user_id = _user_id(session)
    try:
        with engine.begin() as conn:
            location_id, group_id = _scope(scope)
            reports.subscribe(conn, user_id=user_id, location_id=location_id, group_id=group_id, every=every, at=at)
            name = scope_of(conn, location_id=location_id, group_id=group_id).name
            when = parse_hhmm(at).strftime("%H:%M")
            zone = reports.user_timezone(conn, user_id)
            _flash(request, conn, gettext_format(SUBSCRIBED[every], name=name, when=when, zone=zone))
    except REFUSED as exc:
        return _view(request, engine, session, error=exc, form={"report_scope": scope, "every": every, "at": at})
    return _back()


@router.post("/reports/{subscription_id}/stop")
def stop_reports(request: Request, subscription_id: SubscriptionId, engine: EngineDep, session: CsrfForm) -> Response:
    """Stop one of the user's report subscriptions. Raises NotFound (404) for an unknown one or another user's."""
    user_id = _user_id(session)
    with engine.begin() as conn:
        mine = [s for s in reports.report_subscriptions(conn, user_id) if s.id == subscription_id]
        reports.unsubscribe(conn, subscription_id, user_id=user_id)
        what = " ".join(gettext_format(STOPPED[row.every], name=row.name) for row in _report_rows(conn, mine))
        _flash(request, conn, what or gettext("Stopped the reports."))
    return _back()


@router.post("/timezone")
def set_timezone(request: Request, engine: EngineDep, session: CsrfForm, timezone: FormText = "") -> Response:
    """Set the time zone the user's reports arrive in (an IANA name); empty: their first location's."""
    user_id, zone = _user_id(session), timezone.strip() or None
    try:
        with engine.begin() as conn:
            reports.set_user_timezone(conn, user_id, zone)
            effective = reports.user_timezone(conn, user_id)
            arrive = (
                N_("Your reports arrive in {zone} time.")
                if zone
                else N_("Your reports arrive in {zone} time (your first location's).")
            )
            _flash(request, conn, gettext_format(arrive, zone=effective))
    except REFUSED as exc:
        return _view(request, engine, session, error=exc, form={"timezone": timezone})
    return _back()


def _scope(value: str) -> tuple[int | None, int | None]:
    """The select's ``location:ID`` or ``group:ID`` as (location id, group id). Raises InvalidInput otherwise."""
    kind, _, number = value.partition(":")
    if kind not in ("location", "group") or not (number.isascii() and number.isdigit()):
        raise InvalidInput("choose a location or a group from the list")
    if not 1 <= int(number) <= INT32_MAX:
        raise NotFound(f"{kind} {number} does not exist")
    return (int(number), None) if kind == "location" else (None, int(number))


def _user_id(session: Session) -> int:
    """The signed-in user's id. Raises Forbidden for a session without a user (none is made so)."""
    if session.access.user_id is None:
        raise Forbidden("only a signed-in user has subscriptions")
    return session.access.user_id


def _flash(request: Request, conn: Connection, message: str) -> None:
    set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)


def _back() -> RedirectResponse:
    return RedirectResponse("/subscriptions", status_code=303)
