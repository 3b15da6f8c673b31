"""``/comments``: search the comments of the locations a user may see — by text, local dates, score, reason,
channel and location — newest first, a page at a time; and, for admins, hide a comment from managers or show it
again (``POST /comments/{tap_id}/hide`` and ``/show``, with the session's CSRF token).

Managers never see a comment an admin hid; admins see it greyed, marked "hidden from managers". The library is
:mod:`server.comments`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from server import InvalidInput, comments
from server.analytics import summaries
from server.api.deps import SESSION_COOKIE, AdminForm, EngineDep, Languages, PageSession
from server.web.flash import set_flash
from server.web.i18n import N_
from server.web.render import query_value, render
from shared.protocol import INT32_MAX
from shared.scores import NPS_SCALE

router = APIRouter(tags=["dashboard"], include_in_schema=False)

PAGE_SIZE = 25
TapId = Annotated[uuid.UUID, Path(description="the tap's id")]
HIDDEN = N_("The comment is hidden from managers.")
SHOWN = N_("The comment is shown to managers again.")


@router.get("/comments", response_class=HTMLResponse)
def comments_page(
    request: Request,
    engine: EngineDep,
    session: PageSession,
    languages: Languages,
    text: Annotated[str, Query(max_length=comments.MAX_TEXT)] = "",
    start: Annotated[str, Query(max_length=10, description="first local date, YYYY-MM-DD; empty: any")] = "",
    end: Annotated[str, Query(max_length=10, description="last local date (inclusive); empty: any")] = "",
    score: Annotated[list[int], Query(max_length=11)] = [],  # noqa: B006
    reason: Annotated[str, Query(max_length=comments.MAX_REASON)] = "",
    channel: Annotated[Literal["kiosk", "web", ""], Query()] = "",
    location_id: Annotated[str, Query(pattern=r"^\d{0,10}$", description="empty: every location")] = "",
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> HTMLResponse:
    """One page of the comments that match the filters, newest first (a form's empty field: no filter); a filter
    that cannot be used is a message above an empty list (422). Raises Forbidden (403) for a location the user may
    not see."""
    access = session.access
    error = None
    place = int(location_id) if location_id else None
    with engine.connect() as conn:
        places = summaries.visible_locations(conn, access.location_ids)
        try:
            page = comments.search(
                conn, access, text=text or None, start=_date("start", start), end=_date("end", end), scores=score,
                reason=reason or None, channel=channel or None, location_ids=[place] if place else None,
                languages=languages, limit=PAGE_SIZE, offset=offset,
            )  # fmt: skip
        except InvalidInput as exc:
            error = str(exc)
            page = comments.CommentPage(0, [], PAGE_SIZE, offset)
    view: dict[str, Any] = {
        "text": text, "start": start, "end": end, "score": sorted(set(score)), "reason": reason, "channel": channel,
        "location_id": place,
    }  # fmt: skip
    return render(
        request, "comments.html", session, page=page, view=view, places=places, scores=_scores(places),
        reasons=comments.reason_choices(places, languages), error=error, here=_query(view, offset=offset or None),
        newer="?" + _query(view, offset=max(0, offset - PAGE_SIZE) or None) if offset else None,
        older="?" + _query(view, offset=page.next_offset) if page.next_offset is not None else None,
        status_code=422 if error else 200,
    )  # fmt: skip


def _scores(places: list[summaries.Place]) -> range:
    """The scores the filter offers: 0-10 when a question is on the NPS scale, else 1 to the largest face scale."""
    scales = {question.scale for place in places for question in place.questions} or {5}
    return range(0, 11) if NPS_SCALE in scales else range(1, max(scales) + 1)


def _date(name: str, value: str) -> date | None:
    """A form's date field: None when empty. Raises InvalidInput for anything but YYYY-MM-DD."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: a date as YYYY-MM-DD, got {value!r}") from exc


def _query(view: dict[str, Any], **changes: Any) -> str:
    """The page's query string with ``changes``: empty values left out, a list (``score``) as repeated keys."""
    merged = {**view, **changes}
    return urlencode([
        (key, query_value(one))
        for key, value in merged.items()
        for one in (value if isinstance(value, list) else [value])
        if one is not None and one != ""
    ])  # fmt: skip


@router.post("/comments/{tap_id}/hide")
def hide(
    request: Request, tap_id: TapId, engine: EngineDep, session: AdminForm, back: Annotated[str, Form()] = ""
) -> Response:
    """Hide a comment from managers and go back to the list as it was. Raises Forbidden (403) for a manager or a bad
    CSRF token, NotFound (404) for an unknown tap or one without a comment."""
    return _set_hidden(request, tap_id, True, engine, back)


@router.post("/comments/{tap_id}/show")
def show(
    request: Request, tap_id: TapId, engine: EngineDep, session: AdminForm, back: Annotated[str, Form()] = ""
) -> Response:
    """Show a hidden comment to managers again; as :func:`hide`."""
    return _set_hidden(request, tap_id, False, engine, back)


def _set_hidden(request: Request, tap_id: uuid.UUID, hidden: bool, engine: Engine, back: str) -> Response:
    with engine.begin() as conn:
        comments.hide_comment(conn, tap_id, hidden)
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), HIDDEN if hidden else SHOWN)
    # back is the list's own query string, re-encoded so that it can only ever lead back to /comments
    query = urlencode(parse_qsl(back[:2000]))
    return RedirectResponse(f"/comments?{query}" if query else "/comments", status_code=303)
