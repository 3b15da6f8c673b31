"""``/``: every location the user may see, with scores, change, trend and ranking, sortable by any column; locations
with open alerts are marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from server import InvalidInput
from server.analytics import dashboard
from server.analytics.dashboard import OverviewRow
from server.api.deps import EngineDep, PageSession
from server.web.render import LastQuery, RangeQuery, StartQuery, render

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
    range: RangeQuery = "7d",
    start: StartQuery = None,
    last: LastQuery = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "rank",
    desc: bool = False,
) -> HTMLResponse:
    """The overview over the picked range, open alerts marked; a bad custom range is shown as a message on the
    page."""
    error = None
    with engine.connect() as conn:
        try:
            rows = dashboard.overview(conn, session.access.location_ids, range, start, last)
        except InvalidInput as exc:
            rows, error = [], str(exc)
        open_alerts = dashboard.open_alerts(conn, session.access.location_ids)
    return render(
        request, "overview.html", session, rows=sort_rows(rows, sort, desc), range_name=range, start=start, last=last,
        sort=sort, desc=desc, error=error, open_alerts=open_alerts,
    )  # fmt: skip
