"""``/admin/alert-rules`` and ``/admin/notifications`` (admins only): the alert rules, with a form to add one (the
options of ``smilepost alert add``) and a button to disable one; the notification deliveries that failed, each with
a button to retry it, and the webhooks.

Every change is a form post with the session's CSRF token. A rule that cannot be used re-shows the form with the
message and the values typed, and nothing is saved. The library is :mod:`server.alerts.rules`,
:mod:`server.notify.admin`, :func:`server.notify.outbox.retry` and :mod:`server.notify.webhooks`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from server import InvalidInput, NotFound
from server.alerts import rules
from server.alerts.model import Rule
from server.analytics import summaries
from server.api.deps import SESSION_COOKIE, AdminForm, AdminPageSession, EngineDep
from server.auth.accounts import Session
from server.groups import group_names
from server.notify import admin as notify_admin
from server.notify import outbox, webhooks
from server.web.alert_views import METRIC_HELP, duration, metric_name, rule_threshold
from server.web.flash import set_flash
from server.web.forms import rule_from_form
from server.web.i18n import gettext_format
from server.web.render import render
from shared.protocol import INT32_MAX

router = APIRouter(prefix="/admin", tags=["dashboard"], include_in_schema=False)

RuleId = Annotated[int, Path(ge=1, le=INT32_MAX, description="alert rule id")]
DeliveryId = Annotated[int, Path(ge=1, le=INT32_MAX, description="notification id")]
FAILED_SHOWN = 100
EMPTY_RULE_FORM = {"scope": "", "metric": "negative", "above": "", "below": "", "window": "30m",
                   "min_responses": "", "notify": ""}  # fmt: skip


@router.get("/alert-rules", response_class=HTMLResponse)
def rules_page(request: Request, engine: EngineDep, session: AdminPageSession) -> Response:
    """Every alert rule (enabled first), with the form to add one."""
    return _rules_view(request, engine, session)


def _rules_view(
    request: Request, engine: Engine, session: Session, *, error: str | None = None, form: dict[str, str] | None = None
) -> Response:
    """The rules page; ``error`` and ``form`` re-show a rejected post (from the server's state, never the URL)."""
    with engine.connect() as conn:
        stored = rules.list_rules(conn)
        places = summaries.visible_locations(conn, None)
        groups = group_names(conn)
        hooks = webhooks.list_webhooks(conn)
    names = {("location", p.id): p.name for p in places} | {("group", gid): name for gid, name in groups}
    scales = {p.id: p.scale for p in places}
    shown = [_rule_row(rule, names, scales) for rule in sorted(stored, key=lambda r: (not r.enabled, r.id))]
    return render(
        request, "admin_rules.html", session, rules=shown, places=places, groups=groups, webhooks=hooks,
        hook_hosts={hook.id: webhooks.describe(hook.url) for hook in hooks}, metrics=METRIC_HELP,
        form=form or EMPTY_RULE_FORM, error=error, status_code=422 if error else 200,
    )  # fmt: skip


def _rule_row(rule: Rule, names: dict[tuple[str, int], str], scales: dict[int, int]) -> dict[str, Any]:
    """A rule as its table row shows it."""
    if rule.location_id is not None:
        scope = names.get(("location", rule.location_id), gettext_format("location {id}", id=rule.location_id))
    else:
        scope = gettext_format("group {name}", name=names.get(("group", rule.group_id or 0), rule.group_id))
    return {
        "rule": rule, "scope": scope, "what": metric_name(rule.metric, scales.get(rule.location_id or 0, 5)),
        "condition": rule_threshold(rule), "window": duration(rule.window_seconds),
    }  # fmt: skip


@router.post("/alert-rules")
async def add_rule(request: Request, engine: EngineDep, session: AdminForm) -> Response:
    """Store a rule from the form (made by the signed-in admin); a value that cannot be used re-shows the form with
    the message (422) and stores nothing."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    try:
        with engine.begin() as conn:
            rule_id = rules.add_rule(conn, **rule_from_form(form), created_by=session.access.email)
            added = gettext_format("Alert rule {id} added.", id=rule_id)
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), added)
    except (InvalidInput, NotFound) as exc:
        return _rules_view(request, engine, session, error=str(exc), form=EMPTY_RULE_FORM | form)
    return RedirectResponse("/admin/alert-rules", status_code=303)


@router.post("/alert-rules/{rule_id}/disable")
def disable_rule(request: Request, rule_id: RuleId, engine: EngineDep, session: AdminForm) -> Response:
    """Disable a rule; its alerts that are not closed close (with their notifications). Raises NotFound (404)."""
    with engine.begin() as conn:
        closed = rules.disable_rule(conn, rule_id)
        message = (
            gettext_format("Alert rule {id} disabled; {count} alert(s) closed.", id=rule_id, count=len(closed))
            if closed
            else gettext_format("Alert rule {id} disabled.", id=rule_id)
        )
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    return RedirectResponse("/admin/alert-rules", status_code=303)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, engine: EngineDep, session: AdminPageSession) -> Response:
    """The newest failed deliveries (with a retry button each) and the webhooks."""
    with engine.connect() as conn:
        failed = notify_admin.failed_deliveries(conn, limit=FAILED_SHOWN)
        hooks = webhooks.list_webhooks(conn, include_revoked=True)
    return render(
        request, "admin_notifications.html", session, failed=failed, webhooks=hooks,
        hook_hosts={hook.id: webhooks.describe(hook.url) for hook in hooks},
    )  # fmt: skip


@router.post("/notifications/{delivery_id}/retry")
def retry_delivery(request: Request, delivery_id: DeliveryId, engine: EngineDep, session: AdminForm) -> Response:
    """Put a failed delivery back in the queue, due now, and wake this instance's delivery worker; one that is not
    failed (any more) is left alone."""
    with engine.begin() as conn:
        queued = outbox.retry(conn, delivery_id)
        message = (
            gettext_format("Delivery {id} queued again.", id=delivery_id)
            if queued
            else gettext_format("Delivery {id} has not failed (or was retried already); nothing to do.", id=delivery_id)
        )
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    background = getattr(request.app.state, "background", None)
    if queued and background is not None:
        background.delivery.wake()  # this instance's worker tries it now rather than at its next round
    return RedirectResponse("/admin/notifications", status_code=303)
