"""Fixtures that run Smilepost the way users do: the `smilepost` command and a real uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support.browser import chromium, require_chromium
from tests.support.live import Cli, LiveServer, start_server


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "server-data")


@pytest.fixture
def live_server(cli: Cli, tmp_path: Path) -> Iterator[LiveServer]:
    """A real server on the CLI's database, stopped afterwards."""
    server = start_server(cli, tmp_path / "server.log")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless system Chromium for a module (skipped without it locally, failed under CI); tests open
    their own contexts."""
    require_chromium()
    with chromium() as launched:
        yield launched
