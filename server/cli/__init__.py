"""The ``smilepost`` command, the same in every install: a thin layer over the server library and, for the
``kiosk run|simulate|sync|screenshot`` commands, :mod:`kiosk.cli`.

This module imports nothing of the ``server`` or ``kiosk`` extras, so the command starts in any install: each
command checks its extra first (:func:`needs`) and, where it is missing, prints the one line that installs it, e.g.
``the server needs: pip install 'smilepost[server]'``, and exits 1. Server-side commands import what they use inside
their bodies. Admin commands act on the database named by ``SMILEPOST_DATABASE_URL`` (default: a SQLite file in
``SMILEPOST_DATA_DIR``, ``./data``), the same one ``smilepost server`` uses.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from kiosk import cli as kiosk_cli
from server import SmilepostError
from server.settings import Settings
from shared.protocol import LocationConfig

if TYPE_CHECKING:
    from sqlalchemy import Connection

# What each extra installs that its commands import (module names); a command checks them before it runs.
EXTRAS = {
    "server": (
        "fastapi",
        "uvicorn",
        "sqlalchemy",
        "alembic",
        "jinja2",
        "multipart",
        "argon2",
        "prometheus_client",
        "weasyprint",
        "segno",
        "babel",
    ),
    "kiosk": ("kivy", "sqlite_utils", "httpx"),
}
Command = TypeVar("Command", bound=Callable[..., Any])


def missing_extras(*extras: str) -> list[str]:
    """Those of ``extras`` (keys of :data:`EXTRAS`) whose packages are not all installed."""
    return [extra for extra in extras if any(importlib.util.find_spec(name) is None for name in EXTRAS[extra])]


def needs(what: str, *extras: str) -> Callable[[Command], Command]:
    """A command that runs only where ``extras`` are installed; elsewhere it prints
    ``<what> needs: pip install 'smilepost[<extras>]'`` and exits 1 (as httpx's command does without its extra)."""

    def wrap(command: Command) -> Command:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            if missing := missing_extras(*extras):
                typer.echo(f"{what} needs: pip install 'smilepost[{','.join(missing)}]'", err=True)
                raise typer.Exit(1)
            return command(*args, **kwargs)

        return run  # type: ignore[return-value]

    return wrap


server_side = needs("the server", "server")
kiosk_side = needs("the kiosk", "kiosk")

app = typer.Typer(
    name="smilepost",
    help="Smilepost: smiley-terminal feedback. Kiosks record taps offline-first; the server aggregates them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
location_app = typer.Typer(help="Manage locations (sites where kiosks stand).", no_args_is_help=True)
kiosk_app = typer.Typer(help="Enroll kiosks (server side) and run, simulate or sync a kiosk.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage API keys (read, or admin) for the HTTP API.", no_args_is_help=True)
app.add_typer(location_app, name="location")
app.add_typer(kiosk_app, name="kiosk")
app.add_typer(apikey_app, name="apikey")
user_app = typer.Typer(help="Manage dashboard users (admins, and managers of some locations).", no_args_is_help=True)
group_app = typer.Typer(help="Manage location groups (a manager of a group sees its locations).", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(group_app, name="group")
db_app = typer.Typer(help="Manage the database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
for _name in ("run", "simulate", "sync", "screenshot"):
    kiosk_app.command(_name)(kiosk_side(getattr(kiosk_cli, _name)))


class Role(StrEnum):
    """Dashboard roles."""

    admin = "admin"
    manager = "manager"


class LogFormat(StrEnum):
    """How the server writes its log."""

    text = "text"
    json = "json"


class Faces(StrEnum):
    """Face scales a location can use."""

    three = "3"
    four = "4"
    five = "5"


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
HostOpt = Annotated[
    str | None, typer.Option("--host", help="Address to listen on [default: SMILEPOST_HOST, else 127.0.0.1].")
]
PortOpt = Annotated[
    int | None, typer.Option("--port", min=1, max=65535, help="Port to listen on [default: SMILEPOST_PORT, else 8000].")
]


@contextmanager
def _admin_connection() -> Iterator[Connection]:
    """A transaction on the configured database (migrated to head), acting as the CLI on this host for the audit
    trail (:mod:`server.audit`); library errors become usage errors."""
    from server import audit
    from server.db import make_engine, upgrade

    engine = make_engine(Settings().resolved_database_url)
    try:
        upgrade(engine)
        with audit.acting(audit.cli_actor()), engine.begin() as conn:
            yield conn
    except SmilepostError as exc:
        raise typer.BadParameter(str(exc)) from exc
    finally:
        engine.dispose()


def _settings(**given: Any) -> Settings:
    """The settings with the options given on the command line (not None) over the environment's."""
    return Settings(**{name: value for name, value in given.items() if value is not None})


def _password_from_stdin(password_stdin: bool) -> str:
    """The first line of standard input, for ``--password-stdin`` (a password never goes on the command line).

    Raises typer.BadParameter without ``--password-stdin``."""
    if not password_stdin:
        raise typer.BadParameter(
            "pass the password on standard input with --password-stdin", param_hint="--password-stdin"
        )
    return sys.stdin.readline().rstrip("\r\n")


def _emit(as_json: bool, payload: dict[str, object], human: str) -> None:
    typer.echo(json.dumps(payload) if as_json else human)


def _emit_list(as_json: bool, rows: list[dict[str, Any]], human: str, empty: str) -> None:
    """A list command's output: a JSON array, or the lines (``empty`` when there are none)."""
    typer.echo(json.dumps(rows) if as_json else human or empty)


@app.command()
@server_side
def server(
    host: HostOpt = None,
    port: PortOpt = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Worker processes sharing the port (one per core).")
    ] = 1,
    header_timeout: Annotated[
        float | None,
        typer.Option(
            "--header-timeout",
            metavar="SECONDS",
            min=0.1,
            max=300,
            help="Seconds a client has to send complete request headers after connecting (or after the first byte"
            " of a later request); then the connection is closed, with 408 if part of a request came."
            " Default 10 (SMILEPOST_HEADER_TIMEOUT).",
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            "--max-connections",
            metavar="N",
            min=1,
            help="Open connections per worker process; one beyond it gets 503 with Retry-After. Default: 3/4 of"
            " the open-file limit (the soft limit is raised to the hard one at start), at most 10000"
            " (SMILEPOST_MAX_CONNECTIONS).",
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            metavar="IPS",
            help="Reverse proxies whose X-Forwarded-For (and -Proto) is believed: comma-separated addresses or"
            " networks, e.g. 10.0.0.2. Default none: the connecting address is the client, whatever headers say"
            " (SMILEPOST_FORWARDED_ALLOW_IPS; uvicorn's FORWARDED_ALLOW_IPS is ignored).",
        ),
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="text: uvicorn's lines (default). json: one JSON object per line for every log record (time, level,"
            " logger, message, request_id) and one access line per request with method, route template, status,"
            " latency_ms and the kiosk_id of a kiosk's request; never tokens, keys, cookies or query strings"
            " (SMILEPOST_LOG_FORMAT). Every answer carries X-Request-ID either way.",
        ),
    ] = None,
) -> None:
    """Run the HTTP server (API for kiosks and managers) on HOST:PORT."""
    from server.serving import serve

    given = {"host": host, "port": port, "header_timeout": header_timeout, "max_connections": max_connections,
             "forwarded_allow_ips": forwarded_allow_ips, "log_format": log_format and log_format.value}  # fmt: skip
    try:
        serve(_settings(**given), workers=workers)
    except SmilepostError as exc:
        raise typer.BadParameter(str(exc)) from exc


@location_app.command("add")
@server_side
def location_add(
    name: Annotated[str, typer.Argument(help="Display name, e.g. 'Oslo Airport Security A'.")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone, e.g. Europe/Oslo.")],
    scale: Annotated[Faces, typer.Option("--scale", help="Number of faces on the kiosk.")] = Faces.five,
    as_json: JsonOpt = False,
) -> None:
    """Create a location; prints its id."""
    from server.locations import add_location

    with _admin_connection() as conn:
        location_id = add_location(conn, name=name, timezone=timezone, scale=int(scale.value))
    _emit(as_json, {"id": location_id}, f"location {location_id} created: {name} ({timezone}, {scale.value} faces)")


@kiosk_app.command("enroll")
@server_side
def kiosk_enroll(
    location: Annotated[int, typer.Option("--location", help="Id of the location the kiosk stands at.")],
    name: Annotated[str | None, typer.Option("--name", help="A name staff recognise.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a kiosk at a location; prints its id and token (shown once, stored only as a hash)."""
    from server.auth import kiosk_tokens

    with _admin_connection() as conn:
        enrolment = kiosk_tokens.enroll_kiosk(conn, location_id=location, name=name)
    _emit(
        as_json,
        {"kiosk_id": enrolment.kiosk_id, "token": enrolment.token},
        f"kiosk {enrolment.kiosk_id} enrolled; its token (shown once): {enrolment.token}",
    )


@kiosk_app.command("pair-code")
@server_side
def kiosk_pair_code(
    location: Annotated[int, typer.Option("--location", help="Id of the location the kiosk will stand at.")],
    name: Annotated[str | None, typer.Option("--name", help="Name for the kiosk it pairs.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a one-time pairing code (8 digits, valid 15 minutes) to type on a fresh kiosk."""
    from server.auth import pairing

    with _admin_connection() as conn:
        code = pairing.create_pair_code(conn, location_id=location, kiosk_name=name)
    expires = code.expires_at.isoformat().replace("+00:00", "Z")
    human = f"pairing code {code.code} (single use, until {expires})"
    _emit(as_json, {"code": code.code, "expires_at": expires}, human)


@kiosk_app.command("revoke")
@server_side
def kiosk_revoke(
    kiosk_id: Annotated[str, typer.Argument(help="Id of the kiosk, as enroll or pairing printed it.")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a kiosk's token (a lost or replaced kiosk); its stored taps stay."""
    from server.auth import kiosk_tokens

    with _admin_connection() as conn:
        kiosk_tokens.revoke_kiosk(conn, kiosk_id)
    _emit(as_json, {"kiosk_id": kiosk_id, "revoked": True}, f"kiosk {kiosk_id} revoked; its taps stay")


@location_app.command("configure")
@server_side
def location_configure(
    location_id: Annotated[int, typer.Argument(metavar="ID", help="Id of the location.")],
    file: Annotated[
        str | None, typer.Option("--file", metavar="PATH|-", help="LocationConfig JSON file, or - for stdin.")
    ] = None,
    pin: Annotated[str | None, typer.Option("--pin", help="Kiosk admin PIN, 6-12 digits (stored hashed).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set what the location's kiosks show from a JSON file and/or set their admin PIN; prints the config."""
    from server.locations import configure_location

    config = _read_location_config(file) if file is not None else None
    with _admin_connection() as conn:
        stored = configure_location(conn, location_id, config=config, pin=pin)
    _emit(as_json, stored.model_dump(mode="json"), stored.model_dump_json(indent=2))


def _read_location_config(file: str) -> LocationConfig:
    """Parse a LocationConfig from a file or stdin. Raises typer.BadParameter naming each bad field."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        return LocationConfig.model_validate_json(text)
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc.strerror}", param_hint="'--file'") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()[:10])
        raise typer.BadParameter(problems, param_hint="'--file'") from exc


@apikey_app.command("create")
@server_side
def apikey_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")],
    admin_scope: Annotated[
        bool, typer.Option("--admin", help="May also change things (config, pairing codes), not only read.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key (read, or admin with --admin); prints it (shown once, stored only as a hash)."""
    from server.auth import keys

    scope = "admin" if admin_scope else "read"
    with _admin_connection() as conn:
        key = keys.create_api_key(conn, name=name, scope=scope)
    _emit(as_json, {"key": key, "scope": scope}, f"{scope} API key (shown once): {key}")


@db_app.command("upgrade")
@server_side
def db_upgrade(
    revision: Annotated[str, typer.Option("--revision", help="Alembic revision to reach.")] = "head",
) -> None:
    """Upgrade the database schema to REVISION (default head); prints the revision reached."""
    from alembic.util import CommandError

    from server.db import current_revision, make_engine, upgrade

    engine = make_engine(Settings().resolved_database_url)
    try:
        upgrade(engine, revision)
        reached = current_revision(engine)
    except CommandError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--revision'") from exc
    finally:
        engine.dispose()
    typer.echo(f"database at revision {reached}")


@app.command()
@server_side
def demo(
    host: HostOpt = None,
    port: PortOpt = None,
    seed_only: Annotated[
        bool,
        typer.Option(
            "--seed-only",
            help="Only fill an empty database with a realistic demo dataset (sites in several time zones, a year"
            " of taps, reasons, offline kiosks, dashboard users whose passwords are printed once), then exit."
            " Refuses a database that already has locations.",
        ),
    ] = False,
    locations: Annotated[
        int, typer.Option("--locations", min=1, max=1000, help="Sites to seed (--seed-only, or first start).")
    ] = 8,
    days: Annotated[
        int, typer.Option("--days", min=1, max=3660, help="Local days of taps to seed (--seed-only, or first start).")
    ] = 365,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the dataset (same seed, same data).")] = 1,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Also show info lines (server, kiosk, Kivy) and one line per request.")
    ] = False,
) -> None:
    """Run Smilepost on one machine: server + SQLite file + a year of demo data + a live kiosk window.

    The first start seeds the demo data (about half a minute) and keeps the demo's sign-in and keys in
    <data dir>/demo.json; later starts reuse them. Prints the dashboard's address and a sign-in. Ctrl-C stops it.
    """
    if seed_only:
        _seed_demo(locations=locations, days=days, rng_seed=seed)
        return
    if missing_extras("kiosk"):  # the demo runs the kiosk window too
        typer.echo("the demo needs: pip install 'smilepost[kiosk,server]'", err=True)
        raise typer.Exit(1)
    from server.demo.runner import SeedPlan, run_demo

    try:
        run_demo(
            _settings(host=host, port=port), echo=typer.echo, plan=SeedPlan(locations, days, seed), progress=_progress,
            verbose=verbose,
        )  # fmt: skip
    except SmilepostError as exc:  # a data folder the demo cannot use, a port in use
        raise typer.BadParameter(str(exc)) from exc
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


@contextmanager
def _progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (gone when done) and the function that advances it."""
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _seed_demo(*, locations: int, days: int, rng_seed: int) -> None:
    """`smilepost demo --seed-only`: seed the configured database with a progress bar, print what was made."""
    from server.demo.seed import describe, seed_database

    with _progress("seeding taps", locations * days) as advance:
        try:
            result = seed_database(
                Settings().resolved_database_url, locations=locations, days=days, rng_seed=rng_seed, progress=advance
            )
        except SmilepostError as exc:
            raise typer.BadParameter(str(exc)) from exc
    typer.echo(describe(result))


@user_app.command("add")
@server_side
def user_add(
    email: Annotated[str, typer.Argument(help="Sign-in email address.")],
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            help="admin: sees and changes everything; manager: sees the locations given with --location/--group.",
        ),
    ],
    location: Annotated[
        list[int] | None, typer.Option("--location", help="Location id a manager sees (repeat).")
    ] = None,
    group: Annotated[
        list[int] | None, typer.Option("--group", help="Group id whose locations a manager sees (repeat).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input (first line).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a dashboard user; the password (at least 10 characters) is stored only as an argon2id hash."""
    from server.auth import accounts

    password = _password_from_stdin(password_stdin)
    with _admin_connection() as conn:
        user_id = accounts.add_user(
            conn, email=email, password=password, role=role.value, location_ids=location or (), group_ids=group or ()
        )
    _emit(as_json, {"id": user_id, "email": accounts.normalise_email(email), "role": role.value},
          f"user {user_id} {accounts.normalise_email(email)} ({role.value}) created")  # fmt: skip


@group_app.command("add")
@server_side
def group_add(
    name: Annotated[str, typer.Argument(help="Group name, e.g. 'Oslo Airport'.")],
    location: Annotated[list[int] | None, typer.Option("--location", help="Location id to put in it (repeat).")] = None,
    parent: Annotated[
        int | None, typer.Option("--parent", metavar="GROUP", help="Id of the group it is inside.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a location group, inside another with --parent, optionally putting locations in it (a location can be
    in several groups)."""
    from server import groups

    with _admin_connection() as conn:
        group_id = groups.add_group(conn, name=name, parent_id=parent)
        for location_id in location or ():
            groups.add_location(conn, group_id, location_id)
    _emit(as_json, {"id": group_id, "name": name.strip(), "parent_id": parent, "locations": location or []},
          f"group {group_id} {name.strip()!r} created")  # fmt: skip


def main() -> None:
    """Console-script entry point."""
    app()


# Command groups kept in their own modules register themselves on `app` when imported (they import from here).
from server.cli import channels, data, feedback, lifecycle, reports, user_admin  # noqa: E402, F401
