"""`smilepost server` against hostile clients (issue #10): connections that never finish their request headers
are dropped, connections beyond a cap get a prompt 503, the open-file limit is raised, and X-Forwarded-For is
believed only from proxies the operator names."""

from __future__ import annotations

import itertools
import logging
import resource
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from server import InvalidInput
from server.serving import HeaderTimeoutProtocol, build_config, serving_options, trusted_proxies, usable_connections
from server.settings import Settings
from tests.support.live import SMILEPOST, Cli, LiveServer, start_server

pytestmark = pytest.mark.e2e

PARTIAL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: smilepost\r\n"  # no blank line: the headers never end
FULL_REQUEST = PARTIAL_REQUEST + b"\r\n"


@dataclass
class EnvCli(Cli):
    """`smilepost` with extra environment variables."""

    extra: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.extra}


@contextmanager
def _server(cli: Cli, tmp_path: Path, *args: str) -> Iterator[LiveServer]:
    server = start_server(cli, tmp_path / "server.log", None, *args)
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)


def _connect(server: LiveServer) -> socket.socket:
    address = urlsplit(server.url)
    return socket.create_connection((address.hostname, address.port), timeout=5)


def _until_closed(sock: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and the seconds that took.
    Raises AssertionError if it is still open after ``within`` seconds."""
    start = time.monotonic()
    received = b""
    while True:
        sock.settimeout(max(0.01, start + within - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            raise AssertionError(f"still open after {within} s; got {received!r}") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic() - start
        received += chunk


def _response(sock: socket.socket) -> bytes:
    """One whole response with a Content-Length, leaving the connection open."""
    sock.settimeout(5)
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(4096)
    head, body = received.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def _healthz_within(server: LiveServer, seconds: float) -> float:
    """Poll /healthz until it answers 200; the seconds that took. Raises AssertionError after ``seconds``."""
    start = time.monotonic()
    status = None
    while time.monotonic() - start < seconds:
        status = httpx.get(f"{server.url}/healthz", timeout=2).status_code
        if status == 200:
            return time.monotonic() - start
    raise AssertionError(f"/healthz still {status} after {seconds} s")


def test_server_help_lists_the_hardening_options(cli: Cli) -> None:
    result = subprocess.run(
        [SMILEPOST, "server", "--help"], env={**cli.env, "COLUMNS": "200"}, capture_output=True, text=True, check=True
    )
    for option in ("--header-timeout", "--max-connections", "--forwarded-allow-ips"):
        assert option in result.stdout, result.stdout
    assert "per worker" in result.stdout


def test_unfinished_request_headers_are_dropped_while_complete_requests_are_served(cli: Cli, tmp_path: Path) -> None:
    with _server(cli, tmp_path, "--header-timeout", "1") as server:
        connected_at = time.monotonic()  # the server's deadline runs from the connection, not from any later step
        partial, silent, kept_alive = _connect(server), _connect(server), _connect(server)
        partial.sendall(PARTIAL_REQUEST)
        kept_alive.sendall(FULL_REQUEST)
        assert _response(kept_alive).startswith(b"HTTP/1.1 200 ")
        kept_alive.sendall(b"GET /hea")  # a second request on the same connection that never finishes

        assert httpx.get(f"{server.url}/healthz").status_code == 200  # meanwhile
        waited_from = time.monotonic()
        answer, partial_seconds = _until_closed(partial, within=3)
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"connection: close" in answer
        assert waited_from - connected_at + partial_seconds >= 0.9 and partial_seconds <= 3
        assert _until_closed(silent, within=3)[0] == b""  # nothing was asked, nothing is answered
        assert _until_closed(kept_alive, within=3)[0].startswith(b"HTTP/1.1 408 ")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """build_config sets up logging in this process (server.logs), as in a server's; later tests get it back."""
    loggers = [logging.getLogger(name) for name in ("", "server", "uvicorn", "uvicorn.error", "uvicorn.access",
                                                    "smilepost.access")]  # fmt: skip
    saved = [(logger, logger.level, logger.propagate, list(logger.handlers)) for logger in loggers]
    yield
    for logger, level, propagate, handlers in saved:
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers


@pytest.mark.usefixtures("restored_logging")
def test_header_timeout_defaults_to_ten_seconds_and_reaches_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMILEPOST_HEADER_TIMEOUT", "SMILEPOST_MAX_CONNECTIONS", "SMILEPOST_FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    options = serving_options(settings, open_file_limit=1024)
    config = build_config("server.app:create_worker_app", settings, options, workers=2)

    assert options.header_timeout == 10 <= 20
    assert config.http is HeaderTimeoutProtocol and config.serving is options and config.factory


@pytest.mark.parametrize(
    "open_file_limit,usable,default_cap",
    [(1024, 768, 768), (256, 192, 192), (4096, 3072, 3072), (20_000, 15_000, 10_000), (None, None, 10_000)],
)
def test_connection_cap_leaves_a_quarter_of_the_open_file_limit(
    open_file_limit: int | None, usable: int | None, default_cap: int
) -> None:
    if usable is not None:
        assert usable_connections(open_file_limit) == usable
    assert serving_options(Settings(max_connections=None), open_file_limit=open_file_limit).max_connections == (
        default_cap
    )


def test_a_connection_cap_the_open_file_limit_cannot_hold_is_refused(cli: Cli) -> None:
    with pytest.raises(InvalidInput, match="more than the open-file limit"):
        serving_options(Settings(max_connections=1000), open_file_limit=1024)
    result = cli.run("server", "--max-connections", "100000000", check=False)
    assert result.returncode == 2 and "open-file limit" in result.stderr


@pytest.mark.parametrize(
    "value,expected",
    [("", ()), ("10.0.0.10", ("10.0.0.10",)), (" 10.0.0.10, 10.1.0.0/16 ,::1", ("10.0.0.10", "10.1.0.0/16", "::1"))],
)
def test_forwarded_allow_ips_are_addresses_or_networks(value: str, expected: tuple[str, ...]) -> None:
    assert trusted_proxies(value) == expected


def test_a_forwarded_allow_ips_entry_that_is_no_address_is_refused(cli: Cli) -> None:
    with pytest.raises(InvalidInput, match="'nginx' is not an IP address"):
        trusted_proxies("10.0.0.10,nginx")
    result = cli.run("server", "--forwarded-allow-ips", "nginx", check=False)
    assert result.returncode == 2 and "is not an IP address or network" in result.stderr


@pytest.mark.usefixtures("restored_logging")
def test_without_forwarded_allow_ips_uvicorn_variable_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.delenv("SMILEPOST_FORWARDED_ALLOW_IPS", raising=False)
    settings = Settings()
    config = build_config("server.app:create_worker_app", settings, serving_options(settings, open_file_limit=1024))
    assert config.proxy_headers is False and config.forwarded_allow_ips == []


def test_connections_beyond_the_cap_get_503_at_once_and_the_server_recovers_by_itself(cli: Cli, tmp_path: Path) -> None:
    with _server(cli, tmp_path, "--max-connections", "20", "--header-timeout", "2") as server:
        idle = [_connect(server) for _ in range(25)]  # sending nothing
        start = time.monotonic()
        refused = httpx.get(f"{server.url}/healthz", timeout=5)
        assert time.monotonic() - start < 1
        assert refused.status_code == 503 and refused.headers["retry-after"] == "2"
        assert refused.headers["connection"] == "close"

        for sock in idle[20:]:  # the five beyond the cap are dropped within a second, with a 503
            assert _until_closed(sock, within=2.5)[0].startswith(b"HTTP/1.1 503 ")
        for sock in idle[:20]:  # the rest once the header timeout passes
            assert _until_closed(sock, within=4)[0] == b""
        assert _healthz_within(server, 2) < 2

        idle = [_connect(server) for _ in range(25)]
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 503
        for sock in idle:  # the client gives up on them
            sock.close()
        assert _healthz_within(server, 2) < 2


def test_header_timeout_reaches_every_worker(cli: Cli, tmp_path: Path) -> None:
    with _server(cli, tmp_path, "--workers", "2", "--header-timeout", "1") as server:
        connections = [_connect(server) for _ in range(4)]
        for sock in connections:
            sock.sendall(PARTIAL_REQUEST)
        for sock in connections:
            answer, seconds = _until_closed(sock, within=3)
            assert answer.startswith(b"HTTP/1.1 408 ") and seconds <= 3


@contextmanager
def _soft_open_file_limit(soft: int) -> Iterator[None]:
    """This process's (and so its children's) soft open-file limit lowered to ``soft`` meanwhile."""
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


def _open_file_limits(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError(f"no open-file limit for {pid}")


def test_server_raises_its_soft_open_file_limit_to_the_hard_limit(cli: Cli, tmp_path: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 1024:
        pytest.skip(f"the hard open-file limit ({hard}) leaves nothing to raise")
    with _soft_open_file_limit(1024), _server(cli, tmp_path) as server:
        soft_now, hard_now = _open_file_limits(server.process.pid)
    assert soft_now == hard_now != "1024"
    assert f"open-file limit {soft_now}; per worker at most" in (tmp_path / "server.log").read_text()


def _sign_in_statuses(server: LiveServer, forwarded_for: list[str]) -> list[int]:
    """Wrong sign-ins, one per X-Forwarded-For value, each for another email (so that only the per-address
    limit can answer 429, not the per-account one); each is an argon2 check unless limited."""
    with httpx.Client(base_url=server.url) as client:
        client.get("/login")
        token = client.cookies["smilepost_login_csrf"]
        return [
            client.post(
                "/login",
                data={"email": f"nobody{next(_EMAILS)}@example.com", "password": "not it", "csrf_token": token},
                headers={"X-Forwarded-For": address},
            ).status_code
            for address in forwarded_for
        ]


def _pairing_statuses(server: LiveServer, forwarded_for: list[str]) -> list[int]:
    """Wrong pairing codes, one per X-Forwarded-For value."""
    return [
        httpx.post(
            f"{server.url}/api/v1/pair", json={"code": "12345678"}, headers={"X-Forwarded-For": address}
        ).status_code
        for address in forwarded_for
    ]


_EMAILS = itertools.count()
ADDRESSES = [f"203.0.113.{n}" for n in range(1, 12)]


def test_x_forwarded_for_from_an_unnamed_peer_does_not_dodge_per_address_limits(tmp_path: Path) -> None:
    # uvicorn on its own trusts 127.0.0.1 and reads FORWARDED_ALLOW_IPS; neither may count here
    cli = EnvCli(tmp_path / "server-data", {"SMILEPOST_LOGIN_RATE_LIMIT": "3", "FORWARDED_ALLOW_IPS": "*"})
    with _server(cli, tmp_path) as server:
        assert _sign_in_statuses(server, ADDRESSES[:5]) == [401, 401, 401, 429, 429]
        assert _pairing_statuses(server, ADDRESSES) == [403] * 10 + [429]


def test_x_forwarded_for_from_a_named_proxy_gives_each_client_its_own_limits(tmp_path: Path) -> None:
    cli = EnvCli(tmp_path / "server-data", {"SMILEPOST_LOGIN_RATE_LIMIT": "3"})
    with _server(cli, tmp_path, "--forwarded-allow-ips", "127.0.0.1") as server:
        assert _sign_in_statuses(server, ADDRESSES[:4]) == [401] * 4
        assert _sign_in_statuses(server, [ADDRESSES[0]] * 3) == [401, 401, 429]  # still limited per client
        assert _pairing_statuses(server, ADDRESSES) == [403] * 11
