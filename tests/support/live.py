"""Helpers to run Smilepost the way users do: the `smilepost` command and a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

SMILEPOST = str(Path(sys.executable).with_name("smilepost"))


@dataclass
class Cli:
    """Runs `smilepost` against one data folder (and so one SQLite database)."""

    data_dir: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMILEPOST_")}
        return {**env, "SMILEPOST_DATA_DIR": str(self.data_dir)}

    def run(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [SMILEPOST, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"smilepost {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def json(self, *args: str) -> dict[str, object]:
        parsed: dict[str, object] = json.loads(self.run(*args).stdout)
        return parsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self, timeout: float = 30) -> None:
        """Terminate the server and wait for it to exit."""
        self.process.terminate()
        self.process.wait(timeout=timeout)


def launch_server(
    env: Mapping[str, str],
    log_path: Path,
    *args: str,
    port: int | None = None,
    timeout: float = 30,
    command: str = SMILEPOST,
) -> LiveServer:
    """`smilepost server ARGS` (``command``: this venv's by default) with ``env`` on a loopback port (a free one by
    default), once /healthz answers; its output goes to ``log_path``. The tests and the benchmarks start every server
    through here.

    Raises RuntimeError if it does not come up within ``timeout`` seconds.
    """
    port = port or free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [command, "server", "--host", "127.0.0.1", "--port", str(port), *args], env=dict(env), stdout=log,
            stderr=log,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return LiveServer(url, process)
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


def start_server(cli: Cli, log_path: Path, port: int | None = None, *extra: str) -> LiveServer:
    """`smilepost server` on the CLI's database (see :func:`launch_server`). Raises RuntimeError if it does not
    come up within 30 s."""
    return launch_server(cli.env, log_path, *extra, port=port)


def setup_location(cli: Cli, *, timezone: str = "Europe/Oslo", scale: str = "5") -> tuple[int, str, str]:
    """A location with one enrolled kiosk and a read API key, made through the CLI: (id, kiosk token, key)."""
    location = cli.json("location", "add", "Oslo Security A", "--timezone", timezone, "--scale", scale, "--json")
    kiosk = cli.json("kiosk", "enroll", "--location", str(location["id"]), "--name", "gate 1", "--json")
    key = cli.json("apikey", "create", "--name", "e2e", "--json")
    return int(str(location["id"])), str(kiosk["token"]), str(key["key"])


def location_summary(url: str, key: str, location_id: int) -> dict[str, Any]:
    """The location's summary over local dates around today, wide enough for every zone. Raises AssertionError
    unless the server answers 200."""
    today = date.today()
    response = httpx.get(
        f"{url}/api/v1/locations/{location_id}/summary",
        params={"start": str(today - timedelta(days=2)), "end": str(today + timedelta(days=2))},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
