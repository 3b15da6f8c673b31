"""``smilepost channel add|revoke|list``: web touchpoints (#13), links and QR codes customers open on their phones, a
thin layer over :mod:`server.touchpoints`. Every command has ``--json``.

A touchpoint's address is printed absolute under ``SMILEPOST_PUBLIC_URL`` when it is set, else as its path
(``/s/<slug>``), to be put after the server's address.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from server.cli import JsonOpt, _admin_connection, _emit, _emit_list, _settings, app, server_side

if TYPE_CHECKING:
    from server.touchpoints import Touchpoint

channel_app = typer.Typer(
    help="Web touchpoints: links and QR codes customers open on their phones.", no_args_is_help=True
)
app.add_typer(channel_app, name="channel")

TouchpointArg = Annotated[int, typer.Argument(metavar="ID", help="Id of the touchpoint, as add or list printed it.")]


@channel_app.command("add")
@server_side
def channel_add(
    location: Annotated[int, typer.Option("--location", help="Id of the location whose question it asks.")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="A name staff recognise, e.g. 'Table 4'; without it Web 1, Web 2, ...", show_default=False
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a web touchpoint at a location; prints its id and the address of its page (random, unguessable)."""
    from server.touchpoints import add_touchpoint

    public_url = _settings().public_url
    with _admin_connection() as conn:
        made = add_touchpoint(conn, location_id=location, name=name)
    url = made.url(public_url)
    _emit(as_json, {"id": made.id, "url": url},
          f"touchpoint {made.id} {made.name!r} created at {made.location_name}: {url}")  # fmt: skip


@channel_app.command("revoke")
@server_side
def channel_revoke(touchpoint_id: TouchpointArg, as_json: JsonOpt = False) -> None:
    """Revoke a web touchpoint: its page, QR code and tap address answer 404 from now on; its taps stay."""
    from server.touchpoints import revoke_touchpoint

    with _admin_connection() as conn:
        revoked = revoke_touchpoint(conn, touchpoint_id)
    _emit(as_json, {"id": revoked.id, "revoked": True},
          f"touchpoint {revoked.id} {revoked.name!r} revoked; its taps stay")  # fmt: skip


@channel_app.command("list")
@server_side
def channel_list(
    location: Annotated[
        int | None, typer.Option("--location", help="Only this location's touchpoints.", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List web touchpoints (revoked ones too): location, name, address, created, revoked, last tap, taps received."""
    from server.analytics.summaries import find_location
    from server.touchpoints import list_touchpoints

    public_url = _settings().public_url
    with _admin_connection() as conn:
        if location is not None:
            find_location(conn, location)  # raises NotFound for an unknown location
        listed = list_touchpoints(conn, location_ids=None if location is None else [location])
    rows = [_touchpoint_json(t, public_url) for t in listed]
    human = "\n".join(_touchpoint_line(row) for row in rows)
    _emit_list(as_json, rows, human, "no web touchpoints")


def _touchpoint_json(touchpoint: Touchpoint, public_url: str | None) -> dict[str, Any]:
    return {
        "id": touchpoint.id, "location_id": touchpoint.location_id, "location": touchpoint.location_name,
        "name": touchpoint.name, "url": touchpoint.url(public_url), "created_at": _iso(touchpoint.created_at),
        "revoked_at": _iso(touchpoint.revoked_at), "last_tap_at": _iso(touchpoint.last_tap_at),
        "received": touchpoint.received,
    }  # fmt: skip


def _touchpoint_line(row: dict[str, Any]) -> str:
    state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
    return (
        f"{row['id']}: {row['name']!r} at {row['location']} (location {row['location_id']}) {row['url']}; "
        f"created {row['created_at']}, {state}, last tap {row['last_tap_at'] or 'never'}, {row['received']} taps"
    )


def _iso(moment: datetime | None) -> str | None:
    """RFC 3339 UTC to the second with a Z (as ``kiosk pair-code`` prints times); None stays None."""
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")
