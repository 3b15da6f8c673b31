"""``smilepost demo``: the embedded default on one machine — server, SQLite file, demo location and kiosk.

The demo's credentials (kiosk token, API key) are created once and kept in ``<data_dir>/demo.json``
(mode 0600) so the demo can be restarted; the database itself stores only their hashes.
Raises RuntimeError when the server does not come up (e.g. the port is taken).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from server import serving
from server.app import create_app
from server.auth import keys, kiosk_tokens
from server.locations import add_location
from server.settings import Settings, private_folder

DEMO_LOCATION = ("Demo Store", "Europe/Oslo")


@dataclass(frozen=True)
class DemoCredentials:
    location_id: int
    kiosk_id: str
    token: str
    api_key: str


def demo_credentials(settings: Settings, engine_url: str) -> DemoCredentials:
    """The demo location, kiosk and API key: read from demo.json, or created (once) in the database."""
    path = settings.data_dir / "demo.json"
    if path.exists():
        return DemoCredentials(**json.loads(path.read_text()))
    from server.db import make_engine, upgrade

    engine = make_engine(engine_url)
    upgrade(engine)
    with engine.begin() as conn:
        location_id = add_location(conn, name=DEMO_LOCATION[0], timezone=DEMO_LOCATION[1])
        enrolment = kiosk_tokens.enroll_kiosk(conn, location_id=location_id, name="demo kiosk")
        key = keys.create_api_key(conn, name="demo")
    engine.dispose()
    creds = DemoCredentials(location_id, enrolment.kiosk_id, enrolment.token, key)
    _write_private(path, json.dumps(asdict(creds), indent=2))
    return creds


def run_demo(settings: Settings, *, echo: Callable[[str], None]) -> None:
    """Start the server on a thread, print how to use it, and run the kiosk window until it is closed."""
    from kiosk.settings import KioskSettings
    from kiosk.ui.display import has_display

    creds = demo_credentials(settings, settings.resolved_database_url)
    # The same connection limits and proxy rules as `smilepost server` (server.serving), quieter logs.
    quiet = settings.model_copy(update={"log_level": "warning"})
    options = serving.serving_options(quiet, open_file_limit=serving.raise_open_file_limit())
    server = uvicorn.Server(serving.build_config(create_app(settings), quiet, options))
    thread = threading.Thread(target=server.run, name="smilepost-server", daemon=True)
    thread.start()
    _wait_started(server, thread)
    base = f"http://{settings.host}:{settings.port}"
    kiosk_settings = KioskSettings(server=base, token=SecretStr(creds.token), data_dir=settings.data_dir / "kiosk")
    echo(_instructions(base, creds, settings.data_dir, offscreen=not has_display()))
    try:
        from kiosk.ui.app import run_app

        run_app(kiosk_settings)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _instructions(base: str, creds: DemoCredentials, data_dir: Path, *, offscreen: bool) -> str:
    today = date.today()
    summary = (
        f"{base}/api/v1/locations/{creds.location_id}/summary"
        f"?start={today - timedelta(days=6)}&end={today + timedelta(days=1)}"
    )
    lines = [
        f"Smilepost demo: server on {base}, database and credentials in {data_dir}/",
        f"  location {creds.location_id} ({DEMO_LOCATION[0]}, {DEMO_LOCATION[1]}), kiosk {creds.kiosk_id}",
        f"  summary:  curl -H 'Authorization: Bearer {creds.api_key}' '{summary}'",
        f"  more taps: {_program()} kiosk simulate --server {base} --token {creds.token} --taps 100 --data /tmp/sim",
    ]
    if offscreen:
        lines.append("No display found: the kiosk window runs offscreen. Use the simulate command above to make taps.")
    lines.append("Press Ctrl-C (or close the kiosk window) to stop.")
    return "\n".join(lines)


def _program() -> str:
    """How the user invoked smilepost (e.g. .venv/bin/smilepost), so printed commands can be pasted."""
    invoked = Path(sys.argv[0])
    return str(invoked) if invoked.name == "smilepost" else "smilepost"


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start: is the port already in use? (try --port)")
        time.sleep(0.05)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner may read (0600, also when it existed), in a 0700 folder if it makes
    one. Raises OSError."""
    private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as file:
        file.write(text)
