"""``/admin``: create locations and groups, set what kiosks ask and when, pair and revoke kiosks (admins only).

Every change is a form post with the session's CSRF token; it reaches the kiosks through the config
endpoint (its ETag changes). A rejected value re-shows the form with the message and the values typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, Engine, select

from server import InvalidInput, fleet, locations
from server.analytics import summaries
from server.api.deps import SESSION_COOKIE, AdminForm, AdminPageSession, EngineDep, LocationId
from server.auth import accounts, kiosk_tokens, pairing
from server.auth.accounts import Session
from server.db import kiosks
from server.web.flash import set_flash
from server.web.forms import QUESTION_SLOTS, config_from_form, form_of, whole_number
from server.web.render import render
from shared.protocol import SCALES

router = APIRouter(prefix="/admin", tags=["dashboard"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def admin_page(request: Request, engine: EngineDep, session: AdminPageSession) -> Response:
    """Locations (with their group and kiosks) and groups, with the forms to add them."""
    return _admin_view(request, engine, session)


def _admin_view(request: Request, engine: Engine, session: Session, error: str | None = None) -> Response:
    """The admin page; ``error`` is what a rejected form post says (never taken from the URL)."""
    with engine.connect() as conn:
        places = summaries.visible_locations(conn, None)
        groups = accounts.list_groups(conn)
        fleet_rows = fleet.list_kiosks(conn)
    counts: dict[int, int] = {}
    for kiosk in fleet_rows:
        if not kiosk.revoked:
            counts[kiosk.location_id] = counts.get(kiosk.location_id, 0) + 1
    return render(request, "admin.html", session, places=places, groups=groups, kiosk_counts=counts, error=error,
                  scales=SCALES, status_code=422 if error else 200)  # fmt: skip


@router.post("/locations")
def add_location(
    request: Request,
    engine: EngineDep,
    session: AdminForm,
    name: Annotated[str, Form(max_length=200)],
    timezone: Annotated[str, Form(max_length=64)],
    scale: Annotated[int, Form()] = 5,
    group_id: Annotated[str, Form()] = "",
) -> Response:
    """Create a location (optionally in a group) and open its settings."""
    try:
        with engine.begin() as conn:
            location_id = locations.add_location(conn, name=name, timezone=timezone, scale=scale)
            if group_id:
                accounts.set_location_group(conn, location_id, whole_number(group_id, "group"))
    except InvalidInput as exc:
        return _admin_view(request, engine, session, error=str(exc))
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


@router.post("/groups")
def add_group(
    request: Request, engine: EngineDep, session: AdminForm, name: Annotated[str, Form(max_length=200)]
) -> Response:
    """Create a location group."""
    try:
        with engine.begin() as conn:
            accounts.add_group(conn, name=name)
    except InvalidInput as exc:
        return _admin_view(request, engine, session, error=str(exc))
    return RedirectResponse("/admin", status_code=303)


@router.get("/locations/{location_id}", response_class=HTMLResponse)
def location_settings(
    request: Request, location_id: LocationId, engine: EngineDep, session: AdminPageSession
) -> Response:
    """A location's kiosk settings form, its kiosks (with revoke) and the pairing-code button.

    Raises NotFound for an unknown location.
    """
    return _settings_view(request, location_id, engine, session)


def _settings_view(
    request: Request,
    location_id: int,
    engine: Engine,
    session: Session,
    *,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    code: str | None = None,
) -> Response:
    """The settings page: ``error`` and ``form`` re-show a rejected post, ``code`` a pairing code just made (both
    from the server's own state, never from the URL). Raises NotFound for an unknown location."""
    with engine.connect() as conn:
        place = summaries.visible_locations(conn, frozenset({location_id}))
        config = locations.location_config(conn, location_id)  # raises NotFound first
        kiosk_rows = [k for k in fleet.list_kiosks(conn, location_id=location_id) if not k.revoked]
        groups = accounts.list_groups(conn)
        old_pin = locations.pin_needs_update(conn, location_id)
        mask_profanity = bool(locations.profanity_masked(conn, [location_id]))
    return render(
        request, "admin_location.html", session, place=place[0], config=config, form=form or form_of(config),
        kiosks=kiosk_rows, groups=groups, scales=SCALES, question_slots=QUESTION_SLOTS, error=error, code=code,
        old_pin=old_pin, mask_profanity=mask_profanity,
        status_code=422 if error else 200,
    )  # fmt: skip


@router.post("/locations/{location_id}/config")
async def save_settings(request: Request, location_id: LocationId, engine: EngineDep, session: AdminForm) -> Response:
    """Save the settings form; an unchanged form writes nothing. A value that cannot be used re-shows the form
    with what was wrong."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    try:
        with engine.begin() as conn:
            changed = _save(conn, location_id, form)
            message = SAVED if changed else "Nothing changed."
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    except InvalidInput as exc:
        return _settings_view(request, location_id, engine, session, error=str(exc), form=form)
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


SAVED = "Saved. Kiosks pick the change up at their next config check."


def _save(conn: Connection, location_id: int, form: dict[str, str]) -> bool:
    """Store what the settings form changed (config, scale, group); whether anything did.

    Raises InvalidInput naming the field that cannot be used, NotFound for an unknown location.
    """
    current = locations.location_config(conn, location_id)
    place = summaries.find_location(conn, location_id)
    new = config_from_form(current, form)
    scale = whole_number(form.get("scale", ""), "scale")
    group_text = form.get("group_id", "")
    group = whole_number(group_text, "group") if group_text else None
    changed = False
    if new != current:
        locations.configure_location(conn, location_id, config=new)
        changed = True
    if scale != place.scale:
        locations.set_location_scale(conn, location_id, scale)
        changed = True
    if group != place.group_id:
        accounts.set_location_group(conn, location_id, group)
        changed = True
    return changed


@router.post("/locations/{location_id}/pin")
def set_pin(
    request: Request,
    location_id: LocationId,
    engine: EngineDep,
    session: AdminForm,
    pin: Annotated[str, Form(max_length=64)],
) -> Response:
    """Set the kiosks' admin PIN (6-12 digits, stored only as a hash); a PIN that cannot be used is shown back
    as a message, never the PIN."""
    try:
        with engine.begin() as conn:
            locations.configure_location(conn, location_id, pin=pin.strip())
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), "New kiosk PIN set; kiosks use it after their "
                      "next config check.")  # fmt: skip
    except InvalidInput as exc:
        return _settings_view(request, location_id, engine, session, error=str(exc))
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


@router.post("/locations/{location_id}/privacy")
def set_privacy(
    request: Request,
    location_id: LocationId,
    engine: EngineDep,
    session: AdminForm,
    mask_profanity: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Mask swear words in the location's comments where they are shown (a checkbox: sent only when ticked)."""
    with engine.begin() as conn:
        changed = locations.set_profanity_mask(conn, location_id, bool(mask_profanity))  # raises NotFound
        message = "Saved: comments are now shown as typed." if not mask_profanity else (
            "Saved: swear words in comments are now masked where they are shown.")  # fmt: skip
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message if changed else "Nothing changed.")
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


@router.post("/locations/{location_id}/pair-code", response_class=HTMLResponse)
def new_pair_code(
    request: Request,
    location_id: LocationId,
    engine: EngineDep,
    session: AdminForm,
    kiosk_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Make a one-time pairing code for a new kiosk and show it once."""
    with engine.begin() as conn:
        code = pairing.create_pair_code(conn, location_id=location_id, kiosk_name=kiosk_name.strip() or None)
    return _settings_view(request, location_id, engine, session, code=code.code)


@router.post("/kiosks/{kiosk_id}/revoke")
def revoke(request: Request, kiosk_id: str, engine: EngineDep, session: AdminForm) -> Response:
    """Revoke a kiosk's token (its taps stay; it keeps new ones until paired again)."""
    with engine.begin() as conn:
        location_id = conn.execute(select(kiosks.c.location_id).where(kiosks.c.id == kiosk_id)).scalar()
        kiosk_tokens.revoke_kiosk(conn, kiosk_id)  # raises NotFound for an unknown kiosk
        message = f"Kiosk {kiosk_id} revoked; it keeps its taps until it is paired again."
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)
