"""``/api/v1/export``: a location's taps and daily summaries as JSON or CSV, a page at a time, of every channel or
of one (``channel=kiosk|web``).

Readable with an API key or a dashboard session; a manager gets 403 for a location not granted to them.
A comment an admin hid from managers is exported to admins only (admin API key or session); a manager's
session and a read API key get its ``comment`` blank.
Each answer says where the next page starts (``next_offset`` in JSON, the ``X-Next-Offset`` header in CSV),
or that there is none (null / no header).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from server.analytics import export
from server.api.deps import EngineDep, Viewer
from shared.protocol import INT32_MAX, Problem

router = APIRouter(
    prefix="/api/v1/export", tags=["export"],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)  # fmt: skip

LocationQuery = Annotated[int, Query(ge=1, le=INT32_MAX, description="location id")]
StartQuery = Annotated[date, Query(description="first local date, YYYY-MM-DD")]
EndQuery = Annotated[date, Query(description="local date after the last one (exclusive), YYYY-MM-DD")]
FormatQuery = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
LimitQuery = Annotated[int, Query(ge=1, le=export.MAX_PAGE, description=f"rows per page, at most {export.MAX_PAGE}")]
OffsetQuery = Annotated[int, Query(ge=0, le=INT32_MAX, description="rows to skip")]
ChannelQuery = Annotated[
    Literal["kiosk", "web"] | None, Query(description="only the taps of kiosks or of web touchpoints; default all")
]


class ExportPage(BaseModel):
    """One page of an export; ``next_offset`` is null on the last page."""

    items: list[dict[str, Any]]
    limit: int
    offset: int
    next_offset: int | None


def _answer(rows: list[dict[str, Any]], columns: tuple[str, ...], fmt: str, limit: int, offset: int) -> Response:
    next_offset = offset + limit if len(rows) == limit else None
    if fmt == "csv":
        headers = {"X-Next-Offset": str(next_offset)} if next_offset is not None else {}
        return Response(export.to_csv(rows, columns), media_type="text/csv; charset=utf-8", headers=headers)
    page = ExportPage(items=rows, limit=limit, offset=offset, next_offset=next_offset)
    return JSONResponse(page.model_dump(mode="json"))


@router.get("/taps", response_model=ExportPage, responses={200: {"content": {"text/csv": {}}}})
def export_taps(
    engine: EngineDep,
    access: Viewer,
    location_id: LocationQuery,
    start: StartQuery,
    end: EndQuery,
    format: FormatQuery = "json",
    limit: LimitQuery = 1000,
    offset: OffsetQuery = 0,
    channel: ChannelQuery = None,
    question: Annotated[str | None, Query(max_length=64, description="only this question's taps; default all")] = None,
) -> Response:
    """Raw taps of a location with local dates in [start, end), by local date and time; the columns of issue #13
    (``channel``, ``touchpoint_id``, ``first_tap_id``) come last. A comment an admin hid is blank unless the caller
    is an admin (admin API key or session)."""
    access.check(location_id)
    with engine.connect() as conn:
        rows = export.tap_page(
            conn, location_id, start, end, limit=limit, offset=offset, channel=channel, question_id=question,
            hidden_comments=access.is_admin,
        )  # fmt: skip
    return _answer(rows, export.TAP_COLUMNS, format, limit, offset)


@router.get("/summaries", response_model=ExportPage, responses={200: {"content": {"text/csv": {}}}})
def export_summaries(
    engine: EngineDep,
    access: Viewer,
    location_id: LocationQuery,
    start: StartQuery,
    end: EndQuery,
    format: FormatQuery = "json",
    limit: LimitQuery = 1000,
    offset: OffsetQuery = 0,
    channel: ChannelQuery = None,
    question: Annotated[
        str | None, Query(max_length=64, description="question id; default the location's main question")
    ] = None,
) -> Response:
    """One row per local date in [start, end) of one question (on its scale): responses, Happy Index with its
    interval, CSAT, negative, NPS, the count of each score, then the question and the channel ("all" unless
    one was asked for)."""
    access.check(location_id)
    with engine.connect() as conn:
        rows = export.daily_summary_page(
            conn, location_id, start, end, limit=limit, offset=offset, channel=channel, question_id=question
        )
    return _answer(rows, export.SUMMARY_COLUMNS, format, limit, offset)
