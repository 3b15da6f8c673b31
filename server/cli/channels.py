"""``smilepost channel``: web touchpoints (being built, issue #13)."""

from __future__ import annotations

import typer

from server.cli import app

channel_app = typer.Typer(help="Web touchpoints: links and QR codes for phones.", no_args_is_help=True)
app.add_typer(channel_app, name="channel")
