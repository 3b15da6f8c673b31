"""The ``smilepost`` command: a thin layer over :mod:`server.admin`, :mod:`server.app` and the kiosk library.

Admin commands act on the database named by ``SMILEPOST_DATABASE_URL`` (default: a SQLite file in
``SMILEPOST_DATA_DIR``, ``./data``), the same one ``smilepost server`` uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy import Connection

from kiosk import cli as kiosk_cli
from server import SmilepostError, admin
from server.settings import Settings

app = typer.Typer(
    name="smilepost",
    help="Smilepost: smiley-terminal feedback. Kiosks record taps offline-first; the server aggregates them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
location_app = typer.Typer(help="Manage locations (sites where kiosks stand).", no_args_is_help=True)
kiosk_app = typer.Typer(help="Enroll kiosks (server side) and run, simulate or sync a kiosk.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage read API keys for the summary API.", no_args_is_help=True)
app.add_typer(location_app, name="location")
app.add_typer(kiosk_app, name="kiosk")
app.add_typer(apikey_app, name="apikey")
kiosk_app.command("run")(kiosk_cli.run)
kiosk_app.command("simulate")(kiosk_cli.simulate)
kiosk_app.command("sync")(kiosk_cli.sync)


class Faces(StrEnum):
    """Face scales a location can use."""

    three = "3"
    four = "4"
    five = "5"


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
HostOpt = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]


@contextmanager
def _admin_connection() -> Iterator[Connection]:
    """A transaction on the configured database (migrated to head); library errors become usage errors."""
    from server.db import make_engine, upgrade

    engine = make_engine(Settings().resolved_database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            yield conn
    except SmilepostError as exc:
        raise typer.BadParameter(str(exc)) from exc
    finally:
        engine.dispose()


def _emit(as_json: bool, payload: dict[str, object], human: str) -> None:
    typer.echo(json.dumps(payload) if as_json else human)


@app.command()
def server(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Run the HTTP server (API for kiosks and managers) on HOST:PORT."""
    import uvicorn

    from server.app import create_app

    settings = Settings(host=host, port=port)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)


@location_app.command("add")
def location_add(
    name: Annotated[str, typer.Argument(help="Display name, e.g. 'Oslo Airport Security A'.")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone, e.g. Europe/Oslo.")],
    scale: Annotated[Faces, typer.Option("--scale", help="Number of faces on the kiosk.")] = Faces.five,
    as_json: JsonOpt = False,
) -> None:
    """Create a location; prints its id."""
    with _admin_connection() as conn:
        location_id = admin.add_location(conn, name=name, timezone=timezone, scale=int(scale.value))
    _emit(as_json, {"id": location_id}, f"location {location_id} created: {name} ({timezone}, {scale.value} faces)")


@kiosk_app.command("enroll")
def kiosk_enroll(
    location: Annotated[int, typer.Option("--location", help="Id of the location the kiosk stands at.")],
    name: Annotated[str | None, typer.Option("--name", help="A name staff recognise.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a kiosk at a location; prints its id and token (shown once, stored only as a hash)."""
    with _admin_connection() as conn:
        enrolment = admin.enroll_kiosk(conn, location_id=location, name=name)
    _emit(
        as_json,
        {"kiosk_id": enrolment.kiosk_id, "token": enrolment.token},
        f"kiosk {enrolment.kiosk_id} enrolled; its token (shown once): {enrolment.token}",
    )


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")],
    as_json: JsonOpt = False,
) -> None:
    """Create a read API key for the locations/summary API; prints it (shown once, stored only as a hash)."""
    with _admin_connection() as conn:
        key = admin.create_api_key(conn, name=name)
    _emit(as_json, {"key": key}, f"API key (shown once): {key}")


@app.command()
def demo(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Run Smilepost on one machine: server + SQLite file + a demo location and kiosk + the kiosk window."""
    from server.demo import run_demo

    run_demo(Settings(host=host, port=port), echo=typer.echo)


def main() -> None:
    """Console-script entry point."""
    app()
