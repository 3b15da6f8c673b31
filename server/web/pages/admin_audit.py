"""``/admin/audit`` (issue #14): the audit trail of admin actions, newest first, with a filter form (who, action,
target, local date range) and paging by id (admins only). Times are in the viewer's time zone (their report zone,
:func:`server.reports.subscriptions.user_timezone`). The library is :mod:`server.audit`, as for ``GET /api/v1/audit``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from server import InvalidInput, audit
from server.api.deps import AdminPageSession, EngineDep
from server.reports.subscriptions import user_timezone
from server.web.render import render
from shared.protocol import INT32_MAX

router = APIRouter(prefix="/admin/audit", tags=["dashboard"], include_in_schema=False)
PAGE_SIZE = 50

Text = Annotated[str, Query(max_length=254)]


@dataclass(frozen=True)
class Change:
    """One value an action changed, as the page shows it (JSON text; "–" for none)."""

    key: str
    before: str
    after: str


@router.get("", response_class=HTMLResponse)
def audit_page(
    request: Request,
    engine: EngineDep,
    session: AdminPageSession,
    actor: Text = "",
    action: Annotated[str, Query(max_length=64)] = "",
    target: Annotated[str, Query(max_length=90, description="a kind, or kind and id: 'location 3'")] = "",
    start: Annotated[str, Query(max_length=10, description="first local date, YYYY-MM-DD")] = "",
    end: Annotated[str, Query(max_length=10, description="last local date (inclusive)")] = "",
    before_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
) -> Response:
    """The trail, filtered; a filter it cannot use (a target of more than two words, a malformed date) is said above
    the table (422). The date fields may be empty (the form sends them so)."""
    with engine.connect() as conn:
        zone = user_timezone(conn, session.access.user_id) if session.access.user_id is not None else "UTC"
        error = None
        try:
            target_kind, target_id = parse_target(target)
            first, last = _day("start", start), _day("end", end)
            page = audit.entries(
                conn, actor=actor or None, action=action or None, target_kind=target_kind, target_id=target_id,
                since=_local_start(first, zone), until=_local_start(last + timedelta(days=1) if last else None, zone),
                limit=PAGE_SIZE, before_id=before_id,
            )  # fmt: skip
        except InvalidInput as exc:
            error, page = str(exc), audit.Page([], None)
    form = {"actor": actor, "action": action, "target": target, "start": start, "end": end}
    rows = [(entry, changes(entry)) for entry in page.entries]
    return render(
        request, "admin_audit.html", session, rows=rows, form=form, zone=zone, error=error, before_id=before_id,
        next_before_id=page.next_before_id, status_code=422 if error else 200,
    )  # fmt: skip


def parse_target(text: str) -> tuple[str | None, str | None]:
    """``"location 3"`` or ``"location:3"`` -> ("location", "3"); ``"kiosk"`` -> ("kiosk", None); "" -> no filter.

    Raises InvalidInput for more than a kind and an id.
    """
    words = text.replace(":", " ").split()
    if len(words) > 2:
        raise InvalidInput(f"target: expected a kind and an id such as 'location 3', got {text!r}")
    return (words[0].lower() if words else None), (words[1] if len(words) == 2 else None)


def changes(entry: audit.Entry) -> list[Change]:
    """The values an entry changed, each with its value before and after."""
    before, after = entry.before or {}, entry.after or {}
    return [Change(key, _shown(key, before), _shown(key, after)) for key in dict.fromkeys([*before, *after])]


def _shown(key: str, values: dict[str, Any]) -> str:
    return json.dumps(values[key], ensure_ascii=False) if key in values else "–"


def _day(field: str, text: str) -> date | None:
    """The date of a date field (None when empty). Raises InvalidInput naming the field."""
    try:
        return date.fromisoformat(text) if text.strip() else None
    except ValueError:
        raise InvalidInput(f"{field}: expected a date YYYY-MM-DD, got {text!r}") from None


def _local_start(day: date | None, zone: str) -> datetime | None:
    """The moment local ``day`` starts in ``zone``."""
    return None if day is None else datetime.combine(day, time(0), ZoneInfo(zone))
