"""A real `smilepost server` at debug log level never writes a secret, and refuses an oversized body at once.

Secrets: a kiosk token, read and admin API keys, a pairing code and a kiosk admin PIN, each used in
succeeding and failing requests (401, 403, 422 with the secret inside a bad body). None may appear in the
server's output or in the `smilepost` commands' stderr.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from tests.support.live import Cli, start_server

pytestmark = pytest.mark.e2e

PIN = "48291573"


@dataclass
class DebugCli(Cli):
    """`smilepost` with the server's most talkative log level."""

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "SMILEPOST_LOG_LEVEL": "debug"}


def _tap(seq: int) -> dict[str, object]:
    return {"id": str(uuid4()), "seq": seq, "scale": 5, "score": 4, "tapped_at": "2026-11-22T09:58:00Z",
            "mono_ns": seq, "boot_id": "boot-a"}  # fmt: skip


def _batch(taps: list[dict[str, object]]) -> dict[str, object]:
    sent_at = datetime.now(UTC).isoformat()
    return {"sent_at": sent_at, "boot_id": "boot-a", "mono_ns": 10**12, "taps": taps,
            "heartbeat": {"queue_depth": 0, "app_version": "1.0", "last_seq": len(taps)}}  # fmt: skip


def test_no_secret_appears_in_server_logs_or_command_errors(tmp_path: Path) -> None:
    cli = DebugCli(tmp_path / "server-data")
    stderr: list[str] = []

    def run(*args: str, check: bool = True) -> str:
        result = cli.run(*args, check=check)
        stderr.append(result.stderr)
        return result.stdout

    location = str(json.loads(run("location", "add", "Oslo S", "--timezone", "Europe/Oslo", "--json"))["id"])
    token = str(json.loads(run("kiosk", "enroll", "--location", location, "--json"))["token"])
    read_key = str(json.loads(run("apikey", "create", "--name", "dash", "--json"))["key"])
    admin_key = str(json.loads(run("apikey", "create", "--name", "ops", "--admin", "--json"))["key"])
    code = str(json.loads(run("kiosk", "pair-code", "--location", location, "--json"))["code"])
    configured = run("location", "configure", location, "--pin", PIN, "--json")
    run("location", "configure", location, "--pin", PIN + "x", check=False)  # refused: not digits
    run("location", "configure", location, "--pin", "1" + PIN * 2, check=False)  # refused: too long
    log_path = tmp_path / "server.log"
    server = start_server(cli, log_path)
    kiosk = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            answers = [
                client.post("/api/v1/taps", json=_batch([_tap(1), _tap(2)]), headers=kiosk),
                client.post("/api/v1/taps", json=_batch([{**_tap(3), "score": token}]), headers=kiosk),  # 422
                client.post("/api/v1/taps", json={"token": token, "pin": PIN}, headers=kiosk),  # 422
                client.post("/api/v1/taps", content=f"not json {token}", headers=kiosk),  # 422
                client.post("/api/v1/taps", json=_batch([]), headers={"Authorization": f"Bearer {token}x"}),  # 401
                client.get("/api/v1/kiosk/config", headers=kiosk),
                client.post("/api/v1/kiosk/heartbeat", json={**_batch([]), "taps": None}, headers=kiosk),  # 422
                client.get("/api/v1/kiosks", headers={"Authorization": f"Bearer {read_key}"}),
                client.get("/api/v1/kiosks", headers={"Authorization": f"Bearer {read_key}x"}),  # 401
                client.put(
                    f"/api/v1/locations/{location}/config", json={}, headers={"Authorization": f"Bearer {read_key}"}
                ),  # 403 # fmt: skip
                client.post(
                    f"/api/v1/locations/{location}/pair-codes",
                    json={"kiosk_name": admin_key},
                    headers={"Authorization": f"Bearer {admin_key}"},
                ),  # fmt: skip
                client.post("/api/v1/pair", json={"code": code, "name": "lane 2"}),
                client.post("/api/v1/pair", json={"code": code}),  # 403: used
                client.post("/api/v1/pair", json={"code": code + "9"}),  # 422
            ]
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)

    codes = [200, 422, 422, 422, 401, 200, 422, 200, 401, 403, 201, 200, 403, 422]
    assert [a.status_code for a in answers] == codes
    paired_token = answers[11].json()["token"]
    new_code = answers[10].json()["code"]
    assert f'"{PIN}"' not in configured and json.loads(configured)["admin_pin_hash"] == "set"
    log = log_path.read_text()
    assert '"GET /api/v1/kiosk/config HTTP/1.1" 200' in log  # the access log really is on
    secrets = {"kiosk token": token, "paired token": paired_token, "read key": read_key, "admin key": admin_key,
               "pairing code": code, "new pairing code": new_code, "PIN": PIN}  # fmt: skip
    leaks = {name for name, secret in secrets.items() if secret in log or any(secret in e for e in stderr)}
    assert leaks == set(), log


def test_declared_oversized_body_is_refused_before_the_server_waits_for_it(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "server-data")
    server = start_server(cli, tmp_path / "server.log")
    host, port = server.url.removeprefix("http://").split(":")
    head = (
        "POST /api/v1/taps HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Authorization: Bearer spk_whatever\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 2000000\r\n\r\n"
    )
    try:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            start = time.monotonic()
            sock.sendall(head.encode() + b'{"sent_at": "2026-')  # and never the other 1 999 982 bytes
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
            elapsed = time.monotonic() - start
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)

    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body) == {"message": "request body is larger than 1048576 bytes; send fewer taps per batch"}
    assert elapsed < 2.0
