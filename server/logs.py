"""The server's logging, set up in one place: text (uvicorn's lines, the default) or JSON lines, and the request
each line belongs to.

:func:`log_config` is a :func:`logging.config.dictConfig` dictionary. ``smilepost server`` applies it before anything
else (:func:`configure`) and hands it to uvicorn (``Config(log_config=...)``, see :func:`server.serving.build_config`),
which applies it again in every ``--workers`` process, so every process logs the same way.

- ``text``: uvicorn's own format (``INFO:     …`` on stderr, its access lines ``client - "GET /path HTTP/1.1" 200``
  on stdout); Smilepost's loggers (``server.*``) write through the same handler.
- ``json``: every record on stderr as one JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
  ``message``, ``request_id`` and ``kiosk_id`` while a request is handled, ``exception`` (the traceback) when one
  is attached, and on access lines (logger ``smilepost.access``, written by :mod:`server.api.requests` instead of
  uvicorn's) ``method``, ``route`` (the route template), ``status`` and ``latency_ms``. Python warnings are logged
  too, so nothing but JSON reaches the output.

The request a line belongs to is :data:`REQUEST`, a context variable bound by :mod:`server.api.requests` for the
duration of each request and read by :class:`RequestFilter`; log lines never carry tokens, keys, cookies or query
strings (the access line names the route template, not the path).
"""

from __future__ import annotations

import json
import logging
import logging.config
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from server import InvalidInput

LogFormat = Literal["text", "json"]
ACCESS_LOGGER = "smilepost.access"
ACCESS_FIELDS = ("method", "route", "status", "latency_ms")  # what an access record carries besides its message
LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO,
          "debug": logging.DEBUG, "trace": 5}  # uvicorn's names; trace is its own, below debug  # fmt: skip


@dataclass
class RequestContext:
    """The request being handled: its id, the kiosk whose token authenticated it, and who acts in it for the audit
    trail (a :class:`server.audit.Actor`, set by the dependency that authenticated a user or API key)."""

    request_id: str
    kiosk_id: str | None = None
    actor: Any = None


#: The request the current code is handling (None outside requests). The object is shared, not copied, with the
#: threads a request's dependencies run on, so a kiosk id noted there is seen by the access line.
REQUEST: ContextVar[RequestContext | None] = ContextVar("smilepost_request", default=None)


class RequestFilter(logging.Filter):
    """Adds ``request_id`` and ``kiosk_id`` (None outside a request) to every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = REQUEST.get()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id if context else None
        if not hasattr(record, "kiosk_id"):
            record.kiosk_id = context.kiosk_id if context else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring); fields that are None are left out."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields: dict[str, Any] = {
            "time": created.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "kiosk_id": getattr(record, "kiosk_id", None),
        }
        fields.update((name, getattr(record, name, None)) for name in ACCESS_FIELDS)
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            fields["exception"] = record.exc_text
        if record.stack_info:
            fields["stack"] = self.formatStack(record.stack_info)
        return json.dumps({name: value for name, value in fields.items() if value is not None}, default=str)


def log_config(
    log_format: LogFormat, level: str, *, access: bool = True, loggers: tuple[str, ...] = ("server",)
) -> dict[str, Any]:
    """The logging set-up for ``log_format`` at ``level`` (a name: ``debug``, ``info``, ``warning`` …).

    uvicorn's loggers and ``loggers`` (Smilepost's packages; the demo adds the kiosk's and Kivy's) log at ``level``,
    every other library only from ``warning`` on. ``access``: one line per request (uvicorn's in text, Smilepost's
    in JSON), at ``info``. Raises InvalidInput for a level that is not one of :data:`LEVELS`.
    """
    if (threshold := LEVELS.get(level.lower())) is None:
        raise InvalidInput(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    json_lines = log_format == "json"
    stderr = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "filters": ["request"]}
    if json_lines:
        formatters: dict[str, Any] = {"json": {"()": JsonFormatter}}
        handlers: dict[str, Any] = {"default": {**stderr, "formatter": "json"}}
    else:
        formatters = {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            },
        }
        handlers = {
            "default": {**stderr, "formatter": "default"},
            "access": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "access"},
        }
    quiet = logging.WARNING
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestFilter}},
        "formatters": formatters,
        "handlers": handlers,
        "root": {"handlers": ["default"], "level": quiet},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": threshold, "propagate": False},
            "uvicorn.error": {"level": threshold},
            "uvicorn.access": {
                "handlers": [] if json_lines else ["access"],
                "level": threshold if access and not json_lines else quiet,
                "propagate": False,
            },
            ACCESS_LOGGER: {"level": threshold if access and json_lines else quiet},
            **{name: {"level": threshold} for name in loggers},
        },
    }


def configure(log_format: LogFormat, level: str, **options: Any) -> None:
    """Apply :func:`log_config` to this process (``options`` as there) and log Python warnings through it."""
    logging.config.dictConfig(log_config(log_format, level, **options))
    logging.captureWarnings(True)
