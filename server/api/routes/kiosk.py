"""``/api/v1/kiosk``: what a kiosk shows (config, with ETag revalidation) and its idle heartbeat.

Heartbeats are written by group commit (:class:`HeartbeatWriter`): a heartbeat arriving while another is being
written waits and goes into the next transaction with every other one that arrived meanwhile, so a busy server
pays one transaction (and on SQLite one fsync) for many heartbeats instead of one each. The answer (204) still
comes only after the heartbeat is committed.

Every answer to a kiosk's sync or heartbeat carries the protocol's hints (:func:`sync_hints`): how often an idle
kiosk should send a heartbeat, and when the server is busy how long any kiosk should wait before its next request.
They are headers, so a v1 kiosk, whose models refuse unknown fields in a body, is not affected.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from sqlalchemy import Engine, bindparam, update

from server.api.deps import CurrentKiosk
from server.api.requests import in_flight
from server.db import kiosks
from server.fleet import heartbeat_update
from server.ingest import writer_turn
from server.locations import kiosk_config
from server.settings import Settings
from shared.protocol import (
    HEARTBEAT_HINT_HEADER,
    SYNC_AFTER_HEADER,
    V2_CONFIG_FIELDS,
    HeartbeatPing,
    KioskConfig,
    Problem,
)

router = APIRouter(prefix="/api/v1/kiosk", tags=["kiosk"])


def sync_hints(settings: Settings) -> dict[str, str]:
    """The hint headers of an answer to a kiosk: ``Smilepost-Heartbeat-Seconds`` always, ``Smilepost-Sync-After``
    while this process has ``kiosk_busy_requests`` requests or more in hand, this one included (backpressure)."""
    hints = {HEARTBEAT_HINT_HEADER: str(settings.kiosk_heartbeat_seconds)}
    if settings.kiosk_busy_requests and in_flight() >= settings.kiosk_busy_requests:
        hints[SYNC_AFTER_HEADER] = str(settings.kiosk_busy_sync_after_seconds)
    return hints


@router.get(
    "/config",
    response_model=KioskConfig,
    responses={
        304: {"description": "config unchanged since the given ETag"},
        401: {"model": Problem},
        429: {"model": Problem},
    },
)
def get_config(
    kiosk: CurrentKiosk,
    request: Request,
    if_none_match: Annotated[str | None, Header()] = None,
    smilepost_features: Annotated[str | None, Header()] = None,
) -> Response:
    """The calling kiosk's configuration; 304 when ``If-None-Match`` holds the current ETag.

    A v1 kiosk gets no field it does not know (its model refuses them): the questions besides the main one and
    their mode come only with ``Smilepost-Features: questions``."""
    features = {f.strip() for f in (smilepost_features or "").split(",")}
    exclude = None if "questions" in features else set(V2_CONFIG_FIELDS)
    with request.app.state.engine.connect() as conn:
        body = kiosk_config(conn, kiosk.kiosk_id).model_dump_json(exclude=exclude).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, **sync_hints(request.app.state.settings)}
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an ``If-None-Match`` list (or ``*``) against our ETag."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.post(
    "/heartbeat",
    status_code=204,
    response_class=Response,
    responses={401: {"model": Problem}, 422: {"model": Problem}, 429: {"model": Problem}},
)
def post_heartbeat(ping: HeartbeatPing, kiosk: CurrentKiosk, request: Request) -> Response:
    """An idle kiosk's health: last seen, queue depth, app version, highest seq recorded, quarantined taps, last
    tap, clock."""
    settings: Settings = request.app.state.settings
    values = heartbeat_update(ping, settings.clock_skew_seconds, datetime.now(UTC))
    writer: HeartbeatWriter = request.app.state.heartbeat_writer  # made with the app (server.app)
    writer.write(kiosk.kiosk_id, values)
    return Response(status_code=204, headers=sync_hints(settings))


# The columns a heartbeat sets (server.fleet.heartbeat_update): the same for every heartbeat, so a group of them
# is one executemany.
_HEARTBEAT_COLUMNS = ("queue_depth", "app_version", "reported_seq", "quarantined", "last_tap_at", "last_seen_at",
                      "clock_offset_seconds")  # fmt: skip
_HEARTBEAT_UPDATE = (
    update(kiosks)
    .where(kiosks.c.id == bindparam("b_kiosk_id"))
    .values({column: bindparam(f"b_{column}") for column in _HEARTBEAT_COLUMNS})
)


class _Pending:
    """One heartbeat waiting for its group's commit; ``lead`` when it is to write the next group itself."""

    __slots__ = ("done", "error", "lead", "params")

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.lead = False


class HeartbeatWriter:
    """Group commit of heartbeats for one engine (see the module docstring); thread-safe.

    The first caller writes; callers arriving meanwhile queue up, and when the write ends the first of them writes
    the whole queue in one transaction while the others wait for it. A group that fails is written again one
    heartbeat at a time, so one bad heartbeat fails only its own request.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._writing = False

    def write(self, kiosk_id: str, values: dict[str, Any]) -> None:
        """Store one heartbeat's ``values`` (every column of ``_HEARTBEAT_COLUMNS``) on the kiosk's row; returns once
        committed. Raises what the database raises."""
        entry = _Pending({"b_kiosk_id": kiosk_id, **{f"b_{column}": values[column] for column in _HEARTBEAT_COLUMNS}})
        with self._lock:
            self._queue.append(entry)
            entry.lead, self._writing = not self._writing, True
        if not entry.lead:
            entry.done.wait()
        if entry.lead:
            self._write_group()
        if entry.error is not None:
            raise entry.error

    def _write_group(self) -> None:
        with self._lock:
            group, self._queue = self._queue, []
        try:
            self._execute([entry.params for entry in group])
        except Exception as error:
            if len(group) == 1:
                group[0].error = error
            else:
                for entry in group:
                    try:
                        self._execute([entry.params])
                    except Exception as own:
                        entry.error = own
        with self._lock:
            successor = self._queue[0] if self._queue else None
            self._writing = successor is not None
        if successor is not None:
            successor.lead = True
            successor.done.set()
        for entry in group:
            entry.lead = False
            entry.done.set()

    def _execute(self, params: list[dict[str, Any]]) -> None:
        with writer_turn(self.engine), self.engine.begin() as conn:
            conn.execute(_HEARTBEAT_UPDATE, params)
