"""A real `smilepost server --log-format json`: every line it writes is a JSON object, one access line per request
with its request id, route template, status and latency, a kiosk's lines name the kiosk and never its token; and
`SMILEPOST_LOG_FORMAT=json` with `--workers 2` does the same in every worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.live import Cli, setup_location, start_server

pytestmark = pytest.mark.e2e

SUMMARY_ROUTE = "/api/v1/locations/{location_id}/summary"


@dataclass
class JsonCli(Cli):
    """`smilepost` with SMILEPOST_LOG_FORMAT=json in its environment."""

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "SMILEPOST_LOG_FORMAT": "json"}


def _batch() -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    tap = {"id": str(uuid4()), "seq": 1, "scale": 5, "score": 4, "tapped_at": now, "mono_ns": 1, "boot_id": "b"}
    return {"sent_at": now, "boot_id": "b", "mono_ns": 2, "taps": [tap]}


def _lines(log: Path) -> list[dict[str, Any]]:
    """Every line of the server's output, parsed; fails naming the first line that is not a JSON object."""
    parsed = []
    for line in log.read_text().splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            raise AssertionError(f"not JSON: {line!r}") from None
        assert isinstance(value, dict) and {"time", "level", "logger", "message"} <= value.keys(), line
        parsed.append(value)
    return parsed


def _access(lines: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    [line] = [line for line in lines if line["logger"] == "smilepost.access" and line["request_id"] == request_id]
    return line


def test_every_line_is_json_and_each_request_has_an_access_line_without_secrets(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    location, token, key = setup_location(cli)
    log = tmp_path / "server.log"
    server = start_server(cli, log, None, "--log-format", "json")
    today = date.today()
    query = {"start": str(today - timedelta(days=7)), "end": str(today + timedelta(days=1))}
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            summary = client.get(
                f"/api/v1/locations/{location}/summary", params=query,
                headers={"Authorization": f"Bearer {key}", "X-Request-ID": "dash.summary-1"},
            )  # fmt: skip
            tap = client.post("/api/v1/taps", json=_batch(), headers={"Authorization": f"Bearer {token}"})
            fleet = client.get("/api/v1/kiosks", headers={"Authorization": f"Bearer {key}"}).json()
            odd = {name: client.get("/healthz", headers=[(b"X-Request-ID", sent)]) for name, sent in
                   {"long": b"x" * 65, "spaces": b"two words", "utf-8": "påske".encode()}.items()}  # fmt: skip
            missing = client.get("/nope?token=" + token)
    finally:
        server.stop()

    lines = _lines(log)
    kiosk_id = fleet[0]["kiosk_id"]
    assert summary.status_code == 200 and summary.headers["x-request-id"] == "dash.summary-1"
    line = _access(lines, "dash.summary-1")
    assert (line["method"], line["route"], line["status"]) == ("GET", SUMMARY_ROUTE, 200)
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] > 0
    assert query["start"] not in json.dumps(line) and "?" not in json.dumps(line)

    assert tap.status_code == 200
    line = _access(lines, tap.headers["x-request-id"])
    assert (line["route"], line["status"], line["kiosk_id"]) == ("/api/v1/taps", 200, kiosk_id)

    for answer in odd.values():
        given = answer.headers["x-request-id"]
        assert len(given) == 32 and given.isalnum()
        assert _access(lines, given)["route"] == "/healthz"
    assert (missing.status_code, _access(lines, missing.headers["x-request-id"])["route"]) == (404, "unmatched")

    everything = log.read_text()
    for secret in (token, key):
        assert secret not in everything
    assert {line["logger"] for line in lines} >= {"uvicorn.error", "smilepost.access"}


def test_json_logs_from_every_worker_with_the_setting(tmp_path: Path) -> None:
    cli = JsonCli(tmp_path / "data")
    log = tmp_path / "server.log"
    server = start_server(cli, log, None, "--workers", "2")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            ids = [
                client.get("/healthz", headers={"X-Request-ID": f"w-{n}"}).headers["x-request-id"] for n in range(20)
            ]
    finally:
        server.stop()
    lines = _lines(log)
    assert ids == [f"w-{n}" for n in range(20)]
    assert all(_access(lines, request_id)["status"] == 200 for request_id in ids)
    started = [line["message"] for line in lines if line["message"].startswith("Started server process")]
    assert len(started) == 2, lines  # both workers set up the same JSON logging
