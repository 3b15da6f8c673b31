"""The life of locations, kiosks and groups from the host (#14): ``smilepost location list|rename|set-timezone|archive|
unarchive|delete``, ``smilepost kiosk list|rename|move``, ``smilepost group list|add-child|add-location|
remove-location`` and ``smilepost db rebuild-rollups``; a thin layer over :mod:`server.lifecycle`,
:mod:`server.groups` and :mod:`server.rebuild`. Every command has ``--json``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from server.cli import (
    JsonOpt,
    _admin_connection,
    _emit,
    _emit_list,
    _progress,
    _settings,
    db_app,
    group_app,
    kiosk_app,
    location_app,
    server_side,
)
from server.cli.data import _admin_engine

if TYPE_CHECKING:
    from server.lifecycle import Kiosk, Location

LocationArg = Annotated[int, typer.Argument(metavar="ID", help="Id of the location, as `location list` prints it.")]
KioskArg = Annotated[str, typer.Argument(metavar="KIOSK", help="Id of the kiosk, as `kiosk list` prints it.")]
GroupArg = Annotated[int, typer.Argument(metavar="GROUP", help="Id of the group, as `group list` prints it.")]


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _location_json(place: Location) -> dict[str, Any]:
    return {"id": place.id, "name": place.name, "timezone": place.timezone, "archived_at": _when(place.archived_at)}


def _kiosk_json(kiosk: Kiosk) -> dict[str, Any]:
    return {"id": kiosk.id, "name": kiosk.name, "location_id": kiosk.location_id,
            "retired_at": _when(kiosk.retired_at), "successor_id": kiosk.successor_id}  # fmt: skip


@location_app.command("list")
@server_side
def location_list(as_json: JsonOpt = False) -> None:
    """List locations, archived ones too: id, name, time zone, archived."""
    from server.lifecycle import list_locations

    with _admin_connection() as conn:
        places = list_locations(conn)
    human = "\n".join(f"{p.id}\t{p.name}\t{p.timezone}" + ("\tarchived" if p.archived_at else "") for p in places)
    empty = "no locations; add one with `smilepost location add`"
    _emit_list(as_json, [_location_json(p) for p in places], human, empty)


@location_app.command("rename")
@server_side
def location_rename(
    location_id: LocationArg,
    name: Annotated[str, typer.Argument(help="The new name.")],
    as_json: JsonOpt = False,
) -> None:
    """Give a location a new name; its data and figures stay."""
    from server.lifecycle import rename_location

    with _admin_connection() as conn:
        place = rename_location(conn, location_id, name)
    _emit(as_json, _location_json(place), f"location {place.id} is now {place.name!r}")


@location_app.command("set-timezone")
@server_side
def location_set_timezone(
    location_id: LocationArg,
    timezone: Annotated[str, typer.Argument(metavar="ZONE", help="IANA time zone, e.g. Europe/Oslo.")],
    as_json: JsonOpt = False,
) -> None:
    """Change a location's time zone for taps from now on. Earlier taps keep the local dates they were counted on
    until `smilepost db rebuild-rollups --location ID` recounts them in the new zone."""
    from server.lifecycle import set_timezone

    with _admin_connection() as conn:
        place = set_timezone(conn, location_id, timezone)
    human = (f"location {place.id} is now in {place.timezone}; earlier days keep their dates until "
             f"`smilepost db rebuild-rollups --location {place.id}`")  # fmt: skip
    _emit(as_json, _location_json(place), human)


@location_app.command("archive")
@server_side
def location_archive(location_id: LocationArg, as_json: JsonOpt = False) -> None:
    """Archive a location: off the overview, data kept, its kiosks refused (403) while they keep their taps."""
    from server.lifecycle import archive_location

    with _admin_connection() as conn:
        place = archive_location(conn, location_id)
    _emit(as_json, _location_json(place), f"location {place.id} {place.name!r} archived; its data are kept")


@location_app.command("unarchive")
@server_side
def location_unarchive(location_id: LocationArg, as_json: JsonOpt = False) -> None:
    """Bring an archived location back: on the overview again, its kiosks accepted (they send what they kept)."""
    from server.lifecycle import archive_location

    with _admin_connection() as conn:
        place = archive_location(conn, location_id, archived=False)
    _emit(as_json, _location_json(place), f"location {place.id} {place.name!r} is back")


@location_app.command("delete")
@server_side
def location_delete(
    location_id: LocationArg,
    confirm: Annotated[
        str | None,
        typer.Option("--confirm", metavar="NAME", help="The location's name, to confirm; asked for when missing."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a location and ALL its data (taps, figures, kiosks, touchpoints, alerts, subscriptions). Export it
    first if it must be kept (`location export`). The audit trail keeps its rows."""
    from server.lifecycle import delete_location, get_location

    if confirm is None:
        with _admin_connection() as conn:
            name = get_location(conn, location_id).name
        confirm = typer.prompt(f"This deletes location {location_id} {name!r} and all its data. Type its name")
    with _admin_connection() as conn:
        done = delete_location(conn, location_id, confirm=confirm)
    human = (f"location {done.location_id} {done.name!r} deleted with {done.taps:,} taps, {done.kiosks} kiosks and "
             f"{done.touchpoints} web touchpoints")  # fmt: skip
    _emit(as_json, {"id": done.location_id, "name": done.name, "taps": done.taps, "kiosks": done.kiosks,
                    "touchpoints": done.touchpoints}, human)  # fmt: skip


@kiosk_app.command("list")
@server_side
def kiosk_list(
    location: Annotated[int | None, typer.Option("--location", help="Only the kiosks of this location.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List kiosks (revoked and moved ones too): id, name, location, moved to."""
    from server.lifecycle import list_kiosks

    with _admin_connection() as conn:
        listed = list_kiosks(conn, location_id=location)
    human = "\n".join(
        f"{k.id}\t{k.name}\tlocation {k.location_id}" + (f"\tmoved to {k.successor_id or '(not paired yet)'}"
                                                         if k.retired_at else "")
        for k in listed
    )  # fmt: skip
    _emit_list(as_json, [_kiosk_json(k) for k in listed], human, "no kiosks")


@kiosk_app.command("rename")
@server_side
def kiosk_rename(
    kiosk_id: KioskArg, name: Annotated[str, typer.Argument(help="The new name.")], as_json: JsonOpt = False
) -> None:
    """Give a kiosk a new name."""
    from server.lifecycle import rename_kiosk

    with _admin_connection() as conn:
        kiosk = rename_kiosk(conn, kiosk_id, name)
    _emit(as_json, _kiosk_json(kiosk), f"kiosk {kiosk.id} is now {kiosk.name!r}")


@kiosk_app.command("move")
@server_side
def kiosk_move(
    kiosk_id: KioskArg,
    to: Annotated[int, typer.Option("--to", metavar="ID", help="Id of the location the kiosk moves to.")],
    as_json: JsonOpt = False,
) -> None:
    """Move a kiosk to another location by re-enrolling it: the kiosk id is retired (taps it still sends land at the
    old location) and a pairing code is printed; typed on the device, it gets a new id at the new location."""
    from server.lifecycle import move_kiosk

    with _admin_connection() as conn:
        move = move_kiosk(conn, kiosk_id, to)
    expires = _when(move.code.expires_at)
    human = (f"kiosk {kiosk_id} retired; type pairing code {move.code.code} on the device (single use, until "
             f"{expires}) to enrol it at location {move.to_location_id}")  # fmt: skip
    _emit(as_json, {**_kiosk_json(move.kiosk), "to_location_id": move.to_location_id, "code": move.code.code,
                    "expires_at": expires}, human)  # fmt: skip


@group_app.command("list")
@server_side
def group_list(as_json: JsonOpt = False) -> None:
    """List groups: id, name, parent, the locations in it directly, its child groups."""
    from server.groups import list_groups

    with _admin_connection() as conn:
        listed = list_groups(conn)
    rows = [{"id": g.id, "name": g.name, "parent_id": g.parent_id, "locations": list(g.location_ids),
             "children": list(g.child_ids)} for g in listed]  # fmt: skip
    human = "\n".join(
        f"{g.id}\t{g.name}" + (f"\tin group {g.parent_id}" if g.parent_id else "")
        + f"\tlocations {', '.join(map(str, g.location_ids)) or '-'}"
        for g in listed
    )  # fmt: skip
    _emit_list(as_json, rows, human, "no groups; add one with `smilepost group add`")


@group_app.command("add-child")
@server_side
def group_add_child(
    parent: GroupArg,
    child: Annotated[int, typer.Argument(metavar="CHILD", help="Id of the group to put inside.")],
    as_json: JsonOpt = False,
) -> None:
    """Put group CHILD (with everything in it) inside group GROUP; a cycle is refused."""
    from server.groups import set_parent

    with _admin_connection() as conn:
        set_parent(conn, child, parent)
    _emit(as_json, {"id": child, "parent_id": parent}, f"group {child} is now inside group {parent}")


@group_app.command("add-location")
@server_side
def group_add_location(group: GroupArg, location_id: LocationArg, as_json: JsonOpt = False) -> None:
    """Put a location in a group (it stays in its other groups)."""
    from server.groups import add_location

    with _admin_connection() as conn:
        added = add_location(conn, group, location_id)
    human = f"location {location_id} {'put' if added else 'was already'} in group {group}"
    _emit(as_json, {"group_id": group, "location_id": location_id, "changed": added}, human)


@group_app.command("remove-location")
@server_side
def group_remove_location(group: GroupArg, location_id: LocationArg, as_json: JsonOpt = False) -> None:
    """Take a location out of a group (not out of its other groups)."""
    from server.groups import remove_location

    with _admin_connection() as conn:
        removed = remove_location(conn, group, location_id)
    human = f"location {location_id} {'taken out of' if removed else 'was not in'} group {group}"
    _emit(as_json, {"group_id": group, "location_id": location_id, "changed": removed}, human)


@db_app.command("rebuild-rollups")
@server_side
def db_rebuild_rollups(
    location: Annotated[
        list[int] | None, typer.Option("--location", metavar="ID", help="Only this location (repeat); default all.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recount the rollups from the stored taps in each location's current time zone (after `location
    set-timezone`). Locations whose figures come out the same are left untouched. With retention on, only the local
    dates whose taps are kept are recounted; older days keep their figures, and the output says from which date."""
    from sqlalchemy import func, select

    from server.db import locations
    from server.rebuild import rebuild_rollups

    settings = _settings()
    with _admin_engine(settings) as engine:
        with engine.connect() as conn:
            everywhere = conn.execute(select(func.count()).select_from(locations)).scalar_one()
        total = len(location) if location else everywhere
        with _progress("rebuilding rollups", total) as advance:
            done = rebuild_rollups(engine, settings, datetime.now(UTC), location_ids=location, progress=advance)
    rows = [{"location_id": d.location_id, "name": d.name, "timezone": d.timezone,
             "from_date": d.from_date.isoformat() if d.from_date else None, "taps_moved": d.taps_moved,
             "rows_written": d.rows_written} for d in done]  # fmt: skip
    lines = [
        f"location {d.location_id} {d.name} ({d.timezone}): "
        + (f"{d.taps_moved:,} taps moved to another local date or hour, {d.rows_written:,} rollup rows written"
           if d.taps_moved or d.rows_written else "unchanged")
        + (f"; recounted from {d.from_date} (older taps were deleted by retention; their days keep their figures)"
           if d.from_date else "")
        for d in done
    ]  # fmt: skip
    _emit_list(as_json, rows, "\n".join(lines), "no locations")
