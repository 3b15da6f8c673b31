"""Request ids and JSON log lines (server.api.requests, server.logs), through the real app and a log capture."""

from __future__ import annotations

import io
import json
import logging
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server import InvalidInput
from server.api.requests import request_id
from server.auth import keys
from server.logs import ACCESS_LOGGER, JsonFormatter, RequestFilter, log_config

SUMMARY_ROUTE = "/api/v1/locations/{location_id}/summary"


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """Request ids and log lines do not depend on the database kind: SQLite only."""
    path = tmp_path / "smilepost.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every record of Smilepost's loggers and the access log, as ``--log-format json`` writes it, parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestFilter())
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in ("server", ACCESS_LOGGER)]
    saved = [(logger, logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for logger, level, propagate in saved:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _access(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == ACCESS_LOGGER]


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    """The app with one route that fails with an error nothing handles."""

    def boom() -> None:
        raise RuntimeError("nothing handles this")

    app.add_api_route("/test-only/boom", boom)
    return app


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/healthz", 200),
        ("GET", "/no/such/page", 404),
        ("GET", "/api/v1/locations", 401),
        ("POST", "/api/v1/taps", 401),
        ("GET", "/api/v1/locations/x/summary", 401),
        ("GET", "/static/smilepost.css", 200),
        ("GET", "/", 303),
        ("GET", "/test-only/boom", 500),
    ],
)
def test_every_answer_carries_a_request_id(failing_app: FastAPI, method: str, path: str, status: int) -> None:
    with TestClient(failing_app, raise_server_exceptions=False) as client:
        response = client.request(method, path, follow_redirects=False)
    assert response.status_code == status
    assert len(response.headers["x-request-id"]) == 32


def test_an_answer_refused_for_its_size_carries_a_request_id_too(client: TestClient) -> None:
    response = client.post("/api/v1/taps", content=b"x" * 2_000_000, headers={"X-Request-ID": "big-1"})
    assert (response.status_code, response.headers["x-request-id"]) == (413, "big-1")


@pytest.mark.parametrize("sent", ["abc", "A.b_c-9", "0" * 64, "f47ac10b-58cc-4372-a567-0e02b2c3d479"])
def test_a_short_safe_incoming_request_id_is_kept_and_logged(client: TestClient, json_lines: Any, sent: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    assert response.headers["x-request-id"] == sent
    assert [line["request_id"] for line in _access(json_lines())] == [sent]


@pytest.mark.parametrize(
    "sent", ["", "x" * 65, "has space", "new\nline", "tab\there", "semi;colon", 'quote"d', "émoji", "a/b"]
)
def test_any_other_incoming_request_id_is_replaced_by_a_fresh_one(
    client: TestClient, json_lines: Any, sent: str
) -> None:
    response = client.get("/healthz", headers=[("X-Request-ID", sent.encode())])
    given = response.headers["x-request-id"]
    assert given != sent and len(given) == 32 and given.isalnum()
    assert request_id([(b"x-request-id", sent.encode())]) not in (sent, given)  # fresh each time, also unsent
    assert [line["request_id"] for line in _access(json_lines())] == [given]


def test_each_request_gets_its_own_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_the_access_line_has_route_template_status_latency_and_no_query_string(
    client: TestClient, json_lines: Any, location: int, api_key: str
) -> None:
    response = client.get(
        f"/api/v1/locations/{location}/summary?start=2026-11-01&end=2026-11-08&secret=hunter2",
        headers={"Authorization": f"Bearer {api_key}", "X-Request-ID": "summary-1", "Cookie": "session=cookie-value"},
    )
    assert response.status_code == 200
    [line] = _access(json_lines())
    assert {k: line[k] for k in ("level", "request_id", "method", "route", "status")} == {
        "level": "INFO", "request_id": "summary-1", "method": "GET", "route": SUMMARY_ROUTE, "status": 200,
    }  # fmt: skip
    assert isinstance(line["latency_ms"], float) and 0 < line["latency_ms"] < 10_000
    assert line["time"].endswith("Z") and "kiosk_id" not in line
    text = json.dumps(line)
    for leak in ("2026-11-01", "hunter2", "?", api_key, "cookie-value", f"/locations/{location}/"):
        assert leak not in text, text


def test_a_kiosk_request_line_names_its_kiosk_and_never_its_token(
    send: Callable[..., Any], tap: Callable[..., dict[str, Any]], kiosk: Any, json_lines: Any
) -> None:
    assert send([tap()]).status_code == 200
    assert send([tap()], token=kiosk.token + "x").status_code == 401
    accepted, refused = _access(json_lines())
    assert (accepted["route"], accepted["status"], accepted["kiosk_id"]) == ("/api/v1/taps", 200, kiosk.kiosk_id)
    assert refused["status"] == 401 and "kiosk_id" not in refused
    assert kiosk.token not in json.dumps([accepted, refused])


def test_lines_written_while_handling_a_request_carry_its_id(
    client: TestClient, json_lines: Any, engine: Any, location: int
) -> None:
    with engine.begin() as conn:
        admin_key = keys.create_api_key(conn, name="ops", scope="admin")
    response = client.post(
        f"/api/v1/locations/{location}/pair-codes",
        headers={"Authorization": f"Bearer {admin_key}", "X-Request-ID": "p-7"},
    )
    assert response.status_code == 201
    lines = json_lines()
    assert {line["logger"] for line in lines} == {"server.auth.pairing", ACCESS_LOGGER}
    assert all(line["request_id"] == "p-7" for line in lines)
    assert response.json()["code"] not in json.dumps(lines)


def test_an_unhandled_error_gets_an_access_line_with_status_500(failing_app: FastAPI, json_lines: Any) -> None:
    with TestClient(failing_app, raise_server_exceptions=False) as client:
        response = client.get("/test-only/boom", headers={"X-Request-ID": "boom-1"})
    assert (response.status_code, response.headers["x-request-id"]) == (500, "boom-1")
    [line] = _access(json_lines())
    assert (line["route"], line["status"], line["request_id"]) == ("/test-only/boom", 500, "boom-1")


def test_the_json_formatter_writes_one_line_with_the_traceback_of_an_error() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.LogRecord("server.x", logging.ERROR, __file__, 1, "failed: %s", ("it",), sys.exc_info())
    line = JsonFormatter().format(record)
    parsed = json.loads(line)
    assert "\n" not in line and parsed["message"] == "failed: it" and parsed["level"] == "ERROR"
    assert "ValueError: bad" in parsed["exception"] and "request_id" not in parsed


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(InvalidInput, match="log level 'loud' is not one of critical, error, warning, info, debug"):
        log_config("json", "loud")
