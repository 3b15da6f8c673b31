"""``/api/v1/comments``: search the comments customers typed, and hide one from managers or show it again.

Read with an API key or a dashboard session (a manager: their locations only, never a comment an admin hid);
hide and show with an admin API key, or an admin's session that sends its CSRF token in ``X-CSRF-Token``. A filter
that cannot be used is a 422 naming it. The library is :mod:`server.comments`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from server import Forbidden, comments
from server.api.deps import EngineDep, Languages, OptionalSession, Viewer
from server.auth import accounts
from server.auth.accounts import Access
from shared.protocol import INT32_MAX, Problem

router = APIRouter(
    prefix="/api/v1/comments", tags=["comments"],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)  # fmt: skip

TapId = Annotated[uuid.UUID, Path(description="the tap's id")]
Score = Annotated[int, Field(ge=0, le=10)]
LocationIdItem = Annotated[int, Field(ge=1, le=INT32_MAX)]


class CommentOut(BaseModel):
    """A comment: when (the location's local time, with its offset), where, the kiosk's or web touchpoint's name,
    the face and reason tapped, the text (masked where the location asks for it) and whether an admin hid it."""

    id: str = Field(description="the tap's id")
    at: datetime
    location_id: int
    location_name: str
    source: str
    channel: str
    score: int
    scale: int
    reason: str | None
    reason_label: str | None
    text: str
    hidden: bool


class CommentPageOut(BaseModel):
    """A page of comments, newest first; ``next_offset`` is null on the last page."""

    total: int
    items: list[CommentOut]
    limit: int
    offset: int
    next_offset: int | None


class HiddenOut(BaseModel):
    """A comment's state after hiding or showing it; ``changed`` is false when it already was so."""

    id: str
    hidden: bool
    changed: bool


@router.get("", response_model=CommentPageOut)
def get_comments(
    engine: EngineDep,
    access: Viewer,
    languages: Languages,
    text: Annotated[
        str | None, Query(max_length=comments.MAX_TEXT, description="in the comment, ignoring case")
    ] = None,
    start: Annotated[date | None, Query(description="first local date, YYYY-MM-DD")] = None,
    end: Annotated[date | None, Query(description="last local date (inclusive), YYYY-MM-DD")] = None,
    score: Annotated[list[Score], Query(max_length=11, description="scores tapped (repeat for several)")] = [],  # noqa: B006
    reason: Annotated[str | None, Query(min_length=1, max_length=comments.MAX_REASON, description="reason id")] = None,
    channel: Annotated[Literal["kiosk", "web"] | None, Query(description="kiosk or web; default both")] = None,
    location_id: Annotated[
        list[LocationIdItem], Query(max_length=100, description="locations (repeat for several); default all yours")
    ] = [],  # noqa: B006
    include_hidden: Annotated[bool, Query(description="admins: include comments hidden from managers")] = True,
    limit: Annotated[int, Query(ge=1, le=comments.MAX_PAGE)] = 25,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> CommentPageOut:
    """Comments the caller may see, newest first, that match every filter given."""
    with engine.connect() as conn:
        page = comments.search(
            conn, access, text=text or None, start=start, end=end, scores=score, reason=reason, channel=channel,
            location_ids=location_id or None, include_hidden=include_hidden, languages=languages, limit=limit,
            offset=offset,
        )  # fmt: skip
    items = [_out(c) for c in page.comments]
    return CommentPageOut(total=page.total, items=items, limit=limit, offset=offset, next_offset=page.next_offset)


def _out(c: comments.Comment) -> CommentOut:
    return CommentOut(
        id=c.tap_id, at=c.at, location_id=c.location_id, location_name=c.location, source=c.source,
        channel=c.channel, score=c.score, scale=c.scale, reason=c.reason, reason_label=c.reason_label,
        text=c.text, hidden=c.hidden,
    )  # fmt: skip


@router.post("/{tap_id}/hide", response_model=HiddenOut)
def post_hide(
    tap_id: TapId,
    engine: EngineDep,
    access: Viewer,
    session: OptionalSession,
    csrf: Annotated[str | None, Header(alias="X-CSRF-Token", include_in_schema=False)] = None,
) -> HiddenOut:
    """Hide a comment from managers (admin API key, or an admin's session sending ``X-CSRF-Token``)."""
    return _set_hidden(tap_id, True, engine, access, session, csrf)


@router.post("/{tap_id}/show", response_model=HiddenOut)
def post_show(
    tap_id: TapId,
    engine: EngineDep,
    access: Viewer,
    session: OptionalSession,
    csrf: Annotated[str | None, Header(alias="X-CSRF-Token", include_in_schema=False)] = None,
) -> HiddenOut:
    """Show a hidden comment to managers again (admin API key, or an admin's session sending ``X-CSRF-Token``)."""
    return _set_hidden(tap_id, False, engine, access, session, csrf)


def _set_hidden(
    tap_id: uuid.UUID,
    hidden: bool,
    engine: Engine,
    access: Access,
    session: accounts.Session | None,
    csrf: str | None,
) -> HiddenOut:
    if not access.is_admin:
        raise Forbidden("only admins (an admin API key or an admin's session) may hide or show comments")
    if access.user_id is not None and (session is None or not accounts.csrf_matches(session.csrf_token, csrf)):
        raise Forbidden("send the session's CSRF token in X-CSRF-Token to hide or show a comment from a browser")
    with engine.begin() as conn:
        changed = comments.hide_comment(conn, tap_id, hidden)
    return HiddenOut(id=str(tap_id), hidden=hidden, changed=changed)
