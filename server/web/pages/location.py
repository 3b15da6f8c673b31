"""``/locations/{id}``: one location in depth — faces, index with its interval, trend, heatmap, reasons,
comments and the per-kiosk split (web touchpoints on one line), marked when it has open alerts; of one question and
one channel or all, picked on the page and kept in the URL (``question=``, ``channel=``)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from server import InvalidInput
from server.analytics import dashboard, summaries
from server.analytics.dashboard import LocationDetail
from server.api.deps import EngineDep, Languages, LocationId, PageSession, SettingsDep
from server.web.i18n import N_, gettext, weekday_names
from server.web.render import ChannelQuery, LastQuery, QuestionQuery, RangeQuery, StartQuery, render
from shared.scores import SMALL_SAMPLE

router = APIRouter(tags=["dashboard"], include_in_schema=False)
CHART_TEXTS = {
    "low": N_("95 % low"), "interval": N_("95 % interval"), "now": N_("this period"), "compared": N_("compared with"),
    "before": N_("period before"), "few": N_("few"),
}  # fmt: skip


def chart_data(detail: LocationDetail) -> str:
    """The JSON the page's charts draw (values from the summary, nothing recomputed in the browser): the trend with
    its 95 % band and which points are small samples, and the faces now and before."""
    data: dict[str, Any] = {
        "trend": {
            "labels": [point.start.isoformat() for point in detail.trend],
            "now": [point.now.headline.value for point in detail.trend],
            "low": [point.now.headline.low for point in detail.trend],
            "high": [point.now.headline.high for point in detail.trend],
            "n": [point.now.headline.n for point in detail.trend],
            "small": [point.now.headline.small for point in detail.trend],
            "before": [point.before.headline.value for point in detail.trend],
            "nps": detail.scale == 11,
        },
        "faces": {
            "labels": list(detail.now.counts),
            "now": list(detail.now.counts.values()),
            "before": list(detail.before.counts.values()),
        },
    }
    return json.dumps(data).replace("</", "<\\/")  # safe inside a <script> element


def chart_texts() -> str:
    """The charts' legends in the page's language, as JSON for the page's ``chart-texts`` element."""
    return json.dumps({key: gettext(text) for key, text in CHART_TEXTS.items()}).replace("</", "<\\/")


@router.get("/locations/{location_id}", response_class=HTMLResponse)
def location_page(
    request: Request,
    location_id: LocationId,
    engine: EngineDep,
    settings: SettingsDep,
    session: PageSession,
    languages: Languages,
    range: RangeQuery = "30d",
    start: StartQuery = None,
    last: LastQuery = None,
    granularity: Annotated[Literal["day", "week", "month"] | None, Query()] = None,
    compare: Annotated[Literal["previous", "year"], Query()] = "previous",
    what_if: Annotated[float | None, Query(ge=0, le=summaries.WHAT_IF_MAX_SECONDS)] = None,
    question: QuestionQuery = None,
    channel: ChannelQuery = None,
) -> HTMLResponse:
    """One location over the picked range, trend per day, week or month, compared with the period before or a
    year earlier, optionally replayed with another repeat-press interval (``what_if`` seconds), of one question
    (default: the main one) and one channel (default: all); a choice that cannot be shown is a message above the
    default view. Raises Forbidden (403) outside the user's locations, NotFound (404)."""
    session.access.check(location_id)
    error = None
    question = question or None  # the picker's main question may come as an empty value
    with engine.connect() as conn:
        try:
            detail = dashboard.location_detail(
                conn, location_id, range, start, last, granularity=granularity, compare=compare, what_if=what_if,
                question_id=question, channel=channel, languages=languages,
                taps_kept_days=settings.retain_taps_days, show_hidden_comments=session.access.is_admin,
            )  # fmt: skip
        except InvalidInput as exc:
            error = str(exc)
            detail = dashboard.location_detail(
                conn, location_id, "30d", question_id=question, channel=channel, languages=languages,
                show_hidden_comments=session.access.is_admin,
            )  # fmt: skip
        open_alerts = dashboard.open_alerts(conn, frozenset({location_id})).get(location_id, 0)
    view = {"range": range, "start": start, "last": last, "granularity": granularity,
            "compare": None if compare == "previous" else compare, "question": question, "channel": channel,
            "what_if": detail.what_if}  # fmt: skip
    return render(
        request, "location.html", session, d=detail, chart_json=chart_data(detail), chart_texts=chart_texts(),
        range_name=range, start=start, last=last, error=error, weekdays=weekday_names(), small_sample=SMALL_SAMPLE,
        open_alerts=open_alerts, view=view,
        range_view={"range": range, "question": question, "channel": channel},
    )  # fmt: skip
