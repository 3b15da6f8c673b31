"""Kiosk-side commands (``smilepost kiosk run|simulate|sync|screenshot``): thin wrappers over the kiosk library.

Registered on the ``kiosk`` command group by :mod:`server.cli`, which runs them only where the ``kiosk`` extra is
installed; so this module imports none of it (httpx, sqlite-utils, Kivy) until a command runs. Options left out fall
back to :class:`kiosk.settings.KioskSettings` (``SMILEPOST_KIOSK_*``), the kiosk's one settings object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from kiosk.settings import KioskSettings

if TYPE_CHECKING:
    import httpx

ServerOpt = Annotated[
    str | None, typer.Option("--server", help="Server base URL, e.g. http://127.0.0.1:8000.", show_default=False)
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", help="This kiosk's token (from `smilepost kiosk enroll`).", show_default=False),
]
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Folder of the kiosk's outbox database [default: kiosk-data].", show_default=False),
]


def _settings(server: str | None, token: str | None, data: Path | None, **extra: object) -> KioskSettings:
    """KioskSettings with the given options overriding the environment."""
    overrides: dict[str, object] = {k: v for k, v in extra.items() if v is not None}
    if server is not None:
        overrides["server"] = server
    if token is not None:
        overrides["token"] = SecretStr(token)
    if data is not None:
        overrides["data_dir"] = data
    return KioskSettings(**overrides)  # type: ignore[arg-type]


def _client_factory(settings: KioskSettings) -> Callable[[], httpx.Client]:
    """Clients for the configured server. Raises typer.BadParameter when there is no token."""
    if settings.token is None:
        raise typer.BadParameter("a kiosk token is required: pass --token or set SMILEPOST_KIOSK_TOKEN")
    from kiosk.sync import make_client

    token = settings.token.get_secret_value()
    return lambda: make_client(settings.server, token, timeout=settings.request_timeout)


def run(
    server: ServerOpt = None,
    token: TokenOpt = None,
    data: DataOpt = None,
    fullscreen: Annotated[bool, typer.Option("--fullscreen", help="Fill the screen (kiosk mode).")] = False,
) -> None:
    """Run the kiosk window: customers tap a face, taps are stored at once and synced in the background."""
    from kiosk.ui.app import run_app  # imports Kivy: only when the window is wanted
    from kiosk.ui.display import has_display

    settings = _settings(server, token, data, fullscreen=fullscreen or None)
    if not has_display():
        typer.echo("No display found: the kiosk window runs offscreen (SDL offscreen driver). Press Ctrl-C to stop.")
    run_app(settings)


def simulate(
    taps: Annotated[int, typer.Option("--taps", min=1, help="Number of customers to simulate.")],
    server: ServerOpt = None,
    token: TokenOpt = None,
    data: DataOpt = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed for reproducible scores.")] = None,
) -> None:
    """Record N taps with random scores through the kiosk store, sync until the outbox is empty, print JSON.

    Exit code 0 only when every tap is acknowledged by the server.
    """
    from kiosk.simulate import simulate as run_simulation
    from kiosk.sync import SyncError

    settings = _settings(server, token, data)
    factory = _client_factory(settings)
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        transient=True, console=Console(stderr=True),
    ) as progress:  # fmt: skip
        task = progress.add_task("recording taps", total=taps)
        try:
            report = run_simulation(
                settings.data_dir, factory, taps=taps, seed=seed, on_tap=lambda: progress.advance(task)
            )
        except SyncError as exc:
            _fail(str(exc))
    typer.echo(json.dumps(report.__dict__))
    if report.pending or report.acknowledged < report.recorded:
        raise typer.Exit(1)


def sync(server: ServerOpt = None, token: TokenOpt = None, data: DataOpt = None) -> None:
    """Send the outbox once (with retries) and print what happened; exit 0 when the outbox is empty."""
    from kiosk.store import Store
    from kiosk.sync import Syncer, SyncError

    settings = _settings(server, token, data)
    with Store.open(settings.data_dir) as store, _client_factory(settings)() as client:
        try:
            report = Syncer(store, client, batch_size=settings.batch_size).drain(max_attempts=5)
        except SyncError as exc:
            _fail(f"{exc}; {store.counts().pending} taps still queued")
        pending = store.counts().pending
    typer.echo(json.dumps({"sent": report.sent, "accepted": report.accepted, "duplicates": report.duplicates,
                           "conflicts": len(report.conflicts), "pending": pending}))  # fmt: skip
    if pending:
        raise typer.Exit(1)


def screenshot(
    out: Annotated[Path, typer.Option("--out", help="Folder for the PNG files (created if missing).")],
    scale: Annotated[int, typer.Option("--scale", help="Faces (3, 4, 5) or 11 for a 0-10 question.")] = 5,
    lang: Annotated[str, typer.Option("--lang", help="Language of the demo texts: en, nb or de.")] = "en",
    size: Annotated[str, typer.Option("--size", help="Window size WIDTHxHEIGHT, e.g. 800x480 or 1080x1920.")] = (
        "1024x600"
    ),
) -> None:
    """Render every kiosk screen offscreen to PNG files (ask, followup, comment, aspect, thanks, nps, attract,
    closed, pin, admin, pairing), with a built-in demo config; prints the files written."""
    from kiosk.ui.screenshots import render

    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT, got {size!r}", param_hint="--size") from None
    try:
        files = render(out, scale=scale, language=lang, size=(width, height))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except RuntimeError as exc:
        _fail(str(exc))
    for path in files:
        typer.echo(str(path))


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)
