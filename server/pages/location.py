"""``/locations/{id}``: one location in depth — faces, index with its interval, trend, heatmap, reasons,
comments and the per-kiosk split."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from server import InvalidInput, summaries
from server.deps import EngineDep, LocationId, PageSession
from server.pages import LastQuery, RangeQuery, StartQuery, render
from server.summaries import LocationDetail

router = APIRouter(tags=["dashboard"], include_in_schema=False)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def chart_data(detail: LocationDetail) -> str:
    """The JSON the page's charts draw (values from the summary, nothing recomputed in the browser)."""
    data: dict[str, Any] = {
        "trend": {
            "labels": [point.start.isoformat() for point in detail.trend],
            "now": [point.now.value for point in detail.trend],
            "before": [point.before.value for point in detail.trend],
            "weekly": detail.weekly,
        },
        "faces": {
            "labels": list(detail.now.counts),
            "now": list(detail.now.counts.values()),
            "before": list(detail.before.counts.values()),
        },
    }
    return json.dumps(data).replace("</", "<\\/")  # safe inside a <script> element


@router.get("/locations/{location_id}", response_class=HTMLResponse)
def location_page(
    request: Request,
    location_id: LocationId,
    engine: EngineDep,
    session: PageSession,
    range: RangeQuery = "30d",
    start: StartQuery = None,
    last: LastQuery = None,
) -> HTMLResponse:
    """One location over the picked range. Raises Forbidden (403) outside the user's locations, NotFound (404)."""
    session.access.check(location_id)
    error = None
    with engine.connect() as conn:
        try:
            detail = summaries.location_detail(conn, location_id, range, start, last)
        except InvalidInput as exc:
            error = str(exc)
            detail = summaries.location_detail(conn, location_id, "30d")
    return render(
        request, "location.html", session, d=detail, chart_json=chart_data(detail), range_name=range, start=start,
        last=last, error=error, weekdays=WEEKDAYS,
    )  # fmt: skip
