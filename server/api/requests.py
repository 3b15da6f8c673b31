"""Request ids and the access line: ``X-Request-ID`` on every answer, the id on every log line of its request.

An incoming ``X-Request-ID`` that is a short safe token (1-64 characters of ``A-Z a-z 0-9 . _ -``, e.g. one
nginx or a client made) is kept, so one request can be followed from the proxy to the server's log; anything else
(too long, spaces, newlines, other characters) is replaced by a fresh random id. The id is bound to
:data:`server.logs.REQUEST` while the request is handled, and :func:`note_kiosk` adds the kiosk whose token
authenticated it. After the answer one line goes to the ``smilepost.access`` logger (written in JSON logs, see
:mod:`server.logs`): method, route template (never the raw path or its query string), status and latency.

:class:`RequestIdMiddleware` wraps the whole application, Starlette's error middleware included
(:class:`server.app.SmilepostApp`), so an unhandled error's 500 carries the header and gets its access line too.
Answers that uvicorn's protocol writes itself (408 after the header deadline, 503 beyond the connection cap, 400
for malformed HTTP) never reach the application and carry no id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.metrics import route_template
from server.logs import ACCESS_LOGGER, REQUEST, RequestContext

HEADER = b"x-request-id"
SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")

access_log = logging.getLogger(ACCESS_LOGGER)
_in_flight = 0  # requests this process has in hand (the event loop's thread alone changes it)


def in_flight() -> int:
    """How many HTTP requests this process has received and not yet answered (a measure of how busy it is)."""
    return _in_flight


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's id: its ``X-Request-ID`` if that is a short safe token, else a fresh random one (32 hex)."""
    sent = next((value for name, value in headers if name.lower() == HEADER), None)
    if sent is not None and SAFE_REQUEST_ID.fullmatch(sent):
        return sent.decode()
    return uuid.uuid4().hex


def note_kiosk(kiosk_id: str) -> None:
    """Record that a kiosk token authenticated the current request (for its log lines); outside a request, nothing."""
    if (context := REQUEST.get()) is not None:
        context.kiosk_id = kiosk_id


class RequestIdMiddleware:
    """Pure ASGI middleware: binds the request id, puts it on the answer, writes the access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(request_id(scope["headers"]))
        token = REQUEST.set(context)
        header = (HEADER, context.request_id.encode())
        start = time.perf_counter()
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*(h for h in message.get("headers", []) if h[0].lower() != HEADER), header]
            await send(message)

        global _in_flight
        _in_flight += 1
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _log_access(scope, status, time.perf_counter() - start)
            raise  # with the id still bound, for uvicorn's traceback line (each request runs in a task of its own)
        finally:
            _in_flight -= 1
        _log_access(scope, status, time.perf_counter() - start)
        REQUEST.reset(token)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    method, route, latency_ms = scope["method"], route_template(scope), round(seconds * 1000, 2)
    access_log.info(
        "%s %s %d %.2f ms", method, route, status, latency_ms,
        extra={"method": method, "route": route, "status": status, "latency_ms": latency_ms},
    )  # fmt: skip
