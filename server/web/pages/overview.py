"""``/``: every location the user may see, with scores, change, trend and ranking, sortable by any column; locations
with open alerts are marked. A channel (``channel=``) and a question (``question=``, the same id at every location
that has it; default each location's main one) may be picked, kept in the URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from server import InvalidInput
from server.analytics import dashboard
from server.analytics.dashboard import OverviewRow, QuestionChoice
from server.api.deps import EngineDep, Languages, PageSession
from server.web.render import ChannelQuery, LastQuery, QuestionQuery, RangeQuery, StartQuery, render

router = APIRouter(tags=["dashboard"], include_in_schema=False)

# Sort keys of the overview's columns; rows without a value sort last either way.
SORTS: dict[str, Callable[[OverviewRow], Any]] = {
    "rank": lambda row: row.rank,
    "name": lambda row: (row.group or "", row.name.lower()),
    "index": lambda row: row.now.headline.value,
    "csat": lambda row: row.now.csat.value,
    "negative": lambda row: row.now.negative.value,
    "responses": lambda row: row.now.responses,
    "change": lambda row: row.change,
}
MAIN_QUESTION = QuestionChoice("", "Main question (each location's)")
PAGE_SIZE = 200  # locations per page: every one is ranked and sorted, only the page's trend lines are read


def sort_rows(rows: list[OverviewRow], key: str, descending: bool) -> list[OverviewRow]:
    """Rows by one column; missing values (no responses, no rank) last in both directions."""
    value = SORTS[key]
    present = [row for row in rows if value(row) is not None]
    missing = [row for row in rows if value(row) is None]
    return sorted(present, key=value, reverse=descending) + missing


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request,
    engine: EngineDep,
    session: PageSession,
    languages: Languages,
    range: RangeQuery = "7d",
    start: StartQuery = None,
    last: LastQuery = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "rank",
    desc: bool = False,
    question: QuestionQuery = None,
    channel: ChannelQuery = None,
    archived: Annotated[bool, Query(description="also archived locations")] = False,
    page: Annotated[int, Query(ge=1, le=10_000, description="page of PAGE_SIZE locations, from 1")] = 1,
) -> HTMLResponse:
    """The overview over the picked range, of one question and one channel or all, open alerts marked, PAGE_SIZE
    locations a page (in the order picked); a bad custom range is shown as a message on the page."""
    error = None
    question = question or None  # the picker's "main question" comes as an empty value
    location_ids = session.access.location_ids
    with engine.connect() as conn:
        try:
            rows = dashboard.overview(conn, location_ids, range, start, last, question_id=question, channel=channel,
                                      archived=archived, trends=False)  # fmt: skip
        except InvalidInput as exc:
            rows, error = [], str(exc)
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        page = min(page, pages)
        first = (page - 1) * PAGE_SIZE
        shown = dashboard.with_trends(conn, sort_rows(rows, sort, desc)[first : first + PAGE_SIZE], channel)
        group_rows = dashboard.group_overview(conn, rows)
        open_alerts = dashboard.open_alerts(conn, location_ids)
        questions = [MAIN_QUESTION, *dashboard.overview_questions(conn, location_ids, languages)]
    custom = {"start": start, "last": last} if range == "custom" else {}
    picked = {"question": question, "channel": channel}
    return render(
        request, "overview.html", session, rows=shown, total=len(rows), page=page, pages=pages, first=first,
        range_name=range, start=start, last=last,
        sort=sort, desc=desc, error=error, open_alerts=open_alerts, questions=questions, question_value=question or "",
        group_rows=group_rows, archived=archived,
        view={"range": range, **custom, "sort": sort, "desc": desc, **picked, "archived": archived},
        range_view={"range": range, "sort": sort, "desc": desc, **picked},
        location_view={"range": range, **custom, "channel": channel},
    )  # fmt: skip
