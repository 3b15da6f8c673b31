"""``GET /api/v1/audit``: the audit trail of admin actions, newest first, filtered and paged (an admin API key or an
admin's dashboard session; a read key or a manager gets 403). The library is :mod:`server.audit`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from server import Forbidden, audit
from server.api.deps import EngineDep, Viewer
from shared.protocol import INT32_MAX, Problem

router = APIRouter(
    prefix="/api/v1", tags=["audit"],
    responses={401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}},
)  # fmt: skip


class AuditEntryOut(BaseModel):
    """One admin action: when, who (``actor_kind`` user, apikey, cli or system; their id and label), what
    (``action`` such as ``location.configure``, the target's kind and id), a summary and the values changed."""

    id: int
    at: datetime
    actor_kind: str
    actor_id: str
    actor: str
    action: str
    target_kind: str
    target_id: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPageOut(BaseModel):
    """A page of the trail, newest first; pass ``next_before_id`` as ``before_id`` for the next (null: the last)."""

    items: list[AuditEntryOut]
    next_before_id: int | None


@router.get("/audit", response_model=AuditPageOut)
def get_audit(
    engine: EngineDep,
    access: Viewer,
    actor: Annotated[str | None, Query(max_length=254, description="part of who acted (e-mail, key name, cli)")] = None,
    action: Annotated[str | None, Query(max_length=64, description="an action or its prefix, e.g. location")] = None,
    target_kind: Annotated[str | None, Query(max_length=16, description="location, kiosk, user, apikey, ...")] = None,
    target_id: Annotated[str | None, Query(max_length=64, description="the target's id")] = None,
    since: Annotated[datetime | None, Query(description="from this time on (ISO 8601 with offset)")] = None,
    until: Annotated[datetime | None, Query(description="before this time (ISO 8601 with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=INT32_MAX, description="entries older than this id")] = None,
) -> AuditPageOut:
    """Admin actions, newest first, with who did them and the values before and after (never a secret)."""
    if not access.is_admin:
        raise Forbidden("only an admin API key or an admin may read the audit trail")
    with engine.connect() as conn:
        page = audit.entries(
            conn, actor=actor, action=action, target_kind=target_kind, target_id=target_id, since=since,
            until=until, limit=limit, before_id=before_id,
        )  # fmt: skip
    items = [AuditEntryOut.model_validate(entry, from_attributes=True) for entry in page.entries]
    return AuditPageOut(items=items, next_before_id=page.next_before_id)
