"""``/api/v1/alerts`` and ``/api/v1/alert-rules``: alerts to read and acknowledge, rules to read and make.

Read with an API key or a dashboard session (a manager sees only the alerts of their locations); acknowledge with an
admin API key, or a session that sends its CSRF token in ``X-CSRF-Token`` (a manager: their locations only); rules are
made with an admin API key. The library is :mod:`server.alerts`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from pydantic import BaseModel, Field

from server import Forbidden
from server.alerts import listing, rules
from server.alerts.lifecycle import acknowledge
from server.alerts.model import Rule
from server.api.deps import AdminKey, EngineDep, OptionalSession, Viewer
from server.auth import accounts
from shared.protocol import INT32_MAX, Problem

router = APIRouter(
    prefix="/api/v1", tags=["alerts"],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}, 422: {"model": Problem}},
)  # fmt: skip

AlertId = Annotated[int, Path(ge=1, le=INT32_MAX, description="alert id")]


class AlertOut(BaseModel):
    """An alert: its rule's metric and direction, its location (and kiosk, for offline), state, window and figures."""

    id: int
    rule_id: int
    location_id: int
    location_name: str
    kiosk_id: str | None
    metric: str
    direction: str
    state: Literal["open", "acknowledged", "closed"]
    opened_at: datetime
    window_start: datetime
    window_end: datetime
    value: float | None = Field(description="the figure in its own unit (negative share in %, index, count, ...)")
    threshold: float | None
    responses: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    closed_at: datetime | None


class AlertPageOut(BaseModel):
    """A page of alerts, newest first; ``next_offset`` is null on the last page."""

    total: int
    items: list[AlertOut]
    limit: int
    offset: int
    next_offset: int | None


class Ack(BaseModel):
    """Body of ``POST /api/v1/alerts/{id}/ack``."""

    comment: str | None = Field(default=None, max_length=2000, description="what was done about it")


class RuleIn(BaseModel):
    """Body of ``POST /api/v1/alert-rules``: the options of ``smilepost alert add``."""

    location_id: int | None = Field(default=None, ge=1, le=INT32_MAX)
    group_id: int | None = Field(default=None, ge=1, le=INT32_MAX)
    metric: Literal["negative", "index", "responses", "silence", "offline", "baseline", "target"]
    above: float | None = None
    below: float | None = None
    window: str = Field(default="30m", max_length=8, description="15m to 24h, e.g. 30m, 2h, 1d")
    min_responses: int | None = Field(default=None, ge=0, le=INT32_MAX)
    notify: list[str] = Field(default_factory=list, max_length=50, description="email:ADDR or webhook:ID")


class RuleOut(BaseModel):
    """A stored rule; ``threshold`` in the figure's own unit."""

    id: int
    location_id: int | None
    group_id: int | None
    metric: str
    direction: str
    threshold: float | None
    window_seconds: int
    min_responses: int
    notify: list[str]
    enabled: bool


@router.get("/alerts", response_model=AlertPageOut)
def get_alerts(
    engine: EngineDep,
    access: Viewer,
    state: Annotated[Literal["open", "acknowledged", "closed"] | None, Query()] = None,
    location_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=listing.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
) -> AlertPageOut:
    """Alerts the caller may see, newest first, filtered by state and location."""
    with engine.connect() as conn:
        page = listing.list_alerts(conn, access, state=state, location_id=location_id, limit=limit, offset=offset)
    next_offset = offset + limit if offset + limit < page.total else None
    items = [AlertOut.model_validate(alert, from_attributes=True) for alert in page.alerts]
    return AlertPageOut(total=page.total, items=items, limit=limit, offset=offset, next_offset=next_offset)


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: AlertId, engine: EngineDep, access: Viewer) -> AlertOut:
    """One alert."""
    with engine.connect() as conn:
        return AlertOut.model_validate(listing.get_alert(conn, alert_id, access), from_attributes=True)


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut)
def post_ack(
    alert_id: AlertId,
    body: Ack,
    engine: EngineDep,
    access: Viewer,
    session: OptionalSession,
    csrf: Annotated[str | None, Header(alias="X-CSRF-Token", include_in_schema=False)] = None,
) -> AlertOut:
    """Acknowledge an open alert with a comment (admin API key, or a session sending ``X-CSRF-Token``)."""
    if access.role == "api":
        raise Forbidden("this API key may only read; acknowledging needs an admin key or a signed-in user")
    if access.user_id is not None and (session is None or not accounts.csrf_matches(session.csrf_token, csrf)):
        raise Forbidden("send the session's CSRF token in X-CSRF-Token to acknowledge from a browser")
    with engine.begin() as conn:
        acknowledge(conn, alert_id, by=access.email, comment=body.comment, access=access)
    with engine.connect() as conn:
        return AlertOut.model_validate(listing.get_alert(conn, alert_id, access), from_attributes=True)


@router.get("/alert-rules", response_model=list[RuleOut])
def get_rules(engine: EngineDep, access: Viewer) -> list[RuleOut]:
    """Alert rules (an admin or API key sees all; a manager the rules set on their locations)."""
    with engine.connect() as conn:
        stored = rules.list_rules(conn)
    return [
        _rule_out(rule) for rule in stored if access.location_ids is None or rule.location_id in access.location_ids
    ]


@router.post("/alert-rules", response_model=RuleOut, status_code=201, dependencies=[AdminKey])
def post_rule(body: RuleIn, engine: EngineDep) -> RuleOut:
    """Make an alert rule (admin API key); a 422 names the option that cannot be used."""
    with engine.begin() as conn:
        rule_id = rules.add_rule(
            conn, location_id=body.location_id, group_id=body.group_id, metric=body.metric, above=body.above,
            below=body.below, window=body.window, min_responses=body.min_responses, notify=body.notify,
            created_by="API key",
        )  # fmt: skip
        return _rule_out(next(rule for rule in rules.list_rules(conn) if rule.id == rule_id))


def _rule_out(rule: Rule) -> RuleOut:
    return RuleOut(
        id=rule.id, location_id=rule.location_id, group_id=rule.group_id, metric=rule.metric,
        direction=rule.direction, threshold=rule.threshold, window_seconds=rule.window_seconds,
        min_responses=rule.min_responses, notify=list(rule.notify), enabled=rule.enabled,
    )  # fmt: skip
