"""Pairing a fresh kiosk against a real server on 127.0.0.1: code from the CLI, typed on the kiosk's keypad."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.kiosk_driver import run_driver
from tests.support.live import Cli, LiveServer, start_server

pytestmark = pytest.mark.kivy


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "server-data")


@pytest.fixture
def server(cli: Cli, tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(cli, tmp_path / "server.log")
    yield live
    live.process.terminate()
    live.process.wait(timeout=10)


def test_fresh_kiosk_pairs_with_a_typed_code_and_its_tap_reaches_the_server(
    cli: Cli, server: LiveServer, tmp_path: Path
) -> None:
    location = cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")
    code = str(cli.json("kiosk", "pair-code", "--location", str(location["id"]), "--json")["code"])
    key = str(cli.json("apikey", "create", "--name", "kiosk-test", "--json")["key"])

    outcome = run_driver(tmp_path / "kiosk", ["pair_real"], "--server", server.url, "--code", code)

    seen = outcome["pair_real"]
    assert (seen["screen_at_start"], seen["status_at_start"]) == ("pairing", "not paired")
    assert seen["server_shown"] == f"Server: {server.url}"
    assert seen["screen_after_pair"] == "ask"
    assert seen["status_after_pair"] == "synced"
    kiosk_id, token_start = seen["credentials"]
    assert kiosk_id and token_start
    [row] = seen["rows"]
    assert (row["score"], row["synced"]) == (5, True)

    today = date.today()
    summary = httpx.get(
        f"{server.url}/api/v1/locations/{location['id']}/summary",
        params={"start": str(today - timedelta(days=2)), "end": str(today + timedelta(days=2))},
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    assert summary["responses"] == 1 and summary["counts"]["5"] == 1

    again = cli.run("kiosk", "pair-code", "--location", str(location["id"]), "--json")
    assert again.returncode == 0  # codes are single use: a new one is needed for the next kiosk
