"""Send the outbox to the server: batches of taps up, the kiosk's config down.

:class:`Syncer` does one job at a time on an ``httpx.Client`` you hand it (tests hand it an
``httpx.MockTransport``). :class:`SyncWorker` is the background thread the Kivy app runs: its own Store,
its own client, a loop of fetch-config / send / report / wait. :func:`pair` trades a one-time pairing code
for the kiosk's id and token (``POST /api/v1/pair``, no token needed).

The endpoints and models are described in ``docs/architecture.md`` (wire protocol v1). A tap is marked synced
only after the server answered 2xx with a valid ``BatchResult`` for the batch that carried it. A failed send
never deletes or marks anything: the taps stay pending and go out next time.

Retry matrix for ``POST /api/v1/taps`` (and the heartbeat):

=====================================  ================================================================
answer                                 what happens
=====================================  ================================================================
2xx with a BatchResult                 the batch's taps are marked synced
network error, timeout, 408, 429, 5xx  Unreachable: :meth:`Syncer.drain` and the worker back off with full
                                       jitter (``rand() * min(60, 0.5 * 2**attempt)``); a ``Retry-After``
                                       (seconds or HTTP date) wins, capped at 300 s
413                                    the batch is halved and sending goes on (a single tap: Rejected)
422 naming taps (``detail[].loc`` =    those taps are quarantined (kept, never sent again, WARNING logged);
``["body", "taps", i, ...]``)          the rest of the queue goes out in the same call
422 naming anything else               Rejected: the kiosk itself sends bad batches; every tap is kept
401                                    Rejected: the worker reports "token rejected" until re-paired
403                                    Rejected: the server refuses this kiosk for now (its location is
                                       archived); the worker reports "refused by the server", keeps every tap
                                       and tries again each interval
other 3xx, non-BatchResult 2xx         Unreachable (not our server: a captive portal or a redirect)
other 4xx                              Rejected
=====================================  ================================================================

Exception tree::

    SyncError                 base class; .report holds what was delivered before the failure, .message the
     │                        text for people (logs, the status line), never for control flow
     ├── Unreachable          worth retrying later: network errors and timeouts, 408, 429, 5xx, and answers
     │                        that are not the server's (a redirect, a 2xx body that is not a BatchResult,
     │                        e.g. a captive portal); .retry_after: float | None from Retry-After;
     │                        .status: int | None, the HTTP status of the answer (None: no answer came)
     └── Rejected             retrying will not help: 401, 403, a 422 that names no tap, other 4xx, a single
                              tap over the size limit (413); .status: int and .message: str (the server's
                              Problem message); for pair(): 403 is a wrong, used or expired code, 422 a
                              malformed one

Callers decide on the class and on ``.status`` (e.g. 429 from :func:`pair`: too many attempts, wait
``retry_after``; 401 from the worker: token rejected; 403: refused for now), never on the message text. The worker's
:class:`SyncStatus` carries the failure's ``.status`` as ``error_status`` for the same reason.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sized
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, ValidationError

from kiosk import __version__
from kiosk.store import PendingBatch, Store
from shared.protocol import (
    CONFIG_FEATURES_HEADER,
    HEARTBEAT_HINT_HEADER,
    MAX_TAPS_PER_BATCH,
    SYNC_AFTER_HEADER,
    BatchResult,
    Heartbeat,
    HeartbeatPing,
    KioskConfig,
    PairRequest,
    PairResult,
    TapBatch,
)

log = logging.getLogger(__name__)

TAPS_PATH = "/api/v1/taps"
CONFIG_PATH = "/api/v1/kiosk/config"
PAIR_PATH = "/api/v1/pair"
HEARTBEAT_PATH = "/api/v1/kiosk/heartbeat"
USER_AGENT = f"smilepost-kiosk/{__version__}"

BACKOFF_BASE = 0.5  # seconds
BACKOFF_CAP = 60.0  # seconds
RETRY_AFTER_CAP = 300.0  # seconds
HEARTBEAT_HINT_RANGE = (10.0, 3600.0)  # seconds: a Smilepost-Heartbeat-Seconds hint is taken within these bounds
HINT_JITTER = 0.1  # a hinted heartbeat period is drawn anew each period within +-10 %
_RETRYABLE_STATUSES = frozenset({408, 429})
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class SyncReport:
    """What one send (or drain) delivered."""

    batches: int = 0
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    conflicts: list[UUID] = field(default_factory=list)
    quarantined: list[UUID] = field(default_factory=list)  # refused by name (422): set aside, kept

    def __add__(self, other: SyncReport) -> SyncReport:
        return SyncReport(
            batches=self.batches + other.batches,
            sent=self.sent + other.sent,
            accepted=self.accepted + other.accepted,
            duplicates=self.duplicates + other.duplicates,
            conflicts=[*self.conflicts, *other.conflicts],
            quarantined=[*self.quarantined, *other.quarantined],
        )


class SyncError(Exception):
    """Base of sync failures; ``report`` is what was delivered before it happened, ``status`` the HTTP status
    of the answer that failed (None when no answer came)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.report = SyncReport()


class Unreachable(SyncError):
    """The server could not be reached or could not answer now; try again later.

    ``status`` is the HTTP status of the answer (408, 429, 5xx, a redirect, a 2xx that is not the server's), or
    None for a network error or timeout.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Rejected(SyncError):
    """The server refused the request; the same request will be refused again."""

    status: int

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}", status=status)
        self.message = message


def make_client(
    server: str, token: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An ``httpx.Client`` for ``server`` that sends the kiosk's bearer token and user agent."""
    return httpx.Client(
        base_url=server,
        headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
        timeout=timeout,
        transport=transport,
    )


def pair(
    server: str,
    code: str,
    name: str | None = None,
    *,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> tuple[str, str]:
    """Trade a one-time pairing code for this kiosk's ``(kiosk_id, token)``. Blocks: call it off the UI thread.

    Raises pydantic.ValidationError for a code that is not 8 digits (nothing is sent), Rejected (403 wrong,
    used or expired code) or Unreachable (network, 5xx,
    429 with ``retry_after``, or an answer that is not the server's); see the module docstring.
    """
    headers = {"User-Agent": USER_AGENT}
    try:
        with httpx.Client(base_url=server, headers=headers, timeout=timeout, transport=transport) as client:
            body = PairRequest(code=code, name=name).model_dump_json()
            response = client.post(PAIR_PATH, content=body, headers={"Content-Type": "application/json"})
    except httpx.RequestError as error:
        raise Unreachable(f"{type(error).__name__}: {error}") from error
    paired = _parse(response, PairResult)
    return paired.kiosk_id, paired.token


def backoff_delay(attempt: int, retry_after: float | None, rand: Callable[[], float]) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): full jitter, or the server's Retry-After.

    Full jitter is ``rand() * min(60, 0.5 * 2**attempt)``; a Retry-After wins, capped at 300 s.
    """
    if retry_after is not None:
        return min(RETRY_AFTER_CAP, max(0.0, float(retry_after)))
    return float(rand()) * min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(attempt, 32))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _hint_seconds(value: str | None, bounds: tuple[float, float]) -> float | None:
    """A hint header's seconds (a non-negative number) within ``bounds``, or None when missing or malformed."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(bounds[1], max(bounds[0], seconds))


def _problem_message(response: httpx.Response) -> str:
    """The ``message`` of a Problem body, else the start of the body, else the reason phrase."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    if isinstance(body, dict) and isinstance(body.get("detail"), str):  # FastAPI's default error body
        return str(body["detail"])
    text = response.text.strip()
    return text[:200] if text else response.reason_phrase


def _error_for(response: httpx.Response) -> SyncError:
    """The exception for a non-2xx, non-304 answer (see the tree in the module docstring)."""
    status = response.status_code
    if status in _RETRYABLE_STATUSES or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return Unreachable(f"HTTP {status}: {_problem_message(response)}", retry_after=retry_after, status=status)
    if 400 <= status < 500:
        return Rejected(status, _problem_message(response))
    location = response.headers.get("Location", "")
    return Unreachable(f"unexpected HTTP {status} {location}".rstrip(), status=status)


def wire_json(batch: TapBatch) -> str:
    """``batch`` as the JSON body of ``POST /api/v1/taps``. A tap's ``first_tap_id`` (#13: an aspect answer's link
    to its customer's first tap) is sent only when set, so every other tap goes out exactly as before several
    questions, which a server that predates the field still takes."""
    unlinked = {index: {"first_tap_id"} for index, tap in enumerate(batch.taps) if tap.first_tap_id is None}
    return batch.model_dump_json(exclude={"taps": unlinked} if unlinked else None)


def _parse(response: httpx.Response, model: type[_Model]) -> _Model:
    """The body of a 2xx answer as ``model``.

    Raises Rejected or Unreachable for a non-2xx answer (see :func:`_error_for`), and Unreachable for a 2xx
    whose body is not a ``model`` (a captive portal or proxy answered, not our server).
    """
    if not response.is_success:
        raise _error_for(response)
    try:
        return model.model_validate_json(response.content)
    except ValidationError:
        status = response.status_code
        raise Unreachable(f"HTTP {status} without a {model.__name__} (captive portal?)", status=status) from None


def _named_taps(response: httpx.Response, size: int) -> dict[int, str] | None:
    """For a 422: the batch indexes its ``detail[].loc`` names, each with the server's message for it.

    None when the body names anything that is not a tap of the batch (``["body"]``, ``["body", "sent_at"]``,
    an index outside the batch) or names nothing: then the batch as a whole was refused.
    """
    try:
        body = response.json()
    except ValueError:
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list) or not detail:
        return None
    named: dict[int, list[str]] = {}
    for entry in detail:
        loc = entry.get("loc") if isinstance(entry, dict) else None
        if not isinstance(loc, list):
            return None
        if loc[:1] == ["body"]:
            loc = loc[1:]
        index = loc[1] if len(loc) >= 2 and loc[0] == "taps" else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
            return None
        field_name = ".".join(str(part) for part in loc)
        named.setdefault(index, []).append(f"{field_name}: {entry.get('msg', 'invalid')}")
    return {index: "; ".join(messages)[:500] for index, messages in named.items()}


class _TooLarge(Exception):
    """413 for a batch of more than one tap: split it."""


class _BadTaps(Exception):
    """422 naming taps of the batch: quarantine them (``reasons``: tap id -> the server's message)."""

    def __init__(self, reasons: dict[UUID, str]) -> None:
        super().__init__(f"{len(reasons)} tap(s) refused")
        self.reasons = reasons


class Syncer:
    """Sends pending taps and fetches config over one client, for one Store (use it on one thread; while a drain is
    on, batches go out from a helper thread of its own, which touches the client only, never the Store)."""

    def __init__(
        self,
        store: Store,
        client: httpx.Client,
        *,
        batch_size: int = MAX_TAPS_PER_BATCH,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """Raises ValueError for a batch_size outside 1..1000."""
        if not 1 <= batch_size <= MAX_TAPS_PER_BATCH:
            raise ValueError(f"batch_size must be in 1..{MAX_TAPS_PER_BATCH}, got {batch_size}")
        self.store = store
        self.client = client
        self.batch_size = batch_size
        self.sleep = sleep
        self.rand = rand

    # -- taps --------------------------------------------------------------------------------------

    def send_pending(self) -> SyncReport:
        """Send every pending tap in batches, oldest first, until none is pending.

        A 413 halves the batch size for the rest of this call; a 422 naming taps quarantines them and sending
        goes on (see the module docstring). Raises Unreachable or Rejected with ``.report`` set to what was
        delivered before; the failed batch stays pending.
        """
        report = SyncReport()
        size = self.batch_size
        # One batch is in flight at a time, as before, sent from a helper thread: while the server works on it,
        # this thread reads the next batch and its heartbeat from the outbox, and marks the last one synced, so
        # the kiosk's share of a drain overlaps the server's.
        with ThreadPoolExecutor(1, thread_name_prefix="smilepost-send") as courier:
            batch = self.store.pending_batch(size)
            sending = courier.submit(self._post_batch, batch, self.heartbeat()) if batch else None
            while sending is not None:
                # While the server works: the next batch, and the heartbeat it carries if this one is delivered.
                upcoming = self.store.pending_batch(size, after_seq=batch.seqs[-1])
                heartbeat = self._heartbeat_without(batch) if upcoming else None
                try:
                    result = self._result(batch, sending.result())
                except _BadTaps as bad:
                    report += self._quarantine(bad.reasons)
                    heartbeat = None  # the rest of the batch is still pending: read again from the start
                except _TooLarge:
                    if len(batch) == 1:
                        error = Rejected(413, f"tap {batch.ids[0]} alone is over the server's size limit")
                        error.report = report
                        raise error from None
                    size = max(1, len(batch) // 2)
                    heartbeat = None
                    log.info("server said 413 for %d taps; trying batches of %d", len(batch), size)
                except SyncError as error:
                    error.report = report
                    raise
                else:
                    sending = courier.submit(self._post_batch, upcoming, heartbeat) if heartbeat is not None else None
                    report += self._delivered(batch, result)
                if heartbeat is None:  # read from the start: what a refusal left, or a tap released meanwhile (held)
                    upcoming = self.store.pending_batch(size)
                    sending = courier.submit(self._post_batch, upcoming, self.heartbeat()) if upcoming else None
                batch = upcoming
        return report

    def _heartbeat_without(self, batch: PendingBatch) -> Heartbeat:
        """The heartbeat as it will be once ``batch`` (pending now) is delivered: the next batch carries it."""
        now = self.heartbeat()
        return now.model_copy(update={"queue_depth": max(0, now.queue_depth - len(batch))})

    def _post_batch(self, batch: PendingBatch, heartbeat: Heartbeat) -> httpx.Response:
        """POST the batch as a TapBatch stamped now, with ``heartbeat``. Raises Unreachable for network errors and
        timeouts. A tap's ``first_tap_id`` goes out only when set, which a server from before #13 takes (as
        :func:`wire_json`)."""
        envelope = TapBatch(
            sent_at=datetime.now(UTC),
            boot_id=self.store.boot_id,
            mono_ns=time.monotonic_ns(),
            taps=[],
            heartbeat=heartbeat,
        ).model_dump_json()
        # sent_at and boot_id come first and cannot contain this text, so the first match is the taps field.
        body = envelope.replace('"taps":[]', f'"taps":{batch.taps_json}', 1)
        return self._request("POST", TAPS_PATH, content=body, headers={"Content-Type": "application/json"})

    def _result(self, batch: PendingBatch, response: httpx.Response) -> BatchResult:
        """The server's answer to a batch. Raises _TooLarge on 413, _BadTaps on a 422 naming taps, Unreachable or
        Rejected for another answer that is not a 2xx with a BatchResult."""
        if response.status_code == 413:
            raise _TooLarge()
        if response.status_code == 422 and (named := _named_taps(response, len(batch))):
            raise _BadTaps({UUID(batch.ids[index]): f"HTTP 422 {message}" for index, message in named.items()})
        return _parse(response, BatchResult)

    def _delivered(self, batch: PendingBatch, result: BatchResult) -> SyncReport:
        """Mark a delivered batch's taps synced (the server answered it with ``result``)."""
        self.store.mark_seqs_synced(batch.seqs)
        self._log_result(batch, result)
        return SyncReport(
            batches=1,
            sent=len(batch),
            accepted=result.accepted,
            duplicates=result.duplicates,
            conflicts=list(result.conflicts),
        )

    def _quarantine(self, reasons: dict[UUID, str]) -> SyncReport:
        """Set the taps the server refused by name aside; raises Rejected if none of them could be (no progress)."""
        if self.store.quarantine(reasons) == 0:
            raise Rejected(422, "the server refused taps that are no longer pending")
        for tap_id, reason in reasons.items():
            log.warning("server refused tap %s (%s); quarantined: kept on the kiosk, not sent again", tap_id, reason)
        return SyncReport(quarantined=list(reasons))

    def heartbeat(self) -> Heartbeat:
        """This kiosk's health now: queue depth, version, last tap, highest seq, quarantined count."""
        counts = self.store.counts()
        return Heartbeat(
            queue_depth=counts.pending,
            app_version=__version__,
            last_tap_at=self.store.last_tap_at(),
            last_seq=self.store.last_seq(),
            quarantined=counts.quarantined,
        )

    def send_heartbeat(self) -> None:
        """``POST /api/v1/kiosk/heartbeat`` with a HeartbeatPing (what an idle kiosk sends instead of taps).

        Returns on any 2xx (the server answers 204). Raises Unreachable (network, 408, 429 with
        ``retry_after``, 5xx, a redirect) or Rejected (401, 403, other 4xx); see the module docstring.
        """
        ping = HeartbeatPing(
            sent_at=datetime.now(UTC),
            boot_id=self.store.boot_id,
            mono_ns=time.monotonic_ns(),
            heartbeat=self.heartbeat(),
        )
        headers = {"Content-Type": "application/json"}
        response = self._request("POST", HEARTBEAT_PATH, content=ping.model_dump_json(), headers=headers)
        if not response.is_success:
            raise _error_for(response)

    @staticmethod
    def _log_result(taps: Sized, result: BatchResult) -> None:
        if result.conflicts:
            log.warning(
                "server kept different content for %d tap(s) (its rows win): %s",
                len(result.conflicts),
                ", ".join(str(c) for c in result.conflicts),
            )
        answered = result.accepted + result.duplicates + len(result.conflicts)
        if answered != len(taps):
            log.warning("server accounted for %d of %d taps in a batch", answered, len(taps))
        log.debug("batch of %d: %d accepted, %d duplicates", len(taps), result.accepted, result.duplicates)

    def drain(self, *, max_attempts: int | None = None, deadline: float | None = None) -> SyncReport:
        """send_pending until nothing is pending, backing off (full jitter) after each Unreachable.

        ``max_attempts`` counts calls of send_pending; ``deadline`` is a time.monotonic() value after which no
        new attempt starts (the last wait is cut short to end at the deadline). Raises Rejected at once, and
        the last Unreachable when attempts or time run out; ``.report`` covers every attempt.
        """
        total = SyncReport()
        attempt = 0
        while True:
            try:
                return total + self.send_pending()
            except SyncError as error:
                total += error.report
                error.report = total
                if isinstance(error, Rejected):
                    raise
                assert isinstance(error, Unreachable)
                delay = self._next_delay(error, attempt, max_attempts, deadline)
                log.info("sync unreachable (%s); retrying in %.2f s", error, delay)
                self.sleep(delay)
                attempt += 1

    def _next_delay(self, error: Unreachable, attempt: int, max_attempts: int | None, deadline: float | None) -> float:
        """Seconds to wait before the next attempt. Raises ``error`` when attempts or time are used up."""
        if max_attempts is not None and attempt + 1 >= max_attempts:
            raise error
        delay = backoff_delay(attempt, error.retry_after, self.rand)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise error
            delay = min(delay, remaining)
        return delay

    # -- config ------------------------------------------------------------------------------------

    def fetch_config(self) -> KioskConfig | None:
        """The server's config for this kiosk, cached in the Store; the cached one on 304.

        Returns None only if the server says 304 and nothing is cached. Raises Unreachable or Rejected
        (see the module docstring); a 200 whose body is not a KioskConfig is Unreachable.
        """
        cached = self.store.cached_config()
        headers = {CONFIG_FEATURES_HEADER: "questions"}  # this kiosk asks several questions (protocol v1 + questions)
        if cached and cached[1]:
            headers["If-None-Match"] = cached[1]
        response = self._request("GET", CONFIG_PATH, headers=headers)
        if response.status_code == 304:
            return cached[0] if cached else None
        config = _parse(response, KioskConfig)
        self.store.save_config(config, response.headers.get("ETag"))
        return config

    def _request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """One request. Raises Unreachable for network errors and timeouts."""
        try:
            return self.client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.RequestError as error:
            raise Unreachable(f"{type(error).__name__}: {error}") from error


# -- the background worker -------------------------------------------------------------------------

SyncState = Literal["synced", "offline", "rejected"]


#: Statuses of a refusal that mean the kiosk's token is not (or no longer) accepted: re-pair.
TOKEN_REJECTED_STATUSES = frozenset({401})
#: Statuses of a refusal of the kiosk itself, not of one request: nothing it sends is taken until that changes.
KIOSK_REFUSED_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class SyncStatus:
    """What the worker reports after each round, for the kiosk's status label.

    ``last_error`` is the failure's text, for people; ``error_status`` its HTTP status (``SyncError.status``),
    which is what :meth:`describe` decides on.
    """

    state: SyncState
    queued: int
    last_sync_at: datetime | None = None
    last_error: str | None = None
    config: KioskConfig | None = None  # set only when the server's config changed in this round
    error_status: int | None = None

    def describe(self) -> str:
        """Short text for the status label: "synced", "offline, 3 queued", "token rejected", "refused by the
        server, 3 queued" (403: e.g. the location is archived; the taps wait)."""
        queued = f", {self.queued} queued" if self.queued else ""
        if self.state == "rejected":
            if self.error_status in TOKEN_REJECTED_STATUSES:
                return "token rejected"
            return f"{'refused by the server' if self.error_status == 403 else 'sync rejected'}{queued}"
        return f"{self.state}{queued}"


class SyncWorker(threading.Thread):
    """Daemon thread: send pending taps, a heartbeat or a config check when due, report a SyncStatus, wait
    ``interval`` or a wake().

    It opens its own Store on ``db_path`` and its own client from ``client_factory`` inside run(), so nothing
    it uses is shared with the UI thread. ``on_status`` is called on this thread: a Kivy app must hop to the
    UI thread (Clock.schedule_once) before touching widgets.

    A round that had nothing to send posts a heartbeat instead when none reached the server for the heartbeat
    period (measured on ``clock``); every batch carries one anyway. The config is checked on the same period
    (and at start, and on every round after one that failed), so an idle kiosk that is doing fine makes one or two
    requests per period, none in between. The period is ``heartbeat_interval``, or once the server has said
    (``Smilepost-Heartbeat-Seconds``) the server's, jittered by +-``HINT_JITTER`` so kiosks spread out. When the
    server asks for a pause (``Smilepost-Sync-After``, when it is busy) the next round waits that long plus up to
    half again (jitter), taps included; a wake() does not cut that short.
    """

    def __init__(
        self,
        db_path: Path,
        client_factory: Callable[[], httpx.Client],
        *,
        interval: float,
        on_status: Callable[[SyncStatus], None],
        batch_size: int = MAX_TAPS_PER_BATCH,
        boot_id: str | None = None,
        rand: Callable[[], float] = random.random,
        heartbeat_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="smilepost-sync", daemon=True)
        self.db_path = Path(db_path)
        self.client_factory = client_factory
        self.interval = interval
        self.on_status = on_status
        self.batch_size = batch_size
        self.boot_id = boot_id
        self.rand = rand
        self.heartbeat_interval = heartbeat_interval
        self.clock = clock
        self._last_heartbeat: float | None = None  # clock() when the server last got one (alone or in a batch)
        self._last_config_check: float | None = None  # clock() of the last config request that was answered
        self._heartbeat_hint: float | None = None  # the server's Smilepost-Heartbeat-Seconds, once it sent one
        self._hinted_period: float | None = None  # that hint with this period's jitter
        self._not_before: float | None = None  # clock() before which nothing is sent (Smilepost-Sync-After)
        self._round_failed = True  # the last round did not end "synced" (or none ran yet): check the config
        self._config_asked = False  # wake() asked for a config check
        self._stopping = threading.Event()
        self._woken = threading.Event()
        self._failures = 0
        self._last_sync_at: datetime | None = None
        self._config: KioskConfig | None = None

    def wake(self, *, check_config: bool = True) -> None:
        """Sync now instead of at the end of the interval (a backoff wait, or a pause the server asked for, is not cut
        short); the round checks the config too unless ``check_config`` is False (a wake for a new tap: the config
        is checked on its period)."""
        if check_config:
            self._config_asked = True
        self._woken.set()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the thread to end; wait up to ``timeout`` s (a request in flight ends by its own timeout)."""
        self._stopping.set()
        self._woken.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        try:
            # check=False: the app's own Store checked (and if need be moved aside) the file at start.
            with Store(self.db_path, boot_id=self.boot_id, check=False) as store, self.client_factory() as client:
                self.follow_hints(client)
                syncer = Syncer(store, client, batch_size=self.batch_size, rand=self.rand)
                cached = store.cached_config()
                self._config = cached[0] if cached else None
                while not self._stopping.is_set():
                    delay, wakeable = self._round(syncer)
                    self._wait(delay, wakeable=wakeable)
        except Exception:
            log.exception("sync worker crashed; taps stay in the outbox")

    def follow_hints(self, client: httpx.Client) -> None:
        """Have ``client`` hand every answer's hint headers to this worker (run() does it for its own client)."""
        client.event_hooks["response"].append(self._note_hints)

    def _note_hints(self, response: httpx.Response) -> None:
        """Take the server's hints from an answer (see the class docstring); a missing or malformed one is ignored."""
        heartbeat = _hint_seconds(response.headers.get(HEARTBEAT_HINT_HEADER), HEARTBEAT_HINT_RANGE)
        if heartbeat is not None and heartbeat != self._heartbeat_hint:
            self._heartbeat_hint = heartbeat
            self._draw_period()
        pause = _hint_seconds(response.headers.get(SYNC_AFTER_HEADER), (0.0, RETRY_AFTER_CAP))
        if pause:
            self._not_before = self.clock() + pause * (1 + 0.5 * self.rand())

    def _draw_period(self) -> None:
        """The heartbeat period until the next heartbeat: the server's hint with fresh jitter (none without one)."""
        if self._heartbeat_hint is not None:
            self._hinted_period = self._heartbeat_hint * (1 + HINT_JITTER * (2 * self.rand() - 1))

    def _heartbeat_period(self) -> float:
        """Seconds between heartbeats (and config checks): the server's hint, jittered, else heartbeat_interval."""
        return self._hinted_period if self._hinted_period is not None else self.heartbeat_interval

    def _round(self, syncer: Syncer) -> tuple[float, bool]:
        """One round: a config check when due, the pending taps, a heartbeat when idle and due; then the report.
        Returns how long to wait and whether wake() may cut that short."""
        changed: KioskConfig | None = None
        try:
            if self._config_due():
                changed = self._refresh_config(syncer)
            report = syncer.send_pending()
            self._heartbeat_if_idle(syncer, report)
        except Rejected as error:
            self._round_failed = True
            self._report(syncer.store, "rejected", error, changed)
            return self.interval, True
        except Unreachable as error:
            self._round_failed = True
            delay = backoff_delay(self._failures, error.retry_after, self.rand)
            self._failures += 1
            self._report(syncer.store, "offline", error, changed)
            return delay, False
        self._round_failed = False
        self._failures = 0
        self._last_sync_at = datetime.now(UTC)
        self._report(syncer.store, "synced", None, changed)
        return self._pause()

    def _config_due(self) -> bool:
        """Whether this round checks the config: at start, after a failed round, when a wake() asked, and once a
        heartbeat period."""
        last = self._last_config_check
        due = (
            self._round_failed or self._config_asked or last is None or self.clock() - last >= self._heartbeat_period()
        )
        self._config_asked = False
        return due

    def _pause(self) -> tuple[float, bool]:
        """The wait after a good round: the interval (a wake() ends it), or the server's pause if it asked for one
        (a wake() does not end that)."""
        not_before, self._not_before = self._not_before, None
        if not_before is not None and (wait := not_before - self.clock()) > 0:
            return wait, False
        return self.interval, True

    def _heartbeat_if_idle(self, syncer: Syncer, report: SyncReport) -> None:
        """Send a heartbeat if no batch went out and the last heartbeat is a heartbeat period old.

        Raises Unreachable, and Rejected for 401/403; another refusal (an older server without the endpoint)
        is logged and waits for the next interval.
        """
        now = self.clock()
        if report.batches:
            self._last_heartbeat = now
            self._draw_period()
            return
        if self._last_heartbeat is not None and now - self._last_heartbeat < self._heartbeat_period():
            return
        try:
            syncer.send_heartbeat()
        except Rejected as error:
            if error.status in KIOSK_REFUSED_STATUSES:
                raise
            log.warning("heartbeat refused (%s); trying again in %.0f s", error, self._heartbeat_period())
        self._last_heartbeat = now
        self._draw_period()

    def _refresh_config(self, syncer: Syncer) -> KioskConfig | None:
        """The server's config if it differs from the last one seen, else None. Raises Rejected only."""
        checked = self.clock()
        try:
            config = syncer.fetch_config()
        except Unreachable as error:
            log.debug("config not fetched: %s", error)
            return None
        self._last_config_check = checked
        if config is None or config == self._config:
            return None
        self._config = config
        return config

    def _report(self, store: Store, state: SyncState, error: SyncError | None, config: KioskConfig | None) -> None:
        status = SyncStatus(
            state=state,
            queued=store.counts().pending,
            last_sync_at=self._last_sync_at,
            last_error=str(error) if error is not None else None,
            config=config,
            error_status=error.status if error is not None else None,
        )
        try:
            self.on_status(status)
        except Exception:
            log.exception("on_status callback failed")

    def _wait(self, seconds: float, *, wakeable: bool) -> None:
        """Sleep up to ``seconds``; stop() always ends the wait, wake() only if ``wakeable``."""
        end = time.monotonic() + seconds
        while not self._stopping.is_set():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            event = self._woken if wakeable else self._stopping
            if event.wait(remaining) and wakeable:
                self._woken.clear()
                return


__all__ = [
    "Rejected",
    "SyncError",
    "SyncReport",
    "SyncStatus",
    "SyncWorker",
    "Syncer",
    "TOKEN_REJECTED_STATUSES",
    "Unreachable",
    "backoff_delay",
    "make_client",
    "pair",
    "parse_retry_after",
    "wire_json",
]
