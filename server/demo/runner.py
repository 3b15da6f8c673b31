"""``smilepost demo``: Smilepost on one machine — server, SQLite file, a year of realistic data, a live kiosk.

The first start fills the database with the demo dataset (:func:`server.demo.seed.seed_database`: sites in several
time zones, a year of taps, demo users), enrolls the demo kiosk at the first seeded location (its taps arrive on
top of that location's history) and creates an API key. The demo's credentials (kiosk token, API key, the admin
demo user's email and password) are kept in ``<data_dir>/demo.json`` (mode 0600), so a later start reuses them
and seeds nothing. A SQLite database is seeded in a side file and moved into place when complete, so a first
start stopped halfway seeds again next time.

The console stays quiet: warnings and errors only, no access lines, unless ``verbose``. Ctrl-C (or closing the
window) stops the kiosk app as Kivy would (:func:`kiosk.ui.app.run_app`), then the server thread.

Raises :class:`server.InvalidInput` for a data folder the demo cannot use (a database that already holds other
locations, a ``demo.json`` of an older demo) and when the server does not come up (the port is taken).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import uvicorn
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from server import InvalidInput, logs, serving
from server.app import create_app
from server.auth import keys, kiosk_tokens
from server.db import make_engine
from server.demo.seed import SITES, SeedResult, seed_database
from server.settings import Settings, private_folder

DEMO_FILE = "demo.json"
DEMO_LOGGERS = ("server", "kiosk", "kivy")  # what logs at the demo's level; other libraries only warnings

#: Given a description and a total, a context manager yielding the function that advances a progress bar.
ProgressBar = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@dataclass(frozen=True)
class SeedPlan:
    """What the first start seeds (``smilepost demo --locations/--days/--seed``)."""

    locations: int = len(SITES)
    days: int = 365
    rng_seed: int = 1


@dataclass(frozen=True)
class DemoCredentials:
    """What ``demo.json`` keeps: where the demo kiosk stands, its token, an API key, the admin's sign-in."""

    location_id: int
    location_name: str
    kiosk_id: str
    token: str
    api_key: str
    email: str
    password: str


@dataclass(frozen=True)
class Demo:
    """A demo ready to serve: its credentials, and what this start seeded over how many days (None: an earlier
    start seeded)."""

    credentials: DemoCredentials
    seeded: SeedResult | None = None
    days: int | None = None


def prepare_demo(settings: Settings, plan: SeedPlan = SeedPlan(), progress: ProgressBar | None = None) -> Demo:
    """The demo in ``settings.data_dir``: read from its ``demo.json``, or (first start) seeded as ``plan`` says,
    with ``progress`` shown while seeding, and ``demo.json`` written.

    Raises InvalidInput for a ``demo.json`` this demo cannot read or a database that already has locations,
    OSError when the files cannot be written.
    """
    path = settings.data_dir / DEMO_FILE
    if path.exists():
        return Demo(_read_credentials(path))
    result = _seed(settings, plan, progress)
    credentials = _enroll_demo_kiosk(settings.resolved_database_url, result)
    _write_private(path, json.dumps(asdict(credentials), indent=2))
    return Demo(credentials, result, plan.days)


def run_demo(
    settings: Settings,
    *,
    echo: Callable[[str], None],
    plan: SeedPlan = SeedPlan(),
    progress: ProgressBar | None = None,
    verbose: bool = False,
) -> None:
    """Prepare the demo (:func:`prepare_demo`), serve it on a thread, print how to use it, and run the kiosk window
    until it is closed or Ctrl-C; then stop the server. ``verbose``: info lines and access lines too.

    A KeyboardInterrupt while seeding propagates (after a line saying the next start seeds again); one later
    just stops the demo. Raises what :func:`prepare_demo` raises, and InvalidInput when the server does not start.
    """
    from kiosk.ui import display

    settings = settings.model_copy(update={"log_level": settings.log_level if verbose else "warning"})
    logs.configure(settings.log_format, settings.log_level, access=verbose, loggers=DEMO_LOGGERS)
    try:
        demo = prepare_demo(settings, plan, progress)
    except KeyboardInterrupt:
        echo("Stopped before the demo data was complete; the next start seeds it again.")
        raise
    display.prepare_demo_environment(settings.log_level)  # before Kivy is imported
    options = serving.serving_options(settings, open_file_limit=serving.raise_open_file_limit())
    config = serving.build_config(create_app(settings), settings, options, access_log=verbose, loggers=DEMO_LOGGERS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="smilepost-server", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        base = f"http://{settings.host}:{settings.port}"
        echo(instructions(base, demo, settings.data_dir, offscreen=not display.has_display()))
        _run_kiosk(demo.credentials, base, settings.data_dir / "kiosk")
    except KeyboardInterrupt:
        pass  # Ctrl-C before the kiosk window took over SIGINT
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _run_kiosk(credentials: DemoCredentials, server: str, data_dir: Path) -> None:
    """The demo kiosk's window (Kivy is imported here, after the demo prepared its environment)."""
    from kiosk.settings import KioskSettings
    from kiosk.ui.app import run_app

    # No touchscreen probe: the demo runs on a desktop (mouse, SDL's own touch) or offscreen.
    run_app(KioskSettings(server=server, token=SecretStr(credentials.token), data_dir=data_dir), touch_probe=False)


def instructions(base: str, demo: Demo, data_dir: Path, *, offscreen: bool) -> str:
    """What the demo prints once it runs: the dashboard and its sign-in, where the kiosk stands, how to make taps
    and read the API; on the first start also what was seeded and the managers' passwords (shown only then)."""
    creds, today = demo.credentials, date.today()
    summary = (
        f"{base}/api/v1/locations/{creds.location_id}/summary"
        f"?start={today - timedelta(days=6)}&end={today + timedelta(days=1)}"
    )
    simulate = [_program(), "kiosk", "simulate", "--server", base, "--token", creds.token, "--taps", "100",
                "--data", str(data_dir / "simulated-kiosk")]  # fmt: skip
    lines = []
    if (seeded := demo.seeded) is not None:
        lines.append(
            f"First start: seeded {len(seeded.locations)} locations with {seeded.taps:,} taps"
            f" over {demo.days} days, and demo users."
        )
    lines += [
        f"Smilepost demo on {base}/",
        f"  Dashboard:  {base}/  sign in as {creds.email}, password {creds.password}",
        f"  Kiosk:      the window's kiosk stands at {creds.location_name}; its taps show on"
        f" {base}/locations/{creds.location_id}",
        f"  More taps:  {shlex.join(simulate)}",
        f"  API:        curl -H 'Authorization: Bearer {creds.api_key}' '{summary}'",
    ]
    if seeded is not None:
        lines.append("  Managers (see less; passwords shown only now):")
        lines += [f"    {u.email}  password {u.password}  ({u.sees})" for u in seeded.users if u.role != "admin"]
    lines.append(f"  Data:       {data_dir}/ (the admin's sign-in, the kiosk token and the API key are in {DEMO_FILE})")
    if offscreen:
        lines.append("No display found: the kiosk window runs offscreen; make taps with the command above.")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _program() -> str:
    """How the user invoked smilepost (e.g. .venv/bin/smilepost), so printed commands can be pasted."""
    invoked = Path(sys.argv[0])
    return str(invoked) if invoked.name == "smilepost" else "smilepost"


def _read_credentials(path: Path) -> DemoCredentials:
    """``demo.json``. Raises InvalidInput when it is not this demo's (an older demo kept fewer fields)."""
    try:
        return DemoCredentials(**json.loads(path.read_text()))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{path} is from an older Smilepost demo (an empty 'Demo Store'); to start the demo with a year of data,"
            f" move {path.parent} away or point SMILEPOST_DATA_DIR at a new folder"
        ) from exc


def _seed(settings: Settings, plan: SeedPlan, progress: ProgressBar | None) -> SeedResult:
    """Seed the configured database as ``plan`` says; a SQLite file that does not exist yet is seeded in a side
    file (``<name>.seeding``, replaced if an earlier start left one) and moved into place when complete.

    Raises InvalidInput when the database already has locations."""
    url = settings.resolved_database_url  # creates the data folder
    total = plan.locations * plan.days
    with progress("first start: seeding the demo data", total) if progress else nullcontext(None) as advance:
        options = {"locations": plan.locations, "days": plan.days, "rng_seed": plan.rng_seed, "progress": advance}
        target = _sqlite_file(url)
        if target is None or target.exists():
            return seed_database(url, **options)
        partial = target.with_name(target.name + ".seeding")
        _remove_sqlite(partial)
        result = seed_database(f"sqlite:///{partial}", **options)
        for suffix in ("", "-wal"):  # the WAL is gone once the seed's engine closed; moved with it if not
            if partial.with_name(partial.name + suffix).exists():
                os.replace(partial.with_name(partial.name + suffix), target.with_name(target.name + suffix))
        for suffix in ("-shm", "-writer.lock"):
            partial.with_name(partial.name + suffix).unlink(missing_ok=True)
        return result


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", "-writer.lock"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def _enroll_demo_kiosk(url: str, seeded: SeedResult) -> DemoCredentials:
    """Enroll the demo kiosk at the first seeded location, create the demo's API key; the credentials to keep."""
    location = seeded.locations[0]
    admin = next(user for user in seeded.users if user.role == "admin")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            enrolment = kiosk_tokens.enroll_kiosk(conn, location_id=location.id, name="demo kiosk")
            key = keys.create_api_key(conn, name="demo")
    finally:
        engine.dispose()
    return DemoCredentials(
        location_id=location.id, location_name=location.name, kiosk_id=enrolment.kiosk_id, token=enrolment.token,
        api_key=key, email=admin.email, password=admin.password,
    )  # fmt: skip


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise InvalidInput(f"the demo server did not start on port {server.config.port}: in use? (try --port)")
        time.sleep(0.05)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner may read (0600, also when it existed), in a 0700 folder if it makes
    one. Raises OSError."""
    private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as file:
        file.write(text)
