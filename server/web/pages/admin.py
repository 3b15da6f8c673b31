"""``/admin``: create locations and groups, set what kiosks ask and when, pair and revoke kiosks; rename, re-zone,
archive and delete locations, nest groups and put locations in them, rename and move kiosks (:mod:`server.lifecycle`,
:mod:`server.groups`); admins only.

Every change is a form post with the session's CSRF token; it reaches the kiosks through the config
endpoint (its ETag changes). A rejected value re-shows the form with the message and the values typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection, Engine, select

from server import InvalidInput, NotFound, fleet, groups, lifecycle, locations
from server.analytics import summaries
from server.api.deps import SESSION_COOKIE, AdminForm, AdminPageSession, EngineDep, LocationId
from server.auth import kiosk_tokens, pairing
from server.auth.accounts import Session
from server.db import kiosks
from server.db import locations as location_table
from server.web.flash import set_flash
from server.web.forms import QUESTION_SLOTS, config_from_form, form_of, whole_number
from server.web.i18n import N_, gettext_format
from server.web.render import render
from shared.protocol import INT32_MAX, SCALES

router = APIRouter(prefix="/admin", tags=["dashboard"], include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def admin_page(request: Request, engine: EngineDep, session: AdminPageSession) -> Response:
    """Locations (with their group and kiosks) and groups, with the forms to add them."""
    return _admin_view(request, engine, session)


def _admin_view(request: Request, engine: Engine, session: Session, error: str | None = None) -> Response:
    """The admin page; ``error`` is what a rejected form post says (never taken from the URL)."""
    with engine.connect() as conn:
        places = summaries.visible_locations(conn, None)
        archived = _archived(conn)
        tree = group_tree(groups.list_groups(conn))
        fleet_rows = fleet.list_kiosks(conn)
    counts: dict[int, int] = {}
    for kiosk in fleet_rows:
        if not kiosk.revoked:
            counts[kiosk.location_id] = counts.get(kiosk.location_id, 0) + 1
    return render(request, "admin.html", session, places=places, groups=tree, kiosk_counts=counts, error=error,
                  scales=SCALES, archived=archived, status_code=422 if error else 200)  # fmt: skip


def _archived(conn: Connection) -> set[int]:
    return set(conn.execute(select(location_table.c.id).where(location_table.c.archived_at.is_not(None))).scalars())


def group_tree(all_groups: list[groups.Group]) -> list[tuple[int, groups.Group]]:
    """Groups as an indented tree: (depth, group), each group followed by its children, by name."""
    by_id = {group.id: group for group in all_groups}
    out: list[tuple[int, groups.Group]] = []

    def walk(group: groups.Group, depth: int) -> None:
        out.append((depth, group))
        for child in sorted((by_id[i] for i in group.child_ids), key=lambda g: g.name):
            walk(child, depth + 1)

    for group in all_groups:  # by name
        if group.parent_id is None:
            walk(group, 0)
    return out


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
                groups.add_location(conn, whole_number(group_id, "group"), location_id)
    except InvalidInput as exc:
        return _admin_view(request, engine, session, error=str(exc))
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


@router.post("/groups")
def add_group(
    request: Request,
    engine: EngineDep,
    session: AdminForm,
    name: Annotated[str, Form(max_length=200)],
    parent_id: Annotated[str, Form()] = "",
) -> Response:
    """Create a location group, at the top or inside another."""
    try:
        with engine.begin() as conn:
            groups.add_group(conn, name=name, parent_id=whole_number(parent_id, "parent") if parent_id else None)
    except (InvalidInput, NotFound) as exc:
        return _admin_view(request, engine, session, error=str(exc))
    return RedirectResponse("/admin", status_code=303)


@router.post("/groups/{group_id}/parent")
def set_group_parent(
    request: Request,
    group_id: Annotated[int, Path(ge=1, le=INT32_MAX)],
    engine: EngineDep,
    session: AdminForm,
    parent_id: Annotated[str, Form()] = "",
) -> Response:
    """Nest a group inside another (or, empty, at the top); a cycle is refused with a message."""
    try:
        with engine.begin() as conn:
            groups.set_parent(conn, group_id, whole_number(parent_id, "parent") if parent_id else None)
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), N_("Saved."))
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
    moving: str | None = None,
) -> Response:
    """The settings page: ``error`` and ``form`` re-show a rejected post, ``code`` a pairing code just made (both
    from the server's own state, never from the URL). Raises NotFound for an unknown location."""
    with engine.connect() as conn:
        place = summaries.visible_locations(conn, frozenset({location_id}))
        config = locations.location_config(conn, location_id)  # raises NotFound first
        kiosk_rows = [k for k in fleet.list_kiosks(conn, location_id=location_id) if not k.revoked]
        tree = group_tree(groups.list_groups(conn))
        member_of = set(groups.direct_group_ids(conn, location_id))
        others = [
            (p.id, p.name) for p in summaries.visible_locations(conn, None, archived=False) if p.id != location_id
        ]
        lifecycle_place = lifecycle.get_location(conn, location_id)
        old_pin = locations.pin_needs_update(conn, location_id)
        mask_profanity = bool(locations.profanity_masked(conn, [location_id]))
    return render(
        request, "admin_location.html", session, place=place[0], config=config, form=form or form_of(config),
        kiosks=kiosk_rows, groups=tree, member_of=member_of, scales=SCALES, question_slots=QUESTION_SLOTS, error=error,
        code=code, old_pin=old_pin, mask_profanity=mask_profanity, other_locations=others,
        archived_at=lifecycle_place.archived_at, moving=moving,
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
            message = SAVED if changed else N_("Nothing changed.")
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    except InvalidInput as exc:
        return _settings_view(request, location_id, engine, session, error=str(exc), form=form)
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


SAVED = N_("Saved. Kiosks pick the change up at their next config check.")


def _save(conn: Connection, location_id: int, form: dict[str, str]) -> bool:
    """Store what the settings form changed (config, scale); whether anything did.

    Raises InvalidInput naming the field that cannot be used, NotFound for an unknown location.
    """
    current = locations.location_config(conn, location_id)
    place = summaries.find_location(conn, location_id)
    new = config_from_form(current, form)
    scale = whole_number(form.get("scale", ""), "scale")
    changed = False
    if new != current:
        locations.configure_location(conn, location_id, config=new)
        changed = True
    if scale != place.scale:
        locations.set_location_scale(conn, location_id, scale)
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
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""),
                      N_("New kiosk PIN set; kiosks use it after their next config check."))  # fmt: skip
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
        message = N_("Saved: comments are now shown as typed.") if not mask_profanity else N_(
            "Saved: swear words in comments are now masked where they are shown.")  # fmt: skip
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message if changed else N_("Nothing changed."))
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
        message = gettext_format("Kiosk {id} revoked; it keeps its taps until it is paired again.", id=kiosk_id)
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


@router.post("/locations/{location_id}/groups")
async def set_groups(request: Request, location_id: LocationId, engine: EngineDep, session: AdminForm) -> Response:
    """Make the ticked groups (``group_id`` checkboxes) exactly the groups the location is in directly."""
    ticked = [value for key, value in (await request.form()).multi_items() if key == "group_id"]
    try:
        with engine.begin() as conn:
            groups.set_location_groups(conn, location_id, [whole_number(str(v), "group") for v in ticked])
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), N_("Saved."))
    except (InvalidInput, NotFound) as exc:
        return _settings_view(request, location_id, engine, session, error=str(exc))
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


@router.post("/locations/{location_id}/rename")
def rename_location(
    request: Request, location_id: LocationId, engine: EngineDep, session: AdminForm,
    name: Annotated[str, Form(max_length=200)],
) -> Response:  # fmt: skip
    """Give the location a new name."""
    return _lifecycle(request, location_id, engine, session, lambda conn: lifecycle.rename_location(
        conn, location_id, name), N_("Renamed."))  # fmt: skip


@router.post("/locations/{location_id}/timezone")
def set_timezone(
    request: Request, location_id: LocationId, engine: EngineDep, session: AdminForm,
    timezone: Annotated[str, Form(max_length=64)],
) -> Response:  # fmt: skip
    """Change the location's time zone (history keeps its dates until the rollups are rebuilt)."""
    message = N_("Time zone changed for taps from now on. Earlier days keep the dates they were counted on until an "
                 "operator runs smilepost db rebuild-rollups for this location.")  # fmt: skip
    return _lifecycle(request, location_id, engine, session, lambda conn: lifecycle.set_timezone(
        conn, location_id, timezone.strip()), message)  # fmt: skip


@router.post("/locations/{location_id}/archive")
def archive(
    request: Request, location_id: LocationId, engine: EngineDep, session: AdminForm,
    archived: Annotated[str, Form(max_length=8)] = "",
) -> Response:  # fmt: skip
    """Archive the location (``archived`` "1") or bring it back (empty)."""
    message = (N_("Archived: left off the overview, its data kept, its kiosks refused until it is brought back.")
               if archived else N_("Brought back: on the overview again, its kiosks accepted."))  # fmt: skip
    return _lifecycle(request, location_id, engine, session, lambda conn: lifecycle.archive_location(
        conn, location_id, archived=bool(archived)), message)  # fmt: skip


@router.post("/locations/{location_id}/delete")
def delete_location(
    request: Request, location_id: LocationId, engine: EngineDep, session: AdminForm,
    confirm: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    """Delete the location and all its data when ``confirm`` repeats its name; else the page says what to type."""
    try:
        with engine.begin() as conn:
            done = lifecycle.delete_location(conn, location_id, confirm=confirm.strip())
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""),
                      gettext_format("Deleted {name} with its {taps} taps and {kiosks} kiosks.", name=done.name,
                                     taps=done.taps, kiosks=done.kiosks))  # fmt: skip
    except InvalidInput as exc:
        return _settings_view(request, location_id, engine, session, error=str(exc))
    return RedirectResponse("/admin", status_code=303)


@router.post("/kiosks/{kiosk_id}/rename")
def rename_kiosk(
    request: Request, kiosk_id: Annotated[str, Path(max_length=32)], engine: EngineDep, session: AdminForm,
    name: Annotated[str, Form(max_length=200)],
) -> Response:  # fmt: skip
    """Give a kiosk a new name."""
    with engine.connect() as conn:
        location_id = lifecycle.get_kiosk(conn, kiosk_id).location_id  # raises NotFound
    return _lifecycle(request, location_id, engine, session, lambda conn: lifecycle.rename_kiosk(
        conn, kiosk_id, name), N_("Kiosk renamed."))  # fmt: skip


@router.post("/kiosks/{kiosk_id}/move", response_class=HTMLResponse)
def move_kiosk(
    request: Request, kiosk_id: Annotated[str, Path(max_length=32)], engine: EngineDep, session: AdminForm,
    location_id: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    """Retire a kiosk here and show the pairing code that gives the device its new id at the other location."""
    with engine.connect() as conn:
        here = lifecycle.get_kiosk(conn, kiosk_id).location_id  # raises NotFound
    try:
        with engine.begin() as conn:
            move = lifecycle.move_kiosk(conn, kiosk_id, whole_number(location_id, "location"))
            to = lifecycle.get_location(conn, move.to_location_id).name
    except (InvalidInput, NotFound) as exc:
        return _settings_view(request, here, engine, session, error=str(exc))
    return _settings_view(request, here, engine, session, code=move.code.code, moving=to)


def _lifecycle(
    request: Request, location_id: int, engine: Engine, session: Session, change: Callable[[Connection], object],
    message: str,
) -> Response:  # fmt: skip
    """Make one lifecycle change and go back to the location's page with ``message``; a value that cannot be used
    re-shows the page with what was wrong. Raises NotFound for an unknown location or kiosk."""
    try:
        with engine.begin() as conn:
            change(conn)
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    except InvalidInput as exc:
        return _settings_view(request, location_id, engine, session, error=str(exc))
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)
