"""``/api/v1/locations``: locations, their summaries and kiosk config — read with an API key or a dashboard
session (a manager sees only their locations, 403 for others); changed with an admin API key."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from server.analytics.summaries import WHAT_IF_MAX_DAYS, WHAT_IF_MAX_SECONDS, list_locations, location_summary
from server.api.deps import AdminKey, EngineDep, Languages, LocationId, SettingsDep, Viewer
from server.locations import configure_location, location_config
from server.schemas import LocationOut, LocationSummary
from shared.protocol import LocationConfig, Problem

router = APIRouter(
    prefix="/api/v1/locations", tags=["locations"], responses={401: {"model": Problem}, 403: {"model": Problem}},
)  # fmt: skip


@router.get("", response_model=list[LocationOut])
def get_locations(engine: EngineDep, access: Viewer) -> list[LocationOut]:
    """Every location the caller may see."""
    with engine.connect() as conn:
        return [location for location in list_locations(conn) if access.may_see(location.id)]


@router.get(
    "/{location_id}/summary",
    response_model=LocationSummary,
    responses={404: {"model": Problem}, 422: {"model": Problem}},
)
def get_summary(
    location_id: LocationId,
    engine: EngineDep,
    settings: SettingsDep,
    access: Viewer,
    languages: Languages,
    start: Annotated[date, Query(description="first local date, YYYY-MM-DD")],
    end: Annotated[date, Query(description="local date after the last one (exclusive), YYYY-MM-DD")],
    question: Annotated[
        str | None, Query(max_length=64, description="question id; default the location's main question")
    ] = None,
    channel: Annotated[
        Literal["kiosk", "web"] | None,
        Query(description="only the taps of kiosks or of web touchpoints; default every channel"),
    ] = None,
    granularity: Annotated[
        Literal["day", "week", "month"] | None,
        Query(description="add a `trend`: one point per local day, ISO week or calendar month"),
    ] = None,
    compare: Annotated[
        Literal["previous", "year"],
        Query(description="trend points beside the period before (same length) or the same dates a year earlier"),
    ] = "previous",
    what_if_repeat_seconds: Annotated[
        float | None,
        Query(
            ge=0,
            le=WHAT_IF_MAX_SECONDS,
            description=f"every figure as with this repeat-press interval, replayed over the stored presses "
            f"(ranges of at most {WHAT_IF_MAX_DAYS} days, within the dates whose raw taps are kept: 422 otherwise)",
        ),
    ] = None,  # fmt: skip
) -> LocationSummary:
    """Happy Index, CSAT, negative share and NPS of a location over local dates [start, end) for one question (on
    its own scale) and one channel or all, with follow-up reasons by side, the presses left out by why
    (`filtered`), an optional trend and an optional what-if."""
    access.check(location_id)
    with engine.connect() as conn:
        return location_summary(
            conn, location_id, start, end, question, channel=channel, granularity=granularity, compare=compare,
            what_if=what_if_repeat_seconds, languages=languages, taps_kept_days=settings.retain_taps_days,
        )  # fmt: skip


@router.put(
    "/{location_id}/config",
    response_model=LocationConfig,
    dependencies=[AdminKey],
    responses={403: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)
def put_location_config(location_id: LocationId, config: LocationConfig, engine: EngineDep) -> LocationConfig:
    """Replace what the location's kiosks show (admin API key); ``admin_pin_hash: "set"`` keeps the PIN."""
    with engine.begin() as conn:
        return configure_location(conn, location_id, config=config)


@router.get(
    "/{location_id}/config",
    response_model=LocationConfig,
    responses={404: {"model": Problem}},
)
def get_location_config(location_id: LocationId, engine: EngineDep, access: Viewer) -> LocationConfig:
    """The location's kiosk config (defaults until set); a PIN hash shows as ``"set"``."""
    access.check(location_id)
    with engine.connect() as conn:
        return location_config(conn, location_id)
