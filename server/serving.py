"""How ``smilepost server`` runs uvicorn: open-file limit, connection cap, header deadline, trusted proxies.

uvicorn on its own lets a client that never finishes its request headers hold a connection (and a file
descriptor) for ever: its ``timeout_keep_alive`` only covers the idle time *between* requests, and its
``limit_concurrency`` is checked only once a request's headers are in, so 1 100 silent connections exhaust a
soft limit of 1 024 open files and lock every other client out. Here:

- :func:`raise_open_file_limit` lifts the soft ``RLIMIT_NOFILE`` to the hard limit (``--workers`` processes
  inherit it; the limit, like the connection cap, is per process);
- :class:`HeaderTimeoutProtocol` (uvicorn's httptools protocol, which ``uvicorn[standard]`` picks anyway)
  closes a connection whose request headers are not complete ``header_timeout`` seconds after it was opened,
  or after the first byte of a later request on it (``408`` when part of a request came), and answers
  ``503`` with ``Retry-After`` to every connection opened while ``max_connections`` are open, then closes it;
- :func:`build_config` trusts ``X-Forwarded-For`` / ``X-Forwarded-Proto`` only from the proxies named:
  none by default, and uvicorn's own ``FORWARDED_ALLOW_IPS`` variable is never consulted.

Errors are :class:`server.InvalidInput` (a limit or proxy list that cannot be used), raised before anything
is started.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import resource
import sys
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from server import InvalidInput, logs
from server.settings import Settings

log = logging.getLogger("uvicorn.error")  # serving messages go with uvicorn's own: same handlers, same level

DEFAULT_HEADER_TIMEOUT = 10.0
OVER_CAPACITY_GRACE = 1.0  # seconds a connection beyond the cap may take to send the request its 503 answers
DEFAULT_MAX_CONNECTIONS_CEILING = 10_000  # a default beyond this buys memory use, not throughput, in one process
RESERVED_FILES_MIN = 64  # database files (a pool of SQLite connections: 3 files each), logs, the runtime itself


@dataclass(frozen=True)
class ServingOptions:
    """What :class:`HeaderTimeoutProtocol` and :func:`build_config` need beyond the application's settings."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS_CEILING
    forwarded_allow_ips: tuple[str, ...] = ()
    open_file_limit: int | None = None


def raise_open_file_limit() -> int | None:
    """Raise this process's soft open-file limit to its hard limit; return the soft limit now in force.

    None means unlimited. Never raises: a limit the kernel will not raise (an "unlimited" hard limit on
    some systems) stays as it was, with a warning.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, hard, exc)
    return None if soft == resource.RLIM_INFINITY else soft


def usable_connections(open_file_limit: int | None) -> int:
    """Connections a process may hold under ``open_file_limit`` (None: unlimited), keeping a quarter of the
    descriptors, at least :data:`RESERVED_FILES_MIN`, for database files, logs and the runtime."""
    if open_file_limit is None:
        return sys.maxsize
    return max(1, open_file_limit - max(RESERVED_FILES_MIN, open_file_limit // 4))


def trusted_proxies(value: str) -> tuple[str, ...]:
    """Parse ``--forwarded-allow-ips``: comma-separated addresses or networks (``10.0.0.5,10.1.0.0/16``), or
    ``*`` (any peer: only when nothing but the proxy can reach the server). Empty: none.

    Raises InvalidInput naming an entry that is neither an address nor a network (uvicorn would silently
    treat it as a name that never matches).
    """
    entries = tuple(entry.strip() for entry in value.split(",") if entry.strip())
    if "*" in entries:
        return ("*",)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise InvalidInput(f"forwarded-allow-ips: {entry!r} is not an IP address or network") from None
    return entries


def serving_options(settings: Settings, *, open_file_limit: int | None) -> ServingOptions:
    """The serving limits for ``settings`` under ``open_file_limit`` (None: unlimited).

    The connection cap defaults to :func:`usable_connections`, at most
    :data:`DEFAULT_MAX_CONNECTIONS_CEILING`. Raises InvalidInput for a ``max_connections`` the open-file limit
    cannot hold, or a bad ``forwarded_allow_ips`` entry.
    """
    usable = usable_connections(open_file_limit)
    max_connections = settings.max_connections or min(usable, DEFAULT_MAX_CONNECTIONS_CEILING)
    if max_connections > usable:
        raise InvalidInput(
            f"max-connections {max_connections} is more than the open-file limit ({open_file_limit}) leaves for "
            f"connections ({usable}); raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) or lower it"
        )
    return ServingOptions(
        header_timeout=settings.header_timeout,
        max_connections=max_connections,
        forwarded_allow_ips=trusted_proxies(settings.forwarded_allow_ips),
        open_file_limit=open_file_limit,
    )


class ServingConfig(Config):
    """uvicorn's Config carrying :class:`ServingOptions` for :class:`HeaderTimeoutProtocol`; with ``--workers``
    uvicorn pickles the whole config into each worker process, so the options travel with it."""

    def __init__(self, app: Any, options: ServingOptions, **uvicorn_options: Any) -> None:
        super().__init__(app, **uvicorn_options)
        self.serving = options


def build_config(
    app: Any,
    settings: Settings,
    options: ServingOptions,
    *,
    workers: int = 1,
    access_log: bool = True,
    loggers: tuple[str, ...] = ("server",),
) -> ServingConfig:
    """The uvicorn configuration for ``app`` (an application, or the import string of a factory for ``workers``
    > 1): :class:`HeaderTimeoutProtocol` for HTTP, forwarded headers believed only from
    ``options.forwarded_allow_ips`` (passing them, even empty, keeps uvicorn from reading FORWARDED_ALLOW_IPS), and
    logging in ``settings.log_format`` (:func:`server.logs.log_config` with ``access_log`` and ``loggers``), set up
    the same way in every worker process. uvicorn writes access lines itself only in the text format; JSON access
    lines come from :mod:`server.api.requests`.
    """
    text = settings.log_format == "text"
    log_config = logs.log_config(settings.log_format, settings.log_level, access=access_log, loggers=loggers)
    return ServingConfig(
        app, options, host=settings.host, port=settings.port, workers=workers, factory=isinstance(app, str),
        log_config=log_config, log_level=settings.log_level, access_log=access_log and text,
        http=HeaderTimeoutProtocol, proxy_headers=bool(options.forwarded_allow_ips),
        forwarded_allow_ips=list(options.forwarded_allow_ips),
    )  # fmt: skip


def serve(settings: Settings, *, workers: int = 1) -> None:
    """Run ``smilepost server``: raise the open-file limit, check the limits, build the app (with ``workers`` >
    1 migrate once here and let each worker build its own), then serve until stopped.

    Raises InvalidInput (see :func:`serving_options`) before touching the database, and SystemExit(3) when
    uvicorn cannot start (the port is taken).
    """
    logs.configure(settings.log_format, settings.log_level)  # before anything logs: in JSON, every line is JSON
    options = serving_options(settings, open_file_limit=raise_open_file_limit())
    app: Any = "server.app:create_worker_app"
    if workers == 1:
        from server.app import create_app, freeze_startup_objects

        app = create_app(settings)
        freeze_startup_objects()
    elif settings.auto_migrate:  # once, here, not racing in every worker
        from server.db import make_engine, upgrade

        engine = make_engine(settings.resolved_database_url)
        upgrade(engine)
        engine.dispose()
    config = build_config(app, settings, options, workers=workers)
    log.info(
        "open-file limit %s; per worker at most %d connections, request headers within %g s; "
        "X-Forwarded-For believed from %s", options.open_file_limit or "unlimited", options.max_connections,
        options.header_timeout, ", ".join(options.forwarded_allow_ips) or "no proxy",
    )  # fmt: skip
    run(config)


def run(config: ServingConfig) -> None:
    """Serve ``config`` as :func:`uvicorn.run` would (one process, or a supervisor of ``config.workers``).

    Raises SystemExit(3) when a single process could not start.
    """
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for request headers and a cap on open connections.

    Relies on these uvicorn internals (as read in uvicorn 0.54): ``connection_made`` adds the protocol to
    ``server_state.connections`` (so it counts connections that have sent nothing yet, which
    ``limit_concurrency`` does not act on until headers arrive); the parser calls ``on_message_begin`` at a
    request's first byte and ``on_headers_complete`` when its headers are in, which then runs ``self.app``;
    ``self.cycle`` is the request being answered. A deadline that passes closes the connection: with ``408``
    when part of a request came, silently when nothing did (or a response is still being written).
    A connection opened while ``max_connections`` are open gets ``503`` with ``Retry-After`` and
    ``Connection: close`` as soon as its request headers are in, or after :data:`OVER_CAPACITY_GRACE` (at most
    the header timeout).
    """

    _warned_at: ClassVar[float] = -math.inf

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.options = config.serving if isinstance(config, ServingConfig) else ServingOptions()
        self.retry_after = max(1, math.ceil(self.options.header_timeout))  # idle connections are gone by then
        self.header_timer: asyncio.TimerHandle | None = None
        self.request_started = False
        self.over_capacity = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.over_capacity = len(self.connections) > self.options.max_connections
        if self.over_capacity:
            self.app = self.refuse
            self._warn_over_capacity()
        grace = min(OVER_CAPACITY_GRACE, self.options.header_timeout)
        self._arm(grace if self.over_capacity else self.options.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.request_started = True
        if self.header_timer is None:  # a later request on a kept-alive connection
            self._arm(self.options.header_timeout)

    def on_headers_complete(self) -> None:
        self._disarm()
        self.request_started = False
        super().on_headers_complete()

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app a connection beyond the cap gets instead of Smilepost's: 503, then close."""
        body = b"Service Unavailable: too many connections, retry later\n"
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                   (b"retry-after", str(self.retry_after).encode()), (b"connection", b"close")]  # fmt: skip
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.header_timer = self.loop.call_later(seconds, self._headers_timed_out)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_timed_out(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing of ours is being written
            if self.over_capacity:
                self._write_plain(HTTPStatus.SERVICE_UNAVAILABLE, (b"retry-after", str(self.retry_after).encode()))
            elif self.request_started:
                self._write_plain(HTTPStatus.REQUEST_TIMEOUT)
        self.transport.close()

    def _write_plain(self, status: HTTPStatus, *extra: tuple[bytes, bytes]) -> None:
        body = f"{status.phrase}\n".encode()
        headers = [*self.server_state.default_headers, *extra, (b"content-type", b"text/plain; charset=utf-8"),
                   (b"content-length", str(len(body)).encode()), (b"connection", b"close")]  # fmt: skip
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() + head + b"\r\n" + body)

    def _warn_over_capacity(self) -> None:
        now = self.loop.time()
        if now - HeaderTimeoutProtocol._warned_at >= 60:  # at most once a minute: a flood must not flood the log
            HeaderTimeoutProtocol._warned_at = now
            log.warning(
                "%d connections open, more than max-connections %d (per worker): answering new ones 503",
                len(self.connections), self.options.max_connections,
            )  # fmt: skip
