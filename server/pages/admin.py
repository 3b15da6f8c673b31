"""``/admin``: create locations and groups, set what kiosks ask and when, pair and revoke kiosks (admins only).

Every change is a form post with the session's CSRF token; it reaches the kiosks through the config
endpoint (its ETag changes). A rejected value re-shows the form with the message and the values typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Connection, Engine, select

from server import InvalidInput, accounts, admin, fleet, pairing, summaries
from server.accounts import Session
from server.db import kiosks
from server.deps import SESSION_COOKIE, AdminForm, AdminPageSession, EngineDep, LocationId
from server.flash import set_flash
from server.pages import render
from shared.protocol import SCALES, FollowUp, LocationConfig

router = APIRouter(prefix="/admin", tags=["dashboard"], include_in_schema=False)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}:\d{2})-(\d{2}:\d{2})$")


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
            location_id = admin.add_location(conn, name=name, timezone=timezone, scale=scale)
            if group_id:
                accounts.set_location_group(conn, location_id, _int(group_id, "group"))
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
        config = admin.location_config(conn, location_id)  # raises NotFound first
        kiosk_rows = [k for k in fleet.list_kiosks(conn, location_id=location_id) if not k.revoked]
        groups = accounts.list_groups(conn)
        old_pin = admin.pin_needs_update(conn, location_id)
    return render(
        request, "admin_location.html", session, place=place[0], config=config, form=form or _form_of(config),
        kiosks=kiosk_rows, groups=groups, scales=SCALES, error=error, code=code, old_pin=old_pin,
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
    current = admin.location_config(conn, location_id)
    place = summaries.find_location(conn, location_id)
    new = config_from_form(current, form)
    scale = _int(form.get("scale", ""), "scale")
    group_text = form.get("group_id", "")
    group = _int(group_text, "group") if group_text else None
    changed = False
    if new != current:
        admin.configure_location(conn, location_id, config=new)
        changed = True
    if scale != place.scale:
        admin.set_location_scale(conn, location_id, scale)
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
            admin.configure_location(conn, location_id, pin=pin.strip())
            set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), "New kiosk PIN set; kiosks use it after their "
                      "next config check.")  # fmt: skip
    except InvalidInput as exc:
        return _settings_view(request, location_id, engine, session, error=str(exc))
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
        admin.revoke_kiosk(conn, kiosk_id)  # raises NotFound for an unknown kiosk
        message = f"Kiosk {kiosk_id} revoked; it keeps its taps until it is paired again."
        set_flash(conn, request.cookies.get(SESSION_COOKIE, ""), message)
    return RedirectResponse(f"/admin/locations/{location_id}", status_code=303)


def _form_of(config: LocationConfig) -> dict[str, Any]:
    """The settings form's fields filled from a config. A reason shows ``id: label`` when the default language has
    a label for it and ``id`` alone otherwise, so that posting the form unchanged stores exactly the same config
    (:func:`config_from_form`)."""
    followup = config.followup or FollowUp()
    texts = config.texts.get(config.default_language, {})

    def lines(reasons: list[str]) -> str:
        return "\n".join(f"{r}: {texts[f'reason.{r}']}" if texts.get(f"reason.{r}") else r for r in reasons)

    form: dict[str, Any] = {
        "default_language": config.default_language,
        "languages": " ".join(config.texts),
        "thank_you_seconds": config.thank_you_seconds,
        "repeat_press_seconds": config.repeat_press_seconds,
        "negative_reasons": lines(followup.negative_reasons),
        "positive_reasons": lines(followup.positive_reasons),
        "opening_hours": _hours_text(config.opening_hours),
    }
    for language, values in config.texts.items():
        form[f"question.{language}"] = values.get("question", "")
        form[f"thanks.{language}"] = values.get("thanks", "")
    return form


def _hours_text(hours: Mapping[Any, list[tuple[str, str]]] | None) -> str:
    if hours is None:
        return ""
    return "\n".join(f"{day} " + ", ".join(f"{a}-{b}" for a, b in hours[day]) for day in WEEKDAYS if day in hours)


def config_from_form(current: LocationConfig, form: dict[str, str]) -> LocationConfig:
    """A new config from the settings form; what the form does not show (other texts, PIN, timeouts) is kept.

    The form is a view of the config: posting it unchanged gives back a config equal to ``current``. A text left
    empty is not set (the kiosk falls back to the default language); a reason line ``id: label`` sets the label in
    the default language and a bare ``id`` keeps no label there (labels in other languages stay, and so do the
    labels of reasons taken off the lists, which their history on the dashboard still shows).
    Raises InvalidInput naming the field that cannot be used.
    """
    languages = form.get("languages", "").split() or list(current.texts)
    default = form.get("default_language", current.default_language).strip()
    if default not in languages:
        languages.insert(0, default)
    negative = _reasons(form.get("negative_reasons", ""), "negative reasons")
    positive = _reasons(form.get("positive_reasons", ""), "positive reasons")
    texts: dict[str, dict[str, str]] = {}
    for language in languages:
        values = dict(current.texts.get(language, {}))
        for key in ("question", "thanks"):
            _set_text(values, key, form.get(f"{key}.{language}", ""))
        texts[language] = values
    for reason_id, label in [*negative, *positive]:
        _set_text(texts[default], f"reason.{reason_id}", label)
    followup = current.followup.model_dump() if current.followup else None
    if negative or positive:
        timeout = followup["timeout_seconds"] if followup else FollowUp().timeout_seconds
        followup = {"negative_reasons": [r for r, _ in negative], "positive_reasons": [r for r, _ in positive],
                    "timeout_seconds": timeout}  # fmt: skip
    elif followup is not None and (followup["negative_reasons"] or followup["positive_reasons"]):
        followup = None  # both lists emptied: no follow-up question
    values = current.model_dump() | {
        "default_language": default,
        "texts": texts,
        "followup": followup,
        "thank_you_seconds": _number(form.get("thank_you_seconds", ""), "thank-you seconds"),
        "repeat_press_seconds": _number(form.get("repeat_press_seconds", ""), "repeat-press seconds"),
        "opening_hours": _hours(form.get("opening_hours", "")),
    }
    try:
        return LocationConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}") from exc


def _set_text(values: dict[str, str], key: str, typed: str) -> None:
    """Set text ``key`` to what was typed (surrounding spaces aside); an empty field removes it. A value equal to
    the stored one but for surrounding spaces is kept as stored."""
    typed = typed.strip()
    if not typed:
        values.pop(key, None)
    elif values.get(key, "").strip() != typed:
        values[key] = typed


def _reasons(text: str, what: str) -> list[tuple[str, str]]:
    """``id: label`` (or bare ``id``) lines as (id, label or ""). Raises InvalidInput for a line without an id."""
    out = []
    for line in filter(None, (line.strip() for line in text.splitlines())):
        reason_id, _, label = line.partition(":")
        if not reason_id.strip():
            raise InvalidInput(f"{what}: each line is 'id: label', e.g. 'queue: Waiting time'")
        out.append((reason_id.strip(), label.strip()))
    return out


def _hours(text: str) -> dict[str, list[tuple[str, str]]] | None:
    """``mon 08:00-20:00, 21:00-23:00`` lines; empty means always open. Raises InvalidInput for a bad line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    hours: dict[str, list[tuple[str, str]]] = {}
    for line in lines:
        day, _, spans = line.partition(" ")
        matches = [_SPAN.match(span.strip()) for span in spans.split(",")]
        if day.lower() not in WEEKDAYS or not all(matches):
            raise InvalidInput(f"opening hours: {line!r} should look like 'mon 08:00-20:00, 21:00-23:00'")
        hours[day.lower()] = [(m.group(1), m.group(2)) for m in matches if m]
    return hours


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise InvalidInput(f"{what}: expected a number of seconds, got {text!r}") from exc


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise InvalidInput(f"{what}: expected a whole number, got {text!r}") from exc
